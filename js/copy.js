'use strict'
// COPY through Node streams, as postgres.js: `await sql`copy t from stdin`.writable()` is a Writable,
// `await sql`copy t to stdout`.readable()` a Readable. The COPY holds its connection until the stream
// ends; the data moves through the native side in bounded steps (src/core/copy.rs): a write's
// callback runs once the native side has taken the chunk, and the next batch of rows is asked for only
// from the Readable's _read (Node calls it while its buffer is below the high-water mark), so neither
// side buffers more than a chunk or a batch beyond what the stream itself holds.

const { Buffer, Readable, Writable } = require('./platform.js')

const { KIND_DONE, KIND_ERROR, KIND_COPY, KIND_COPY_ACK, KIND_COPY_DATA, OP_WRITE, OP_END, OP_ABORT, OP_READ } = require('./protocol.js')

// A query's copy: the stream once the server has entered copy mode.
class Copy {
  constructor() {
    this.stream = null
    this.native = null
    this.id = 0
    this.ack = null // a write's callback, until the native side took the chunk
    this.final = null // the Writable's final callback, until the server confirmed the COPY
    this.reading = false // a batch of rows is asked for
    this.over = false // DONE or ERROR came: nothing more to tell the native side
  }

  // A frame of this query once it is a COPY (or the one that makes it one). `toError` turns an ERROR
  // frame's JSON into the error to throw.
  frame(client, q, kind, buf, dv, start, end, toError) {
    if (kind === KIND_COPY) return this.start(client, q, buf[start] === 1)
    if (kind === KIND_COPY_ACK) {
      const ack = this.ack
      this.ack = null
      return ack && ack()
    }
    if (kind === KIND_COPY_DATA) return this.rows(buf, dv, start, end)
    if (kind === KIND_DONE) {
      client.pending.delete(q.id)
      return this.finish()
    }
    if (kind === KIND_ERROR) {
      client.pending.delete(q.id)
      return this.fail(toError(JSON.parse(buf.toString('utf8', start + 4, end)), client.address))
    }
  }

  start(client, q, out) {
    const native = client.native, id = q.id
    this.native = native
    this.id = id
    const abort = (err, callback) => {
      this.over || native.copy(id, OP_ABORT)
      this.over = true
      callback(err)
    }
    this.stream = out
      ? new Readable({
        read: () => {
          if (this.reading || this.over) return
          this.reading = true
          native.copy(id, OP_READ)
        },
        destroy: abort
      })
      : new Writable({
        write: (chunk, encoding, callback) => {
          this.ack = callback
          native.copy(id, OP_WRITE, chunk)
        },
        // Writes that queued up while one was on its way go over as one chunk.
        writev: (chunks, callback) => {
          this.ack = callback
          native.copy(id, OP_WRITE, Buffer.concat(chunks.map(c => c.chunk)))
        },
        final: callback => {
          this.final = callback
          native.copy(id, OP_END)
        },
        destroy: abort
      })
    q.resolve(this.stream)
  }

  // A batch of rows: one chunk per CopyData message (as postgres.js pushes them), cut from one copy of
  // the batch (the frame buffer is reused for the next delivery).
  rows(buf, dv, p, end) {
    const n = dv.getUint32(p, true)
    const data = Buffer.from(buf.subarray(p + 4, end))
    const stream = this.stream
    this.reading = false
    for (let i = 0, at = 0; i < n; i++) {
      const len = data.readUInt32LE(at)
      stream.destroyed || stream.push(data.subarray(at + 4, at + 4 + len))
      at += 4 + len
    }
  }

  finish() {
    this.over = true
    const stream = this.stream
    if (stream instanceof Readable) return stream.destroyed || stream.push(null)
    const final = this.final
    this.final = null
    final && final()
  }

  // The COPY failed (the server's error, a closed connection, sql.end() with a timeout): the stream
  // is destroyed with the error, as postgres.js does.
  fail(err) {
    this.over = true
    const final = this.final
    this.final = null
    if (final) return final(err)
    this.stream.destroyed || this.stream.destroy(err)
  }
}

module.exports = { Copy }
