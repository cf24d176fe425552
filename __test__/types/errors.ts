// Each line after a `// @ts-expect-error TSnnnn` comment must fail to compile with that error code;
// __test__/types.test.mjs also checks that no other line of this file has an error.
import {
  auroraDSQLPostgres,
  auroraDSQLWsPostgres,
  isOCCError,
  generateToken,
  BigInt as PgBigInt,
  type AuroraDSQLConfig,
  type AuroraDSQLWsConfig,
  type OCCRetryConfig,
  type Logger,
  type TransactionSql
} from 'aurora-dsql-postgres'
import { startLocalDsql, type StartLocalDsqlOptions } from 'aurora-dsql-postgres/local'

interface User {
  id: number
  name: string
}

const host = 'c.dsql.us-east-1.on.aws'

// ---- options --------------------------------------------------------------------------------------
export const badOptions: AuroraDSQLConfig[] = [
  // @ts-expect-error TS2322 unknown ssl mode
  { host, ssl: 'sometimes' },
  // @ts-expect-error TS2322 ssl objects take ca and rejectUnauthorized
  { host, ssl: { rejectUnauthorized: 'no' } },
  // @ts-expect-error TS2322 sslnegotiation is 'postgres' or 'direct'
  { host, sslnegotiation: 'tls' },
  // @ts-expect-error TS2322 numbers, not strings
  { host, max: '10' },
  // @ts-expect-error TS2322 seconds as a number
  { host, tokenDurationSecs: '1h' },
  // @ts-expect-error TS2322 port is a number
  { host, port: '5432' },
  // @ts-expect-error TS2322 retry is boolean or Partial<OCCRetryConfig>
  { host, retry: 'always' },
  // @ts-expect-error TS2322 retry fields are numbers
  { host, retry: { maxRetries: '3' } },
  // @ts-expect-error TS2353 retry has no such field
  { host, retry: { attempts: 3 } },
  // @ts-expect-error TS2322 credentials need a secretAccessKey
  { host, customCredentialsProvider: { accessKeyId: 'AKIAEXAMPLE' } },
  // @ts-expect-error TS2322 a provider must resolve to credentials
  { host, customCredentialsProvider: async () => ({ accessKey: 'a', secret: 's' }) },
  // @ts-expect-error TS2322 logger methods are functions
  { host, logger: { debug: 42 } },
  // @ts-expect-error TS2353 IAM tokens replace passwords
  { host, password: 'hunter2' },
  // @ts-expect-error TS2353 misspelt option
  { hots: host },
  // @ts-expect-error TS2322 multi-host configurations are not supported
  { host: ['a.dsql.us-east-1.on.aws', 'b.dsql.us-east-1.on.aws'] },
  // @ts-expect-error TS2322 onnotice is a function
  { host, onnotice: true },
  // @ts-expect-error TS2739 custom types need to/from/serialize/parse
  { host, types: { point: { to: 600 } } }
]

export const badWs: AuroraDSQLWsConfig[] = [
  // @ts-expect-error TS2353 the WebSocket connector fixes ssl
  { host, ssl: true },
  // @ts-expect-error TS2353 the WebSocket connector fixes port
  { host, port: 443 },
  // @ts-expect-error TS2322 connectionCheck is a boolean
  { host, connectionCheck: 'yes' }
]

// @ts-expect-error TS2741 every OCCRetryConfig field is required
export const partialRetry: OCCRetryConfig = { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 10 }
// @ts-expect-error TS2322 logger methods take a message
export const badLogger: Logger = { error: (code: number) => void code }

// @ts-expect-error TS2769 the factory takes an options object or a URL
auroraDSQLPostgres(5432)
// @ts-expect-error TS2559 the second argument is options, not a user name
auroraDSQLPostgres('postgres://c.dsql.us-east-1.on.aws', 'admin')
// @ts-expect-error TS2339 the named export is the bare factory, not the module
auroraDSQLPostgres.camel
// @ts-expect-error TS2769 not an option of the WebSocket connector
auroraDSQLWsPostgres({ host, hostaddr: '127.0.0.1' })

// ---- queries -------------------------------------------------------------------------------------
const sql = auroraDSQLPostgres({ host })

export async function queries(maybe: string | undefined) {
  const users = await sql<User[]>`select id, name from users`
  // @ts-expect-error TS2339 typed rows have only their columns
  users[0]?.email
  // @ts-expect-error TS2322 name is a string
  const id: number = users[0]!.name
  const values = await sql<User[]>`select id, name from users`.values()
  // @ts-expect-error TS2339 .values() rows are arrays
  values[0]?.name
  // @ts-expect-error TS1320 helpers are not queries
  await sql('users')
  // @ts-expect-error TS1320 helpers are not queries
  await sql.json({ a: 1 })
  // @ts-expect-error TS2769 undefined is not a parameter (use transform.undefined or null)
  await sql`select ${maybe}`
  // @ts-expect-error TS2769 a symbol is not a parameter
  await sql`select ${Symbol('x')}`
  // @ts-expect-error TS2769 bigint is not JSON
  sql.json({ n: 1n })
  // @ts-expect-error TS2769 columns must exist on the row objects
  sql([{ id: 1, name: 'a' }], 'nope')
  // @ts-expect-error TS2339 no custom types were configured
  sql.typed.bigint(1n)
  // @ts-expect-error TS2769 unsafe takes the query text
  sql.unsafe(sql`select 1`)
  // @ts-expect-error TS2322 timeout is in seconds
  await sql.end({ timeout: '5s' })
  void id
}

export async function customTypes() {
  const typed = auroraDSQLPostgres({ host, types: { bigint: PgBigInt } })
  await typed`select ${typed.typed.bigint(1n)}`
  // @ts-expect-error TS2345 the bigint helper takes a bigint
  typed.typed.bigint('1')
}

// ---- transactions ----------------------------------------------------------------------------------
export async function transactions() {
  // @ts-expect-error TS2555 begin needs a callback
  await sql.begin()
  // @ts-expect-error TS2769 per-call retry is boolean or Partial<OCCRetryConfig>
  await sql.begin(tx => tx`select 1`, { retry: 'yes' })
  // @ts-expect-error TS2769 statements is a factory-level retry setting
  await sql.begin(tx => tx`select 1`, { retry: { statements: true } })
  // @ts-expect-error TS2769 the mode comes first
  await sql.begin(tx => tx`select 1`, 'read only')
  await sql.begin(async (tx: TransactionSql) => {
    // @ts-expect-error TS2339 no nested transactions (postgres.js has none either)
    await tx.begin(() => 1)
  })
  const reserved = await sql.reserve()
  // @ts-expect-error TS2554 release takes no arguments
  reserved.release(true)
}

// ---- misc ------------------------------------------------------------------------------------------
// @ts-expect-error TS2554 isOCCError takes the error
isOCCError()
// @ts-expect-error TS2345 a token needs admin and the credentials
generateToken({ hostname: host, region: 'us-east-1' })

export async function local() {
  // @ts-expect-error TS2322 rateLimit is false or { perSecond, burst }
  await startLocalDsql({ rateLimit: true })
  // @ts-expect-error TS2322 port is a number
  const options: StartLocalDsqlOptions = { port: '0' }
  const dsql = await startLocalDsql(options)
  // @ts-expect-error TS2540 the handle is read-only
  dsql.endpoint = 'elsewhere'
}
