'use strict'
// The JS side of the native pool: batches queries into one `submit` per tick, and decodes the
// completion frames the native side pushes (`onFrames`, a chunk of many completions per call) into
// postgres.js Results. While queries are pending the native callback is referenced, so the process
// stays alive exactly as long as work is in flight. Byte formats: src/core/wire.rs.

const { PostgresError, connectionError } = require('./errors.js')
const { InFlight } = require('./inflight.js')
const { performance } = require('perf_hooks')

// A resolved promise's then() is a cheaper microtask than queueMicrotask (no AsyncResource per call).
const resolved = Promise.resolve()
// Queries per `submit` at most, and in the first submit of a tick (see Client.enqueue).
const FLUSH_EVERY = 1000, FLUSH_FIRST = 128
// How long a backlog of completion chunks is decoded before the event loop gets a turn (see onFrames).
const DRAIN_MS = 2
// The frame buffer's size: the native side's chunk size (POLL_BYTES in src/core/pool.rs). A chunk is
// copied into this one buffer (no Buffer made per chunk); a larger one comes in a Buffer of its own.
const FRAME_BUFFER_BYTES = 128 * 1024

const FLAG_PREPARE = 1, FLAG_TEXT = 2, FLAG_SIMPLE = 4, FLAG_DESCRIBE = 8, FLAG_CURSOR = 16, FLAG_FRESH = 64
const KIND_COLUMNS = 1, KIND_ROWS = 2, KIND_DONE = 3, KIND_ERROR = 4, KIND_NOTICE = 5, KIND_PARAMETERS = 6
const ENC_TEXT = 0, ENC_F64 = 1, ENC_BOOL = 2, ENC_BYTES = 3, ENC_TIME = 4, ENC_I32 = 5

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

// A growable little-endian writer for submissions.
class Writer {
  constructor() { this.buf = Buffer.allocUnsafe(64 * 1024); this.pos = 0 }
  ensure(n) {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }
  u8(x) { this.ensure(1); this.buf[this.pos++] = x }
  // Integers stored byte by byte: cheaper than Buffer's checked writers on this hot path.
  u16(x) { this.ensure(2); const b = this.buf, p = this.pos; b[p] = x; b[p + 1] = x >>> 8; this.pos = p + 2 }
  u32(x) { this.ensure(4); this.put32(x) }
  i32(x) { this.ensure(4); this.put32(x) }
  put32(x) { const b = this.buf, p = this.pos; b[p] = x; b[p + 1] = x >>> 8; b[p + 2] = x >>> 16; b[p + 3] = x >>> 24; this.pos = p + 4 }
  f64(x) { this.ensure(8); this.buf.writeDoubleLE(x, this.pos); this.pos += 8 }
  str(s) {
    const len = s.length
    this.ensure(4 + len * 3)
    const buf = this.buf, at = this.pos + 4
    let n = 0
    // Short ASCII strings are copied here: cheaper than a call into the UTF-8 encoder.
    if (len <= 64) {
      for (; n < len; n++) {
        const c = s.charCodeAt(n)
        if (c > 0x7f) break
        buf[at + n] = c
      }
    }
    if (n < len) n = buf.write(s, at, 'utf8')
    this.put32(n)
    this.pos = at + n
  }
  bytes(b) { this.ensure(4 + b.length); this.put32(b.length); b.copy ? b.copy(this.buf, this.pos) : this.buf.set(b, this.pos); this.pos += b.length }
  // A view, not a copy: `submit` parses the batch synchronously and keeps nothing of it.
  take() {
    const out = this.buf.subarray(0, this.pos)
    this.pos = 0
    return out
  }
}

// Whether buf[p, end) holds the bytes of `bytes`; short runs compared here, cheaper than a native call.
function sameBytes(bytes, buf, p, end) {
  const n = bytes.length
  if (end - p !== n) return false
  if (n > 96) return buf.compare(bytes, 0, n, p, end) === 0
  for (let i = 0; i < n; i++) if (bytes[i] !== buf[p + i]) return false
  return true
}

