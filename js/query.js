'use strict'
// A postgres.js Query: a lazy Promise. Nothing is built or sent until it is awaited (or
// `.execute()`d); it is also a fragment when nested in another template.

const { FRAGMENT, Alternatives } = require('./build.js')
const { ARRAY_ELEMENT } = require('./types.js')
const { notTaggedCallError, genericError } = require('./errors.js')
const { Result } = require('./result.js')
const { Buffer } = require('./platform.js')
const { CODE } = require('./codes.js')
const { FLAG_PREPARE, FLAG_TEXT, FLAG_SIMPLE, FLAG_DESCRIBE, FLAG_CURSOR, FLAG_FRESH, FLAG_COPY } = require('./protocol.js')
const { isOCCError, backoff } = require('./retry.js')
const { Copy } = require('./copy.js')
const { queryChannel, captureScope, endQueryTrace } = require('./tracing.js')

// Queries waiting to start (see Query.handle). A resolved promise's then() is a cheaper microtask
// than queueMicrotask, which makes an AsyncResource per call.
const resolved = Promise.resolve()
let starting = []
function startAll() {
  const queries = starting
  starting = []
  for (let i = 0; i < queries.length; i++) {
    const q = queries[i]
    try { q._run(q) } catch (err) { q._reject(err) }
  }
}

// The executor of every Query: runs synchronously inside the Promise constructor, so the resolving
// functions can be handed over through module variables (no closure and context per query).
let settle = null, fail = null
function capture(resolve, reject) { settle = resolve; fail = reject }

// Everything one query carries, from its modifiers to its completion: js/sql.js fills in the submission
// when it runs, js/client.js reads it while in flight. One object of one shape per query (queries are
// the hot path, and 10,000 of them may be in flight: each object less is garbage collection saved).
class QueryState {
  constructor(query) {
    // Set by the modifiers before it starts.
    this.started = false
    this.cancelled = false
    this.flags = 0
    this.values = false
    this.raw = false
    this.forEach = undefined
    this.cursor = undefined // rows per batch
    this.cur = null // a cursor's own state (see Cursor)
    // Set when it runs (js/sql.js).
    this.query = query
    this.submitted = false
    this.owner = null
    this.id = 0
    this.text = ''
    this.params = null // wire values
    this.givenParams = null // the parameters as the user gave them, before serialization (debug, error.parameters)
    this.types = null
    this.conn = 0
    this.current = null
    this.results = undefined
    this.attempts = 0
    this.copy = null // readable() / writable() (see js/copy.js)
    this.origin = null // the caller's stack (see callSite)
    this.retried = null // the first error, when a stale statement was prepared again (see reject)
    // With query-channel subscribers, the async scope of the trace (js/tracing.js): until it starts, the
    // context where the query was made (a span around `sql\`...\`` or `await sql\`...\``), then its own.
    this.scope = queryChannel.hasSubscribers ? captureScope() : null
    this.trace = null // with query-channel subscribers: the trace's context while it is in flight
  }

  resolve(result) {
    const cur = this.cur
    if (cur !== null) {
      cur.release && cur.release()
      // A cursor's callback form resolves once its last callback has finished (postgres.js awaits each).
      if (cur.pending !== null) return cur.pending.then(() => { this.trace !== null && endQueryTrace(this, result, null); this.query._resolve(result) })
    }
    this.trace !== null && endQueryTrace(this, result, null)
    this.query._resolve(result)
  }

  reject(err) {
    const { env, conn, onError } = this.owner
    const retry = env.statementRetry
    // A COPY that has become a stream fails through its stream (the query resolved with it).
    if (this.copy !== null && this.copy.stream !== null) return this.copy.fail(err)
    const occ = isOCCError(err)
    occ && env.conflict()
    // A conflicting autocommit statement did not commit: with retry.statements it runs again.
    if (retry && !conn && occ && this.attempts < retry.maxRetries) {
      this.attempts++
      env.retried()
      const delay = backoff(retry, this.attempts)
      env.logger && env.logger.debug && env.logger.debug(`OCC conflict on attempt ${this.attempts}/${retry.maxRetries + 1}, retrying in ${delay.toFixed(1)}ms`)
      return setTimeout(() => { this.current = new Result(); env.client.enqueue(this) }, delay)
    }
    // As postgres.js: a cached statement whose plan the server calls stale (a column's type changed)
    // is prepared afresh and run once more; if that fails too, the first error is the answer.
    if (this.retried === null && this.flags & FLAG_PREPARE && err && STALE_PLAN.has(err.routine)) {
      this.retried = err
      this.flags |= FLAG_FRESH
      this.current = new Result()
      return env.client.enqueue(this)
    }
    if (this.retried !== null) err = this.retried
    this.cur !== null && this.cur.release && this.cur.release()
    describeError(err, this, env.debug)
    onError && onError(err)
    this.trace !== null && endQueryTrace(this, null, err)
    this.query._reject(err)
  }

