// Libraries written for postgres.js take this package's `sql`: it is assignable to postgres.js's `Sql`
// (options included), and drizzle-orm's postgres-js driver accepts it.
import type postgres from 'postgres'
import { drizzle } from 'drizzle-orm/postgres-js'
import { pgTable, uuid, text } from 'drizzle-orm/pg-core'
import { Kysely } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import { auroraDSQLPostgres, auroraDSQLWsPostgres, type Sql, type ReservedSql, type TransactionSql } from 'aurora-dsql-postgres'

const host = 'c.dsql.us-east-1.on.aws'
const sql = auroraDSQLPostgres({ host })
const pg: postgres.Sql = sql
const pgTyped: postgres.Sql<{}> = auroraDSQLPostgres(`postgres://admin@${host}/postgres`)
const pgWs: postgres.Sql = auroraDSQLWsPostgres({ host })
const options: postgres.ParsedOptions<{}> = sql.options

// sql.options as postgres.js has it: host and port are arrays; parsers and serializers by OID.
const hosts: string[] = sql.options.host
const ports: number[] = sql.options.port
const user: string = sql.options.user
const pass: null = sql.options.pass
sql.options.parsers[1184] = (x: string) => x
sql.options.serializers[114] = (x: unknown) => x
const column: ((column: string) => string) | undefined = sql.options.transform.column.from

async function pinned(own: Sql) {
  const reserved: postgres.ReservedSql = await own.reserve()
  reserved.release()
  await own.begin(tx => { const t: postgres.TransactionSql = tx; return t`select 1` })
}
declare const r: ReservedSql
declare const t: TransactionSql
const asPg: postgres.Sql = r
void [t]

const users = pgTable('users', { id: uuid('id').primaryKey().defaultRandom(), name: text('name').notNull() })
const db = drizzle(sql)
const db2 = drizzle({ client: sql, schema: { users } })
async function drizzleQueries() {
  const rows: { id: string; name: string }[] = await db.select().from(users)
  await db2.query.users.findMany()
  void rows
}
interface Database { users: { id: string; name: string } }
const kysely = new Kysely<Database>({ dialect: new PostgresJSDialect({ postgres: sql }) })

void [kysely, pg, pgTyped, pgWs, options, hosts, ports, user, pass, column, pinned, asPg, drizzleQueries]
