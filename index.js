'use strict'
// aurora-dsql-postgres: postgres.js-compatible `sql` for Amazon Aurora DSQL, with IAM auth,
// pooling and the wire protocol in Rust (see README.md, "Architecture").

const native = require('./js/native.js')
const { createSql } = require('./js/sql.js')
const { nativeError } = require('./js/client.js')
const { PostgresError } = require('./js/errors.js')
const types = require('./js/types.js')
const transform = require('./js/transform.js')
const { isOCCError } = require('./js/retry.js')

function args(urlOrOptions, maybeOptions) {
  let url, options
  if (typeof urlOrOptions === 'string') {
    url = urlOrOptions
    options = maybeOptions === undefined ? {} : maybeOptions
  } else {
    options = urlOrOptions === undefined ? {} : urlOrOptions
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new TypeError('options must be an object')
  if (options.transport !== undefined)
    throw new TypeError('transport is chosen by the factory: use auroraDSQLPostgres (TCP) or auroraDSQLWsPostgres (WebSocket)')
  return [url, options]
}

function auroraDSQLPostgres(urlOrOptions, maybeOptions) {
  const [url, options] = args(urlOrOptions, maybeOptions)
  return createSql(native, url, options)
}

// The same `sql` over DSQL's WebSocket endpoint (wss://<host>:443); the transport is in Rust.
function auroraDSQLWsPostgres(urlOrOptions, maybeOptions) {
  const [url, options] = args(urlOrOptions, maybeOptions)
  return createSql(native, url, { ...options, transport: 'websocket' })
}


async function generateToken(options) {
  try {
    return await native.generateToken(options)
  } catch (err) {
    throw nativeError(err)
  }
}

// Like postgres.js, the CommonJS export is the factory itself, with the rest attached.
const { normalizeTransform, ...caseHelpers } = transform // eslint-disable-line no-unused-vars
module.exports = Object.assign(auroraDSQLPostgres, {
  auroraDSQLPostgres,
  AuroraDSQLPostgres: auroraDSQLPostgres,
  auroraDSQLWsPostgres,
  isOCCError,
  generateToken,
  PostgresError,
  BigInt: types.BigInt,
  ...caseHelpers,
  default: auroraDSQLPostgres
})
