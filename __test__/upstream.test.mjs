// postgres.js 3.4.9's own test suite (../shared/conformance, kept there as data) against this package,
// over TCP and over WebSocket, through a local endpoint in front of the fixture's PostgreSQL: real
// tokens, verified TLS. The endpoint's SQL checks and row limit are off for it (the suite tests
// postgres.js behaviour on PostgreSQL) and it logs each session in as the client's user, as the suite
// expects. Exclusions: __test__/upstream/exclusions.mjs.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { fixture, require } from './fixture.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const suite = resolve(here, '../../shared/conformance/postgres.js-3.4.9/index.js')
const { startLocalDsql } = require('../local/index.js')
let dsql, dir

before(async () => {
  assert.ok(existsSync(suite), `the upstream suite is expected at ${suite}`)
  // What the suite's bootstrap.js creates, plus the connector's default user; as the fixture's superuser
  // over postgres.js (no PostgreSQL client needed), each statement as psql -c would send it.
  const admin = postgres({ host: fixture.backend.host, port: fixture.backend.port, user: fixture.backend.user, database: 'postgres', max: 1, onnotice: () => {} })
  try {
    await admin.unsafe('drop database if exists postgres_js_test').simple()
    for (const u of ['postgres_js_test', 'postgres_js_test_md5', 'postgres_js_test_scram']) await admin.unsafe(`drop role if exists ${u}; create role ${u} login`).simple()
    await admin.unsafe('do $$ begin if not exists (select from pg_roles where rolname = \'admin\') then create role admin login superuser; end if; end $$').simple()
    await admin.unsafe('create database postgres_js_test owner postgres_js_test').simple()
  } finally {
    await admin.end({ timeout: 1 })
  }
  dsql = await startLocalDsql({
    credentials: [fixture.credentials], backend: { host: fixture.backend.host, port: fixture.backend.port },
    sqlChecks: 'off', maxRowsPerTransaction: 0, optimisticConcurrency: false, rateLimit: false, websocket: true
  })
  dir = mkdtempSync(join(tmpdir(), 'adp-upstream-'))
  writeFileSync(join(dir, 'ca.pem'), dsql.ca)
})
after(async () => {
  await dsql?.stop()
  dir && rmSync(dir, { recursive: true, force: true })
})

function runSuite(transport) {
  const env = {
    ...process.env,
    ADP_UPSTREAM_SUITE: suite,
    ADP_UPSTREAM_TRANSPORT: transport,
    ADP_UPSTREAM: JSON.stringify({ endpoint: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, wsPort: dsql.wsPort, ca: dsql.ca, region: dsql.region, credentials: fixture.credentials }),
    ADP_UPSTREAM_BACKEND: JSON.stringify({ host: fixture.backend.host, port: fixture.backend.port, user: fixture.backend.user }),
    PGSSLROOTCERT: join(dir, 'ca.pem')
  }
  return new Promise(resolve => {
    const child = spawn(process.execPath, ['--unhandled-rejections=strict', join(here, 'upstream', 'run.mjs')], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', d => { out += d; process.stdout.write(d) })
    child.on('exit', (code, signal) => resolve({ code, signal, out }))
  })
}

for (const transport of ['tcp', 'websocket']) {
  test(`upstream postgres.js 3.4.9 suite over ${transport}: every test not excluded passes`, { timeout: 600_000 }, async () => {
    const { code, signal, out } = await runSuite(transport)
    const counts = out.match(/^(\d+) passed, (\d+) failed, (\d+) skipped$/m)
    assert.ok(counts, `the runner printed no counts (exit ${code}, signal ${signal})`)
    assert.equal(Number(counts[2]), 0, 'failed tests')
    assert.equal(code, 0)
  })
}
