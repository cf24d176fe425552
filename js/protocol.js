// Generated from src/core/protocol.rs by `UPDATE_GENERATED=1 cargo test`; do not edit by hand.
'use strict'

// The numbers of the byte formats between the facade and the core (src/core/protocol.rs).

// Submission flags: bits of a query's `u8 flags`.
// Run as a named statement, prepared once per connection and cached (postgres.js's `prepare`).
const FLAG_PREPARE = 1
// Every column in PostgreSQL's text form (`raw()`; a replaced parser of a binary-decoded type).
const FLAG_TEXT = 2
// The simple query protocol: several statements, no parameters (`simple()`, `unsafe` scripts).
const FLAG_SIMPLE = 4
// Describe the statement (parameter and column types) without running it (`describe()`).
const FLAG_DESCRIBE = 8
// Deliver rows in batches of `batch`, waiting for the consumer between batches (`.cursor(n)`).
const FLAG_CURSOR = 16
// `COPY ... FROM STDIN` / `TO STDOUT` moving data through a Node stream (see `core::copy`).
const FLAG_COPY = 32
// Prepare the statement afresh, replacing the cached one (the server said its plan went stale).
const FLAG_FRESH = 64

// Parameter kinds: how a submitted parameter's bytes are read.
// UTF-8 text, bound in text form.
const PARAM_TEXT = 0
// Bytes bound in binary form (a Buffer or Uint8Array).
const PARAM_BINARY = 1
// An untyped JS array: its array literal, then its JSON and its plain text; the type the
// server infers picks one (as postgres.js serializes by it).
const PARAM_ALTERNATIVES = 2
// A JS Date's milliseconds (f64): bound as binary timestamptz, which spares JS the ISO string
// and the server its parsing.
const PARAM_DATE = 3
// A JS number (f64), bound by the server's type (see `wire::Param::number`).
const PARAM_NUMBER = 4
// A JS number that is an int32 (-0 included, which JS writes "0" as well): i32.
const PARAM_INT = 5

// Completion frame kinds.
// A query's columns, parameter types and statement name.
const KIND_COLUMNS = 1
// A batch of a query's rows.
const KIND_ROWS = 2
// A statement finished: its count and command tag (`last` = the query is complete).
const KIND_DONE = 3
// The query failed (JSON of the error).
const KIND_ERROR = 4
// A server notice (id 0).
const KIND_NOTICE = 5
// Server parameters of a new connection (id 0).
const KIND_PARAMETERS = 6
// The copy has started: `u8` direction (0 in: a Writable, 1 out: a Readable).
const KIND_COPY = 7
// A copy's `Write` was taken: the Writable's write callback may run (no payload).
const KIND_COPY_ACK = 8
// Rows of a COPY TO: `u32 n`, then `n × (u32 len + bytes)`, one entry per CopyData message.
const KIND_COPY_DATA = 9
// A connect or token event of the pool (id 0): `u32 len + JSON` (see `core::pool::events`).
const KIND_EVENT = 10

// Column value encodings in ROWS frames (`Encoding`): UTF-8 text, f64, one byte 0/1, raw bytes,
// f64 ms since the Unix epoch (NaN for ±infinity), i32; all little-endian.
const ENC_TEXT = 0
const ENC_F64 = 1
const ENC_BOOL = 2
const ENC_BYTES = 3
const ENC_TIME = 4
const ENC_I32 = 5

// Operations on a running COPY: NativePool.copy(id, op, data).
// COPY FROM: send `data` (acknowledged by a COPY_ACK frame).
const OP_WRITE = 0
// COPY FROM: the Writable ended.
const OP_END = 1
// Stop the copy (the stream was destroyed).
const OP_ABORT = 2
// COPY TO: the next batch of rows (a COPY_DATA frame).
const OP_READ = 3

// The size of a chunk of completion frames, and of the facade's frame buffer.
const POLL_BYTES = 131072

module.exports = {
  FLAG_PREPARE, FLAG_TEXT, FLAG_SIMPLE, FLAG_DESCRIBE, FLAG_CURSOR, FLAG_COPY, FLAG_FRESH,
  PARAM_TEXT, PARAM_BINARY, PARAM_ALTERNATIVES, PARAM_DATE, PARAM_NUMBER, PARAM_INT,
  KIND_COLUMNS, KIND_ROWS, KIND_DONE, KIND_ERROR, KIND_NOTICE, KIND_PARAMETERS, KIND_COPY, KIND_COPY_ACK, KIND_COPY_DATA, KIND_EVENT,
  ENC_TEXT, ENC_F64, ENC_BOOL, ENC_BYTES, ENC_TIME, ENC_I32,
  OP_WRITE, OP_END, OP_ABORT, OP_READ,
  POLL_BYTES
}
