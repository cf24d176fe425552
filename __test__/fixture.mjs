// What __test__/run.mjs started: the local DSQL endpoint and the PostgreSQL behind it.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

export const require = createRequire(import.meta.url)
if (!process.env.ADP_FIXTURE) throw new Error('run the tests with `npm test` (node __test__/run.mjs), which starts the fixture')
export const fixture = JSON.parse(readFileSync(process.env.ADP_FIXTURE, 'utf8'))
export const lib = require('../index.js')

// COMPAT_TRANSPORT=websocket: `options`/`connect` (and so the compatibility suite) go through the
// endpoint's WebSocket listener with auroraDSQLWsPostgres instead of TCP.
export const websocket = process.env.COMPAT_TRANSPORT === 'websocket'

// Options that reach the local endpoint with verified TLS and real SigV4 tokens.
export function options(extra = {}) {
  return {
    host: fixture.endpoint,
    hostaddr: fixture.hostaddr,
    port: websocket ? fixture.wsPort : fixture.port,
    ssl: { ca: fixture.ca },
    customCredentialsProvider: fixture.credentials,
    ...extra
  }
}

// The same over the endpoint's WebSocket listener (wss, verified against the run's CA).
export function wsOptions(extra = {}) {
  return options({ port: fixture.wsPort, ...extra })
}

// The factory under test: auroraDSQLPostgres, or auroraDSQLWsPostgres under COMPAT_TRANSPORT=websocket.
export const factory = (...a) => websocket ? lib.auroraDSQLWsPostgres(...a) : lib.auroraDSQLPostgres(...a)

export function connect(extra) {
  return factory(options(extra))
}

export function connectWs(extra) {
  return lib.auroraDSQLWsPostgres(wsOptions(extra))
}
