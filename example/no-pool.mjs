// Alternative without a long-lived pool: every task opens its own single connection (max: 1), does
// its work and closes it again. Each connection signs a fresh IAM token. This fits short-lived work
// (a Lambda invocation, a CLI command, a cron job); a server should share one pool (index.mjs).
// Against a real cluster when CLUSTER_ENDPOINT is set (AWS credentials from the default chain),
// otherwise against the local DSQL endpoint with a throwaway PostgreSQL it starts itself.
import { auroraDSQLPostgres } from 'aurora-dsql-postgres'
import { startLocalDsql } from 'aurora-dsql-postgres/local'

let local, options
if (process.env.CLUSTER_ENDPOINT) {
  options = { host: process.env.CLUSTER_ENDPOINT, username: process.env.CLUSTER_USER || 'admin' }
} else {
  const credentials = { accessKeyId: 'AKIAEXAMPLELOCAL0001', secretAccessKey: 'example-local-secret' }
  local = await startLocalDsql({ credentials: [credentials] })
  options = { host: local.endpoint, hostaddr: local.hostaddr, port: local.port, ssl: { ca: local.ca }, customCredentialsProvider: credentials }
  console.log(`local DSQL endpoint ${local.endpoint} on 127.0.0.1:${local.port}`)
}

// One task = one connection: open, work, close.
async function withConnection(task) {
  const sql = auroraDSQLPostgres({ ...options, max: 1 })
  try {
    return await task(sql)
  } finally {
    await sql.end()
  }
}

try {
  await withConnection(sql => sql`create table if not exists example_visit (id uuid primary key default gen_random_uuid(), page text not null)`)
  for (const page of ['/home', '/pricing', '/docs']) {
    const [visit] = await withConnection(sql => sql`insert into example_visit (page) values (${page}) returning id, page`)
    console.log(`task ${page}: inserted ${visit.id}`)
  }
  const [{ visits }] = await withConnection(sql => sql`select count(*)::int as visits from example_visit where page in ${sql(['/home', '/pricing', '/docs'])}`)
  console.log(`visits recorded: ${visits}`)
  await withConnection(sql => sql`delete from example_visit where page in ${sql(['/home', '/pricing', '/docs'])}`)
  if (local) console.log(`connections opened: ${local.stats().authenticated}`)
} finally {
  await local?.stop()
}
