'use strict'
// Submissions: the queries of a tick written into one buffer for the native `submit` (the byte format
// is in src/core/protocol.rs; its numbers come from protocol.js).

const { Buffer } = require('./platform.js')
const { FLAG_CURSOR, PARAM_TEXT, PARAM_BINARY, PARAM_ALTERNATIVES, PARAM_DATE, PARAM_NUMBER, PARAM_INT } = require('./protocol.js')

// A growable little-endian writer.
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

  // One query: q is { text, params (wire values), types, flags, conn, cursor }.
  query(id, q) {
    this.u32(id)
    this.u32(q.conn || 0)
    this.u8(q.flags)
    this.str(q.text)
    this.u16(q.params.length)
    for (let i = 0; i < q.params.length; i++) {
      const v = q.params[i]
      this.u32(q.types[i] || 0)
      if (v === null) {
        this.u8(PARAM_TEXT); this.i32(-1)
      } else if (typeof v === 'string') {
        this.u8(PARAM_TEXT); this.str(v)
      } else if (typeof v === 'number') { // bound by the server's type (see core::wire::Param::number)
        if ((v | 0) === v) { this.u8(PARAM_INT); this.i32(4); this.i32(v) } else { this.u8(PARAM_NUMBER); this.i32(8); this.f64(v) }
      } else if (v instanceof Uint8Array) {
        this.u8(PARAM_BINARY); this.bytes(v)
      } else if (v instanceof Date) { // a valid Date bound as timestamptz: sent in binary by Rust
        this.u8(PARAM_DATE); this.i32(8); this.f64(v.getTime())
      } else { // build.js Alternatives: the server's parameter type picks one
        this.u8(PARAM_ALTERNATIVES); this.str(v.literal); this.str(v.json); this.str(v.plain)
      }
    }
    if (q.flags & FLAG_CURSOR) this.u32(q.cursor)
  }

  // A view, not a copy: `submit` parses the batch synchronously and keeps nothing of it.
  take() {
    const out = this.buf.subarray(0, this.pos)
    this.pos = 0
    return out
  }
}

module.exports = { Writer }
