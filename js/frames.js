'use strict'
// Reading completion frames (the byte format is in src/core/protocol.rs): a chunk of frames of many
// queries, dispatched by kind to the pending query they belong to. Client (client.js) extends
// FrameReader with the submitting side.

const { PostgresError, connectionError } = require('./errors.js')
const { Buffer } = require('./platform.js')
const { Result } = require('./result.js')
const { readRows, chunkStart, chunkEnd } = require('./rows.js')
const { FLAG_DESCRIBE, KIND_COLUMNS, KIND_ROWS, KIND_DONE, KIND_ERROR, KIND_NOTICE, KIND_PARAMETERS, KIND_EVENT, ENC_TEXT } = require('./protocol.js')
const { publishEvent } = require('./tracing.js')

// Whether buf[p, end) holds the bytes of `bytes`; short runs compared here, cheaper than a native call.
function sameBytes(bytes, buf, p, end) {
  const n = bytes.length
  if (end - p !== n) return false
  if (n > 96) return buf.compare(bytes, 0, n, p, end) === 0
  for (let i = 0; i < n; i++) if (bytes[i] !== buf[p + i]) return false
  return true
}

class FrameReader {
  // frames: the buffer the native side copies chunks into.
  constructor({ parsers, transform, onnotice, onparameter, parameters, host, port }, frames) {
    this.frames = frames
    this.framesView = new DataView(frames.buffer, frames.byteOffset, frames.length)
    this.onparameter = onparameter
    this.parameters = parameters
    this.parsers = parsers
    this.transform = transform
    this.onnotice = onnotice
    this.address = { address: host, port }
    this.columnCache = new Map()
    this.states = new Map()
    this.lastCommand = null
    this.lastColumns = null
    this.lastState = null
  }

  // A chunk: its length in the frame buffer, or a Buffer. Decoding is synchronous and keeps nothing of
  // the bytes (values are copied out), so the next chunk may overwrite them.
  decode(chunk) {
    // DataView reads compile to plain loads, Buffer's readInt32LE to four byte reads.
    const inFrames = typeof chunk === 'number'
    const buf = inFrames ? this.frames : chunk
    const dv = inFrames ? this.framesView : new DataView(buf.buffer, buf.byteOffset, buf.length)
    const end = inFrames ? chunk : buf.length
    chunkStart(end)
    try {
      this.decodeFrames(buf, dv, end)
    } finally {
      chunkEnd()
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
      if (!q) {
        // A connect or token event of the pool (id 0; js/tracing.js), parsed only while someone listens.
        kind === KIND_EVENT && publishEvent(buf, start + 4, pos, this.pending)
        continue
      }
      // COPY frames (the kinds after PARAMETERS), and the end of a COPY that became a stream (js/copy.js).
      if (kind > KIND_PARAMETERS || (q.copy !== null && q.copy.stream !== null)) {
        // A stream's listeners run in here; one that throws must not cost the other queries their frames.
        try { q.copy.frame(this, q, kind, buf, dv, start, pos, toError) } catch (err) { queueMicrotask(() => { throw err }) }
        continue
      }
      try {
        if (kind === KIND_COLUMNS) this.columns(q, buf, start, pos)
        else if (kind === KIND_ROWS) readRows(q, buf, dv, start, this.transform)
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
}

// Errors from the native side arrive as JSON (src/core/error.rs).
function toError(e, address) {
  switch (e.type) {
    case 'PostgresError': {
      const { type, ...fields } = e // eslint-disable-line no-unused-vars
      return new PostgresError(fields)
    }
    case 'ConnectionError': return connectionError(e.code, e.message, address, e.outcomeUnknown === true)
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

module.exports = { FrameReader, toError, nativeError }
