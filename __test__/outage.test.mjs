// A database outage under load: the PostgreSQL behind a local endpoint is stopped for 3 s while 8
// writers keep writing, each retrying a failed write at once with a fresh key. The pool backs off
// between connection attempts (one failure streak for the whole pool), so the endpoint sees at most
// 10 attempts per second while the server is down however fast the writers retry; the first write
// after the server is back is acknowledged within 1.5 s; no write is lost or applied twice.
// Uses its own PostgreSQL and local endpoint, so stopping it disturbs no other test.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fixture, lib, require } from './fixture.mjs'

const { startBackend } = require('../local/postgres-server.js')
const { startLocalDsql } = require('../local/index.js')

const WRITERS = 8
const WARMUP_MS = 800
const DOWN_MS = 3000
const AFTER_MS = 2000
const MAX_ATTEMPTS_PER_S = 10
const RECOVERY_LIMIT_MS = 1500
const HANG_MS = 15_000

// Rejections allowed (see restart.test.mjs for what each means): NOT_SENT writes never reached
// PostgreSQL and must be absent; AMBIGUOUS ones died in flight and may be present once.
const NOT_SENT = new Set(['08001', '57P03', '57P01'])
const AMBIGUOUS = new Set(['CONNECTION_CLOSED'])

const sleep = ms => new Promise(r => setTimeout(r, ms))

test('database down 3 s under 8 writers retrying at once: at most 10 connection attempts per second, first write within 1.5 s of the return, none lost or duplicated', { timeout: 120_000 }, async t => {
  const backend = await startBackend()
  let dsql, sql
  t.after(async () => {
    await sql?.end({ timeout: 1 }).catch(() => {})
    await dsql?.stop().catch(() => {})
    await backend.stop()
  })
  dsql = await startLocalDsql({ credentials: [fixture.credentials], backend: { host: backend.host, port: backend.port, user: backend.user } })
  sql = lib.auroraDSQLPostgres({
    host: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ssl: { ca: dsql.ca },
    customCredentialsProvider: fixture.credentials, max: 4, connect_timeout: 5
  })
  // No unique key: a write applied twice shows up as two rows.
  await sql`create table outage_writes (id bigint not null, writer int not null)`

  const writes = new Map() // id -> { writer, status, code, message, at }
  let running = true
  async function writer(w) {
    for (let seq = 0; running; seq++) {
      const id = w * 1_000_000 + seq
      let timer
      const r = await Promise.race([
        sql`insert into outage_writes (id, writer) values (${id}, ${w})`.then(() => ({}), err => ({ err })),
        new Promise(resolve => { timer = setTimeout(resolve, HANG_MS, { hung: true }) })
      ])
      clearTimeout(timer)
      const at = performance.now()
      if (r.hung) writes.set(id, { writer: w, status: 'hung', at })
      else if (!r.err) writes.set(id, { writer: w, status: 'ok', at })
      else {
        writes.set(id, { writer: w, status: 'rejected', code: r.err.code ?? String(r.err), message: r.err.message, at })
        // Retry at once (a fresh key): only the pool's back-off stands between these writers and
        // a storm of connection attempts. A turn of the event loop, so timers still run.
        await new Promise(setImmediate)
      }
    }
  }
  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w))

  await sleep(WARMUP_MS)
  const okBeforeStop = [...writes.values()].filter(x => x.status === 'ok').length
  await backend.stopServer()
  const stoppedAt = performance.now()
  const acceptedAtStop = dsql.stats().accepted
  await sleep(DOWN_MS)
  const acceptedBeforeStart = dsql.stats().accepted
  const startingAt = performance.now()
  await backend.startServer()
  const readyAt = performance.now()
  await sleep(AFTER_MS)
  running = false
  await Promise.all(writers)

  const all = [...writes.entries()]
  const ok = all.filter(([, x]) => x.status === 'ok')
  const rejected = all.filter(([, x]) => x.status === 'rejected')
  const hung = all.filter(([, x]) => x.status === 'hung').map(([id]) => id)
  const byCode = {}
  for (const [, x] of rejected) byCode[x.code] = (byCode[x.code] || 0) + 1
  const unexpected = rejected.filter(([, x]) => !NOT_SENT.has(x.code) && !AMBIGUOUS.has(x.code))

  // Connection attempts (TCP connections the endpoint accepted) while the server was down.
  const downSeconds = (startingAt - stoppedAt) / 1000
  const attempts = acceptedBeforeStart - acceptedAtStop
  const perSecond = attempts / downSeconds
  // Recovery: the server may accept a little before startServer() resolves, so count from when it
  // was asked to start, and report both.
  const firstOkAfter = Math.min(...ok.filter(([, x]) => x.at >= startingAt).map(([, x]) => x.at))
  const okWhileDown = ok.filter(([, x]) => x.at > stoppedAt + 50 && x.at < startingAt).length

  const rows = await sql`select id::int as id, count(*)::int as n from outage_writes group by id`
  const counts = new Map(rows.map(r => [r.id, r.n]))
  const lost = ok.filter(([id]) => counts.get(id) !== 1).map(([id]) => `${id} x${counts.get(id) ?? 0}`)
  const duplicated = rows.filter(r => r.n > 1).map(r => `${r.id} x${r.n}`)
  const phantom = rows.filter(r => !writes.has(r.id)).map(r => r.id)
  const notSentButApplied = rejected.filter(([id, x]) => NOT_SENT.has(x.code) && counts.has(id)).map(([id, x]) => `${id} (${x.code})`)

  t.diagnostic(`down ${downSeconds.toFixed(2)} s: ${attempts} connection attempts (${perSecond.toFixed(1)}/s)`)
  t.diagnostic(`first acknowledged write ${(firstOkAfter - startingAt).toFixed(0)} ms after the start was asked, ${(firstOkAfter - readyAt).toFixed(0)} ms after it accepted connections`)
  t.diagnostic(`writes: ${writes.size} total, ${ok.length} ok, ${rejected.length} rejected ${JSON.stringify(byCode)}, ${hung.length} hung`)

  assert.deepEqual(hung, [], `writes still pending after ${HANG_MS} ms`)
  assert.deepEqual(unexpected.map(([id, x]) => `${id}: ${x.code} ${x.message}`), [], 'only connection errors')
  assert.ok(okBeforeStop > 0, 'writes succeeded before the stop')
  assert.ok(rejected.length > 0, 'the outage was seen by the writers')
  assert.equal(okWhileDown, 0, 'no write acknowledged while the server was down')
  assert.ok(attempts > 0, 'the pool kept trying while the server was down')
  assert.ok(perSecond <= MAX_ATTEMPTS_PER_S, `${perSecond.toFixed(1)} connection attempts per second while the server was down`)
  assert.ok(Number.isFinite(firstOkAfter), 'writes succeed again after the restart')
  assert.ok(firstOkAfter - readyAt <= RECOVERY_LIMIT_MS, `first write ${(firstOkAfter - readyAt).toFixed(0)} ms after the server was back`)
  assert.deepEqual(lost, [], 'acknowledged writes are in the table exactly once')
  assert.deepEqual(duplicated, [], 'no write applied twice')
  assert.deepEqual(phantom, [], 'no row that no writer wrote')
  assert.deepEqual(notSentButApplied, [], 'writes rejected before reaching the server were not applied')
})
