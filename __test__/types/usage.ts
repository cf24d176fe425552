// Realistic user code that must compile against index.d.ts and local/index.d.ts: postgres.js 3.4 code,
// the official @aws/aurora-dsql-postgresjs-connector README examples, and this package's additions.
// Type-checked only (tsc --noEmit); never run.

import {
  auroraDSQLPostgres,
  AuroraDSQLPostgres,
  auroraDSQLWsPostgres,
  isOCCError,
  generateToken,
  PostgresError,
  BigInt as PgBigInt,
  camel,
  pascal,
  kebab,
  toCamel,
  fromCamel,
  toPascal,
  fromPascal,
  toKebab,
  fromKebab,
  type AuroraDSQLConfig,
  type AuroraDSQLWsConfig,
  type AwsCredentialIdentity,
  type AwsCredentialIdentityProvider,
  type Logger,
  type OCCRetryConfig,
  type Sql,
  type TransactionSql,
  type ReservedSql,
  type ISql,
  type Row,
  type RowList,
  type PendingQuery,
  type Fragment,
  type PostgresType,
  type ConnectionError,
  type Statement,
  type Options,
  type Error as PgClientError
} from 'aurora-dsql-postgres'
import postgres = require('aurora-dsql-postgres')

// ---- tiny type assertion helpers ---------------------------------------------------------------------

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function assertType<T extends true>(): T | void {}
function expectType<T>(value: T): T {
  return value
}
type IsAny<T> = 0 extends 1 & T ? true : false
type Not<T extends boolean> = T extends true ? false : true
/** Mutually assignable and not `any` (looser than Equal, which also compares how a type is written). */
type Same<A, B> = IsAny<A> extends true ? false : [A] extends [B] ? ([B] extends [A] ? true : false) : false

interface User {
  id: number
  name: string
  email: string | null
  created_at: Date
}

// ---- connecting ------------------------------------------------------------------------------------

// This package's README.
const sql = auroraDSQLPostgres({ host: '<cluster-id>.dsql.us-east-1.on.aws', username: 'admin' })
auroraDSQLPostgres({ host: 'abcdefghijklmnopqrstuvwxyz', region: 'us-east-1' })
auroraDSQLPostgres('postgres://admin@abc.dsql.us-east-1.on.aws/postgres', { max: 20 })
auroraDSQLPostgres() // PGHOST & co.
expectType<Sql<{}>>(sql)
assertType<Equal<typeof sql, Sql<{}>>>()
assertType<Equal<ReturnType<typeof auroraDSQLPostgres>, Sql<{}>>>()
assertType<Equal<typeof auroraDSQLPostgres, typeof AuroraDSQLPostgres>>()
assertType<Not<IsAny<typeof postgres>>>()

// The official connector's README.
const sqlA = auroraDSQLPostgres({ host: 'your-cluster.dsql.us-east-1.on.aws', username: 'admin' })
const sqlB = auroraDSQLPostgres({ host: 'your-cluster-id', region: 'us-east-1', username: 'admin' })
const sqlC = AuroraDSQLPostgres('postgres://admin@your-cluster.dsql.us-east-1.on.aws')
const sqlD = AuroraDSQLPostgres({
  host: 'your-cluster.dsql.us-east-1.on.aws',
  database: 'postgres',
  username: 'admin',
  customCredentialsProvider: fromNodeProviderChain(),
  tokenDurationSecs: 3600,
  max: 20,
  ssl: { rejectUnauthorized: false }
})

// The default export and postgres.js's spelling (`import postgres from 'postgres'`).
const sqlE = postgres({ host: 'c.dsql.us-east-1.on.aws' })
const sqlF = postgres.auroraDSQLPostgres('postgres://c.dsql.us-east-1.on.aws')
expectType<Sql>(sqlE)
expectType<Sql>(sqlF)

