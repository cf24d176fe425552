'use strict'
// The `sql` function object: tagged template, helpers, unsafe, begin, reserve, end, options.

const { build, buildUnsafe, serializeParams, helper, typed, json, array } = require('./build.js')
const { parserFor, defaultSerializers } = require('./types.js')
const { TypeTables, sqlOptions } = require('./options.js')
const { normalizeTransform } = require('./transform.js')
const { genericError, notSupportedError, PostgresError, connectionError } = require('./errors.js')
const { CODE } = require('./codes.js')
const { Client, Target, nativeError, FRAME_BUFFER_BYTES } = require('./client.js')
const { Result } = require('./result.js')
const { Query, callSite } = require('./query.js')
const { FLAG_PREPARE, FLAG_TEXT, FLAG_SIMPLE, FLAG_DESCRIBE } = require('./protocol.js')
const { resolveRetry, withRetry } = require('./retry.js')
const { OPTION_ENV } = require('./defaults.js')
const { Buffer, env, readTextFile } = require('./platform.js')
const { poolStats } = require('./stats.js')
const { queryChannel, transactionChannel, startQueryTrace, endQueryTrace, traceTransaction } = require('./tracing.js')

// Whether a serializers table (sql.options.serializers, which users may edit at any time) has a
// function other than the defaults: a few keys, compared without allocating.
function customSerializers(serializers) {
  for (const oid in serializers) if (serializers[oid] !== defaultSerializers[oid]) return true
  return false
}

// Whether a query's values can be serialized only once the server has typed its parameters: with a
// custom serializer, any untyped value (the serializer applies by the server's type, as in
// postgres.js); else an untyped array of an unprepared query (a prepared one is typed at its Parse,
// and the native side then picks the array's form).
function needsParameterTypes(q, flags, serializers) {
  const custom = customSerializers(serializers)
  if (!custom && flags & FLAG_PREPARE) return false
  for (let i = 0; i < q.params.length; i++) {
    const x = q.params[i]
    if (x != null && !q.types[i] && (custom || Array.isArray(x))) return true
  }
  return false
}

// sql.CLOSE: returned from a cursor callback to stop early (one value for every sql instance).
const CLOSE = Object.freeze({ close: true })

// A query that fails outside the completion frames (a cursor's callback, its connection): its trace ends too.
function fail(query, err) {
  const q = query._state
  q.trace !== null && endQueryTrace(q, null, err)
  query._reject(err)
}

// Options that live in JS only (functions, parsers) and are never sent to the native side.
const JS_ONLY = new Set(['transform', 'types', 'onnotice', 'onparameter', 'debug', 'fetch_types', 'retry', 'logger', 'socket', 'publications', 'target_session_attrs', 'onclose', 'backoff', 'password', 'pass', 'connectionId', 'onReservedConnectionClose', 'no_prepare', 'traceParameters'])

// Options postgres.js reads as strings or numbers: an object given there is converted as postgres.js
// converts it (toString / valueOf), once, when the sql is made.
const STRING_OPTIONS = new Set(['host', 'hostname', 'hostaddr', 'user', 'username', 'database', 'db', 'region', 'profile', 'sslmode', 'sslnegotiation', 'sslrootcert'])
const NUMBER_OPTIONS = new Set(['port', 'max', 'idle_timeout', 'connect_timeout', 'max_lifetime', 'tokenDurationSecs', 'keep_alive'])

// The options the native side reads. A conversion that throws (a toString that throws) is not thrown
// here: as in postgres.js, it rejects the queries (`failed` receives it) and no connection is made.
function nativeOptions(options, failed) {
  const out = {}
  for (const [k, v] of Object.entries(options)) {
    if (JS_ONLY.has(k) || v === undefined || typeof v === 'function') continue
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && (STRING_OPTIONS.has(k) || NUMBER_OPTIONS.has(k))) {
      try {
        out[k] = STRING_OPTIONS.has(k) ? String(v) : Number(v)
      } catch (err) {
        failed(err)
      }
    } else if (k === 'ssl' && v && typeof v === 'object') {
      const ca = v.ca === undefined ? undefined : [].concat(v.ca).map(x => Buffer.isBuffer(x) ? x.toString('utf8') : x)
      out.ssl = { rejectUnauthorized: v.rejectUnauthorized, ca }
    } else {
      out[k] = v
    }
  }
  return out
}

