// Generated from src/core/config/defaults.rs by `UPDATE_GENERATED=1 cargo test`; do not edit by hand.
'use strict'

// Each option's default by the name sql.options shows it under (null: none; durations in
// seconds; max_lifetime: each connection's age is drawn between the two).
const DEFAULTS = Object.freeze({
  host: null,
  region: null,
  transport: 'tcp',
  connectionCheck: false,
  port: 5432,
  hostaddr: null,
  database: 'postgres',
  username: 'admin',
  tokenDurationSecs: 900,
  profile: null,
  ssl: 'verify-full',
  sslnegotiation: 'postgres',
  sslrootcert: null,
  max: 10,
  idle_timeout: null,
  max_lifetime: [2700, 3300],
  connect_timeout: 30,
  keep_alive: 60,
  prepare: true,
  backoff: false,
  fetch_types: true,
  publications: 'alltables',
  debug: false
})

// The WebSocket endpoint's port (unless `port` is given).
const WEBSOCKET_PORT = 443

// The environment variables options are read from (the facade hands their process.env values
// to the native side).
const OPTION_ENV = Object.freeze([
  'PGHOST',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'PGPORT',
  'PGDATABASE',
  'PGUSERNAME',
  'PGUSER',
  'AWS_PROFILE',
  'PGSSLROOTCERT',
  'PGMAX',
  'PGIDLE_TIMEOUT',
  'PGMAX_LIFETIME',
  'PGCONNECT_TIMEOUT'
])

module.exports = { DEFAULTS, WEBSOCKET_PORT, OPTION_ENV }