// Every option this package documents.
const everything = auroraDSQLPostgres({
  host: 'c.dsql.us-east-1.on.aws',
  hostname: 'c.dsql.us-east-1.on.aws',
  hostaddr: '10.0.0.12',
  port: 5432,
  database: 'postgres',
  db: 'postgres',
  username: 'app_user',
  user: 'app_user',
  region: 'us-east-1',
  profile: 'dev',
  tokenDurationSecs: 900,
  ssl: 'verify-full',
  sslnegotiation: 'direct',
  max: 10,
  max_lifetime: 60 * 30,
  connect_timeout: 10,
  keep_alive: 60,
  prepare: true,
  fetch_types: false,
  connection: { application_name: 'my-service', statement_timeout: 5000, TimeZone: 'UTC' },
  onnotice: notice => console.log(notice.message, notice['severity']),
  onparameter: (key, value) => console.log(key, value),
  debug: (connection, query, parameters) => console.log(connection, query, parameters),
  retry: { maxRetries: 5, baseDelayMs: 2 },
  logger: console,
  // A value that may be undefined is fine even with exactOptionalPropertyTypes.
  idle_timeout: process.env['PGIDLE_TIMEOUT'] ? Number(process.env['PGIDLE_TIMEOUT']) : undefined
} as const satisfies AuroraDSQLConfig)
void everything

for (const ssl of [true, false, 'require', 'verify-full', 'disable', { ca: 'PEM' }, { ca: [Buffer.from('PEM')] }] as const)
  auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', ssl })

// Options built separately, as config files do.
const config: AuroraDSQLConfig<{}> = {
  host: process.env['CLUSTER_ENDPOINT'],
  username: process.env['CLUSTER_USER'] ?? 'admin',
  region: process.env['AWS_REGION']
}
const fromConfig = auroraDSQLPostgres(config)
const optionsAlias: Options = { host: 'c.dsql.us-east-1.on.aws', transform: camel }
auroraDSQLPostgres(optionsAlias)

// Credentials: static, async function, AWS SDK-style provider (accepts an optional argument).
const staticCreds: AwsCredentialIdentity = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' }
auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', customCredentialsProvider: staticCreds })
auroraDSQLPostgres({
  host: 'c.dsql.us-east-1.on.aws',
  customCredentialsProvider: async () => ({ accessKeyId: 'a', secretAccessKey: 's', expiration: new Date(Date.now() + 3600_000) })
})
declare function fromNodeProviderChain(init?: { profile?: string }): (props?: Record<string, any>) => Promise<AwsCredentialIdentity>
const provider: AwsCredentialIdentityProvider = fromNodeProviderChain({ profile: 'dev' })
auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', customCredentialsProvider: provider })

// OCC retry and logging.
const retryConfig: OCCRetryConfig = { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 100, jitterFactor: 0.25 }
const logger: Logger = { debug: (msg: string) => console.debug(msg), error: (msg: string, ...args: unknown[]) => console.error(msg, args) }
const retrying = auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', retry: retryConfig, logger })
auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', retry: true })
auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', retry: { statements: true, maxRetries: 10 } })