// What the native frames callback reaches the client through: strongly while queries are pending,
// weakly otherwise (the native side holds the callback, and the client holds the native pool).
class Target {
  constructor() { this.busy = null; this.weak = null }
  deliver(chunk, more) {
    const client = this.busy || (this.weak && this.weak.deref())
    client && client.onFrames(chunk, more)
  }
}

// A row decoder specialised for a column set, cached on the columns array (which belongs to one client,
// so its value/row transforms are fixed): each column is read by its own line of code (no per-value
// dispatch) straight into an object literal of fixed shape, so a number never needs a temporary heap
// box. Used unless raw() or values() applies; `__proto__` (which a literal would treat as the
// prototype) and very wide rows keep the generic loop.
const READ = {
  [ENC_I32]: () => 'dv.getInt32(p, true)',
  [ENC_F64]: () => 'dv.getFloat64(p, true)',
  [ENC_TIME]: () => 'new Date(dv.getFloat64(p, true))',
  [ENC_BOOL]: () => 'buf[p] === 1',
  [ENC_BYTES]: () => 'copyBytes(buf, p, len)',
  [ENC_TEXT]: (i, col) => col.parser ? `cols[${i}].parser(text(buf, p, len))` : 'text(buf, p, len)'
}

// A bytea value, its own copy. Short ones are copied byte by byte: Buffer#copy makes a view of the source
// for each call.
function copyBytes(buf, p, len) {
  const b = Buffer.allocUnsafe(len)
  if (len <= 64) for (let i = 0; i < len; i++) b[i] = buf[p + i]
  else buf.copy(b, 0, p, p + len)
  return b
}

// A text value. Short ASCII ones are cut out of one latin1 string per stretch of the chunk: under 13
// characters V8's substring makes a copy in generated code (it keeps no reference to the stretch),
// where utf8Slice is a native call per value. `stretch` is dropped at the end of each chunk.
const SHORT_TEXT = 12, STRETCH = 16384
const stretch = { buf: null, base: 0, str: '', end: 0 } // end: the chunk's end in buf
function text(buf, p, len) {
  if (len > SHORT_TEXT) return buf.utf8Slice(p, p + len)
  let bits = 0
  for (let i = p, end = p + len; i < end; i++) bits |= buf[i]
  if (bits > 0x7f) return buf.utf8Slice(p, p + len)
  const s = stretch
  if (s.buf !== buf || p < s.base || p + len > s.base + s.str.length) {
    s.buf = buf
    s.base = p
    s.str = buf.latin1Slice(p, Math.min(s.end, p + STRETCH))
  }
  return s.str.substring(p - s.base, p - s.base + len)
}

function rowDecoder(columns, valueFrom, rowFrom) {
  if (columns.decoder !== undefined) return columns.decoder
  let decoder = null
  if (columns.length <= 200 && !columns.some(c => c.name === '__proto__')) {
    const lines = columns.map((col, i) =>
      `    ${i === 0 ? 'let ' : ''}len = dv.getInt32(p, true); p += 4\n` +
      `    let v${i} = null\n` +
      `    if (len >= 0) { v${i} = ${(READ[col.enc] || READ[ENC_TEXT])(i, col)}; p += len }` +
      (valueFrom ? `\n    v${i} = valueFrom(v${i}, cols[${i}])` : ''))
    const row = columns.map((c, i) => JSON.stringify(String(c.name)) + ': v' + i).join(', ')
    decoder = new Function('cols', 'copyBytes', 'text', 'valueFrom', 'rowFrom', // eslint-disable-line no-new-func
      'return function decodeRows(buf, dv, p, count, out, each, current) {\n' +
      '  for (let r = 0; r < count; r++) {\n' +
      lines.join('\n') + '\n' +
      `    const row = ${rowFrom ? `rowFrom({ ${row} })` : `{ ${row} }`}\n` +
      '    each ? each(row, current) : (out[out.length] = row)\n' +
      '  }\n' +
      '}')(columns, copyBytes, text, valueFrom, rowFrom)
  }
  Object.defineProperty(columns, 'decoder', { value: decoder })
  return decoder
}

