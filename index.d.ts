// Type declarations of aurora-dsql-postgres: the postgres.js 3.4 `sql` API plus the options of
// @aws/aurora-dsql-postgresjs-connector. Hand-written; the napi-generated types live in native.d.ts.
//
// The module is declared postgres.js-style (`export =` of a callable namespace) so that
//   import auroraDSQLPostgres from 'aurora-dsql-postgres'            (ESM, also under "nodenext")
//   import { auroraDSQLPostgres, type Sql } from 'aurora-dsql-postgres'
//   const { auroraDSQLPostgres } = require('aurora-dsql-postgres')
// all type-check. No dependency on @types/node or @aws-sdk/types is required: Node's Buffer is used
// when @types/node is loaded, and AWS credential types are declared structurally. The shapes shared
// with the napi-generated native.d.ts are restated here (not imported: that file needs @types/node);
// __test__/types/native-sync.ts fails when they drift apart.

/** Node's `Buffer` when @types/node is loaded, otherwise `Uint8Array` (which Buffer extends). */
type NodeBuffer = typeof globalThis extends { Buffer: { isBuffer(value: any): value is infer B } } ? B : Uint8Array

/** Anything `fs.readFile` accepts as a file: a path, a Buffer, a `file:` URL or a descriptor. */
type FileReference = string | NodeBuffer | { readonly href: string; readonly protocol: string } | number

/** What each entry of the `types` option turns into: `{ name: PostgresType<X> }` → `{ name: X }`. */
type CustomTypeValues<T extends Record<string, auroraDSQLPostgres.PostgresType>> =
  Record<string, auroraDSQLPostgres.PostgresType> extends T
    ? {}
    : { [K in keyof T]: T[K] extends { serialize: (value: infer R) => any; parse: (raw: any) => infer R } ? R : never }

/** `sql.begin(fn)`: the callback's value, with an array of queries resolved element by element. */
type ResolvedArray<T> = T extends readonly any[] ? { [K in keyof T]: T[K] extends PromiseLike<infer R> ? R : T[K] } : T

/**
 * Values that look like a Promise but are not one (helpers such as `sql('name')` or `sql.json(x)`):
 * they only make sense inside a tagged template, and awaiting one is a type error (NOT_TAGGED_CALL at run time).
 */
declare class NotAPromise {
  private then(): never
  private catch(): never
  private finally(): never
}

// ---- sql(...) helper typing -------------------------------------------------------------------

/** The column-name arguments allowed after the first argument of `sql(first, ...rest)`. */
type HelperRest<T> =
  T extends TemplateStringsArray ? never : // leaves tagged template calls to the template overload
  T extends string ? readonly string[] : // sql('a', 'b'): identifiers
  T extends readonly (readonly any[])[] ? readonly [] : // sql([[1, 'a'], [2, 'b']]): value lists
  T extends readonly (object & infer R)[]
    ? readonly (string & keyof R)[] | [readonly (string & keyof R)[]] // sql(rows, 'a', 'b') | sql(rows, ['a', 'b'])
    : T extends readonly any[] ? readonly [] // sql([1, 2, 3]): in (...) lists
    : T extends object
      ? readonly (string & keyof T)[] | [readonly (string & keyof T)[]] // sql(row, 'a') | sql(row, ['a'])
      : any

/** The object accepted by the insert/update/values helpers; only the picked columns are checked. */
type HelperObject<T, K extends readonly any[], TCustom> =
  number extends K['length']
    ? {}
    : Partial<
        Record<string & keyof T & (K['length'] extends 0 ? string : K[number]), auroraDSQLPostgres.ParameterOrJSON<TCustom> | undefined> &
          Record<string, any>
      >

/** What `first` of `sql(first, ...rest)` must be, by its shape. */
type HelperFirst<T, K extends readonly any[], TCustom> =
  T extends TemplateStringsArray ? TemplateStringsArray :
  T extends string ? string :
  T extends readonly (readonly any[])[] ? readonly (readonly auroraDSQLPostgres.SerializableParameter<TCustom>[])[] :
  T extends readonly (object & infer R)[]
    ? R extends auroraDSQLPostgres.SerializableParameter<TCustom>
      ? readonly auroraDSQLPostgres.SerializableParameter<TCustom>[]
      : readonly HelperObject<R, K, TCustom>[]
    : T extends readonly any[] ? readonly auroraDSQLPostgres.SerializableParameter<TCustom>[]
    : T extends object ? HelperObject<T, K, TCustom>
    : never

type HelperReturn<T, K extends readonly any[]> =
  [T] extends [TemplateStringsArray]
    ? [unknown] extends [T]
      ? auroraDSQLPostgres.Helper<T, K> // `any`: never pretend it is a query
      : [TemplateStringsArray] extends [T]
        ? auroraDSQLPostgres.PendingQuery<auroraDSQLPostgres.Row[]>
        : auroraDSQLPostgres.Helper<T, K>
    : auroraDSQLPostgres.Helper<T, K>

/**
 * A signature no call can select (its `this` is `never`). postgres.js's helper, parameter and query types
 * are nominal (they carry private members), so no other declaration can produce or accept them; this
 * overload, listed after the real ones, lets a `sql` of this package be assigned where postgres.js's
 * `Sql` is expected (drizzle-orm, kysely-postgres-js, ...) while calls are still checked against the
 * real signatures.
 */
type ForeignSignature = (this: never, first: any, ...rest: any[]) => any

// ---- the factory --------------------------------------------------------------------------------

/**
 * Creates a postgres.js-compatible `sql` for an Amazon Aurora DSQL cluster: IAM tokens, verified TLS
 * and the connection pool are handled natively. Throws a TypeError/RangeError naming the option when
 * the options are invalid; no connection is made until the first query.
 *
 * @example
 * const sql = auroraDSQLPostgres({ host: '<cluster-id>.dsql.us-east-1.on.aws', username: 'admin' })
 * const users = await sql<User[]>`select * from users where age > ${25}`
 */
