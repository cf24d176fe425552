// Issue 6, scenario 3: the backend PostgreSQL is stopped (fast shutdown) and started again while 8
// workers write. Every write resolves or rejects with a connection error, the pool recovers within
// 1 s of the server's return, and the table shows no lost and no duplicated acknowledged write.
// Uses its own PostgreSQL and local endpoint, so restarting it disturbs no other test.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fixture, lib, require } from './fixture.mjs'

const { startBackend } = require('../local/postgres-server.js')
const { startLocalDsql } = require('../local/index.js')

const WORKERS = 8
const WARMUP_MS = 1000 // writes before the stop
const DOWN_MS = 1500 // server stopped
const AFTER_MS = 2000 // writes after the server is back
const RECOVERY_LIMIT_MS = 1000
const REJECT_PAUSE_MS = 50 // a worker's pause after a rejection (no busy loop while the server is down)
const HANG_MS = 10_000 // a write still pending after this long counts as hung

// Rejections allowed, in two kinds (err.code as seen in runs; anything else fails the test):
// - NOT_SENT: the connection could not be opened, so the write never reached PostgreSQL; its row
//   must be absent. (A write whose connection died before the server could have run it is rerun
//   by the pool and, while the server is down, ends here too.)
//   08001  the endpoint could not reach the backend ("backend database unavailable")
//   57P03  PostgreSQL refused the session: shutting down, or starting up (relayed by the endpoint)
//   57P01  a session being set up when the fast shutdown began (rare race; at connect only)
const NOT_SENT = new Set(['08001', '57P03', '57P01'])
// - AMBIGUOUS: the write was in flight when its connection died; it may or may not have committed,
//   so its row may be there once, never twice.
//   CONNECTION_CLOSED  the connector's code for an established session that ended under a query,
//                      including the FATAL 57P01 of the fast shutdown (in the message)
const AMBIGUOUS = new Set(['CONNECTION_CLOSED'])

const sleep = ms => new Promise(r => setTimeout(r, ms))

