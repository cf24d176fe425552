// Generated from src/core/error.rs (mod code) by `UPDATE_GENERATED=1 cargo test`; do not edit by hand.
'use strict'

// The error codes the core gives its errors (`err.code`).
const CODE = Object.freeze({
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  CONNECTION_ENDED: 'CONNECTION_ENDED',
  CONNECTION_DESTROYED: 'CONNECTION_DESTROYED',
  CONNECT_TIMEOUT: 'CONNECT_TIMEOUT',
  TLS_ERROR: 'TLS_ERROR',
  QUERY_CANCELED: '57014',
  COPY_IN_PROGRESS: 'COPY_IN_PROGRESS',
})

module.exports = { CODE }