declare function auroraDSQLPostgres<T extends Record<string, auroraDSQLPostgres.PostgresType> = {}>(
  options?: auroraDSQLPostgres.AuroraDSQLConfig<T> | undefined
): auroraDSQLPostgres.Sql<CustomTypeValues<T>>
/**
 * Creates a `sql` from a connection URL (`postgres://admin@<cluster>.dsql.<region>.on.aws/postgres`);
 * `options` take precedence over the URL.
 */
declare function auroraDSQLPostgres<T extends Record<string, auroraDSQLPostgres.PostgresType> = {}>(
  url: string,
  options?: auroraDSQLPostgres.AuroraDSQLConfig<T> | undefined
): auroraDSQLPostgres.Sql<CustomTypeValues<T>>

declare namespace auroraDSQLPostgres {
  // ---- entry points -----------------------------------------------------------------------------

  /** The factory's call signatures. */
  interface AuroraDSQLPostgresFactory {
    /**
     * Creates a postgres.js-compatible `sql` for an Amazon Aurora DSQL cluster: IAM tokens, verified TLS
     * and the connection pool are handled natively. Throws a TypeError/RangeError naming the option when
     * the options are invalid; no connection is made until the first query.
     */
    <T extends Record<string, PostgresType> = {}>(options?: AuroraDSQLConfig<T> | undefined): Sql<CustomTypeValues<T>>
    /** Creates a `sql` from a connection URL; `options` take precedence over the URL. */
    <T extends Record<string, PostgresType> = {}>(url: string, options?: AuroraDSQLConfig<T> | undefined): Sql<CustomTypeValues<T>>
  }

  /** Named form of the default export (as in @aws/aurora-dsql-postgresjs-connector). */
  const auroraDSQLPostgres: AuroraDSQLPostgresFactory
  /** Alias of {@link auroraDSQLPostgres} (the official connector's README uses this spelling). */
  const AuroraDSQLPostgres: AuroraDSQLPostgresFactory

  /**
   * The same `sql` over DSQL's WebSocket endpoint (`wss://<host>:443`), for runtimes without TCP.
   * `port`, `ssl` and the socket are fixed by the connector.
   */
  function auroraDSQLWsPostgres<T extends Record<string, PostgresType> = {}>(
    options?: AuroraDSQLWsConfig<T> | undefined
  ): Sql<CustomTypeValues<T>>
  function auroraDSQLWsPostgres<T extends Record<string, PostgresType> = {}>(
    url: string,
    options?: AuroraDSQLWsConfig<T> | undefined
  ): Sql<CustomTypeValues<T>>

  /**
   * True for Aurora DSQL's optimistic concurrency conflicts: SQLSTATE `OC000` (data), `OC001`
   * (schema) and `40001` (serialization failure). Such transactions can be retried as a whole.
   */
  function isOCCError(error: unknown): boolean

  /** Options of {@link generateToken}. */
  interface GenerateTokenOptions {
    /** The cluster endpoint the token is for. */
    hostname: string
    region: string
    /** `true` signs `DbConnectAdmin` (for the `admin` user), `false` signs `DbConnect`. */
    admin: boolean
    accessKeyId: string
    secretAccessKey: string
    sessionToken?: string | undefined
    /** Token lifetime in seconds, 1..604800. Default 900. */
    expiresIn?: number | undefined
    /** Milliseconds since the epoch to sign at. Default: now. */
    timeMs?: number | undefined
  }

  /** Signs a DSQL IAM auth token locally (no network call) with the given credentials. */
  function generateToken(options: GenerateTokenOptions): Promise<string>

  // ---- configuration ----------------------------------------------------------------------------

  /** AWS credentials, structurally compatible with `AwsCredentialIdentity` of `@aws-sdk/types`. */
  interface AwsCredentialIdentity {
    readonly accessKeyId: string
    readonly secretAccessKey: string
    readonly sessionToken?: string | undefined
    /** When the credentials stop working (a Date, or milliseconds since the epoch); reused until then. */
    readonly expiration?: Date | number | undefined
    readonly credentialScope?: string | undefined
    readonly accountId?: string | undefined
  }

  /**
   * A credentials provider, e.g. `fromNodeProviderChain()` of `@aws-sdk/credential-providers`
   * (any `AwsCredentialIdentityProvider` of `@aws-sdk/types` fits). Called without arguments.
   */
  type AwsCredentialIdentityProvider = () => PromiseLike<AwsCredentialIdentity> | AwsCredentialIdentity

  /** OCC retry settings; defaults `{ maxRetries: 3, baseDelayMs: 1, maxDelayMs: 100, jitterFactor: 0.25 }`. */
  interface OCCRetryConfig {
    /** Retries after the first attempt, an integer 0..100. */
    maxRetries: number
    /** Delay before the first retry, > 0; doubles on each further retry. */
    baseDelayMs: number
    /** Upper bound of the delay, >= baseDelayMs. */
    maxDelayMs: number
    /** Random extra delay as a fraction of the delay, 0..1. */
    jitterFactor: number
  }

  /** `true` (defaults), `false` (off) or settings merged over the defaults. */
  type OCCRetryOption = boolean | Partial<OCCRetryConfig>

  /** The factory's `retry`: as {@link OCCRetryOption}, plus `statements`. */
  interface RetryOptions extends Partial<OCCRetryConfig> {
    /**
     * Also retry a single autocommit statement (outside `sql.begin`) that failed with an OCC conflict;
     * it did not commit, so running it again is safe. Default `false`.
     */
    statements?: boolean | undefined
  }

  /** Receives the connector's messages (OCC retries); `console` fits. */
  interface Logger {
    debug?(message: string, ...args: unknown[]): void
    info?(message: string, ...args: unknown[]): void
    warn?(message: string, ...args: unknown[]): void
    error?(message: string, ...args: unknown[]): void
  }

  /** The third argument of `sql.begin`: per-call OCC retry, overriding the factory's `retry`. */
  interface BeginOptions {
    retry?: OCCRetryOption | undefined
  }