test('3. backend stopped and started under 8 writers: connection errors only, recovery within 1 s, no lost or duplicated write', { timeout: 120_000 }, async t => {
  const backend = await startBackend()
  let dsql, sql
  t.after(async () => {
    await sql?.end({ timeout: 1 }).catch(() => {})
    await dsql?.stop().catch(() => {})
    await backend.stop()
  })
  dsql = await startLocalDsql({ credentials: [fixture.credentials], backend: { host: backend.host, port: backend.port, user: backend.user } })
  // Fewer connections than workers: queries are pipelined, so a connection dies with several
  // writes outstanding (the pool's rerun of writes that cannot have run is exercised too).
  sql = lib.auroraDSQLPostgres({
    host: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ssl: { ca: dsql.ca },
    customCredentialsProvider: fixture.credentials, max: 4, connect_timeout: 5
  })
  // No primary key or unique index: a write applied twice shows up as two rows.
  await sql`create table restart_writes (id bigint not null, worker int not null)`

  const writes = new Map() // id -> { worker, status: 'ok' | 'rejected' | 'hung', code, message, at }
  let running = true
  async function worker(w) {
    for (let seq = 0; running; seq++) {
      const id = w * 1_000_000 + seq
      // A write that never settles (scenario 2: a query on a dying connection must not hang) is
      // recorded as hung and fails the test below; the worker goes on.
      let timer
      const r = await Promise.race([
        sql`insert into restart_writes (id, worker) values (${id}, ${w})`.then(() => ({}), err => ({ err })),
        new Promise(resolve => { timer = setTimeout(resolve, HANG_MS, { hung: true }) })
      ])
      clearTimeout(timer)
      const at = performance.now()
      if (r.hung) writes.set(id, { worker: w, status: 'hung', at })
      else if (!r.err) writes.set(id, { worker: w, status: 'ok', at })
      else {
        writes.set(id, { worker: w, status: 'rejected', code: r.err.code ?? String(r.err), message: r.err.message, at })
        await sleep(REJECT_PAUSE_MS)
      }
    }
  }
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w))

  await sleep(WARMUP_MS)
  const okBeforeStop = [...writes.values()].filter(x => x.status === 'ok').length
  const stopAt = performance.now()
  await backend.stopServer() // SIGINT: fast shutdown, sessions are terminated
  const stoppedAt = performance.now()
  await sleep(DOWN_MS)
  // The server is surely down until startServer() is called; it may accept connections a little
  // before startServer() notices and resolves (readyAt).
  const startingAt = performance.now()
  await backend.startServer() // same port and data directory; resolves once it accepts connections
  const readyAt = performance.now()
  await sleep(AFTER_MS)
  running = false
  await Promise.all(workers)

  // 1. Outcomes: every write settled, and every rejection is a connection error of a known kind.
  const all = [...writes.entries()]
  const ok = all.filter(([, x]) => x.status === 'ok')
  const rejected = all.filter(([, x]) => x.status === 'rejected')
  const byCode = {}
  for (const [, x] of rejected) byCode[x.code] = (byCode[x.code] || 0) + 1
  const hung = all.filter(([, x]) => x.status === 'hung').map(([id]) => id)
  const unexpected = rejected.filter(([, x]) => !NOT_SENT.has(x.code) && !AMBIGUOUS.has(x.code))

  // 2. Recovery: the first acknowledged write after the server accepts connections again, and the
  // moment every worker has had one.
  const firstOkPerWorker = Array.from({ length: WORKERS }, (_, w) =>
    Math.min(...ok.filter(([, x]) => x.worker === w && x.at >= readyAt).map(([, x]) => x.at)))
  const firstOk = Math.min(...firstOkPerWorker) - readyAt
  const allOk = Math.max(...firstOkPerWorker) - readyAt
  // Writes acknowledged while the server was down would mean the stop did not take effect.
  const okWhileDown = ok.filter(([, x]) => x.at > stoppedAt + 50 && x.at < startingAt).length

  // 3. The table: acknowledged writes exactly once, writes that never reached the server absent,
  // ambiguous writes at most once, nothing else.
  const rows = await sql`select id::int as id, count(*)::int as n from restart_writes group by id`
  const counts = new Map(rows.map(r => [r.id, r.n]))
  const lost = ok.filter(([id]) => counts.get(id) !== 1).map(([id]) => `${id} x${counts.get(id) ?? 0}`)
  const duplicated = rows.filter(r => r.n > 1).map(r => `${r.id} x${r.n}`)
  const phantom = rows.filter(r => !writes.has(r.id)).map(r => r.id)
  const notSentButApplied = rejected.filter(([id, x]) => NOT_SENT.has(x.code) && counts.has(id)).map(([id, x]) => `${id} (${x.code})`)
  const ambiguous = rejected.filter(([, x]) => AMBIGUOUS.has(x.code))
  const ambiguousCommitted = ambiguous.filter(([id]) => counts.get(id) === 1).length

  t.diagnostic(`server: stop took ${(stoppedAt - stopAt).toFixed(0)} ms, down ${(readyAt - stoppedAt).toFixed(0)} ms`)
  t.diagnostic(`recovery after the server accepted connections again: first acknowledged write ${firstOk.toFixed(0)} ms, every worker ${allOk.toFixed(0)} ms`)
  t.diagnostic(`writes: ${writes.size} total, ${ok.length} ok, ${hung.length} hung, ${rejected.length} rejected (${rejected.length - ambiguous.length} not sent, ${ambiguous.length} ambiguous of which ${ambiguousCommitted} committed)`)
  t.diagnostic(`rejection codes: ${JSON.stringify(byCode)}; endpoint rejected ${dsql.stats().rejectedBackendError} sessions for the backend`)
  t.diagnostic(`ambiguous: ${JSON.stringify([...new Set(ambiguous.map(([, x]) => x.message))])}`)

  // Figures first (above), then the verdicts.
  assert.deepEqual(hung, [], `writes still pending after ${HANG_MS} ms`)
  assert.deepEqual(unexpected.map(([id, x]) => `${id}: ${x.code} ${x.message}`), [], 'only connection errors')
  assert.ok(okBeforeStop > 0, 'writes succeeded before the stop')
  assert.ok(rejected.length > 0, 'the outage was seen by the workers')
  assert.equal(okWhileDown, 0, 'no write acknowledged while the server was down')
  assert.deepEqual(lost, [], 'acknowledged writes are in the table exactly once')
  assert.deepEqual(duplicated, [], 'no write applied twice')
  assert.deepEqual(phantom, [], 'no row that no worker wrote')
  assert.deepEqual(notSentButApplied, [], 'writes rejected before reaching the server were not applied')
  assert.ok(Number.isFinite(allOk), 'every worker wrote again after the restart')
  assert.ok(firstOk <= RECOVERY_LIMIT_MS, `first write after the restart in ${firstOk.toFixed(0)} ms`)
  assert.ok(allOk <= RECOVERY_LIMIT_MS, `every worker wrote again within ${allOk.toFixed(0)} ms`)
  // The pool still answers after all this, and the totals agree.
  assert.equal((await sql`select count(*)::int as n from restart_writes`)[0].n, rows.reduce((s, r) => s + r.n, 0))
})