class Client {
  constructor(native, { parsers, transform, onnotice, onparameter, parameters, debug, host, port }, target, frames) {
    this.target = target
    this.frames = frames
    this.framesView = new DataView(frames.buffer, frames.byteOffset, frames.length)
    this.submit = native.submitter()
    target.weak = new WeakRef(this)
    this.onparameter = onparameter
    this.parameters = parameters
    this.debug = debug
    this.native = native
    this.parsers = parsers
    this.transform = transform
    this.onnotice = onnotice
    this.address = { address: host, port }
    this.pending = new InFlight()
    this.columnCache = new Map()
    this.states = new Map()
    this.nextId = 1
    this.writer = new Writer()
    this.scheduled = false
    this.ended = false // end() was called: the pool takes no new work
    this.closed = false // end() has finished: no connection is left
    this.idleCheck = null
    this.draining = null
    this.unsent = 0
    this.flushAt = FLUSH_FIRST
    this.lastCommand = null
    this.lastColumns = null
    this.lastState = null
    this.flush = this.flush.bind(this)
    this.endTick = () => { this.flushAt = FLUSH_FIRST; this.flush() }
    this.checkIdle = this.checkIdle.bind(this)
    this.drain = this.drain.bind(this)
  }

  // Keeps the process alive (and this client reachable from the native callback) while work is
  // pending. Going idle is decided on the next loop turn: a caller awaiting one query after another
  // sends the next one before that, and the native callback stays referenced without two calls per query.
  busy(on) {
    if (on) {
      if (this.target.busy === null) {
        this.target.busy = this
        this.native.setBusy(true)
      }
    } else if (this.target.busy !== null && !this.idleCheck) {
      this.idleCheck = setImmediate(this.checkIdle)
    }
  }

  checkIdle() {
    this.idleCheck = null
    if (this.pending.size === 0 && this.target.busy !== null) {
      this.target.busy = null
      this.native.setBusy(false)
    }
  }

  // q: { text, params (wire values), types, flags, conn, resolve, reject, result state }
  enqueue(q) {
    // After end() the pool takes no new work; a reserved connection (a transaction, sql.reserve()) still
    // answers for itself until it is released or closed, as in postgres.js.
    if (this.ended && (!q.conn || this.closed))
      return q.reject(connectionError(q.conn ? 'CONNECTION_CLOSED' : 'CONNECTION_ENDED', '', this.address))
    const id = this.nextId++
    this.nextId > 0xfffffff0 && (this.nextId = 1)
    this.pending.set(id, q)
    this.pending.size === 1 && this.busy(true)
    q.id = id
    this.debug && this.debug(q.conn || 0, q.text, q.values0 || q.params, q.types)
    const w = this.writer
    w.u32(id)
    w.u32(q.conn || 0)
    w.u8(q.flags)
    w.str(q.text)
    w.u16(q.params.length)
    for (let i = 0; i < q.params.length; i++) {
      const v = q.params[i]
      w.u32(q.types[i] || 0)
      if (v === null) {
        w.u8(0); w.i32(-1)
      } else if (typeof v === 'string') {
        w.u8(0); w.str(v)
      } else if (typeof v === 'number') { // bound by the server's type (see core::wire::Param::number)
        if ((v | 0) === v) { w.u8(5); w.i32(4); w.i32(v) } else { w.u8(4); w.i32(8); w.f64(v) }
      } else if (v instanceof Uint8Array) {
        w.u8(1); w.bytes(v)
      } else if (v instanceof Date) { // a valid Date bound as timestamptz: sent in binary by Rust
        w.u8(3); w.i32(8); w.f64(v.getTime())
      } else { // build.js Alternatives: the server's parameter type picks one
        w.u8(2); w.str(v.literal); w.str(v.json); w.str(v.plain)
      }
    }
    if (q.flags & FLAG_CURSOR) w.u32(q.cursor)
    // Many queries in one tick go over in slices: the native side starts sending the first ones
    // while JS still builds the rest. The first slice is small, so that the I/O thread starts early
    // (b: about 5–10% more queries/s); the rest are large (fewer, larger reads for the server).
    if (++this.unsent >= this.flushAt) {
      this.flushAt = FLUSH_EVERY
      this.flush()
    }
    if (!this.scheduled) {
      this.scheduled = true
      resolved.then(this.endTick)
    }
  }

