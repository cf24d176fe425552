'use strict'
// The Node specifics the facade's core needs, in one module that another platform (a browser or
// workerd build) swaps for its own: a monotonic clock, Buffer, the environment variables, reading a
// file (`sql.file`), the stream classes of COPY, and whether code may be compiled at run time. Frame and submission buffers are this Buffer; the row decoder also calls Node's
// unchecked `utf8Slice` / `latin1Slice` on them, which a replacement Buffer must provide.

const { performance } = require('perf_hooks')
const { Buffer } = require('buffer')
const { Readable, Writable } = require('stream')
const { readFile } = require('fs').promises

// ADP_ROW_DECODER=closure makes the row decoder the one that needs no `new Function` (as where eval
// is forbidden); for tests.
const rowDecoder = process.env.ADP_ROW_DECODER

// An environment variable's value (undefined when unset).
const env = name => process.env[name]

// A file's text; `path` is anything fs.readFile takes (a string, a file: URL, a Buffer).
const readTextFile = path => readFile(path, 'utf8')

module.exports = { performance, Buffer, Readable, Writable, env, readTextFile, rowDecoder }
