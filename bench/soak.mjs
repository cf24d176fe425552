// Memory soak: one pool through a local DSQL endpoint that closes connections by age, a mixed workload for
// the whole run (parallel selects, a 1,000-row result, insert helper, transactions, deliberate errors, a cursor
// left early, fresh short-lived pools, pg_terminate_backend of pool connections), process.memoryUsage() sampled
// after a forced GC. Fails (exit 1) if RSS or heapUsed grows more than 5% after the warm-up (first 20% of the
// run), or if any query returned a wrong result or failed unexpectedly. Writes bench/results/soak.json.
//   node bench/soak.mjs [--minutes 10] [--sample-secs 5]
// The endpoint runs in this process, so its memory is part of what is measured.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, release, loadavg, totalmem } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

// global.gc is needed for stable samples: re-run with --expose-gc when it is missing.
if (typeof globalThis.gc !== 'function') {
  const child = spawn(process.execPath, ['--expose-gc', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 2 : 1)))
} else {
  await main()
}

async function main() {
  const { values: flags } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, 'sample-secs': { type: 'string', default: '5' } } })
  const minutes = Number(flags.minutes), sampleSecs = Number(flags['sample-secs'])
  if (!(minutes > 0)) throw new RangeError('--minutes must be a positive number')
  if (!(sampleSecs > 0)) throw new RangeError('--sample-secs must be a positive number')
  const durationMs = minutes * 60_000, warmupMs = durationMs * 0.2
  const LIMIT_PCT = 5

  const require = createRequire(import.meta.url)
  const { startLocalDsql } = require(join(root, 'local', 'index.js'))
  const { auroraDSQLPostgres } = await import(pathToFileURL(join(root, 'index.mjs')).href)
  const CREDENTIALS = { accessKeyId: 'AKIASOAKEXAMPLE00001', secretAccessKey: 'soak-secret-key-not-real' }
  const log = (...a) => console.error(...a)
  const MB = b => (b / 2 ** 20).toFixed(1)
  const median = xs => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }

  const loadAtStart = loadavg().map(x => +x.toFixed(2))
  const dsql = await startLocalDsql({ credentials: [CREDENTIALS], maxConnectionAgeSecs: 20 })
  const connect = options => auroraDSQLPostgres({
    host: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ssl: { ca: dsql.ca },
    customCredentialsProvider: CREDENTIALS, ...options
  })
  log(`local DSQL endpoint ${dsql.endpoint} on ${dsql.hostaddr}:${dsql.port}; ${minutes} min, a sample every ${sampleSecs} s, warm-up ${(warmupMs / 1000).toFixed(0)} s`)

  // Counters: queries by kind, expected (deliberate) errors by kind, unexpected errors by kind (+ the first few).
  const queries = {}, expectedErrors = {}, unexpected = {}, unexpectedFirst = [], wrong = []
  const count = (o, k) => { o[k] = (o[k] ?? 0) + 1 }
  let stage = 'setup'
  const fail = (kind, err) => {
    const k = `${kind}: ${err?.code ?? err?.name ?? 'error'}`
    count(unexpected, k)
    if (unexpectedFirst.length < 10) {
      unexpectedFirst.push({ kind, code: err?.code, message: String(err?.message ?? err).slice(0, 300), at: Math.round(performance.now() - t0) })
      log(`UNEXPECTED ${k}: ${String(err?.message ?? err).slice(0, 300)}`)
    }
  }
  const check = (ok, kind, what) => {
    if (ok) return
    count(unexpected, `${kind}: wrong result`)
    if (wrong.length < 10) { wrong.push({ kind, what: String(what).slice(0, 200) }); log(`WRONG RESULT ${kind}: ${String(what).slice(0, 200)}`) }
  }
  // Run one query-producing step of a kind; a rejection is unexpected unless `expect` says otherwise.
  const run = async (kind, fn, n = 1) => {
    queries[kind] = (queries[kind] ?? 0) + n
    try { await fn() } catch (err) { fail(kind, err) }
  }
  const expectError = async (kind, code, fn) => {
    queries[kind] = (queries[kind] ?? 0) + 1
    try { await fn() } catch (err) {
      if (err?.code === code) return count(expectedErrors, `${kind} (${code})`)
      return fail(kind, err)
    }
    check(false, kind, `expected an error ${code}, the query succeeded`)
  }

  const sql = connect({ max: 4, max_lifetime: 15, idle_timeout: 5 })
  const admin = connect({ max: 1, max_lifetime: 15, idle_timeout: 5 })
  let t0 = performance.now()
  const samples = []
  let sampler, poolKills = 0, freshPools = 0, batches = 0
  try {
    await admin`create table if not exists soak_items (id bigint primary key, grp int not null, name text not null, at timestamptz not null)`
    await admin`insert into soak_items ${admin({ id: 0, grp: 0, name: 'fixed', at: new Date(0) })}`

    const total = () => Object.values(queries).reduce((a, b) => a + b, 0)
    const sample = () => {
      globalThis.gc()
      const m = process.memoryUsage()
      samples.push({ t: +((performance.now() - t0) / 1000).toFixed(1), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, queries: total() })
    }
    t0 = performance.now()
    sample()
    sampler = setInterval(sample, sampleSecs * 1000)
    const deadline = t0 + durationMs
    let nextId = 1, lastFresh = t0, lastKill = t0, nextKillMs = 5000 + Math.random() * 10_000

    while (performance.now() < deadline) {
      const b = batches++
      const work = []
      // small parameterised selects
      for (let i = 0; i < 24; i++) {
        const n = b * 100 + i
        work.push(run('select params', async () => {
          const rows = await sql`select ${n}::int as n, ${'s' + n}::text as s, ${n % 2 === 0} as even`
          check(rows.length === 1 && rows[0].n === n && rows[0].s === 's' + n && rows[0].even === (n % 2 === 0), 'select params', JSON.stringify(rows))
        }))
      }
      // a 1,000-row result
      work.push(run('1,000 rows', async () => {
        const rows = await sql`select g as id, 'row ' || g as name, g * 0.5 as half from generate_series(1, 1000) g`
        check(rows.length === 1000 && rows[0].id === 1 && rows[999].id === 1000 && rows[999].name === 'row 1000', '1,000 rows', `${rows.length} rows, last ${JSON.stringify(rows.at(-1))}`)
      }))
      // insert helper, then delete the same rows (keeps the table small)
      const base = nextId; nextId += 100
      work.push(run('insert helper + delete', async () => {
        const rows = Array.from({ length: 100 }, (_, i) => ({ id: base + i, grp: b, name: `item ${base + i}`, at: new Date(1_700_000_000_000 + i) }))
        const ins = await sql`insert into soak_items ${sql(rows)} returning id`
        check(ins.length === 100 && ins.count === 100 && Number(ins[99].id) === base + 99, 'insert helper', `${ins.length} rows, count ${ins.count}`)
        const del = await sql`delete from soak_items where id between ${base} and ${base + 99}`
        check(del.count === 100, 'delete', `count ${del.count}`)
      }, 2))
      // a transaction: insert, update, read back, delete
      const tid = nextId++
      work.push(run('transaction', async () => {
        const r = await sql.begin(async tx => {
          await tx`insert into soak_items ${tx({ id: tid, grp: -1, name: 'tx', at: new Date() })}`
          await tx`update soak_items set name = ${'tx ' + tid} where id = ${tid}`
          const [row] = await tx`select id, name from soak_items where id = ${tid}`
          await tx`delete from soak_items where id = ${tid}`
          return row
        })
        check(r && Number(r.id) === tid && r.name === 'tx ' + tid, 'transaction', JSON.stringify(r))
      }, 6)) // BEGIN, 4 statements, COMMIT
      // deliberate errors
      work.push(expectError('syntax error', '42601', () => sql`selec 1 as x`))
      work.push(expectError('unique violation', '23505', () => sql`insert into soak_items ${sql({ id: 0, grp: 0, name: 'dup', at: new Date(0) })}`))
      // a cursor left after 3 of 100 pages
      work.push(run('cursor, broken out of', async () => {
        let pages = 0, seen = 0, last = 0
        for await (const rows of sql`select g as n from generate_series(1, 10000) g`.cursor(100)) {
          seen += rows.length; last = rows.at(-1).n
          if (++pages === 3) break
        }
        check(pages === 3 && seen === 300 && last === 300, 'cursor', `${pages} pages, ${seen} rows, last ${last}`)
      }))
      // a fresh short-lived pool every ~10 s
      if (performance.now() - lastFresh >= 10_000) {
        lastFresh = performance.now(); const k = ++freshPools
        work.push(run('fresh pool', async () => {
          const fresh = connect({ max: 2 })
          try {
            const [row] = await fresh`select ${k}::int as k, current_user as u`
            check(row?.k === k && typeof row?.u === 'string', 'fresh pool', JSON.stringify(row))
          } finally { await fresh.end() }
        }))
      }
      await Promise.all(work)

      // sometimes (every 5-15 s) kill one of the pool's connections from the second pool, between batches
      if (performance.now() - lastKill >= nextKillMs) {
        lastKill = performance.now(); nextKillMs = 5000 + Math.random() * 10_000
        await run('pg_terminate_backend', async () => {
          const [{ pid }] = await sql`select pg_backend_pid() as pid`
          const [{ ok }] = await admin`select pg_terminate_backend(${pid}::int) as ok`
          check(ok === true, 'pg_terminate_backend', `pid ${pid}: ${ok}`)
          if (ok) poolKills++
        }, 2)
        await sleep(100) // let the FATAL reach the client (a query racing the kill would fail by design)
      }
    }
  } catch (err) {
    fail(`setup (${stage})`, err)
  } finally {
    clearInterval(sampler)
    await Promise.all([sql.end({ timeout: 5 }), admin.end({ timeout: 5 })]).catch(err => fail('end', err))
  }
  const endpoint = dsql.stats()
  await dsql.stop().catch(err => fail('endpoint stop', err))

  // Growth from the median of the first 3 post-warm-up samples to the median of the last 3 (single
  // samples of RSS swing by about ±7%).
  const after = samples.filter(s => s.t * 1000 >= warmupMs)
  const growth = {}
  let memoryOk = true
  if (after.length < 6) {
    memoryOk = false
    log(`too few samples after the warm-up (${after.length}); use a longer run or a shorter --sample-secs`)
  } else {
    const tail = samples.slice(-3)
    for (const key of ['rss', 'heapUsed', 'external']) {
      const start = median(after.slice(0, 3).map(s => s[key])), end = median(tail.map(s => s[key]))
      const pct = (end - start) / start * 100
      const limited = key !== 'external'
      growth[key] = { start, end, pct: +pct.toFixed(2), limitPct: limited ? LIMIT_PCT : null, ok: !limited || pct <= LIMIT_PCT }
      if (!growth[key].ok) memoryOk = false
    }
  }

  const totalQueries = Object.values(queries).reduce((a, b) => a + b, 0)
  const unexpectedTotal = Object.values(unexpected).reduce((a, b) => a + b, 0)
  const pass = memoryOk && unexpectedTotal === 0

  // Report: samples (at most ~20 rows), the growth table, counters.
  const step = Math.max(1, Math.ceil(samples.length / 20))
  console.log('\n     t (s)   rss MB  heapUsed MB  external MB   queries')
  samples.forEach((s, i) => {
    if (i % step && i !== samples.length - 1) return
    const mark = after[0] === s ? ' <- after warm-up' : ''
    console.log(`${String(s.t).padStart(10)} ${MB(s.rss).padStart(8)} ${MB(s.heapUsed).padStart(12)} ${MB(s.external).padStart(12)} ${String(s.queries).padStart(9)}${mark}`)
  })
  if (Object.keys(growth).length) {
    console.log('\n| metric | after warm-up | end (median of last 3) | growth | limit |\n|---|---|---|---|---|')
    for (const [key, g] of Object.entries(growth)) {
      console.log(`| ${key} | ${MB(g.start)} MB | ${MB(g.end)} MB | ${g.pct >= 0 ? '+' : ''}${g.pct.toFixed(2)}% | ${g.limitPct === null ? '-' : `≤ ${g.limitPct}%${g.ok ? '' : ' FAILED'}`} |`)
    }
  }
  const first = samples[0], last = samples.at(-1)
  if (first) console.log(`\nfirst sample: rss ${MB(first.rss)} MB, heapUsed ${MB(first.heapUsed)} MB; last: rss ${MB(last.rss)} MB, heapUsed ${MB(last.heapUsed)} MB`)
  console.log(`queries: ${totalQueries} in ${batches} batches (${Object.entries(queries).map(([k, v]) => `${k} ${v}`).join(', ')})`)
  console.log(`fresh pools: ${freshPools}; pool connections terminated: ${poolKills}; endpoint: ${endpoint.accepted} connections accepted, ${endpoint.closedByMaxAge} closed by max age`)
  console.log(`expected errors: ${Object.entries(expectedErrors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`)
  console.log(`unexpected errors: ${unexpectedTotal ? Object.entries(unexpected).map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`)

  const machine = {
    cpu: cpus()[0]?.model, cores: cpus().length, memoryGB: Math.round(totalmem() / 2 ** 30), os: `${process.platform} ${release()}`,
    node: process.version, loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg().map(x => +x.toFixed(2)), date: new Date().toISOString()
  }
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results', 'soak.json'), JSON.stringify({
    machine,
    config: { minutes, sampleSecs, warmupSecs: warmupMs / 1000, limitPct: LIMIT_PCT, pool: { max: 4, max_lifetime: 15, idle_timeout: 5 }, endpoint: { maxConnectionAgeSecs: 20 } },
    pass, growth, queries: { total: totalQueries, batches, byKind: queries }, freshPools, poolKills,
    errors: { expected: expectedErrors, unexpected, unexpectedFirst, wrongResults: wrong }, endpoint, samples
  }, null, 2) + '\n')
  console.log(`\nwrote bench/results/soak.json — ${pass ? 'PASS' : 'FAIL'}`)
  process.exitCode = pass ? 0 : 1
}
