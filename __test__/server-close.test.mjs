// A server-side close for age (issue 20): the local endpoint closes every connection 2 s after it was
// accepted (a FATAL 08006, then its end of the client's stream) while writers keep the pool busy, each
// write with a fresh key. The endpoint is a proxy: it can pass a request on to PostgreSQL and close the
// client's side before the answer, so a query cut off in flight may have run. Then:
//   - every failure is CONNECTION_CLOSED marked outcome-unknown (err.outcomeUnknown === true);
//   - no query fails that was never sent: at most the queries in flight on the closed connections fail
//     (at most `max depth` per close), and queries waiting for a connection never do;
//   - no key is applied twice (a query that may have run is never run again: the unique key would turn
//     a second run into a 23505 failure, and each applied key is checked in the table afterwards);
//   - a transaction caught by the close leaves nothing applied (or, when its COMMIT was in flight, all
//     or nothing, with the outcome-unknown mark);
//   - with max_lifetime below the server's age the pool retires connections first: 0 failures and no
//     server-side close (also for a connection reserved for transaction after transaction).
// CI runs 3 runs of 10 s (SERVER_CLOSE_RUNS, SERVER_CLOSE_SECS change that); the figures are printed.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect, fixture, lib, require } from './fixture.mjs'

const { startLocalDsql } = require('../local/index.js')
const RUNS = Number(process.env.SERVER_CLOSE_RUNS || 3)
const SECS = Number(process.env.SERVER_CLOSE_SECS || 10)
const AGE = 2
const MAX = 4
// One writer more than connections, so that queries also pipeline behind others on a connection.
const WRITERS = MAX + 1

// Setup and checks go through the shared fixture endpoint, which never closes for age.
const admin = connect({ max: 1 })
const table = `server_close_${process.pid}`
after(async () => {
  await admin.unsafe(`drop table if exists ${table}`)
  await admin.end()
})

async function endpoint() {
  const dsql = await startLocalDsql({ credentials: [fixture.credentials], backend: fixture.backend, maxConnectionAgeSecs: AGE })
  const pool = extra => lib.auroraDSQLPostgres({
    host: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ssl: { ca: dsql.ca },
    customCredentialsProvider: fixture.credentials, max: MAX, ...extra
  })
  return { dsql, pool }
}

// Writers (each write a fresh key) and one transaction loop, for `secs`, against `sql`.
async function load(sql, run, secs) {
  const out = { queries: 0, ok: [], failed: [], tx: { ok: 0, cut: [], commitCut: [] } }
  const until = Date.now() + secs * 1000
  const writer = async w => {
    for (let i = 0; Date.now() < until; i++) {
      const k = `${run}-w${w}-${i}`
      out.queries++
      try {
        await sql`insert into ${sql(table)} (k) values (${k})`
        out.ok.push(k)
      } catch (err) {
        out.failed.push({ k, err })
      }
    }
  }
  const transactions = async () => {
    for (let i = 0; Date.now() < until; i++) {
      const keys = [`${run}-t${i}-a`, `${run}-t${i}-b`]
      let committing = false
      try {
        await sql.begin(async t => {
          await t`insert into ${sql(table)} (k) values (${keys[0]})`
          await t`insert into ${sql(table)} (k) values (${keys[1]})`
          committing = true // what remains is the COMMIT
        })
        out.tx.ok++
      } catch (err) {
        ;(committing ? out.tx.commitCut : out.tx.cut).push({ keys, err })
      }
    }
  }
  await Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), transactions()])
  return out
}

