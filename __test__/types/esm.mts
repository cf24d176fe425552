// ESM consumer (an .mts file is an ES module under "nodenext"): default and named imports, top-level await.
import auroraDSQLPostgres, { isOCCError, PostgresError, camel, type Sql } from 'aurora-dsql-postgres'

interface Item {
  id: string
  title: string
}

const sql: Sql = auroraDSQLPostgres({ host: process.env['CLUSTER_ENDPOINT'], username: 'admin', transform: camel })
const items = await sql<Item[]>`select id, title from items where title like ${'%a%'}`
for (const item of items) console.log(item.id, item.title)
try {
  await sql.begin(async tx => tx`update items set title = ${'b'} where id = ${items[0]?.id ?? null}`, { retry: true })
} catch (err) {
  if (err instanceof PostgresError && !isOCCError(err)) console.error(err.code, err.message)
}
await sql.end()