// The environment variables the native side reads (connection settings, the AWS credential chain,
// proxies). Their values are taken from process.env and handed to the pool: Bun keeps what is set at
// run time (.env files included) in process.env only, where the native side's C environment does
// not see it. Names only: the values (secrets among them) go nowhere else.
const NATIVE_ENV = [
  ...OPTION_ENV, // the options' (PGHOST, ..., AWS_REGION, AWS_PROFILE)
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN',
  'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME', 'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS', 'AWS_STS_REGIONAL_ENDPOINTS',
  'AWS_USE_FIPS_ENDPOINT', 'AWS_USE_DUALSTACK_ENDPOINT',
  'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy'
]

function nativeEnv() {
  const out = {}
  for (const name of NATIVE_ENV) {
    const v = env(name)
    if (typeof v === 'string') out[name] = v
  }
  return out
}

function checkFunction(options, name) {
  if (options[name] !== undefined && options[name] !== null && typeof options[name] !== 'function')
    throw new TypeError(`${name} must be a function, got ${typeof options[name]}`)
}

// The customCredentialsProvider function, normalized to what the native side reads.
function credentialsProvider(fn) {
  return async () => {
    const c = await fn()
    if (!c || typeof c !== 'object')
      throw new TypeError('customCredentialsProvider must resolve to { accessKeyId, secretAccessKey, sessionToken?, expiration? }')
    return {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken || undefined,
      expiration: c.expiration ? +new Date(c.expiration) : undefined
    }
  }
}

// The callbacks handed to the native pool are made out here: a closure made inside createSql would hold
// its whole context (the client, the pool object itself, ...), and the native side holds these callbacks
// strongly while the pool lives, so the pool (and its buffers) could never be collected: a cycle through
// a native reference that the GC cannot see through.
function framesCallback(target) {
  return (chunk, more) => target.deliver(chunk, more)
}
function closeCallback(fn, connectionId) {
  return () => { try { fn(connectionId) } catch (err) { queueMicrotask(() => { throw err }) } }
}

