'use strict'
// sql.options: postgres.js's parsed options (its `ParsedOptions`, the fields and shapes libraries such as
// drizzle-orm read and write), plus this connector's resolved DSQL settings. Never a token, secret key,
// session token or password: `pass` is always null.

const { buildTypes, defaultParsers, BINARY_DECODED } = require('./types.js')
const { forgetSerializers } = require('./build.js')
const { DEFAULTS } = require('./defaults.js')

// A plain object whose edits (set, define, delete) call `onChange`; reads go straight to the object.
// postgres.js's options.parsers / serializers are plain objects users edit in place (drizzle-orm replaces
// the date parsers right after construction): an edit must reach the next query, while the query path
// keeps its caches (the serializers' OID table, decoded columns) and reads no Proxy per value.
function watched(object, onChange) {
  return new Proxy(object, {
    set(target, key, value) { const ok = Reflect.set(target, key, value); onChange(); return ok },
    defineProperty(target, key, desc) { const ok = Reflect.defineProperty(target, key, desc); onChange(); return ok },
    deleteProperty(target, key) { const ok = Reflect.deleteProperty(target, key); onChange(); return ok }
  })
}

// The parsers and serializers of one sql instance (its own objects: an edit never reaches another
// instance). `text` is true while some column type that the native side would decode from binary
// (int4, float8, bool, bytea, date, timestamptz...) has a parser other than the default one that the
// pool was not told about at construction (`textOids`): then every query asks for text results, so
// that parser gets PostgreSQL's text, as in postgres.js.
class TypeTables {
  constructor(userTypes) {
    const built = buildTypes(userTypes, {})
    this.helpers = built.helpers
    // OIDs whose results the pool delivers as text from the start: those the `types` option parses.
    this.textOids = new Set(Object.values(userTypes).flatMap(t => t && t.from != null ? [].concat(t.from).map(Number) : []).filter(oid => oid in built.parsers))
    this.text = false
    this.onParsers = null
    this.setParsers(built.parsers)
    this.setSerializers(built.serializers)
  }

  setParsers(object) {
    if (object === null || typeof object !== 'object') throw new TypeError('options.parsers must be an object of functions by type OID')
    this.parsers = watched(object, () => this.parsersChanged())
    this.parsersChanged()
  }

  setSerializers(object) {
    if (object === null || typeof object !== 'object') throw new TypeError('options.serializers must be an object of functions by type OID')
    this.serializers && forgetSerializers(this.serializers)
    const serializers = watched(object, () => forgetSerializers(serializers))
    this.serializers = serializers
  }

  parsersChanged() {
    const parsers = this.parsers
    this.text = BINARY_DECODED.some(oid => !this.textOids.has(oid) && parsers[oid] !== defaultParsers[oid])
    // Decoded columns hold their parsers: the next result decodes its columns again.
    this.onParsers && this.onParsers()
  }
}

// The `max_lifetime` postgres.js shows: seconds, or (its default) a function drawing each connection's
// lifetime; ours draws from the resolved range (DEFAULTS.max_lifetime unless set).
function maxLifetime(range) {
  if (!range) return null
  const [lo, hi] = range
  return lo === hi ? lo : () => lo + Math.random() * (hi - lo)
}

// postgres.js's `ssl` values for the resolved TLS mode.
const ssl = mode => mode === 'no-verify' ? { rejectUnauthorized: false } : mode === 'disable' ? false : mode

// The object behind sql.options, shared by the instance's transactions and reserved connections. A plain
// object, mutable as postgres.js's is; `parsers` and `serializers` are accessors so that assigning a
// whole new object takes effect too.
function sqlOptions(resolved, options, { types, transform, parameters, debug, onnotice }) {
  const out = {
    host: [resolved.host],
    port: [resolved.port],
    path: undefined,
    database: resolved.database,
    user: resolved.username,
    pass: null,
    max: resolved.max,
    ssl: ssl(resolved.ssl),
    sslnegotiation: resolved.sslnegotiation,
    idle_timeout: resolved.idleTimeout ?? null,
    connect_timeout: resolved.connectTimeout,
    max_lifetime: maxLifetime(resolved.maxLifetime),
    backoff: options.backoff === undefined ? DEFAULTS.backoff : options.backoff,
    keep_alive: options.keep_alive === undefined ? DEFAULTS.keep_alive : options.keep_alive || null,
    prepare: resolved.prepare,
    debug: debug || DEFAULTS.debug,
    fetch_types: options.fetch_types === undefined ? DEFAULTS.fetch_types : options.fetch_types,
    publications: options.publications === undefined ? DEFAULTS.publications : options.publications,
    target_session_attrs: options.target_session_attrs,
    connection: { ...options.connection, application_name: resolved.applicationName },
    types: options.types || {},
    onnotice,
    onnotify: undefined,
    onclose: options.onclose || (() => {}),
    onparameter: options.onparameter || (() => {}),
    socket: options.socket,
    transform,
    parameters,
    // This connector's own settings.
    transport: resolved.transport,
    connectionCheck: resolved.connectionCheck,
    hostaddr: resolved.hostaddr,
    region: resolved.region,
    username: resolved.username,
    applicationName: resolved.applicationName,
    tokenDurationSecs: resolved.tokenDurationSecs,
    profile: resolved.profile,
    credentials: resolved.credentials,
    idleTimeout: resolved.idleTimeout,
    maxLifetime: resolved.maxLifetime,
    connectTimeout: resolved.connectTimeout
  }
  Object.defineProperties(out, {
    parsers: { enumerable: true, get: () => types.parsers, set: x => { types.setParsers(x) } },
    serializers: { enumerable: true, get: () => types.serializers, set: x => { types.setSerializers(x) } }
  })
  return out
}

module.exports = { TypeTables, sqlOptions, watched }
