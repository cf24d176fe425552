// No unhandled rejection, ever, and every promise settles: queries, cursors, transactions, reserved
// connections, cancels, close() and end() (graceful and with timeout 0) issued in a random order against
// the local endpoint, 10,000 operations over many short-lived pools. The seed is fixed (FUZZ_SEED
// overrides it) and printed with any failure, so a failing order can be replayed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, connectWs } from './fixture.mjs'

const SEED = Number(process.env.FUZZ_SEED || 20261207)
const OPERATIONS = Number(process.env.FUZZ_OPERATIONS || 10_000)
const PER_POOL = 200
const SETTLE_MS = 15_000

// mulberry32: a small seeded generator, enough to replay an order.
function generator(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const delay = ms => new Promise(resolve => setTimeout(resolve, ms))

// Over TCP with every operation; over WebSocket with half as many (the same code above the transport).
for (const [transport, open, operations] of [['TCP', connect, OPERATIONS], ['WebSocket', connectWs, OPERATIONS / 2]])
test(`random operations over ${transport} (seed ${SEED}, ${operations} operations): no unhandled rejection, every promise settles`, { timeout: 600_000 }, async () => {
  const random = generator(SEED)
  const pick = xs => xs[Math.floor(random() * xs.length)]
  const unhandled = []
  const onUnhandled = (reason) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  const counts = {}
  let done = 0
  try {
    while (done < operations) {
      const sql = open({ max: 1 + Math.floor(random() * 3), idle_timeout: 1 })
      const started = []
      const settle = []
      const failures = []
      // `mustFulfil`: a rejection of this one is a failure of the test, not an expected outcome.
      const watch = (label, promise, mustFulfil = false) => {
        const entry = { label, settled: false }
        settle.push(entry)
        started.push(Promise.resolve(promise).then(() => { entry.settled = true }, err => {
          entry.settled = true
          mustFulfil && failures.push(`${label}: ${err && err.message}`)
        }))
      }
      const reserved = []
      let closing = false
      // In a gentle round nothing destroys or cancels work (graceful close and end only): there a query
      // executed before end() must succeed, and its caller may look at it only after end() resolved
      // (as postgres.js's own suite does), so a wrong rejection surfaces as an unhandled one.
      const gentle = random() < 0.5
      const late = []
      const ops = gentle
        ? ['query', 'query', 'execute', 'executeLate', 'sleep', 'cursor', 'begin', 'beginFail', 'reserve', 'release', 'close', 'yield']
        : ['query', 'query', 'query', 'execute', 'sleep', 'cancel', 'cancelSent', 'cursor', 'begin', 'beginFail', 'reserve', 'release', 'close', 'yield']
      for (let i = 0; i < PER_POOL && done < operations; i++, done++) {
        const op = pick(ops)
        counts[op] = (counts[op] || 0) + 1
        switch (op) {
          case 'query': watch(op, sql`select ${i}::int as x`); break
          case 'execute': watch(op, sql`select ${i}::int as x`.execute()); break
          case 'executeLate': late.push(sql`select ${i}::int as x`.execute()); break
          case 'sleep': watch(op, sql`select pg_sleep(0.005)`); break
          case 'cancel': { const q = sql`select pg_sleep(0.05)`; watch(op, q); q.cancel(); break }
          case 'cancelSent': { const q = sql`select pg_sleep(0.05)`; watch(op, q); setTimeout(() => watch('cancel()', q.cancel()), random() * 20); break }
          case 'cursor': watch(op, sql`select generate_series(1, 5) as x`.cursor(2, async () => { await delay(random() * 2); return random() < 0.2 ? sql.CLOSE : undefined })); break
          case 'begin': watch(op, sql.begin(tx => [tx`select 1 as x`, tx`select 2 as y`])); break
          case 'beginFail': watch(op, sql.begin(async tx => { await tx`select 1`; throw new Error('rolled back on purpose') })); break
          case 'reserve': {
            // A graceful end() waits for reserved connections (as postgres.js): one granted after the
            // round's end began is given back at once.
            const p = sql.reserve().then(r => { watch('reserved query', r`select ${i}::int as x`); closing ? r.release() : reserved.push(r) })
            watch(op, p)
            break
          }
          case 'release': { const r = reserved.shift(); r && r.release(); break }
          case 'close': watch(op, sql.close(gentle || random() < 0.5 ? {} : { timeout: 0 })); break
          case 'yield': await delay(random() * 3); break
        }
      }
      // The pool ends while work may still be in flight; later queries must reject, not hang.
      closing = true
      const timeout = gentle || random() < 0.5 ? {} : { timeout: 0 }
      const ending = sql.end(timeout)
      watch('end', ending)
      watch('after end', sql`select 1`)
      for (const r of reserved) r.release()
      await Promise.race([ending.catch(() => {}), delay(SETTLE_MS)])
      for (const q of late) watch('executed before end', q.then(rows => assert.equal(rows.length, 1)), true)
      const all = Promise.all(started)
      const finished = await Promise.race([all.then(() => true), delay(SETTLE_MS).then(() => false)])
      const pending = settle.filter(s => !s.settled).map(s => s.label)
      assert.ok(finished && pending.length === 0, `seed ${SEED}: ${pending.length} promises never settled (${[...new Set(pending)].join(', ')})`)
      assert.deepEqual(failures, [], `seed ${SEED}: queries executed before a graceful end() failed`)
    }
    await delay(50) // rejections of the last round surface on a later turn
    assert.deepEqual(unhandled.map(String), [], `seed ${SEED}: unhandled rejections`)
    assert.equal(done, operations)
    assert.ok(Object.keys(counts).length >= 12, `every kind of operation ran: ${JSON.stringify(counts)}`)
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
})