  /** TLS settings. Every form except `false`, `'disable'` and `{ rejectUnauthorized: false }` verifies the server. */
  type SSLOption =
    | boolean
    | 'require'
    | 'verify-full'
    | 'verify-ca'
    | 'prefer'
    | 'allow'
    | 'disable'
    | {
        /** Extra trusted CA certificates (PEM), in addition to the public roots. */
        ca?: string | NodeBuffer | readonly (string | NodeBuffer)[] | undefined
        /** `false` turns certificate verification off. Default `true`. */
        rejectUnauthorized?: boolean | undefined
      }

  /** Startup parameters (`connection` option); `application_name` becomes a prefix of the connector's name. */
  interface ConnectionParameters {
    application_name: string
    default_transaction_isolation: 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable'
    default_transaction_read_only: boolean
    default_transaction_deferrable: boolean
    statement_timeout: number
    lock_timeout: number
    idle_in_transaction_session_timeout: number
    idle_session_timeout: number
    DateStyle: string
    IntervalStyle: string
    TimeZone: string
    [name: string]: string | number | boolean
  }

  /** postgres.js's `transform` option. Each of column/value/row may be a function (= `from`) or `{ from, to }`. */
  interface TransformOptions {
    /** Replacement for `undefined` parameters (otherwise they throw UNDEFINED_VALUE). */
    undefined?: any
    /** Renames result columns (`from`) and helper column names (`to`). */
    column?:
      | ((column: string) => string)
      | {
          from?: ((column: string) => string) | undefined
          to?: ((column: string) => string) | undefined
        }
      | undefined
    /** Maps each result value. */
    value?:
      | ((value: any) => any)
      | {
          from?: ((value: unknown, column: Column<string>) => any) | undefined
        }
      | undefined
    /** Maps each result row. */
    row?:
      | ((row: Row) => any)
      | {
          from?: ((row: Row) => any) | undefined
        }
      | undefined
  }

  /** The options shared by the TCP and WebSocket connectors: DSQL authentication plus postgres.js. */
  interface DSQLBaseOptions<T extends Record<string, PostgresType> = Record<string, PostgresType>> {
    /** Cluster endpoint (`<id>.dsql.<region>.on.aws`) or a 26-character cluster id. Default `PGHOST`. */
    host?: string | undefined
    /** Alias of `host` (takes precedence). */
    hostname?: string | undefined
    /** Default `postgres` (or `PGDATABASE`). */
    database?: string | undefined
    /** Alias of `database`. */
    db?: string | undefined
    /** Default `admin` (which signs `DbConnectAdmin` tokens; other users sign `DbConnect`). */
    username?: string | undefined
    /** Alias of `username`. */
    user?: string | undefined
    /** AWS region; default: from the host name, then `AWS_REGION`, `AWS_DEFAULT_REGION`. */
    region?: string | undefined
    /** Shared config/credentials profile for the default credential chain. Default `AWS_PROFILE`. */
    profile?: string | undefined
    /** Static credentials, or a provider called when they are needed (default: the AWS default chain). */
    customCredentialsProvider?: AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined
    /** Lifetime of each signed token in seconds, 1..604800. Default 900. */
    tokenDurationSecs?: number | undefined
    /** Retry `sql.begin` transactions (whole callbacks) that fail with an OCC conflict. Default off. */
    retry?: boolean | RetryOptions | undefined
    /** Receives OCC retry messages. */
    logger?: Logger | undefined
    /**
     * Puts each query's parameter values (as given) in the `aurora-dsql-postgres:query` tracing channel's
     * context (`parameters`), for subscribers such as `aurora-dsql-postgres/otel` with `includeParameters`.
     * Default `false`: subscribers see the parameter count only.
     */
    traceParameters?: boolean | undefined

    /** Pool size. Default 10 (`PGMAX`). */
    max?: number | undefined
    /** Seconds before an idle connection closes. Default none (`PGIDLE_TIMEOUT`). */
    idle_timeout?: number | null | undefined
    /** Seconds a connection lives; default random 45–55 minutes (DSQL closes connections at 60). */
    max_lifetime?: number | null | undefined
    /** Seconds to connect, including credential resolution and token signing. Default 30. */
    connect_timeout?: number | undefined
    /** TCP keep-alive interval in seconds; `false`/`null` turns it off. Default 60. */
    keep_alive?: number | false | null | undefined
    /** Named prepared statements, cached per connection. Default `true`. */
    prepare?: boolean | undefined
    /** Custom types: `{ name: { to, from, serialize, parse } }`; each name becomes `sql.typed.name(value)`. */
    types?: T | undefined
    /** Result and column name transforms, e.g. `camel` or `{ ...camel, undefined: null }`. */
    transform?: TransformOptions | undefined
    /** Startup parameters. */
    connection?: Partial<ConnectionParameters> | undefined
    /** Called with each server notice. Default `console.log`. */
    onnotice?: ((notice: Notice) => void) | undefined
    /** Called when the server reports a parameter change. */
    onparameter?: ((key: string, value: any) => void) | undefined
    /** `true` or a function called with each query. */
    debug?: boolean | ((connection: number, query: string, parameters: any[], paramTypes: any[]) => void) | undefined
    /** Accepted for postgres.js compatibility (array and enum types need no fetching here). */
    fetch_types?: boolean | undefined
    /** @deprecated Accepted for postgres.js compatibility; not used. */
    onclose?: ((connectionId: number) => void) | undefined
    /** @deprecated Accepted for postgres.js compatibility; not used. */
    backoff?: boolean | ((attempt: number) => number) | undefined
    /** @deprecated Use `prepare: false` (postgres.js's old spelling). */
    no_prepare?: boolean | undefined
    /** @deprecated Use `idle_timeout` (postgres.js's old spelling). */
    timeout?: number | null | undefined
  }

  /** Options of {@link auroraDSQLPostgres}: the official DSQL connector's options, TLS settings and postgres.js's options. */
  interface AuroraDSQLConfig<T extends Record<string, PostgresType> = Record<string, PostgresType>> extends DSQLBaseOptions<T> {
    /** Default `PGPORT` or 5432. */
    port?: number | undefined
    /** TLS; default verified TLS with the public roots (DSQL rejects plain connections). */
    ssl?: SSLOption | undefined
    /** `'direct'`: TLS first with ALPN `postgresql`, saving the SSLRequest round trip. Default `'postgres'`. */
    sslnegotiation?: 'postgres' | 'direct' | undefined
    /** Connect to this IP address while SNI, the certificate check and the token use the host name. */
    hostaddr?: string | undefined
  }

