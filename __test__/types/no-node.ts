// Compiled without @types/node (and without node-shim.d.ts) and with skipLibCheck off: the declarations
// must need neither. Buffer-typed results fall back to Uint8Array.
import { auroraDSQLPostgres, type Sql, type AuroraDSQLConfig } from 'aurora-dsql-postgres'
import { startLocalDsql, type LocalDsql } from 'aurora-dsql-postgres/local'

const config: AuroraDSQLConfig = { host: 'c.dsql.us-east-1.on.aws', ssl: { ca: '-----BEGIN CERTIFICATE-----' } }
export const sql: Sql = auroraDSQLPostgres(config)
export async function run(): Promise<Uint8Array | undefined> {
  const dsql: LocalDsql = await startLocalDsql()
  await dsql.stop()
  const [row] = await sql`select ${1} as x`.raw()
  return row?.[0]
}