  flush() {
    this.scheduled = false
    this.unsent = 0
    if (this.writer.pos === 0) return
    try {
      this.submit(this.writer.take())
    } catch (err) {
      // A malformed batch is a bug here, not the user's: fail what was pending rather than hang.
      this.failAll(err)
    }
  }

  failAll(err) {
    const all = this.pending.values()
    this.pending.clear()
    this.busy(false)
    for (const q of all) q.reject(err)
  }

  // Called by the native side with a chunk of completion frames: its length in the frame buffer, or
  // a Buffer of its own. When `more` are waiting, they are decoded on for up to DRAIN_MS, then the
  // event loop gets a turn before the rest, so a backlog never holds the loop for long.
  onFrames(chunk, more) {
    try {
      this.decode(chunk)
      if (more) {
        const until = performance.now() + DRAIN_MS
        while (performance.now() < until) {
          const next = this.native.takeFrames()
          if (next === 0) { more = false; break }
          this.decode(next)
        }
      }
    } finally {
      if (more && this.draining === null) this.draining = setImmediate(this.drain)
      this.pending.size === 0 && this.busy(false)
    }
  }

  drain() {
    this.draining = null
    const next = this.native.takeFrames()
    next !== 0 && this.onFrames(next, true)
  }

  // A chunk: its length in the frame buffer, or a Buffer. Decoding is synchronous and keeps nothing of
  // the bytes (values are copied out), so the next chunk may overwrite them.
  decode(chunk) {
    // DataView reads compile to plain loads, Buffer's readInt32LE to four byte reads.
    const inFrames = typeof chunk === 'number'
    const buf = inFrames ? this.frames : chunk
    const dv = inFrames ? this.framesView : new DataView(buf.buffer, buf.byteOffset, buf.length)
    const end = inFrames ? chunk : buf.length
    stretch.end = end
    try {
      this.decodeFrames(buf, dv, end)
    } finally {
      stretch.buf = null
      stretch.str = ''
    }
  }

  decodeFrames(buf, dv, end) {
    let pos = 0
    while (pos < end) {
      const id = dv.getUint32(pos, true)
      const kind = buf[pos + 4]
      const len = dv.getUint32(pos + 5, true)
      const start = pos + 9
      pos = start + len
      if (kind === KIND_NOTICE) {
        this.notice(JSON.parse(buf.toString('utf8', start + 4, pos)))
        continue
      }
      if (kind === KIND_PARAMETERS) {
        this.parameter(JSON.parse(buf.toString('utf8', start + 4, pos)))
        continue
      }
      const q = this.pending.get(id)
      if (!q) continue
      // COPY frames (kinds 7-9), and the end of a COPY that became a stream (js/copy.js).
      if (kind > KIND_PARAMETERS || (q.copy !== null && q.copy.stream !== null)) {
        // A stream's listeners run in here; one that throws must not cost the other queries their frames.
        try { q.copy.frame(this, q, kind, buf, dv, start, pos, toError) } catch (err) { queueMicrotask(() => { throw err }) }
        continue
      }
      try {
        if (kind === KIND_COLUMNS) this.columns(q, buf, start, pos)
        else if (kind === KIND_ROWS) this.rows(q, buf, dv, start)
        else if (kind === KIND_DONE) this.done(id, q, buf, dv, start)
        else if (kind === KIND_ERROR) {
          this.pending.delete(id)
          q.reject(toError(JSON.parse(buf.toString('utf8', start + 4, pos)), this.address))
        }
      } catch (err) {
        // A parser (JSON.parse of bad json, a custom parser) threw: the query rejects with it.
        this.pending.delete(id)
        q.reject(err)
      }
    }
  }

