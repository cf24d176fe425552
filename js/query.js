'use strict'
// A postgres.js Query: a lazy Promise. Nothing is built or sent until it is awaited (or
// `.execute()`d); it is also a fragment when nested in another template.

const { FRAGMENT } = require('./build.js')
const { notTaggedCallError, genericError } = require('./errors.js')
const { Result, FLAG_PREPARE, FLAG_TEXT, FLAG_SIMPLE, FLAG_DESCRIBE, FLAG_CURSOR } = require('./client.js')

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

class Query extends Promise {
  // Private fields, not defineProperties: a Query is made per call, and that is the hot path.
  #run; #resolve; #reject; #state
  // A tagged template: (run, strings, args); sql.unsafe / sql.file: (run, undefined, args, text, options).
  constructor(run, strings, args, unsafe, options) {
    super(capture)
    this[FRAGMENT] = true
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
    // Every field declared up front: one object shape, no properties added later.
    this.#state = { started: false, flags: 0, values: false, raw: false, pending: null, cancelled: false, forEach: undefined, cursor: undefined, cursorFn: undefined, onBatch: undefined, more: undefined, close: undefined }
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
    if (state.pending) return state.pending.cancel()
    if (state.cancelled) return Promise.resolve()
    state.cancelled = true
    state.started = true
    this._reject(genericError('57014', 'canceling statement due to user request'))
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
    if (typeof fn === 'function') {
      this._state.cursorFn = fn
      this.handle()
      return this
    }
    return cursorIterator(this)
  }
  values() { this._state.values = true; return this }
  raw() { this._state.raw = true; this._state.flags |= FLAG_TEXT; return this }
  simple() { this._state.flags |= FLAG_SIMPLE; return this }
  describe() { this._state.flags |= FLAG_DESCRIBE; return this }
}

// for await (const rows of query.cursor(n)): batches pulled one at a time from the native side.
function cursorIterator(query) {
  const batches = []
  let waiting = null, done = false, failure = null
  const wake = () => { if (waiting) { const w = waiting; waiting = null; w() } }
  query._state.onBatch = rows => { batches.push(rows); wake() }
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
        query._state.more && query._state.more()
        await new Promise(resolve => { waiting = resolve })
      }
    },
    async return() {
      query._state.close && query._state.close()
      await query.catch(() => {})
      return { value: undefined, done: true }
    }
  }
}

// What a helper (sql(obj), sql('name')) does when awaited alone.
function rejectUntagged() { throw notTaggedCallError() }

module.exports = { Query, Result, rejectUntagged, FLAG_PREPARE, FLAG_TEXT, FLAG_SIMPLE, FLAG_DESCRIBE, FLAG_CURSOR }
