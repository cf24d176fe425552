// The suite's bootstrap.js, for this runner: `exec('psql', ['-c', sql])` runs sql against the PostgreSQL
// behind the local endpoint, as its superuser and in the suite's database, over a connection of the real
// postgres.js (no PostgreSQL client programs needed), with upstream's error rule: errors other than
// "already exists" / "does not exist" throw. The suite only calls psql -c; creating the database and
// the users is done once by upstream.test.mjs before the suite starts.
import postgres from 'postgres'

const backend = JSON.parse(process.env.ADP_UPSTREAM_BACKEND)

export async function exec(cmd, args) {
  if (cmd !== 'psql' || args.length !== 2 || args[0] !== '-c') throw new Error(`bootstrap: only psql -c <sql> is supported, got ${cmd} ${args.join(' ')}`)
  const sql = postgres({ host: backend.host, port: backend.port, user: backend.user, database: 'postgres_js_test', max: 1, onnotice: () => {} })
  try {
    await sql.unsafe(args[1]).simple() // as psql -c: one simple-protocol message
  } catch (e) {
    if (!e.message.includes('already exists') && !e.message.includes('does not exist')) throw e
  } finally {
    await sql.end({ timeout: 1 })
  }
}