test('a query cut off by a server-side close is outcome-unknown; unsent queries run elsewhere; nothing runs twice', async t => {
  await admin.unsafe(`create table ${table} (k text primary key)`)
  const totals = { queries: 0, failures: 0, applied: 0, retried: 0, closes: 0, txCut: 0, txCommitCut: 0, txCommitUnknown: 0 }
  for (let run = 0; run < RUNS; run++) {
    const { dsql, pool } = await endpoint()
    const sql = pool()
    let out, closes, retried
    try {
      out = await load(sql, run, SECS)
      closes = dsql.stats().closedByMaxAge
      retried = sql.stats().retried
    } finally {
      await sql.end()
      await dsql.stop()
    }
    for (const { k, err } of out.failed) {
      assert.equal(err.code, 'CONNECTION_CLOSED', `${k}: ${err.code} ${err.message}`)
      assert.equal(err.outcomeUnknown, true, `${k}: ${err.message}`)
      assert.match(err.message, /outcome is unknown/)
    }
    // Only queries in flight on a closed connection can fail: at most one per connection it was
    // pipelined on (WRITERS - MAX + 1 deep at most), per close.
    assert.ok(out.failed.length <= closes * (WRITERS - MAX + 1), `${out.failed.length} failures for ${closes} closes`)
    const rows = await admin.unsafe(`select k from ${table} where k like $1`, [`${run}-%`])
    const applied = new Set(rows.map(r => r.k))
    for (const k of out.ok) assert.ok(applied.has(k), `acknowledged write ${k} is in the table`)
    const known = new Set([...out.ok, ...out.failed.map(f => f.k)])
    for (const k of applied) {
      if (!/-t\d+-/.test(k)) assert.ok(known.has(k), `${k} applied but neither acknowledged nor outcome-unknown`)
    }
    const failedApplied = out.failed.filter(f => applied.has(f.k)).length
    for (const { keys, err } of out.tx.cut) {
      assert.equal(err.code, 'CONNECTION_CLOSED', `${keys}: ${err.message}`)
      // It did not commit: sql.begin rejects with its ROLLBACK's error, which was never sent.
      assert.notEqual(err.outcomeUnknown, true, `a transaction cut before COMMIT is not outcome-unknown: ${err.message}`)
      assert.ok(!applied.has(keys[0]) && !applied.has(keys[1]), `a transaction cut before its COMMIT left ${keys} applied`)
    }
    for (const { keys, err } of out.tx.commitCut) {
      assert.equal(err.code, 'CONNECTION_CLOSED', `${keys}: ${err.message}`)
      if (err.outcomeUnknown) assert.equal(applied.has(keys[0]), applied.has(keys[1]), `a transaction applies all or nothing (${keys})`)
      else assert.ok(!applied.has(keys[0]) && !applied.has(keys[1]), `a COMMIT never sent left ${keys} applied: ${err.message}`)
    }
    t.diagnostic(`run ${run + 1}: ${out.queries} writes, ${out.failed.length} outcome-unknown failures ` +
      `(${failedApplied} of them had run), ${retried} queries ran elsewhere, ${closes} server closes; transactions: ${out.tx.ok} committed, ` +
      `${out.tx.cut.length} cut before COMMIT (nothing applied), ${out.tx.commitCut.length} cut at COMMIT ` +
      `(${out.tx.commitCut.filter(c => c.err.outcomeUnknown).length} in flight: outcome-unknown, all or nothing; the rest never sent)`)
    totals.queries += out.queries
    totals.failures += out.failed.length
    totals.applied += failedApplied
    totals.retried += retried
    totals.txCommitUnknown += out.tx.commitCut.filter(c => c.err.outcomeUnknown).length
    totals.closes += closes
    totals.txCut += out.tx.cut.length
    totals.txCommitCut += out.tx.commitCut.length
    assert.ok(closes >= Math.floor(SECS / AGE) - 1, `the server closed connections for age (${closes})`)
  }
  t.diagnostic(`server-close figures: ${JSON.stringify(totals)}`)
})

test('with max_lifetime below the server\'s age the pool retires connections first: 0 failures', async t => {
  const { dsql, pool } = await endpoint()
  const sql = pool({ max_lifetime: AGE / 2 })
  let out, stats
  try {
    out = await load(sql, 'lifetime', 2 * AGE + 0.5)
    stats = dsql.stats()
  } finally {
    await sql.end()
    await dsql.stop()
  }
  const closes = stats.closedByMaxAge
  t.diagnostic(`max_lifetime ${AGE / 2} s: ${out.queries} writes, ${out.failed.length} failures, ${closes} server closes, ${stats.accepted} connections`)
  assert.deepEqual(out.failed.map(f => f.err.message), [])
  assert.deepEqual([...out.tx.cut, ...out.tx.commitCut].map(f => f.err.message), [])
  assert.equal(closes, 0, 'every connection retired before the server closed it')
})
