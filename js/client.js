'use strict'
// The JS side of the native pool: batches queries into one `submit` per tick (submit.js), and
// decodes the completion frames the native side pushes (`onFrames`, a chunk of many completions per
// call; frames.js, rows.js) into postgres.js Results. While queries are pending the native callback
// is referenced, so the process stays alive exactly as long as work is in flight. Byte formats:
// src/core/protocol.rs, whose numbers protocol.js holds.

const { connectionError } = require('./errors.js')
const { CODE } = require('./codes.js')
const { InFlight } = require('./inflight.js')
const { performance } = require('./platform.js')
const { Writer } = require('./submit.js')
const { FrameReader, nativeError } = require('./frames.js')
const { POLL_BYTES } = require('./protocol.js')

// A resolved promise's then() is a cheaper microtask than queueMicrotask (no AsyncResource per call).
const resolved = Promise.resolve()
// Queries per `submit` at most, and in the first submit of a tick (see Client.enqueue).
const FLUSH_EVERY = 1000, FLUSH_FIRST = 128
// How long a backlog of completion chunks is decoded before the event loop gets a turn (see onFrames).
const DRAIN_MS = 2
// The frame buffer's size: the native side's chunk size. A chunk is copied into this one buffer (no
// Buffer made per chunk); a larger one comes in a Buffer of its own.
const FRAME_BUFFER_BYTES = POLL_BYTES

// What the native frames callback reaches the client through: strongly while queries are pending,
// weakly otherwise (the native side holds the callback, and the client holds the native pool).
class Target {
  constructor() { this.busy = null; this.weak = null }
  deliver(chunk, more) {
    const client = this.busy || (this.weak && this.weak.deref())
    client && client.onFrames(chunk, more)
  }
}

class Client extends FrameReader {
  constructor(native, options, target, frames) {
    super(options, frames)
    this.target = target
    this.submit = native.submitter()
    target.weak = new WeakRef(this)
    this.debug = options.debug
    this.native = native
    this.pending = new InFlight() // the queries in flight, by id (FrameReader settles them)
    this.nextId = 1
    this.writer = new Writer()
    this.scheduled = false
    this.ended = false // end() was called: the pool takes no new work
    this.closed = false // end() has finished: no connection is left
    this.idleCheck = null
    this.draining = null
    this.unsent = 0
    this.flushAt = FLUSH_FIRST
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

  // q: { text, params (wire values), types, flags, conn, cursor, resolve, reject, result state }
  enqueue(q) {
    // After end() the pool takes no new work; a reserved connection (a transaction, sql.reserve()) still
    // answers for itself until it is released or closed, as in postgres.js.
    if (this.ended && (!q.conn || this.closed))
      return q.reject(connectionError(q.conn ? CODE.CONNECTION_CLOSED : CODE.CONNECTION_ENDED, '', this.address))
    const id = this.nextId++
    this.nextId > 0xfffffff0 && (this.nextId = 1)
    this.pending.set(id, q)
    this.pending.size === 1 && this.busy(true)
    q.id = id
    this.debug && this.debug(q.conn || 0, q.text, q.givenParams || q.params, q.types)
    this.writer.query(id, q)
    // Many queries in one tick go over in slices: the native side starts sending the first ones
    // while JS still builds the rest. The first slice is small, so that the I/O thread starts early;
    // the rest are large (fewer, larger reads for the server).
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

  // After end(): whatever never completed settles now.
  rejectAll(code) {
    this.pending.size && this.failAll(connectionError(code, '', this.address))
  }
}

module.exports = { FRAME_BUFFER_BYTES, Client, Target, nativeError }