function createSql(native, url, options) {
  // postgres.js's deprecated spelling.
  if (options.no_prepare !== undefined && options.prepare === undefined) options = { ...options, prepare: !options.no_prepare }
  // Validate JS-only options before any connection work.
  ;['onnotice', 'onparameter', 'onReservedConnectionClose'].forEach(n => checkFunction(options, n))
  const websocket = options.transport === 'websocket'
  if (!websocket)
    for (const n of ['connectionCheck', 'connectionId', 'onReservedConnectionClose'])
      if (options[n] !== undefined) throw new TypeError(`${n} is an option of auroraDSQLWsPostgres (the WebSocket connector)`)
  if (options.connectionId !== undefined && typeof options.connectionId !== 'string')
    throw new TypeError(`connectionId must be a string, got ${typeof options.connectionId}`)
  if (options.debug !== undefined && typeof options.debug !== 'boolean' && typeof options.debug !== 'function')
    throw new TypeError('debug must be a boolean or a function (connection, query, parameters, types)')
  if (options.logger !== undefined && (options.logger === null || typeof options.logger !== 'object'))
    throw new TypeError('logger must be an object with debug/error methods')
  // Validates the factory-level retry config now (the official connector does the same).
  const retryOption = options.retry
  if (retryOption !== undefined && typeof retryOption !== 'boolean' && (retryOption === null || typeof retryOption !== 'object'))
    throw new TypeError('retry must be a boolean or an OCCRetryConfig object')
  retryOption && retryOption !== true && resolveRetry(retryOption, undefined)
  const statementRetry = retryOption && retryOption.statements === true ? resolveRetry(retryOption, undefined) : null
  const logger = options.logger
  if (options.traceParameters !== undefined && typeof options.traceParameters !== 'boolean')
    throw new TypeError('traceParameters must be a boolean')
  let occRetries = 0, occConflicts = 0
  if (options.types !== undefined && (typeof options.types !== 'object' || options.types === null))
    throw new TypeError('types must be an object of { to, from, serialize, parse } entries')
  const transform = normalizeTransform(options.transform)
  // The instance's parsers and serializers: sql.options.parsers / serializers, edited in place by users.
  const types = new TypeTables(options.types || {})
  const customOids = types.textOids
  const parsers = { custom: customOids, get: oid => parserFor(oid, types.parsers) }

  const provider = typeof options.customCredentialsProvider === 'function' ? credentialsProvider(options.customCredentialsProvider) : undefined
  let pool
  let optionError = null
  const target = new Target()
  // Chunks of completion frames are copied into this buffer (see Client.decode).
  const frames = Buffer.allocUnsafeSlow(FRAME_BUFFER_BYTES)
  try {
    // onReservedConnectionClose(connectionId): a connection closed unexpectedly or failed its check.
    const onClose = options.onReservedConnectionClose ? closeCallback(options.onReservedConnectionClose, options.connectionId) : undefined
    pool = new native.NativePool(url, nativeOptions(options, err => { optionError = optionError || err }), [...customOids], frames, framesCallback(target), provider, onClose, nativeEnv())
  } catch (err) {
    throw nativeError(err)
  }
  const resolved = pool.options
  const parameters = {}
  const debug = options.debug === true ? (conn, text, params) => console.log(text, params) : options.debug || undefined // eslint-disable-line no-console
  const client = new Client(pool, { parsers, transform, onnotice: options.onnotice, onparameter: options.onparameter, parameters, debug, host: resolved.host, port: resolved.port }, target, frames)
  types.onParsers = () => client.forgetColumns()
  // postgres.js's sql.options (shared with transactions and reserved connections).
  const publicOptions = sqlOptions(resolved, options, { types, transform, parameters, debug, onnotice: options.onnotice || (n => console.log(n)) }) // eslint-disable-line no-console
  const ctx = { transform, serializers: types.serializers }
  // What the tracing channels report of this instance (js/tracing.js): where it connects, never credentials.
  const traceOptions = { host: resolved.host, port: resolved.port, database: resolved.database, region: resolved.region, transport: resolved.transport, max: resolved.max }
  const env = {
    client, pool, statementRetry, logger, debug: !!debug, retried: () => occRetries++, conflict: () => occConflicts++,
    traceOptions, traceParameters: options.traceParameters === true
  }

  // Parameter types the server inferred, by query text (see makeSql's `run`).
  const inferred = new Map()

  function makeSql(conn, onError) {
    // While a query on this reserved connection waits for its parameter types, later ones wait behind
    // it, so that they still run in the order they were made.
    let gate = null
    const run = query => {
      const q = query._state
      if (q.cancelled) return
      if (optionError !== null) return query._reject(optionError)
      if (gate !== null && !(q.flags & FLAG_DESCRIBE)) return void gate.then(() => run(query))
      try {
        // postgres.js takes any value as unsafe's text and converts it when the query runs.
        query.unsafe !== undefined && typeof query.unsafe !== 'string' && (query.unsafe = String(query.unsafe))
        query.unsafe !== undefined
          ? buildUnsafe(query.unsafe, query.args || [], ctx, q)
          : build(query.strings, query.args, ctx, q)
      } catch (err) {
        return query._reject(err)
      }
      // postgres.js: unsafe() does not prepare unless asked; templates follow the pool's `prepare`.
      const prepare = query.options && query.options.prepare !== undefined ? query.options.prepare : query.unsafe === undefined && resolved.prepare
      let flags = q.flags
      // Several statements without parameters (unsafe, file) go over the simple protocol.
      if (query.unsafe !== undefined && !q.params.length && /;\s*\S/.test(q.text.replace(/;\s*$/, ''))) flags |= FLAG_SIMPLE
      if (!conn && resolved.max > 1 && /^\s*(begin|start\s+transaction)\b/i.test(q.text))
        return query._reject(genericError('UNSAFE_TRANSACTION', 'Only use sql.begin, sql.reserved or max: 1'))
      // simple() and parameterless unsafe() with several statements use the simple protocol.
      if (!(flags & FLAG_SIMPLE) && prepare) flags |= FLAG_PREPARE
      // A replaced parser of a binary-decoded type gets the text form (see TypeTables).
      if (types.text) flags |= FLAG_TEXT
      if (flags & FLAG_SIMPLE && q.params.length) flags &= ~FLAG_SIMPLE
      q.flags = flags
      // A custom serializer applies by the type the server gives a parameter (as in postgres.js): an
      // untyped value then needs the statement's parameter types first, asked once per text.
      if (!(flags & FLAG_DESCRIBE) && needsParameterTypes(q, flags, types.serializers)) {
        const known = inferred.get(q.text)
        if (known === undefined) {
          const described = parameterTypes(q.text).then(() => { gate === described && (gate = null); run(query) }, err => { gate === described && (gate = null); query._reject(err) })
          if (conn) gate = described
          return
        }
        // The server's type is taken where it changes how the value is sent: a custom serializer of
        // that type, or an array (literal, JSON or text by that type); else the value goes as before.
        const serializers = types.serializers
        q.types = q.types.map((type, i) => type || (known[i] && (Array.isArray(q.params[i]) || (serializers[known[i]] !== undefined && serializers[known[i]] !== defaultSerializers[known[i]])) ? known[i] : 0))
      }
      q.givenParams = q.params
      try {
        q.params = serializeParams(q.givenParams, q.types, types.serializers)
      } catch (err) {
        return query._reject(err)
      }
      q.owner = owner
      q.conn = conn
      q.current = new Result()
      const cur = q.cur
      if (cur !== null) {
        cur.more = () => pool.cursorNext(q.id)
        cur.close = () => pool.cursorClose(q.id)
        // Each batch's callback runs after the previous one has finished; the query resolves after the last.
        cur.onBatch = cur.fn
          ? rows => {
            cur.pending = (cur.pending || Promise.resolve()).then(() => cur.fn(rows)).then(r => r === CLOSE ? cur.close() : cur.more(), err => { cur.close(); fail(query, err) })
          }
          : rows => cur.push(rows)
        // A cursor holds its connection between batches: it gets one of its own.
        if (!conn) {
          q.scope !== null || queryChannel.hasSubscribers ? startQueryTrace(query, env) : q.scope = null
          return reserveConnection().then(c => {
            if (q.cancelled) return pool.release(c)
            q.conn = c
            q.trace !== null && (q.trace.connection = c)
            cur.release = () => { cur.release = null; pool.release(c) }
            client.enqueue(q)
          }, err => fail(query, err))
        }
      }
      // The trace starts here, once the query is built and sent (see js/tracing.js).
      q.scope !== null || queryChannel.hasSubscribers ? startQueryTrace(query, env) : q.scope = null
      q.submitted = true
      client.enqueue(q)
    }
    // What every query of this sql shares (its QueryState reads it instead of closing over it).
    const owner = { conn, onError, env }

    // The server's parameter types of `text`, by a Describe on this connection (or the pool).
    function parameterTypes(text) {
      const describe = new Query(run, undefined, [], text, { prepare: true })
      describe._state.flags |= FLAG_DESCRIBE
      return describe.then(statement => {
        inferred.size >= 1000 && inferred.clear()
        inferred.set(text, statement.types)
      })
    }

    function sql(strings, ...args) {
      if (Array.isArray(strings) && Array.isArray(strings.raw)) {
        const query = new Query(run, strings, args)
        query._state.origin = callSite(strings, sql, debug)
        return query
      }
      return helper(strings, ...args)
    }

    Object.assign(sql, {
      unsafe: function unsafe(text, args = [], opts = {}) {
        // postgres.js: a non-array second argument is the options.
        if (args && !Array.isArray(args) && typeof args === 'object') { opts = args; args = [] }
        if (!Array.isArray(args)) throw new TypeError('sql.unsafe: args must be an array')
        const query = new Query(run, undefined, args, text === undefined ? '' : text, opts)
        query._state.origin = callSite(undefined, unsafe, debug)
        return query
      },
      // As postgres.js: `path` is anything fs.readFile takes (a string, a file: URL, a Buffer); a read
      // error (ENOENT, ...) rejects the query.
      file: function file(path, args = [], opts = {}) {
        if (args && !Array.isArray(args) && typeof args === 'object') { opts = args; args = [] }
        if (!Array.isArray(args)) throw new TypeError('sql.file: args must be an array')
        const query = new Query(q => {
          readTextFile(path).then(text => { q.unsafe = text; run(q) }, err => q._reject(err))
        }, undefined, args, '', opts)
        query._state.origin = callSite(undefined, file, debug)
        return query
      },
      typed: Object.assign((v, oid) => typed(v, oid), types.helpers),
      types: Object.assign((v, oid) => typed(v, oid), types.helpers),
      json, array,
      options: publicOptions,
      parameters,
      PostgresError: require('./errors.js').PostgresError,
      CLOSE,
      END: CLOSE,
      listen: () => Promise.reject(notSupportedError('LISTEN/NOTIFY')),
      notify: () => Promise.reject(notSupportedError('LISTEN/NOTIFY')),
      subscribe: () => Promise.reject(notSupportedError('logical replication (subscribe)')),
      largeObject: () => Promise.reject(notSupportedError('large objects'))
    })
    return sql
  }

  const sql = makeSql(0)

  // sql.begin([mode], fn, [{ retry }]): with retry, a conflicting transaction runs again (the
  // callback may run several times).
  sql.begin = function begin(first, second, third) {
    let mode = '', fn, callOpts
    if (typeof first === 'string') { mode = first; fn = second; callOpts = third } else { fn = first; callOpts = second }
    if (typeof fn !== 'function') return Promise.reject(new TypeError('sql.begin: callback function is required'))
    let config
    try {
      config = resolveRetry(retryOption, callOpts && callOpts.retry)
    } catch (err) {
      return Promise.reject(err)
    }
    if (transactionChannel.hasSubscribers) {
      return traceTransaction(trace => {
        const once = () => { trace.attempts++; return transaction(mode, fn, trace) }
        return config ? withRetry(once, config, logger, () => occRetries++) : once()
      }, env, mode)
    }
    const once = () => transaction(mode, fn, null)
    return config ? withRetry(once, config, logger, () => occRetries++) : once()
  }

  // trace: the transaction channel's context (attempts, outcome), or null.
  async function transaction(mode, fn, trace) {
    const conn = await reserveConnection()
    let failed = null, committing = false
    const tx = makeSql(conn, err => { failed = failed || err })
    tx.savepoint = () => Promise.reject(notSupportedError('SAVEPOINT'))
    tx.prepare = () => Promise.reject(notSupportedError('PREPARE TRANSACTION'))
    try {
      await tx.unsafe('begin' + (mode ? ' ' + mode : ''))
      // An array of queries resolves to their Results; a returned query to its Result.
      let result = fn(tx)
      result = await (Array.isArray(result) ? Promise.all(result) : result)
      if (Array.isArray(result) && !(result instanceof Result)) result = await Promise.all(result)
      if (failed) throw failed
      committing = true
      await tx.unsafe('commit')
      trace !== null && (trace.outcome = 'committed')
      return result
    } catch (err) {
      trace !== null && (trace.outcome = committing ? 'commit_failed' : 'rolled_back')
      // As postgres.js: a failed COMMIT has ended the transaction (no ROLLBACK follows); a ROLLBACK that
      // fails (the connection is gone) rejects with its own error; else the callback's error, unless
      // that only says the transaction had already failed (25P02): then the query error that failed
      // it, which the callback may have caught.
      committing || await tx.unsafe('rollback')
      throw err instanceof PostgresError && err.code === '25P02' && failed || err
    } finally {
      pool.release(conn)
    }
  }

  // Reservations and queries are served in the order they were made (a transaction begun before a
  // query gets the connection first, as in postgres.js): the native pool queues the reservation during
  // this call.
  async function reserveConnection() {
    if (optionError !== null) throw optionError
    if (client.ended) throw connectionError(CODE.CONNECTION_ENDED, '', client.address)
    client.flush() // queries made before this reservation go first
    try {
      return await pool.reserveInOrder()
    } catch (err) {
      throw nativeError(err, client.address)
    }
  }

  sql.reserve = async function reserve() {
    const conn = await reserveConnection()
    const reserved = makeSql(conn)
    let released = false
    reserved.release = () => { released || (released = true, pool.release(conn)) }
    return reserved
  }

  sql.end = async function end({ timeout = null } = {}) {
    // Queries already executed (awaited or .execute()d) start on the next microtask: they run before
    // the end, as in postgres.js; anything made later rejects with CONNECTION_ENDED.
    await Promise.resolve()
    client.ended = true
    client.flush()
    const graceful = timeout === null || timeout === undefined
    await pool.end(graceful ? undefined : Number(timeout))
    client.closed = true
    // Completions that arrived while ending are delivered; anything else was destroyed.
    client.onFrames(pool.pollNow())
    client.rejectAll(timeout === null || timeout === undefined ? CODE.CONNECTION_ENDED : CODE.CONNECTION_DESTROYED)
  }
  // As postgres.js: the connections close (after their work, or at `timeout` seconds), and the
  // instance stays usable: later queries open new connections.
  sql.close = async function close({ timeout = null } = {}) {
    if (client.ended) return
    client.flush()
    await pool.close(timeout === null || timeout === undefined ? undefined : Number(timeout))
  }
  // The pool's counters (src/binding/pool.rs) and the facade's; the schema is index.d.ts's SqlStats.
  const nativeStats = poolStats(pool)
  Object.defineProperty(sql, 'stats', {
    value: () => {
      const s = nativeStats()
      s.occConflicts = occConflicts
      s.occRetries = occRetries
      return s
    }
  })
  return sql
}

module.exports = { createSql, nativeOptions }