  /** Options of {@link auroraDSQLWsPostgres}. */
  interface AuroraDSQLWsConfig<T extends Record<string, PostgresType> = Record<string, PostgresType>> extends DSQLBaseOptions<T> {
    /** Send `select 1` before each query; close the connection when it gets no answer within 5 s. Default `false`. */
    connectionCheck?: boolean | undefined
    /** Passed to `onReservedConnectionClose`. */
    connectionId?: string | undefined
    /** Called when a connection closes unexpectedly (e.g. a failed connection check). */
    onReservedConnectionClose?: ((connectionId?: string) => void) | undefined
  }

  /** postgres.js's name of the options type. */
  type Options<T extends Record<string, PostgresType> = Record<string, PostgresType>> = AuroraDSQLConfig<T>

  /** postgres.js's normalized `transform` (`sql.options.transform`). */
  interface Transform {
    /** Replacement for `undefined` parameters. */
    undefined: any
    column: {
      from: ((column: string) => string) | undefined
      to: ((column: string) => string) | undefined
    }
    value: {
      from: ((value: any, column?: Column<string>) => any) | undefined
      to: undefined
    }
    row: {
      from: ((row: Row) => any) | undefined
      to: undefined
    }
  }

  /**
   * `sql.options`: postgres.js's parsed options (the fields of its `ParsedOptions`) plus this
   * connector's resolved DSQL settings. A plain, mutable object as in postgres.js; never a token,
   * secret key, session token or password (`pass` is `null`). Edits of `parsers` and `serializers`
   * (by type OID) apply to this instance's later queries; other fields are informational.
   */
  interface SqlOptions<TTypes extends Record<string, unknown> = {}> {
    /** The host, as postgres.js's one-element list. */
    host: string[]
    port: number[]
    path: string | undefined
    database: string
    user: string
    pass: null
    max: number
    /** `'verify-full'`, `{ rejectUnauthorized: false }` (TLS without verification) or `false` (no TLS). */
    ssl: 'verify-full' | { rejectUnauthorized: false } | false
    /** `'postgres'` or `'direct'`. */
    sslnegotiation: string
    /** Seconds; `null` at run time when connections never idle out (as in postgres.js, whose type says the same). */
    idle_timeout: number | undefined
    connect_timeout: number
    /**
     * Seconds; `null`: none. As in postgres.js (whose type says the same), the default is a function at
     * run time, drawing each connection's lifetime (here from {@link maxLifetime}).
     */
    max_lifetime: number | null
    /** The `backoff` option, else `false` (connections are opened again on demand). */
    backoff: boolean | ((attempt: number) => number)
    /** Seconds; `null` when off. */
    keep_alive: number | null
    prepare: boolean
    debug: boolean | ((connection: number, query: string, parameters: any[], paramTypes: any[]) => void)
    fetch_types: boolean
    publications: string
    target_session_attrs: 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby' | undefined
    /** Startup parameters; `application_name` as sent (with this connector's name). */
    connection: Partial<ConnectionParameters>
    types: { [name in keyof TTypes]: PostgresType<TTypes[name]> }
    /** The notice handler in use (the `onnotice` option, else `console.log`). */
    onnotice: (notice: Notice) => void
    onnotify: undefined
    /** The `onclose` option (not called), else a no-op. */
    onclose: (connectionId: number) => void
    /** The `onparameter` option, else a no-op. */
    onparameter: (key: string, value: any) => void
    socket: any
    transform: Transform
    /** The same object as `sql.parameters`. */
    parameters: ConnectionParameters
    /** Result parsers by type OID: an edit (`options.parsers[1184] = x => x`) applies to later queries, with the column's text. */
    parsers: Record<number, (value: any) => unknown>
    /** Parameter serializers by type OID: an edit applies to later queries. */
    serializers: Record<number, (value: any) => unknown>

    /** `'tcp'` (auroraDSQLPostgres) or `'websocket'` (auroraDSQLWsPostgres). */
    transport: string
    /** The WebSocket connector's `connectionCheck` (false over TCP). */
    connectionCheck: boolean
    hostaddr?: string | undefined
    region: string
    username: string
    /** `<prefix>:aurora-dsql-postgres/<version>` or `aurora-dsql-postgres/<version>`. */
    applicationName: string
    tokenDurationSecs: number
    profile?: string | undefined
    /** Where credentials come from, e.g. `'default-chain'`, `'static'`. */
    credentials: string
    /** Seconds (as `idle_timeout`; absent when none). */
    idleTimeout?: number | undefined
    /** Seconds: each connection's lifetime is drawn between the two. */
    maxLifetime?: readonly number[] | undefined
    /** Seconds (as `connect_timeout`). */
    connectTimeout: number
  }

  // ---- custom types and transforms ---------------------------------------------------------------

  /** A custom type: `to` is the OID sent, `from` the OIDs parsed, `serialize`/`parse` convert. */
  interface PostgresType<T = any> {
    to: number
    from: number[]
    serialize: (value: T) => unknown
    parse: (raw: any) => T
  }

  /** `types: { bigint: BigInt }` reads int8 (including `count(*)`) as a JS bigint. */
  const BigInt: PostgresType<bigint>

  /** A ready-made `transform`: result columns snake_case → another case (also inside json), and back for helpers. */
  interface CaseTransform {
    column: { from(column: string): string; to(column: string): string }
    value: { from(value: unknown, column: Column<string>): any }
  }

  /** snake_case → another case; usable as `transform: { column: toCamel }` or as the whole `transform`. */
  interface ToCase {
    (str: string): string
    column: { from(column: string): string; to(column: string): string }
    value: { from(value: unknown, column: Column<string>): any }
  }

  /** Another case → snake_case (for `transform.column.to`). */
  interface FromCase {
    (str: string): string
    column: { to(column: string): string }
  }

