// The main job: connect with IAM auth, run queries in a pool and a transaction.
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

const sql = auroraDSQLPostgres({ ...options, max: 4 })
try {
  const [{ x, t }] = await sql`select ${1}::int as x, now() as t`
  console.log('connected:', { x, t })
  await sql`create table if not exists example_owner (id uuid primary key default gen_random_uuid(), name text, city text)`
  const [owner] = await sql.begin(tx => tx`insert into example_owner (name, city) values (${'John Doe'}, ${'Anytown'}) returning *`)
  console.log('inserted:', owner)
  const rows = await sql`select * from example_owner where id = ${owner.id}`
  console.log('read back:', rows.length, 'row(s), command', rows.command)
  await sql`delete from example_owner where id = ${owner.id}`
} finally {
  await sql.end()
  await local?.stop()
}