  // postgres.js hands notices over as plain objects of the server's fields.
  notice(fields) {
    const { type, ...n } = fields // eslint-disable-line no-unused-vars
    this.onnotice ? this.onnotice(n) : console.log(n) // eslint-disable-line no-console
  }

  parameter(params) {
    for (const [k, v] of Object.entries(params)) {
      if (this.parameters[k] === v) continue
      this.parameters[k] = v
      this.onparameter && this.onparameter(k, v)
    }
  }

  // After a parser changed (sql.options.parsers): columns decoded since hold the old parsers.
  forgetColumns() {
    this.columnCache.clear()
    this.lastColumns = null
  }

  // Column metadata is the same for every run of a statement: the decoded form is reused while the
  // frame's bytes are identical (one memcmp instead of decoding names and looking up parsers).
  columns(q, buf, p, end) {
    let cached = this.lastColumns
    if (cached === null || cached.text !== q.text) cached = this.columnCache.get(q.text)
    if (cached !== undefined && sameBytes(cached.bytes, buf, p, end)) {
      q.current.columns = cached.columns
      q.current.statement = cached.statement
      this.lastColumns = cached
      return
    }
    const bytes = Buffer.from(buf.subarray(p, end))
    this.decodeColumns(q, buf, p)
    if (this.columnCache.size >= 1000) this.columnCache.clear()
    this.lastColumns = { text: q.text, bytes, columns: q.current.columns, statement: q.current.statement }
    this.columnCache.set(q.text, this.lastColumns)
  }

  decodeColumns(q, buf, p) {
    const n = buf.readUInt16LE(p); p += 2
    const columns = new Array(n)
    const from = this.transform.column.from
    for (let i = 0; i < n; i++) {
      const len = buf.readUInt32LE(p)
      const name = buf.toString('utf8', p + 4, p + 4 + len); p += 4 + len
      const type = buf.readUInt32LE(p)
      const table = buf.readUInt32LE(p + 4)
      const number = buf.readInt16LE(p + 8)
      const enc = buf[p + 10]; p += 11
      const parser = enc === ENC_TEXT || this.parsers.custom.has(type) ? this.parsers.get(type) : undefined
      columns[i] = { name: from ? from(name) : name, type, table, number, parser, enc }
    }
    const np = buf.readUInt16LE(p); p += 2
    const types = []
    for (let i = 0; i < np; i++, p += 4) types.push(buf.readUInt32LE(p))
    const nameLength = buf.readUInt32LE(p)
    const name = buf.toString('utf8', p + 4, p + 4 + nameLength)
    q.current.columns = columns
    q.current.statement = { string: q.text, types, columns, name }
  }

  rows(q, buf, dv, p) {
    const count = dv.getUint32(p, true); p += 4
    const columns = q.current.columns
    const nc = columns.length
    const values = q.values, raw = q.raw
    const valueFrom = this.transform.value.from, rowFrom = this.transform.row.from
    const each = q.forEach
    const out = q.cursor ? new Result() : q.current
    const decoder = values || raw || count === 0 ? null : rowDecoder(columns, valueFrom, rowFrom)
    if (decoder !== null) {
      decoder(buf, dv, p, count, out, each, q.current)
      q.cursor && q.cur.onBatch(out)
      return
    }
    // values() / raw() rows are arrays; the rest (see rowDecoder) objects built by assignment.
    const asArray = values || raw
    for (let r = 0; r < count; r++) {
      const row = asArray ? new Array(nc) : {}
      for (let c = 0; c < nc; c++) {
        const col = columns[c]
        const len = dv.getInt32(p, true); p += 4
        let v = null
        if (len >= 0) {
          if (raw) v = Buffer.from(buf.subarray(p, p + len))
          else switch (col.enc) {
            case ENC_I32: v = dv.getInt32(p, true); break
            case ENC_F64: v = dv.getFloat64(p, true); break
            case ENC_TIME: v = new Date(dv.getFloat64(p, true)); break
            case ENC_BOOL: v = buf[p] === 1; break
            case ENC_BYTES: v = copyBytes(buf, p, len); break
            default: v = text(buf, p, len); col.parser && (v = col.parser(v))
          }
          p += len
        }
        valueFrom && (v = valueFrom(v, col))
        asArray ? row[c] = v : row[col.name] = v
      }
      const value = rowFrom ? rowFrom(row) : row
      each ? each(value, q.current) : out.push(value)
    }
    q.cursor && q.cur.onBatch(out)
  }

