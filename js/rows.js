'use strict'
// Row decoding: the values of a ROWS frame (src/core/protocol.rs) into postgres.js rows.
//
// Objects rows come from a decoder specialised for a column set and cached on the columns array
// (which belongs to one client, so its value/row transforms are fixed). Where code may be compiled at
// run time, each column is read by its own line of generated code (no per-value dispatch) straight
// into an object literal of fixed shape, so a number never needs a temporary heap box. Where it may
// not (workerd, a strict-CSP page: `new Function` throws), a decoder of per-column closures makes the
// same rows. `__proto__` (which a literal would treat as the prototype), very wide rows, values() and
// raw() keep the generic loop in `readRows`.

const { Buffer, rowDecoder: decoderOption } = require('./platform.js')
const { Result } = require('./result.js')
const { ENC_TEXT, ENC_F64, ENC_BOOL, ENC_BYTES, ENC_TIME, ENC_I32 } = require('./protocol.js')

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

// A chunk of frames ending at `end` is being decoded; then it is done (its bytes may be overwritten).
function chunkStart(end) { stretch.end = end }
function chunkEnd() { stretch.buf = null; stretch.str = '' }

// The generated decoder's expression reading column i's value at p (length len).
const READ = {
  [ENC_I32]: () => 'dv.getInt32(p, true)',
  [ENC_F64]: () => 'dv.getFloat64(p, true)',
  [ENC_TIME]: () => 'new Date(dv.getFloat64(p, true))',
  [ENC_BOOL]: () => 'buf[p] === 1',
  [ENC_BYTES]: () => 'copyBytes(buf, p, len)',
  [ENC_TEXT]: (i, col) => col.parser ? `cols[${i}].parser(text(buf, p, len))` : 'text(buf, p, len)'
}

// The same as closures, for the decoder that compiles nothing.
const READER = {
  [ENC_I32]: () => (buf, dv, p) => dv.getInt32(p, true),
  [ENC_F64]: () => (buf, dv, p) => dv.getFloat64(p, true),
  [ENC_TIME]: () => (buf, dv, p) => new Date(dv.getFloat64(p, true)),
  [ENC_BOOL]: () => (buf, dv, p) => buf[p] === 1,
  [ENC_BYTES]: () => (buf, dv, p, len) => copyBytes(buf, p, len),
  [ENC_TEXT]: col => col.parser ? (buf, dv, p, len) => col.parser(text(buf, p, len)) : (buf, dv, p, len) => text(buf, p, len)
}

function canCompile() {
  try {
    return new Function('return true')() // eslint-disable-line no-new-func
  } catch {
    return false
  }
}

// Whether decoders are generated code (else closures): where `new Function` works, unless
// ADP_ROW_DECODER=closure; `useCompiled` switches for decoders made afterwards (tests).
const compilable = canCompile()
let compiled = compilable && decoderOption !== 'closure'
function useCompiled(on) { compiled = on && compilable }

function compiledDecoder(columns, valueFrom, rowFrom) {
  const lines = columns.map((col, i) =>
    `    ${i === 0 ? 'let ' : ''}len = dv.getInt32(p, true); p += 4\n` +
    `    let v${i} = null\n` +
    `    if (len >= 0) { v${i} = ${(READ[col.enc] || READ[ENC_TEXT])(i, col)}; p += len }` +
    (valueFrom ? `\n    v${i} = valueFrom(v${i}, cols[${i}])` : ''))
  const row = columns.map((c, i) => JSON.stringify(String(c.name)) + ': v' + i).join(', ')
  return new Function('cols', 'copyBytes', 'text', 'valueFrom', 'rowFrom', // eslint-disable-line no-new-func
    'return function decodeRows(buf, dv, p, count, out, each, current) {\n' +
    '  for (let r = 0; r < count; r++) {\n' +
    lines.join('\n') + '\n' +
    `    const row = ${rowFrom ? `rowFrom({ ${row} })` : `{ ${row} }`}\n` +
    '    each ? each(row, current) : (out[out.length] = row)\n' +
    '  }\n' +
    '}')(columns, copyBytes, text, valueFrom, rowFrom)
}

function closureDecoder(columns, valueFrom, rowFrom) {
  const n = columns.length
  const names = columns.map(c => String(c.name))
  const reads = columns.map(col => (READER[col.enc] || READER[ENC_TEXT])(col))
  return function decodeRowsWithClosures(buf, dv, p, count, out, each, current) {
    for (let r = 0; r < count; r++) {
      const row = {}
      for (let c = 0; c < n; c++) {
        const len = dv.getInt32(p, true); p += 4
        let v = null
        if (len >= 0) { v = reads[c](buf, dv, p, len); p += len }
        if (valueFrom) v = valueFrom(v, columns[c])
        row[names[c]] = v
      }
      const value = rowFrom ? rowFrom(row) : row
      each ? each(value, current) : (out[out.length] = value)
    }
  }
}

// The decoder of a column set (null: the generic loop), made once per columns array.
function rowDecoder(columns, valueFrom, rowFrom) {
  if (columns.decoder !== undefined) return columns.decoder
  let decoder = null
  if (columns.length <= 200 && !columns.some(c => c.name === '__proto__'))
    decoder = (compiled ? compiledDecoder : closureDecoder)(columns, valueFrom, rowFrom)
  Object.defineProperty(columns, 'decoder', { value: decoder })
  return decoder
}

// A ROWS frame at p for query q: its rows appended to q's result, handed to forEach, or (a cursor) to
// the cursor as one batch.
function readRows(q, buf, dv, p, transform) {
  const count = dv.getUint32(p, true); p += 4
  const columns = q.current.columns
  const nc = columns.length
  const values = q.values, raw = q.raw
  const valueFrom = transform.value.from, rowFrom = transform.row.from
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

module.exports = { readRows, chunkStart, chunkEnd, useCompiled }
