'use strict'
// The `sql` function object: tagged template, helpers, unsafe, begin, reserve, end, options.

const { build, buildUnsafe, serializeParams, helper, typed, json, array, Parameter } = require('./build.js')
const { buildTypes, parserFor } = require('./types.js')
const { normalizeTransform } = require('./transform.js')
const { genericError, notSupportedError } = require('./errors.js')
const { Client, Result, nativeError } = require('./client.js')
const { Query, FLAG_PREPARE, FLAG_SIMPLE, FLAG_DESCRIBE } = require('./query.js')

// Options that live in JS only (functions, parsers) and are never sent to the native side.
const JS_ONLY = new Set(['transform', 'types', 'onnotice', 'onparameter', 'debug', 'fetch_types', 'retry', 'logger', 'socket', 'publications', 'target_session_attrs', 'onclose', 'backoff', 'password', 'pass'])

function nativeOptions(options) {
  const out = {}
  for (const [k, v] of Object.entries(options)) {
    if (JS_ONLY.has(k) || v === undefined || typeof v === 'function') continue
    if (k === 'ssl' && v && typeof v === 'object') {
      const ca = v.ca === undefined ? undefined : [].concat(v.ca).map(x => Buffer.isBuffer(x) ? x.toString('utf8') : x)
      out.ssl = { rejectUnauthorized: v.rejectUnauthorized, ca }
    } else {
      out[k] = v
    }
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

function createSql(native, url, options) {
  // Validate JS-only options before any connection work.
  ;['onnotice', 'onparameter', 'debug'].forEach(n => checkFunction(options, n))
  if (options.types !== undefined && (typeof options.types !== 'object' || options.types === null))
    throw new TypeError('types must be an object of { to, from, serialize, parse } entries')
  const transform = normalizeTransform(options.transform)
  const types = buildTypes(options.types || {}, {})
  const customOids = new Set(Object.keys(types.parsers).map(Number).filter(oid => options.types && Object.values(options.types).some(t => [].concat(t.from || []).includes(oid))))
  const parsers = { custom: customOids, get: oid => parserFor(oid, types.parsers) }

  const provider = typeof options.customCredentialsProvider === 'function' ? credentialsProvider(options.customCredentialsProvider) : undefined
  let pool
  try {
    pool = new native.NativePool(url, nativeOptions(options), [...customOids], provider)
  } catch (err) {
    throw nativeError(err)
  }
  const resolved = pool.options
  const client = new Client(pool, { parsers, transform, onnotice: options.onnotice, host: resolved.host, port: resolved.port })
  const ctx = { transform, serializers: types.serializers }

  function makeSql(conn, onError) {
    const run = query => {
      let built
      try {
        built = query.unsafe !== undefined
          ? buildUnsafe(query.unsafe, query.args || [], ctx)
          : build(query.strings, query.args, ctx)
      } catch (err) {
        return query._reject(err)
      }
      const state = query._state
      const prepare = query.options && query.options.prepare !== undefined ? query.options.prepare : resolved.prepare
      let flags = state.flags
      // simple() and parameterless unsafe() with several statements use the simple protocol.
      if (!(flags & FLAG_SIMPLE) && prepare) flags |= FLAG_PREPARE
      if (flags & FLAG_SIMPLE && built.params.length) flags &= ~FLAG_SIMPLE
      const q = {
        text: built.text,
        params: serializeParams(built.params, built.types, types.serializers),
        types: built.types,
        flags,
        conn,
        values: state.values,
        raw: state.raw,
        current: new Result(),
        resolve: result => query._resolve(result),
        reject: err => {
          Object.defineProperties(err, {
            query: { value: built.text, enumerable: false, configurable: true },
            parameters: { value: built.params, enumerable: false, configurable: true }
          })
          onError && onError(err)
          query._reject(err)
        }
      }
      client.enqueue(q)
    }

    function sql(strings, ...args) {
      if (Array.isArray(strings) && Array.isArray(strings.raw))
        return new Query({ strings, args }, run)
      return helper(strings, ...args)
    }

    Object.assign(sql, {
      unsafe: (text, args = [], opts = {}) => {
        if (typeof text !== 'string') throw new TypeError('sql.unsafe: the query text must be a string')
        if (!Array.isArray(args)) throw new TypeError('sql.unsafe: args must be an array')
        return new Query({ unsafe: text, args, options: opts }, run)
      },
      typed, json, array,
      types: types.helpers,
      options: Object.freeze({ ...resolved }),
      parameters: {},
      PostgresError: require('./errors.js').PostgresError,
      CLOSE: {},
      END: {},
      listen: () => Promise.reject(notSupportedError('LISTEN/NOTIFY')),
      notify: () => Promise.reject(notSupportedError('LISTEN/NOTIFY')),
      subscribe: () => Promise.reject(notSupportedError('logical replication (subscribe)')),
      largeObject: () => Promise.reject(notSupportedError('large objects'))
    })
    return sql
  }

  const sql = makeSql(0)

  sql.begin = async function begin(mode, fn) {
    if (typeof mode === 'function') { fn = mode; mode = '' }
    if (typeof fn !== 'function') throw new TypeError('sql.begin: callback function is required')
    const conn = await reserveConnection()
    let failed = null
    const tx = makeSql(conn, err => { failed = failed || err })
    tx.savepoint = () => Promise.reject(notSupportedError('SAVEPOINT'))
    tx.prepare = () => Promise.reject(notSupportedError('PREPARE TRANSACTION'))
    try {
      await tx.unsafe('begin' + (mode ? ' ' + mode : ''))
      let result = await fn(tx)
      Array.isArray(result) && (result = await Promise.all(result))
      if (failed) throw failed
      await tx.unsafe('commit')
      return result
    } catch (err) {
      await tx.unsafe('rollback').catch(() => {})
      throw err
    } finally {
      pool.release(conn)
    }
  }

  async function reserveConnection() {
    if (client.ended) throw require('./errors.js').connectionError('CONNECTION_ENDED', '', client.address)
    try {
      return await pool.reserve()
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
    client.ended = true
    client.flush()
    await pool.end(timeout === null || timeout === undefined ? undefined : Number(timeout))
    // Completions that arrived while ending are delivered; anything else was destroyed.
    client.decode(pool.pollNow())
    client.rejectAll(timeout === null || timeout === undefined ? 'CONNECTION_ENDED' : 'CONNECTION_DESTROYED')
  }
  sql.close = sql.end
  Object.defineProperty(sql, 'stats', { value: () => pool.stats() })
  return sql
}

module.exports = { createSql, nativeOptions }