  // query.cancel() once submitted.
  cancelSubmitted() {
    const { client, pool } = this.owner.env
    return client.pending.has(this.id) ? pool.cancel(this.id).catch(() => {}) : Promise.resolve()
  }
}

// The server's routines for errors that mean a cached statement's plan no longer fits the tables.
const STALE_PLAN = new Set(['transformAssignedExpr', 'RevalidateCachedQuery'])

// As postgres.js: an error of a query carries its text, parameters, args and types (enumerable only with
// `debug`), and its stack continues with where the query was made (see callSite), so that the caller's
// line is the stack's last. An error that already has them (one query's error seen by another) is left.
function describeError(err, q, debug) {
  if (err === null || typeof err !== 'object' || 'query' in err || 'parameters' in err) return
  const statement = q.current !== null ? q.current.statement : null
  const origin = q.origin === null ? '' : q.origin.replace(/.*\n/, '\n')
  const enumerable = !!debug
  Object.defineProperties(err, {
    stack: { value: err.stack + origin, enumerable, configurable: true, writable: true },
    query: { value: q.text, enumerable, configurable: true },
    parameters: { value: shownParameters(q), enumerable, configurable: true },
    args: { value: q.query.args, enumerable, configurable: true },
    types: { value: statement ? statement.types : q.types, enumerable, configurable: true }
  })
}

// The stack of the caller of `fn`, as postgres.js keeps it: a tagged template's is made once per call
// site (its strings array) and holds only the caller's frame; with `debug` each query gets a whole one.
const callSites = new WeakMap()
function callSite(strings, fn, debug) {
  if (debug) return stackOf(fn, Error.stackTraceLimit)
  if (strings === undefined) return null
  let stack = callSites.get(strings)
  stack === undefined && callSites.set(strings, stack = stackOf(fn, 1))
  return stack
}
function stackOf(fn, frames) {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = frames
  const holder = {}
  Error.captureStackTrace(holder, fn)
  Error.stackTraceLimit = limit
  return holder.stack
}

// err.parameters as postgres.js leaves them: it serializes the values when it binds, that is once every
// parameter type is known (all given, or described by the server); a statement that failed before
// then shows the values as given. Date and bytea values travel in binary and arrays whose type the
// server infers as alternatives (js/build.js), so they are shown here as postgres.js serializes them
// (the array by the server's type; a user-defined array type shows its '' + x form).
function shownParameters(q) {
  const statement = q.current !== null ? q.current.statement : null
  const types = statement ? statement.types : q.types
  if (!statement && (!q.types || q.types.includes(0))) return q.givenParams || q.params
  const params = q.params
  if (!params || !params.length) return params
  const out = new Array(params.length)
  for (let i = 0; i < params.length; i++) {
    const v = params[i], type = types[i]
    out[i] = v === null || typeof v === 'string' ? v
      : typeof v === 'number' ? '' + v
      : v instanceof Date ? v.toISOString()
      : v instanceof Uint8Array ? '\\x' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')
      : v instanceof Alternatives ? (type === 114 || type === 3802 ? v.json : ARRAY_ELEMENT[type] !== undefined ? v.literal : v.plain)
      : v
  }
  return out
}

// What only a cursor needs, kept off the state of every other query.
class Cursor {
  constructor(fn) {
    this.fn = fn // the callback form's fn(rows)
    this.push = undefined // the async iterator's intake
    this.onBatch = undefined // what the client calls with each batch (set when it runs)
    this.more = undefined
    this.close = undefined
    this.release = null // gives its own connection back
    this.pending = null // the callback form's last batch, until its fn has finished
  }
}

