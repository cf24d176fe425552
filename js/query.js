'use strict'
// A postgres.js Query: a lazy Promise. Nothing is built or sent until it is awaited (or
// `.execute()`d); it is also a fragment when nested in another template.

const { FRAGMENT } = require('./build.js')
const { notTaggedCallError } = require('./errors.js')
const { Result, FLAG_PREPARE, FLAG_TEXT, FLAG_SIMPLE, FLAG_DESCRIBE } = require('./client.js')

class Query extends Promise {
  constructor(source, run) {
    let resolve, reject
    super((a, b) => { resolve = a; reject = b })
    this[FRAGMENT] = true
    // source: { strings, args } for a tagged template, { unsafe, args, options } for sql.unsafe.
    Object.assign(this, source)
    Object.defineProperties(this, {
      _run: { value: run },
      _resolve: { value: resolve },
      _reject: { value: reject },
      _state: { value: { started: false, flags: 0, values: false, raw: false }, writable: false }
    })
  }

  static get [Symbol.species]() { return Promise }

  then() { this.handle(); return super.then.apply(this, arguments) }
  catch() { this.handle(); return super.catch.apply(this, arguments) }
  finally() { this.handle(); return super.finally.apply(this, arguments) }

  handle() {
    if (this._state.started) return
    this._state.started = true
    // Start on the next microtask so chained modifiers (.values(), .raw()) apply first.
    queueMicrotask(() => this._run(this))
  }

  execute() { this.handle(); return this }
  values() { this._state.values = true; return this }
  raw() { this._state.raw = true; this._state.flags |= FLAG_TEXT; return this }
  simple() { this._state.flags |= FLAG_SIMPLE; return this }
  describe() { this._state.flags |= FLAG_DESCRIBE; return this }
}

// What a helper (sql(obj), sql('name')) does when awaited alone.
function rejectUntagged() { throw notTaggedCallError() }

module.exports = { Query, Result, rejectUntagged, FLAG_PREPARE, FLAG_TEXT, FLAG_SIMPLE, FLAG_DESCRIBE }
