// What __test__/run.mjs started: the local DSQL endpoint and the PostgreSQL behind it.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

export const require = createRequire(import.meta.url)
if (!process.env.ADP_FIXTURE) throw new Error('run the tests with `npm test` (node __test__/run.mjs), which starts the fixture')
export const fixture = JSON.parse(readFileSync(process.env.ADP_FIXTURE, 'utf8'))
export const lib = require('../index.js')

// Options that reach the local endpoint with verified TLS and real SigV4 tokens.
export function options(extra = {}) {
  return {
    host: fixture.endpoint,
    hostaddr: fixture.hostaddr,
    port: fixture.port,
    ssl: { ca: fixture.ca },
    customCredentialsProvider: fixture.credentials,
    ...extra
  }
}

export function connect(extra) {
  return lib.auroraDSQLPostgres(options(extra))
}