class Query extends Promise {
  // Private fields, not defineProperties: a Query is made per call, and that is the hot path.
  #run; #resolve; #reject; #state
  // A tagged template: (run, strings, args); sql.unsafe / sql.file: (run, undefined, args, text, options).
  constructor(run, strings, args, unsafe, options) {
    super(capture)
    if (unsafe === undefined) {
      this.strings = strings
      this.args = args
    } else {
      this.unsafe = unsafe
      this.args = args
      this.options = options
    }
    this.#run = run
    this.#resolve = settle
    this.#reject = fail
    settle = fail = null
    this.#state = new QueryState(this)
  }
  get _run() { return this.#run }
  get _resolve() { return this.#resolve }
  get _reject() { return this.#reject }
  get _state() { return this.#state }

  static get [Symbol.species]() { return Promise }

  then(onFulfilled, onRejected) { this.handle(); return super.then(onFulfilled, onRejected) }
  catch(onRejected) { this.handle(); return super.catch(onRejected) }
  finally(onFinally) { this.handle(); return super.finally(onFinally) }

  handle() {
    const state = this.#state
    if (state.started) return
    state.started = true
    // Start on a later microtask so chained modifiers (.values(), .raw()) apply first. Queries
    // handled before it runs start together, in order (one microtask for many queries).
    starting.push(this)
    starting.length === 1 && resolved.then(startAll)
  }

  execute() { this.handle(); return this }

  // As postgres.js: a query not sent yet is dropped and rejects with 57014; a running one gets a
  // CancelRequest (the server then fails it with 57014); resolves once that was sent.
  cancel() {
    const state = this._state
    state.trace !== null && (state.trace.cancelled = true)
    if (state.submitted) return state.cancelSubmitted()
    if (state.cancelled) return Promise.resolve()
    state.cancelled = true
    state.started = true
    const err = genericError(CODE.QUERY_CANCELED, 'canceling statement due to user request')
    // A cursor waiting for its connection has started its trace already.
    state.trace !== null && endQueryTrace(state, null, err)
    this._reject(err)
    return Promise.resolve()
  }

  // Rows are handed to fn(row, result) as they arrive; resolves to an empty Result with count/command.
  forEach(fn) {
    if (typeof fn !== 'function') throw new TypeError('forEach: a function is required')
    this._state.forEach = fn
    this.handle()
    return this
  }

  // Batches of `rows` rows: an async iterator, or fn(rows) per batch (return sql.CLOSE to stop).
  cursor(rows = 1, fn) {
    if (typeof rows === 'function') { fn = rows; rows = 1 }
    if (!Number.isInteger(rows) || rows < 1) throw new RangeError('cursor: rows must be a positive integer')
    this._state.cursor = rows
    this._state.flags |= FLAG_CURSOR
    this._state.cur = new Cursor(typeof fn === 'function' ? fn : undefined)
    if (typeof fn === 'function') {
      this.handle()
      return this
    }
    return cursorIterator(this)
  }
  // As postgres.js: both run the statement and resolve to the stream its COPY calls for (a Readable for
  // COPY ... TO STDOUT, a Writable for COPY ... FROM STDIN), or to its Result if it is not a COPY.
  async readable() { return copyQuery(this) }
  async writable() { return copyQuery(this) }
  values() { this._state.values = true; return this }
  raw() { this._state.raw = true; this._state.flags |= FLAG_TEXT; return this }
  simple() { this._state.flags |= FLAG_SIMPLE; return this }
  describe() { this._state.flags |= FLAG_DESCRIBE; return this }
}

// Every Query is a fragment when nested in another template (build.js reads the mark through the prototype).
Query.prototype[FRAGMENT] = true

// for await (const rows of query.cursor(n)): batches pulled one at a time from the native side.
function cursorIterator(query) {
  const batches = []
  let waiting = null, done = false, failure = null
  const wake = () => { if (waiting) { const w = waiting; waiting = null; w() } }
  const cur = query._state.cur
  cur.push = rows => { batches.push(rows); wake() }
  query._state.started || query.handle()
  query.then(() => { done = true; wake() }, err => { failure = err; done = true; wake() })
  return {
    [Symbol.asyncIterator]() { return this },
    async next() {
      for (;;) {
        if (batches.length) {
          const value = batches.shift()
          return { value, done: false }
        }
        if (failure) throw failure
        if (done) return { value: undefined, done: true }
        cur.more && cur.more()
        await new Promise(resolve => { waiting = resolve })
      }
    },
    async return() {
      cur.close && cur.close()
      await query.catch(() => {})
      return { value: undefined, done: true }
    }
  }
}

function copyQuery(query) {
  const state = query._state
  state.flags |= FLAG_COPY | FLAG_SIMPLE
  state.copy = new Copy()
  return query
}

// What a helper (sql(obj), sql('name')) does when awaited alone.
function rejectUntagged() { throw notTaggedCallError() }

module.exports = { Query, rejectUntagged, callSite }