// The WebSocket connector (official README example).
const simulateSecureGetCredentialsAPI = (): Promise<AwsCredentialIdentity> =>
  Promise.resolve({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' })
const wsConfig: AuroraDSQLWsConfig<{}> = {
  host: 'your-cluster.dsql.us-east-1.on.aws',
  database: 'postgres',
  user: 'admin',
  customCredentialsProvider: simulateSecureGetCredentialsAPI,
  connectionCheck: true,
  connectionId: 'conn-1',
  onReservedConnectionClose: id => console.warn('closed', id)
}
const ws = auroraDSQLWsPostgres(wsConfig)
auroraDSQLWsPostgres('postgres://admin@your-cluster.dsql.us-east-1.on.aws', { retry: true })

// sql.options: the resolved view.
const host: string | undefined = sql.options.host[0]
const region: string = sql.options.region
const max: number = sql.options.max
void [host, region, max, sqlA, sqlB, sqlC, sqlD, fromConfig, ws]

// ---- queries -----------------------------------------------------------------------------------------

async function queries() {
  // The official README.
  const users = await sql`SELECT * FROM users WHERE age > ${25}`
  console.log(users)
  const result = await sqlC`SELECT current_timestamp`
  console.log(result)

  // Typed rows.
  const typed = await sql<User[]>`select id, name, email, created_at from users where id = ${1}`
  const first: User | undefined = typed[0]
  for (const user of typed) expectType<number>(user.id)
  typed.map(u => u.name.toUpperCase())
  assertType<Equal<typeof typed, RowList<User[]>>>()
  assertType<Same<(typeof typed)[number], User>>()
  assertType<Same<(typeof users)[number], Row>>()
  expectType<number>(typed.count)
  expectType<string>(typed.command)
  expectType<string>(typed.columns[0]!.name)
  expectType<number>(typed.columns[0]!.type)
  expectType<Statement>(typed.statement)
  void first

  // Destructuring one row (postgres.js's `[x]` idiom), optional rows.
  const [user] = await sql<[User?]>`select * from users where id = ${1}`
  if (user) expectType<string>(user.name)
  const [{ count }] = await sql<[{ count: string }]>`select count(*) from users`
  expectType<string>(count)

  // Untyped rows are Row (any columns).
  const [anyRow] = await sql`select 1 as x`
  const x: number = anyRow!['x']
  const r: Row = anyRow!
  void [x, r]

  // Parameters of every serializable kind.
  const now = new Date()
  await sql`select ${1}, ${'a'}, ${true}, ${null}, ${now}, ${Buffer.from('bytes')}, ${10n}, ${[1, 2, 3]}, ${['a', 'b']}`
  await sql`insert into docs ${sql({ id: 1, body: sql.json({ a: [1, 'two', null], nested: { ok: true } }) })}`
  await sql`select ${sql.typed('1', 23)}::int, ${sql.array([1, 2, 3], 23)}, ${sql.array(['a'])}`

  // Modifiers.
  const values = await sql<User[]>`select id, name from users`.values()
  expectType<unknown[][]>(values)
  assertType<Same<typeof values[number], (number | string | Date | null)[]>>()
  const raw = await sql`select id from users`.raw()
  assertType<Same<typeof raw[number][number], Buffer>>()
  expectType<Uint8Array>(raw[0]![0]!)
  const statement = await sql`select * from users where id = ${1}`.describe()
  expectType<number[]>(statement.types)
  expectType<string>(statement.string)
  await sql`select 1; select 2`.simple()
  const running = sql`select pg_sleep(1)`.execute()
  running.cancel()
  await running.catch(() => {})

  // Cursors and forEach.
  for await (const batch of sql<User[]>`select * from users`.cursor(100)) {
    for (const u of batch) expectType<string>(u.name)
  }
  for await (const [u] of sql<User[]>`select * from users`.cursor()) expectType<number>(u!.id)
  await sql<User[]>`select * from users`.cursor(10, rows => {
    rows.forEach(u => u.email)
    return rows.length < 10 ? sql.CLOSE : undefined
  })
  await sql<User[]>`select * from users`.cursor(async ([u]) => {
    await sql`insert into seen values (${u.id})`
  })
  const done = await sql<User[]>`select * from users`.forEach((row, result) => {
    expectType<User>(row)
    void result.count
  })
  expectType<number>(done.count)

  // COPY through Node streams: pipe a file in, read rows out (Buffers with @types/node).
  const fileStream: { pipe<T>(destination: T): T } = { pipe: d => d }
  const writable = await sql`copy users from stdin`.writable()
  fileStream.pipe(writable)
  await new Promise<void>(resolve => writable.on('finish', resolve))
  const readable = await sql`copy users to stdout`.readable()
  readable.on('data', chunk => expectType<Buffer>(chunk))
  for await (const chunk of readable) expectType<Buffer>(chunk)

  // unsafe and file.
  const dynamic = await sql.unsafe('select * from users where id = $1', [1], { prepare: true })
  void dynamic[0]
  await sql.unsafe<User[]>('select * from users')
  await sql.unsafe('create index async users_name on users (name)')
  await sql.file('queries/users.sql', [1])
  await sql.file<User[]>('queries/users.sql', { cache: false })
}

// ---- helpers and fragments ---------------------------------------------------------------------------

async function helpers(ids: number[], newUsers: Omit<User, 'id' | 'created_at'>[], patch: Partial<User>, orderBy?: 'name' | 'id') {
  // Identifiers.
  await sql`select * from ${sql('users')}`
  await sql`select ${sql('id', 'name')} from ${sql('public.users')}`
  await sql`select ${sql(['id', 'name'])} from users`

  // insert / update / in / values.
  await sql`insert into users ${sql(newUsers)}`
  await sql`insert into users ${sql(newUsers, 'name', 'email')} returning *`
  await sql`insert into users ${sql(newUsers, ['name', 'email'])}`
  await sql`insert into users ${sql({ name: 'Ann', email: null })}`
  await sql`update users set ${sql(patch, 'name', 'email')} where id = ${1}`
  await sql`update users set ${sql({ name: 'Bob' })} where id = ${2}`
  await sql`select * from users where id in ${sql(ids)}`
  await sql`select * from users where id = any(${sql.array(ids)})`
  await sql`insert into pairs (a, b) values ${sql([[1, 'a'], [2, 'b']])}`

  // Nested and conditional fragments; arrays of fragments.
  const filter: Fragment = sql`and name like ${'A%'}`
  const order = orderBy ? sql`order by ${sql(orderBy)}` : sql``
  await sql`select * from users where true ${filter} ${order}`
  await sql`select * from users where true ${ids.length ? sql`and id in ${sql(ids)}` : sql``}`
  const conditions = [sql`a = ${1}`, sql`b = ${2}`]
  await sql`select * from t where ${conditions}`

  // A function reusable with the pool, a reserved connection or a transaction.
  async function findUser(db: ISql, id: number): Promise<User | undefined> {
    const [u] = await db<User[]>`select * from users where id = ${id}`
    return u
  }
  await findUser(sql, 1)
  await sql.begin(tx => findUser(tx, 1))
}

// ---- transactions and reserved connections -----------------------------------------------------------

async function transactions() {
  // Array of queries: awaited element-wise.
  const [inserted, updated] = await sql.begin(sql => [
    sql<User[]>`insert into users (name) values ('Murray') returning *`,
    sql`update users set name = 'Ann' where id = 1`
  ])
  assertType<Equal<typeof inserted, RowList<User[]>>>()
  assertType<Equal<typeof updated, RowList<Row[]>>>()

  // Async callback returning a value.
  const created: User = await sql.begin(async sql => {
    const [u] = await sql<[User]>`insert into users (name) values ('Murray') returning *`
    await sql`insert into audit (user_id) values (${u.id})`
    return u
  })
  void created
  const [a, b] = await sql.begin(async tx => [await tx`select 1`, 42] as const)
  assertType<Equal<typeof b, 42>>()
  assertType<Not<IsAny<typeof a>>>()

  // Mode string, and the official connector's per-call retry option.
  await sql.begin('isolation level repeatable read', async sql => {
    await sql`select 1`
  })
  await sql.begin('read only', sql => sql`select 1`)
  const n: number = await retrying.begin(
    async tx => {
      const [row] = await tx<[{ n: number }]>`select ${1}::int as n`
      return row.n
    },
    { retry: { maxRetries: 5 } }
  )
  await retrying.begin('isolation level repeatable read', async tx => tx`select 1`, { retry: false })
  await sql.begin(async tx => tx`select 1`, { retry: true })
  void n

  // A transaction sql passed around.
  async function transfer(tx: TransactionSql, from: number, to: number, amount: number) {
    await tx`update accounts set balance = balance - ${amount} where id = ${from}`
    await tx`update accounts set balance = balance + ${amount} where id = ${to}`
  }
  await sql.begin(tx => transfer(tx, 1, 2, 100))

  // Reserved connections.
  const reserved: ReservedSql = await sql.reserve()
  try {
    await reserved`select 1`
    const sqlLike: Sql = reserved
    void sqlLike
  } finally {
    reserved.release()
  }

  // Closing.
  await sql.end({ timeout: 5 })
  await sql.end()
  await sqlA.close()
}

// ---- transforms and custom types -------------------------------------------------------------------

async function transformsAndTypes() {
  const camelSql = auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', transform: camel })
  const [row] = await camelSql<[{ createdAt: Date }]>`select created_at from users`
  expectType<Date>(row.createdAt)
  auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', transform: { ...camel, undefined: null } })
  auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', transform: pascal })
  auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', transform: kebab })
  auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', transform: { column: toCamel } })
  auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', transform: { column: { from: toCamel, to: fromCamel } } })
  auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', transform: { column: { from: toPascal, to: fromPascal }, value: toPascal.value } })
  auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', transform: { column: toKebab.column, value: toKebab.value } })
  auroraDSQLPostgres({
    host: 'c.dsql.us-east-1.on.aws',
    transform: {
      value: { from: (value, column) => (column.type === 1700 ? Number(value) : value) },
      row: row => ({ ...row, loadedAt: new Date() })
    }
  })
  expectType<string>(toCamel('created_at'))
  expectType<string>(fromKebab('a-b'))

  // postgres.BigInt and a custom type: their values become sql.typed.<name> / sql.types.<name>.
  interface Point {
    x: number
    y: number
  }
  const point: PostgresType<Point> = {
    to: 600,
    from: [600],
    serialize: (p: Point) => `(${p.x},${p.y})`,
    parse: (raw: string) => {
      const [x, y] = raw.slice(1, -1).split(',').map(Number)
      return { x: x!, y: y! }
    }
  }
  const typedSql = auroraDSQLPostgres({ host: 'c.dsql.us-east-1.on.aws', types: { bigint: PgBigInt, point } })
  assertType<Equal<typeof typedSql, Sql<{ bigint: bigint; point: Point }>>>()
  await typedSql`insert into big values (${typedSql.typed.bigint(9007199254740993n)}, ${typedSql.types.point({ x: 1, y: 2 })})`
  await typedSql`select ${typedSql.typed(1, 20)}`
  await typedSql`select ${9007199254740993n}`
  const [big] = await typedSql<[{ n: bigint }]>`select 9007199254740993::int8 as n`
  expectType<bigint>(big.n)
  await typedSql.begin(async tx => tx`select ${tx.typed.point({ x: 0, y: 0 })}`)
}

// ---- errors ------------------------------------------------------------------------------------------

async function errors() {
  try {
    await sql`insert into users (id) values (${1})`
  } catch (err) {
    if (err instanceof PostgresError) {
      expectType<string>(err.code)
      console.log(err.message, err.detail, err.hint, err.constraint_name, err.table_name, err.query, err.parameters)
      if (err.code === '23505') console.log('duplicate')
    } else if (err instanceof sql.PostgresError) {
      console.log(err.severity)
    }
    if (isOCCError(err)) console.log('conflict, retry')
    const e = err as PgClientError
    if (!(e instanceof PostgresError) && (e.code === 'CONNECTION_CLOSED' || e.code === 'CONNECT_TIMEOUT')) {
      const ce: ConnectionError = e
      console.log(ce.address, ce.port, ce.errno)
    }
  }
  sql`select 1`.catch((err: unknown) => isOCCError(err))
  expectType<boolean>(isOCCError(new Error('x')))
  expectType<boolean>(isOCCError(undefined))

  // A manual OCC retry loop.
  for (let attempt = 0; ; attempt++) {
    try {
      await sql.begin(async tx => {
        await tx`update accounts set balance = balance - 1 where id = ${1}`
      })
      break
    } catch (err) {
      if (!isOCCError(err) || attempt >= 3) throw err
    }
  }
}

// ---- tokens ------------------------------------------------------------------------------------------

async function tokens() {
  const token: string = await generateToken({
    hostname: 'c.dsql.us-east-1.on.aws',
    region: 'us-east-1',
    admin: true,
    accessKeyId: 'AKIAEXAMPLE',
    secretAccessKey: 'secret',
    expiresIn: 900
  })
  void token
}

void [queries, helpers, transactions, transformsAndTypes, errors, tokens]
expectType<PendingQuery<Row[]>>(sql`select 1`)
