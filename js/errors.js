'use strict'

// An error reported by the server (ErrorResponse fields), shaped like postgres.js's PostgresError.
class PostgresError extends Error {
  constructor(fields) {
    super(fields.message)
    this.name = 'PostgresError'
    for (const key of Object.keys(fields))
      fields[key] !== undefined && (this[key] = fields[key])
  }
}

// Drop this helper's frame so the stack starts at the caller, as postgres.js does.
function withCode(error, fields, caller) {
  Object.assign(error, fields)
  Error.captureStackTrace(error, caller)
  return error
}

// Connection-level failure: CONNECTION_CLOSED, CONNECTION_ENDED, CONNECTION_DESTROYED, CONNECT_TIMEOUT.
// Without a message it reads like postgres.js: 'write CONNECTION_CLOSED host:port'. `outcomeUnknown`:
// the query was sent and the connection closed before its answer, so it may or may not have run
// (err.outcomeUnknown === true; the connector does not run such a query again).
function connectionError(code, message, { errno = code, address, port } = {}, outcomeUnknown = false) {
  const target = port === undefined ? address : address + ':' + port
  const fields = { code, errno, address }
  port !== undefined && (fields.port = port)
  outcomeUnknown && (fields.outcomeUnknown = true)
  return withCode(new Error(message || 'write ' + code + ' ' + target), fields, connectionError)
}

// Client-side usage error, message 'CODE: message' like postgres.js.
function genericError(code, message) {
  return withCode(new Error(code + ': ' + message), { code }, genericError)
}

function notSupportedError(feature) {
  return withCode(
    new Error('DSQL_NOT_SUPPORTED: ' + feature + ' is not supported by Amazon Aurora DSQL'),
    { code: 'DSQL_NOT_SUPPORTED', feature },
    notSupportedError
  )
}

// Thrown when a helper (sql(...), sql.json(...), ...) is awaited instead of interpolated.
function notTaggedCallError() {
  return withCode(
    new Error('NOT_TAGGED_CALL: Query not called as a tagged template literal'),
    { code: 'NOT_TAGGED_CALL' },
    notTaggedCallError
  )
}

module.exports = { PostgresError, connectionError, genericError, notSupportedError, notTaggedCallError }
