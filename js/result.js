'use strict'
// postgres.js's Result: an Array with count, command, columns, statement and state. They are
// accessors over private fields, not own non-enumerable properties as in postgres.js: defining
// those on every Array instance costs microseconds per query and keeps V8 deoptimizing.

class Result extends Array {
  #count = null; #state = null; #command = null; #columns = null; #statement = null
  get count() { return this.#count }
  set count(v) { this.#count = v }
  get state() { return this.#state }
  set state(v) { this.#state = v }
  get command() { return this.#command }
  set command(v) { this.#command = v }
  get columns() { return this.#columns }
  set columns(v) { this.#columns = v }
  get statement() { return this.#statement }
  set statement(v) { this.#statement = v }
  static get [Symbol.species]() { return Array }
}

module.exports = { Result }