  const camel: CaseTransform
  const pascal: CaseTransform
  const kebab: CaseTransform
  const toCamel: ToCase
  const fromCamel: FromCase
  const toPascal: ToCase
  const fromPascal: FromCase
  const toKebab: ToCase
  const fromKebab: FromCase

  // ---- errors -----------------------------------------------------------------------------------

  /** An error reported by the server, with its ErrorResponse fields. */
  class PostgresError extends globalThis.Error {
    name: 'PostgresError'
    severity_local: string
    severity: string
    /** SQLSTATE, e.g. `23505`, `40001`; DSQL conflicts carry OC000/OC001 in the message. */
    code: string
    position: string
    file: string
    line: string
    routine: string
    detail?: string | undefined
    hint?: string | undefined
    internal_position?: string | undefined
    internal_query?: string | undefined
    where?: string | undefined
    schema_name?: string | undefined
    table_name?: string | undefined
    column_name?: string | undefined
    data?: string | undefined
    type_name?: string | undefined
    constraint_name?: string | undefined
    /** The failed query's text (non-enumerable). */
    query: string
    /** The failed query's parameters (non-enumerable). */
    parameters: any[]
  }

  interface ConnectionError extends globalThis.Error {
    code: 'CONNECTION_DESTROYED' | 'CONNECT_TIMEOUT' | 'CONNECTION_CLOSED' | 'CONNECTION_ENDED'
    errno: this['code']
    address: string
    port?: number | undefined
    /**
     * `true` on a `CONNECTION_CLOSED` error of a query that was written to the socket when the connection
     * closed before its answer (e.g. the server closed the connection for its age while the query was in
     * flight): it may or may not have run, and the connector does not run it again. Absent when the
     * query is known not to have run (queries that were never sent run on another connection instead).
     */
    outcomeUnknown?: true | undefined
  }

  interface NotSupportedError extends globalThis.Error {
    code: 'MESSAGE_NOT_SUPPORTED'
    name: string
  }

  /** A feature Aurora DSQL does not have (LISTEN/NOTIFY, savepoints, large objects, ...). */
  interface DSQLNotSupportedError extends globalThis.Error {
    code: 'DSQL_NOT_SUPPORTED'
    feature: string
  }

  interface GenericError extends globalThis.Error {
    code: '57014' | 'NOT_TAGGED_CALL' | 'UNDEFINED_VALUE' | 'MAX_PARAMETERS_EXCEEDED' | 'SASL_SIGNATURE_MISMATCH' | 'UNSAFE_TRANSACTION'
    message: string
  }

  interface AuthNotImplementedError extends globalThis.Error {
    code: 'AUTH_TYPE_NOT_IMPLEMENTED'
    type: number | string
    message: string
  }

  /** Every error a query can reject with (besides TypeError/RangeError for misuse). */
  type Error = PostgresError | ConnectionError | NotSupportedError | DSQLNotSupportedError | GenericError | AuthNotImplementedError

  // ---- values -----------------------------------------------------------------------------------

  interface Notice {
    [field: string]: string
  }

  /** A value with an explicit type OID (`sql.typed`, `sql.json`, custom type helpers). */
  interface Parameter<T = SerializableParameter> extends NotAPromise {
    /** The PostgreSQL type OID. */
    type: number
    /** The value as given. */
    value: T | null
  }

  /** An array value (`sql.array`). */
  interface ArrayParameter<T extends readonly any[] = readonly any[]> extends Parameter<T | T[]> {
    array: true
  }

  type Serializable = null | boolean | number | bigint | string | Date | Uint8Array

  /** What may be interpolated as a parameter; `T` adds the custom types' values. */
  type SerializableParameter<T = never> =
    | T
    | Serializable
    | Helper<any>
    | Parameter<any>
    | ArrayParameter
    | readonly SerializableParameter<T>[]

  /** Values `JSON.stringify` can send (used by `sql.json` and `sql.unsafe` parameters). */
  type JSONValue =
    | null
    | string
    | number
    | boolean
    | Date
    | readonly JSONValue[]
    | { toJSON(): any }
    | { readonly [prop: string | number]: undefined | JSONValue | ((...args: any) => any) }

  type ParameterOrJSON<T> = SerializableParameter<T> | JSONValue

  /** A query nested in another (`sql\`... ${sql\`and x = ${1}\`}\``). */
  type Fragment = PendingQuery<any>

  type ParameterOrFragment<T> = SerializableParameter<T> | Fragment | Fragment[]

  /** What `sql(first, ...rest)` returns: an identifier or insert/update/values/in helper. */
  interface Helper<T, U extends readonly any[] = T[]> extends NotAPromise {
    first: T
    rest: U
  }

  // ---- results ----------------------------------------------------------------------------------

  interface Row {
    [column: string]: any
  }

  type MaybeRow = Row | undefined

  interface Column<T extends string> {
    name: T
    /** Type OID. */
    type: number
    /** Table OID (0 when not a table column). */
    table: number
    /** Attribute number in the table. */
    number: number
    parser?: ((raw: string) => unknown) | undefined
  }

  type ColumnList<T> = (T extends string ? Column<T> : never)[]

  interface State {
    status: string
    pid: number
    secret: number
  }

  interface Statement {
    /** The prepared statement's name. */
    name: string
    /** The query text. */
    string: string
    /** Parameter type OIDs. */
    types: number[]
    columns: ColumnList<string>
  }

  interface ResultMeta<T extends number | null> {
    /** Rows returned or affected. */
    count: T
    /** The command tag, e.g. `SELECT`, `INSERT`. */
    command: string
    statement: Statement
    state: State
  }

  interface ResultQueryMeta<T extends number | null, U> extends ResultMeta<T> {
    columns: ColumnList<U>
  }