  // The command tag, reusing the last string while the bytes repeat (most queries share a few tags).
  command(buf, p, len) {
    const last = this.lastCommand
    if (last !== null && sameBytes(last.bytes, buf, p, p + len)) return last.text
    const text = buf.toString('utf8', p, p + len)
    this.lastCommand = { bytes: Buffer.from(buf.subarray(p, p + len)), text }
    return text
  }

  // One { pid, secret } per backend, shared by its results.
  backendState(pid, secret) {
    if (!pid && !secret) return null
    const last = this.lastState
    if (last !== null && last.pid === pid && last.secret === secret) return last
    let state = this.states.get(pid)
    if (state === undefined || state.secret !== secret) {
      if (this.states.size >= 10000) this.states.clear()
      this.states.set(pid, state = { pid, secret })
    }
    return (this.lastState = state)
  }

  done(id, q, buf, dv, p) {
    const count = dv.getFloat64(p, true)
    const last = buf[p + 8] === 1
    const pid = dv.getInt32(p + 9, true), secret = dv.getInt32(p + 13, true)
    const len = dv.getUint32(p + 17, true)
    const command = this.command(buf, p + 21, len)
    const result = q.current
    const state = this.backendState(pid, secret)
    if (!last || q.results) {
      // simple(): one Result per statement.
      if (!last) {
        result.count = Number.isNaN(count) ? null : count
        result.command = command || null
        result.columns = result.columns || []
        result.state = state
        ;(q.results || (q.results = [])).push(result)
        q.current = new Result()
        return
      }
      this.pending.delete(id)
      return q.resolve(q.results.length === 1 ? q.results[0] : q.results)
    }
    this.pending.delete(id)
    result.count = Number.isNaN(count) ? null : count
    result.command = command || null
    result.columns = result.columns || []
    result.state = state
    q.resolve(q.flags & FLAG_DESCRIBE ? { ...result.statement } : result)
  }

  // After end(): whatever never completed settles now.
  rejectAll(code) {
    this.pending.size && this.failAll(connectionError(code, '', this.address))
  }
}

// Errors from the native side arrive as JSON (src/core/error.rs).
function toError(e, address) {
  switch (e.type) {
    case 'PostgresError': {
      const { type, ...fields } = e // eslint-disable-line no-unused-vars
      return new PostgresError(fields)
    }
    case 'ConnectionError': return connectionError(e.code, e.message, address)
    case 'TypeError': return new TypeError(e.message)
    case 'RangeError': return new RangeError(e.message)
    // A failed lookup or connect, shaped like Node's own error (which postgres.js rejects with):
    // errno, code, syscall, then hostname or address and port.
    case 'SystemError': {
      const { type, message, ...fields } = e // eslint-disable-line no-unused-vars
      return Object.assign(new Error(message), fields)
    }
    default: {
      const err = new Error(e.message)
      e.code && (err.code = e.code)
      return err
    }
  }
}

// napi errors carry the JSON shape as their message.
function nativeError(err, address) {
  try {
    return toError(JSON.parse(err.message), address)
  } catch {
    return err
  }
}

module.exports = {
  FRAME_BUFFER_BYTES, Client, Target, Result, Writer, toError, nativeError, FLAG_PREPARE, FLAG_TEXT, FLAG_SIMPLE, FLAG_DESCRIBE, FLAG_CURSOR, FLAG_FRESH }
