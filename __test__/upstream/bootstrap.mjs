// The suite's bootstrap.js, for this runner: `exec(cmd, args)` runs a PostgreSQL client program
// (psql, createdb, dropdb) against the PostgreSQL behind the local endpoint, as its superuser and
// into the suite's database, with the same error rule as upstream. Creating the database and the
// users is done once by run.mjs before the suite starts.
import { spawnSync } from 'node:child_process'

const backend = JSON.parse(process.env.ADP_UPSTREAM_BACKEND)

export function exec(cmd, args) {
  const env = { ...process.env, PGHOST: backend.host, PGPORT: String(backend.port), PGUSER: backend.user, PGDATABASE: 'postgres_js_test' }
  const { stderr } = spawnSync(cmd, args, { stdio: 'pipe', encoding: 'utf8', env })
  if (stderr && !stderr.includes('already exists') && !stderr.includes('does not exist') && !stderr.includes('WARNING:'))
    throw stderr
}