  type ExecutionResult<T> = [] & ResultQueryMeta<number, keyof NonNullable<T>>
  type ValuesRowList<T extends readonly any[]> = T[number][keyof T[number]][][] & ResultQueryMeta<T['length'], keyof T[number]>
  type RawRowList<T extends readonly any[]> = NodeBuffer[][] & Iterable<NodeBuffer[][]> & ResultQueryMeta<T['length'], keyof T[number]>
  /** A query's result: the rows (an Array) with `count`, `command`, `columns`, `statement`, `state`. */
  type RowList<T extends readonly any[]> = T & Iterable<NonNullable<T[number]>> & ResultQueryMeta<T['length'], keyof T[number]>

  // ---- queries ----------------------------------------------------------------------------------

  interface PendingQueryModifiers<TRow extends readonly any[]> {
    /** Use the simple query protocol (several statements in one string; no parameters). */
    simple(): this
    /** Send now instead of when first awaited. */
    execute(): this
    /** Cancel the query if it is running. */
    cancel(): void
    /** Calls `cb` for each row as it arrives; resolves to an empty result with `count` and `command`. */
    forEach(cb: (row: NonNullable<TRow[number]>, result: ExecutionResult<TRow[number]>) => void): Promise<ExecutionResult<TRow[number]>>
    /** @deprecated Renamed `forEach` in postgres.js 3. */
    stream(cb: (row: NonNullable<TRow[number]>, result: ExecutionResult<TRow[number]>) => void): never
    /** Fetch `rows` rows at a time (default 1): `for await (const rows of sql\`...\`.cursor(100))`. */
    cursor(rows?: number | undefined): AsyncIterable<NonNullable<TRow[number]>[]>
    /** Calls `cb` with each row; return `sql.CLOSE` to stop early. */
    cursor(cb: (row: [NonNullable<TRow[number]>]) => void): Promise<ExecutionResult<TRow[number]>>
    /** Calls `cb` with batches of `rows` rows; return `sql.CLOSE` to stop early. */
    cursor(rows: number, cb: (rows: NonNullable<TRow[number]>[]) => void): Promise<ExecutionResult<TRow[number]>>
    /** ``sql`copy t to stdout`.readable()``: the data as a Node `stream.Readable` (one chunk per row). */
    readable(): Promise<CopyReadable>
    /** ``sql`copy t from stdin`.writable()``: a Node `stream.Writable` that takes the data. */
    writable(): Promise<CopyWritable>
  }

  /**
   * The Node `stream.Readable` a COPY TO gives, declared by the part of its surface most code uses (so that
   * these declarations need no @types/node); cast it to `Readable` from 'node:stream' for the rest.
   */
  interface CopyReadable extends AsyncIterable<NodeBuffer> {
    readonly readable: boolean
    on(event: 'data', listener: (chunk: NodeBuffer) => void): this
    on(event: 'end' | 'close', listener: () => void): this
    on(event: 'error', listener: (error: Error) => void): this
    on(event: string | symbol, listener: (...args: any[]) => void): this
    once(event: string | symbol, listener: (...args: any[]) => void): this
    pipe<T>(destination: T, options?: { end?: boolean | undefined } | undefined): T
    read(size?: number | undefined): NodeBuffer | null
    pause(): this
    resume(): this
    destroy(error?: Error | undefined): this
  }

  /** The Node `stream.Writable` a COPY FROM gives (see {@link CopyReadable} on its declaration). */
  interface CopyWritable {
    readonly writable: boolean
    write(chunk: string | Uint8Array, callback?: ((error?: Error | null) => void) | undefined): boolean
    write(chunk: string | Uint8Array, encoding: string, callback?: ((error?: Error | null) => void) | undefined): boolean
    end(callback?: (() => void) | undefined): this
    end(chunk: string | Uint8Array, callback?: (() => void) | undefined): this
    end(chunk: string | Uint8Array, encoding: string, callback?: (() => void) | undefined): this
    on(event: 'finish' | 'close' | 'drain', listener: () => void): this
    on(event: 'error', listener: (error: Error) => void): this
    on(event: string | symbol, listener: (...args: any[]) => void): this
    once(event: string | symbol, listener: (...args: any[]) => void): this
    destroy(error?: Error | undefined): this
  }

  interface PendingDescribeQuery extends Promise<Statement> {}

  interface PendingValuesQuery<TRow extends readonly MaybeRow[]>
    extends Promise<ValuesRowList<TRow>>,
      PendingQueryModifiers<TRow[number][keyof TRow[number]][][]> {
    describe(): PendingDescribeQuery
  }

  interface PendingRawQuery<TRow extends readonly MaybeRow[]> extends Promise<RawRowList<TRow>>, PendingQueryModifiers<NodeBuffer[][]> {}

  /** A lazy query: sent when awaited (or `.execute()`d); also usable as a fragment of another query. */
  interface PendingQuery<TRow extends readonly MaybeRow[]> extends Promise<RowList<TRow>>, PendingQueryModifiers<TRow> {
    /** Prepare only: resolves to the statement's parameter types and columns. */
    describe(): PendingDescribeQuery
    /** Rows as arrays of values. */
    values(): PendingValuesQuery<TRow>
    /** Rows as arrays of Buffers (the values as the server sent them). */
    raw(): PendingRawQuery<TRow>
  }

  interface PendingRequest extends Promise<[] & ResultMeta<null>> {}

  interface UnsafeQueryOptions {
    /** Use a named prepared statement. */
    prepare?: boolean | undefined
  }

  // ---- the sql function ---------------------------------------------------------------------------

  /** What every `sql` (pool, transaction, reserved connection) can do. */
  interface ISql<TTypes extends Record<string, unknown> = {}> {
    /**
     * Helpers: `sql('table')` / `sql('a', 'b')` identifiers, `sql(row | rows, ...columns)` for
     * insert/update/select/values, `sql([1, 2])` for `in (...)`. Only valid inside a tagged template.
     */
    <T, K extends HelperRest<T>>(first: T & HelperFirst<T, K, TTypes[keyof TTypes]>, ...rest: K): HelperReturn<T, K>

    /** Runs a query; every `${}` is a parameter, a helper or a nested query. `sql<User[]>\`...\`` types the rows. */
    <T extends readonly (object | undefined)[] = Row[]>(
      template: TemplateStringsArray,
      ...parameters: readonly ParameterOrFragment<TTypes[keyof TTypes]>[]
    ): PendingQuery<T>

    /** Not callable (see {@link ForeignSignature}). */
    (this: never, first: any, ...rest: any[]): any

    /** A value with an explicit type OID; also `sql.typed.<custom type>(value)`. */
    typed: (<T>(value: T, oid: number) => Parameter<T>) & ForeignSignature & {
      [name in keyof TTypes]: (value: TTypes[name]) => Parameter<TTypes[name]>
    }
    /** Same as `typed`. */
    types: this['typed']

    /** A query from a string; `$1`... refer to `parameters`. Never interpolate untrusted input into `query`. */
    unsafe<T extends any[] = (Row & Iterable<Row>)[]>(
      query: string,
      parameters?: readonly ParameterOrJSON<TTypes[keyof TTypes]>[] | undefined,
      queryOptions?: UnsafeQueryOptions | undefined
    ): PendingQuery<T>
    /** Not callable (see {@link ForeignSignature}). */
    unsafe(this: never, first: any, ...rest: any[]): any

    /** A query read from a file. */
    file<T extends readonly any[] = Row[]>(
      path: FileReference,
      options?: { cache?: boolean | undefined } | undefined
    ): PendingQuery<T>
    file<T extends readonly any[] = Row[]>(
      path: FileReference,
      args: readonly ParameterOrJSON<TTypes[keyof TTypes]>[],
      options?: { cache?: boolean | undefined } | undefined
    ): PendingQuery<T>
    /** Not callable (see {@link ForeignSignature}). */
    file(this: never, first: any, ...rest: any[]): any

    /** A jsonb parameter. */
    json(value: JSONValue): Parameter
    /** Not callable (see {@link ForeignSignature}). */
    json(this: never, first: any, ...rest: any[]): any

    /** An array parameter; `type` is the element OID (default: inferred, else text). */
    array<T extends SerializableParameter<TTypes[keyof TTypes]>[] = SerializableParameter<TTypes[keyof TTypes]>[]>(
      value: T,
      type?: number | undefined
    ): ArrayParameter<T>
    /** Not callable (see {@link ForeignSignature}). */
    array(this: never, first: any, ...rest: any[]): any

    /** @deprecated Aurora DSQL has no LISTEN/NOTIFY: always rejects with DSQL_NOT_SUPPORTED. */
    notify(channel: string, payload: string): Promise<never>
  }

  /** The pool's `sql`. */
  interface Sql<TTypes extends Record<string, unknown> = {}> extends ISql<TTypes> {
    /** Return from a `cursor` callback to stop. */
    CLOSE: {}
    END: this['CLOSE']
    PostgresError: typeof PostgresError

    /** The resolved options as postgres.js has them (plus DSQL's), without secrets. */
    options: SqlOptions<TTypes>
    /** Server parameters reported at connect (`server_version`, `TimeZone`, ...). */
    parameters: ConnectionParameters

    /**
     * Closes the pool. Without `timeout`, waits for running queries; with `timeout` (seconds),
     * destroys connections still busy after it. Later queries reject with CONNECTION_ENDED.
     */
    end(options?: { timeout?: number | null | undefined } | undefined): Promise<void>
    /** Same as `end`. */
    close(options?: { timeout?: number | null | undefined } | undefined): Promise<void>

    /**
     * Runs `cb` in a transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws
     * or when any query inside failed. Resolves to the callback's value (an array of queries is awaited).
     * With `retry` (here or on the factory), the whole callback re-runs on OCC conflicts.
     */
    begin<T>(cb: (sql: TransactionSql<TTypes>) => T | Promise<T>, options?: BeginOptions | undefined): Promise<ResolvedArray<T>>
    /** `mode` is appended to BEGIN, e.g. `'isolation level repeatable read'` or `'read only'`. */
    begin<T>(
      mode: string,
      cb: (sql: TransactionSql<TTypes>) => T | Promise<T>,
      options?: BeginOptions | undefined
    ): Promise<ResolvedArray<T>>
    /** Not callable (see {@link ForeignSignature}). */
    begin(this: never, first: any, ...rest: any[]): any

    /** Pins one connection until `release()`. */
    reserve(): Promise<ReservedSql<TTypes>>

    /** The pool's and the facade's counters now (see {@link SqlStats}); a call costs a few microseconds. */
    stats(): SqlStats

    /** @deprecated Aurora DSQL has no LISTEN/NOTIFY: always rejects with DSQL_NOT_SUPPORTED. */
    listen(channel: string, onnotify: (value: string) => void, onlisten?: (() => void) | undefined): Promise<never>
    /** @deprecated Aurora DSQL has no logical replication: always rejects with DSQL_NOT_SUPPORTED. */
    subscribe(event: string, cb: (row: Row | null, info: any) => void, onsubscribe?: () => void, onerror?: () => any): Promise<never>
    /** @deprecated Aurora DSQL has no large objects: always rejects with DSQL_NOT_SUPPORTED. */
    largeObject(oid?: number | undefined, mode?: number | undefined): Promise<never>
  }

  /** The `sql` given to a `sql.begin` callback. */
  interface TransactionSql<TTypes extends Record<string, unknown> = {}> extends ISql<TTypes> {
    /** @deprecated Aurora DSQL has no savepoints: always rejects with DSQL_NOT_SUPPORTED. */
    savepoint<T>(cb: (sql: TransactionSql<TTypes>) => T | Promise<T>): Promise<never>
    /** @deprecated Aurora DSQL has no savepoints: always rejects with DSQL_NOT_SUPPORTED. */
    savepoint<T>(name: string, cb: (sql: TransactionSql<TTypes>) => T | Promise<T>): Promise<never>
    /** Not callable (see {@link ForeignSignature}). */
    savepoint(this: never, first: any, ...rest: any[]): any
    /** @deprecated Aurora DSQL has no PREPARE TRANSACTION: always rejects with DSQL_NOT_SUPPORTED. */
    prepare(name: string): Promise<never>
  }

  /**
   * `sql.stats()`: gauges (what is now) and counters (since the instance was made, never reset). One schema
   * for every instance; fields may be added (hosts and failovers with multi-Region support), none removed.
   */
  interface SqlStats {
    /** Connections in the pool (open, opening and reserved). */
    connections: number
    /** Connections open (authenticated). */
    open: number
    /** Connections being opened (TCP, TLS, token, authentication). */
    opening: number
    /** Open connections with no query in flight and not reserved. */
    idle: number
    /** Open connections with a query in flight or reserved. */
    busy: number
    /** Connections reserved by `sql.begin` / `sql.reserve()`. */
    reserved: number
    /** Queries sent and not yet answered. */
    inflight: number
    /** Queries and reservations waiting for a connection. */
    waiting: number
    /** Counter: queries submitted. */
    queries: number
    /** Counter: connection attempts (each retry of an open counts). */
    connectAttempts: number
    /** Counter: connection attempts that failed. */
    connectFailures: number
    /** Counter: authentication tokens signed (one per connection attempt). */
    tokensSigned: number
    /** Counter: times the credential provider or the AWS default chain was called (cached credentials not counted). */
    credentialResolutions: number
    /** Counter: bytes received from the server's sockets. */
    bytesIn: number
    /** Counter: bytes sent to the server's sockets. */
    bytesOut: number
    /** Counter: failed queries by SQLSTATE class (`'40'`, `'42'`), connection errors by their code (`'CONNECTION_CLOSED'`). */
    errorsByClass: Record<string, number>
    /**
     * Counter: queries that never ran on the connection they were given to (it was known closed before
     * they were sent, or they were sent behind a query the database session ended with a FATAL) and ran
     * on another connection instead, unseen by their callers.
     */
    retried: number
    /** Counter: queries that failed with an OCC conflict (40001, OC000, OC001), retried or not. */
    occConflicts: number
    /** Counter: OCC retries made (`sql.begin` callbacks and, with `retry.statements`, single statements). */
    occRetries: number
  }

  /**
   * The context of the `aurora-dsql-postgres:query` tracing channel (`node:diagnostics_channel`), one per
   * query: `start`/`end` when it is sent (in the async context where the query was made), then `error` (if
   * it failed), `asyncStart` and `asyncEnd` when it settles, before the caller resumes. Never holds a
   * token or a credential; parameter values only with `traceParameters: true`.
   */
  interface QueryTraceContext {
    /** The query text as sent (`$1`, `$2` placeholders). */
    query: string
    parameterCount: number
    /** The values as given; only with the `traceParameters: true` option. */
    parameters?: unknown[] | undefined
    /** The command tag's command (`'SELECT'`, `'INSERT'`), once answered. */
    command: string | null
    /** Rows returned or affected, once answered. */
    rowCount: number | null
    /** The cluster host name (also over WebSocket) and port. */
    serverAddress: string
    serverPort: number
    database: string
    region: string
    transport: 'tcp' | 'websocket'
    /** The reserved connection (a transaction, `sql.reserve()`, a cursor); null when the pool chose one. */
    connection: number | null
    /** The server's backend process id, once answered. */
    processId: number | null
    /** Other queries of this instance in flight when it was sent. */
    inflight: number
    /** At least as many queries in flight as the pool has connections: it was queued behind another on its connection. */
    pipelined: boolean
    /** Times it was sent again: OCC retries of a single statement (`retry.statements`), a stale cached plan. */
    retries: number
    /** `query.cancel()` was called. */
    cancelled: boolean
    /** The resolved value (a Result), at `asyncStart`/`asyncEnd`. */
    result?: unknown
    /** The error it rejected with (a PostgresError carries the SQLSTATE in `code`). */
    error?: Error | undefined
  }

  /** The context of the `aurora-dsql-postgres:transaction` tracing channel: one per `sql.begin`, all OCC attempts in it. */
  interface TransactionTraceContext {
    /** `sql.begin`'s mode (`'read only'`), or `''`. */
    mode: string
    serverAddress: string
    serverPort: number
    database: string
    region: string
    transport: 'tcp' | 'websocket'
    /** Times the callback ran (1 + OCC retries). */
    attempts: number
    /** Of the last attempt. */
    outcome: 'committed' | 'rolled_back' | 'commit_failed' | null
    result?: unknown
    error?: Error | undefined
  }

  /**
   * The context of the `aurora-dsql-postgres:connect` tracing channel: one `start`/`end` per connection
   * attempt once it has ended (`error` before `end` when it failed), published in the async context of
   * the query that made the pool open the connection, else in the connector's root context.
   */
  interface ConnectTraceContext {
    /** The pool's id of the query that caused it, or 0 (a reservation, a queued query, a replacement). */
    query: number
    connection: number
    /** The attempt within one open, from 1. */
    attempt: number
    host: string
    port: number
    region: string
    transport: 'tcp' | 'websocket'
    ok: boolean
    /** The failure's code: a SQLSTATE from the server (`'28000'`), or `'ECONNREFUSED'`, `'TLS_ERROR'`, `'CONNECT_TIMEOUT'`, ... */
    code: string | null
    /** Milliseconds of each phase (null where not measured): token signing (with credential resolution), TCP, TLS, authentication, total. */
    ms: { token: number | null; tcp: number | null; tls: number | null; auth: number | null; total: number | null }
    /** When it failed: an Error with `code` and the message. */
    error?: Error | undefined
  }

  /** The context of the `aurora-dsql-postgres:token` tracing channel: one `start`/`end` per token signed. Never the token. */
  interface TokenTraceContext {
    /** As in {@link ConnectTraceContext}. */
    query: number
    connection: number
    /** Milliseconds signing took, credential resolution included. */
    ms: number | null
    /** `'resolved'`: the credential provider or chain was called for this token; `'cached'`: cached credentials. */
    credentials: 'cached' | 'resolved'
  }

  /** A `sql` pinned to one connection (`sql.reserve()`). */
  interface ReservedSql<TTypes extends Record<string, unknown> = {}> extends Sql<TTypes> {
    /** Returns the connection to the pool. */
    release(): void
  }
}

export = auroraDSQLPostgres
