// One workload, one side, one round, in a fresh process (forked by run.mjs; job in BENCH_JOB).
// Reports { metrics, info } or { error } over IPC. Results are spot-checked so a broken run can't look fast.
import { performance, monitorEventLoopDelay } from 'node:perf_hooks'
import { isDeepStrictEqual } from 'node:util'
import { connect } from './sides.mjs'

const { side, workload, size } = JSON.parse(process.env.BENCH_JOB)
let stage = 'connect' // the query in flight, named in errors
const failures = []
// `what` is a function: the message is made only for a failure (stringifying every row would add
// garbage, and so GC work, to the next timed batch)
const check = (ok, what) => { if (!ok && failures.length < 5) failures.push(what()) }
const median = xs => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
const ms = t0 => performance.now() - t0
const show = v => JSON.stringify(v, (k, x) => typeof x === 'bigint' ? `${x}n` : x)?.slice(0, 200)
// Brackets the timed sections of a, d and e for bench/cpu.mjs, which samples this process's threads at each
// mark while the worker waits for its reply (idle). A no-op under run.mjs, and always outside the timed part.
const cpuMark = process.env.BENCH_CPU
  ? (mark, units) => new Promise(resolve => { process.once('message', resolve); process.send({ cpuMark: mark, units }) })
  : () => {}

// a, b, c: n queries fired at once on a pool of 4; one untimed warm-up batch of the same size (both
// sides: the timed batches then measure steady state rather than JIT warm-up), then `reps` timed batches.
async function atOnce(make, verify) {
  const sql = await connect(side, { max: 4 })
  try {
    const batch = n => Promise.all(Array.from({ length: n }, (_, i) => make(sql, i)))
    await batch(size.n)
    const qps = []
    for (let r = 0; r < size.reps; r++) {
      await cpuMark('start')
      const t0 = performance.now()
      const results = await batch(size.n)
      qps.push(size.n / ms(t0) * 1000)
      await cpuMark('end', size.n)
      results.forEach((rows, i) => check(rows.length === 1 && verify(rows[0], i), () => `row ${i}: ${show(rows[0])}`))
    }
    return { metrics: { [workload]: median(qps) }, info: { qps: qps.map(Math.round) } }
  } finally { await sql.end() }
}

const jsonb = i => ({ i, s: 'x' })
const stamp = i => new Date(1_700_000_000_000 + i * 1000)
const bytes = i => Buffer.from([i & 255, (i >> 8) & 255, 1, 2, 3])

const workloads = {
  a: () => (stage = 'select 1 as x', atOnce(sql => sql`select 1 as x`, row => row.x === 1)),
  // an untyped parameter comes back as text on both sides
  b: () => (stage = 'select $1 as x', atOnce((sql, i) => sql`select ${i} as x`, (row, i) => row.x === String(i))),
  c: () => {
    stage = 'select $1::int as a, $2::text as b, $3 as c, $4 as d, $5 as e, $6 as f, $7 as g  (int, text, Date, null, bool, Buffer, sql.json)'
    return atOnce(
      (sql, i) => sql`select ${i}::int as a, ${'text ' + i}::text as b, ${stamp(i)} as c, ${null} as d, ${i % 2 === 0} as e, ${bytes(i)} as f, ${sql.json(jsonb(i))} as g`,
      (r, i) => r.a === i && r.b === 'text ' + i && r.c instanceof Date && r.c.getTime() === stamp(i).getTime() && r.d === null &&
        r.e === (i % 2 === 0) && Buffer.isBuffer(r.f) && r.f.equals(bytes(i)) && isDeepStrictEqual(r.g, jsonb(i)))
  },

  // d: n awaited queries one after another; median latency.
  async d() {
    stage = 'select $1::int as x'
    const sql = await connect(side, { max: 4 })
    try {
      for (let i = 0; i < 500; i++) await sql`select ${i}::int as x`
      const lat = []
      await cpuMark('start')
      for (let i = 0; i < size.n; i++) {
        const t0 = performance.now()
        const [row] = await sql`select ${i}::int as x`
        lat.push(ms(t0) * 1000)
        check(row?.x === i, () => `query ${i}: ${show(row)}`)
      }
      await cpuMark('end', size.n)
      const sorted = lat.sort((a, b) => a - b)
      return { metrics: { d: median(lat) }, info: { p90us: Math.round(sorted[Math.floor(lat.length * 0.9)]) } }
    } finally { await sql.end() }
  },

  // e: a large 5-column result; rows/s and the event loop's p99 delay while it is fetched.
  async e() {
    const query = (sql, n) => sql`select i as a, 'row ' || i as b, i * 0.5::float8 as c,
      timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' as d, i % 2 = 0 as e from generate_series(1, ${n}::int) i`
    stage = `select i as a, 'row ' || i as b, i * 0.5::float8 as c, timestamptz '2024-01-01' + i * interval '1 second' as d, i % 2 = 0 as e from generate_series(1, $1::int) i`
    const sql = await connect(side, { max: 4 })
    try {
      await query(sql, 1000)
      const rps = [], p99 = [], max = []
      for (let r = 0; r < size.reps; r++) {
        const h = monitorEventLoopDelay({ resolution: 1 })
        await cpuMark('start')
        h.enable()
        const t0 = performance.now()
        const rows = await query(sql, size.rows)
        const t = ms(t0)
        // One more timer tick before disabling: the histogram records a delay when its timer finally
        // runs, so a consumer that blocked the loop until the very end would otherwise go unrecorded.
        await new Promise(resolve => setTimeout(resolve, 2))
        h.disable()
        await cpuMark('end', size.rows)
        rps.push(size.rows / t * 1000); p99.push(h.percentile(99) / 1e6); max.push(h.max / 1e6)
        check(rows.length === size.rows, () => `got ${rows.length} rows`)
        for (const k of [0, size.rows >> 1, size.rows - 1]) {
          const i = k + 1, row = rows[k]
          check(row && row.a === i && row.b === 'row ' + i && row.c === i * 0.5 && row.d instanceof Date &&
            row.d.getTime() === Date.UTC(2024, 0, 1) + i * 1000 && row.e === (i % 2 === 0), () => `row ${i}: ${show(row)}`)
        }
        let sum = 0
        for (const row of rows) sum += row.a
        check(sum === size.rows * (size.rows + 1) / 2, () => `sum of a = ${sum}`)
      }
      return { metrics: { 'e.rows': median(rps), 'e.p99': median(p99) }, info: { rowsPerSec: rps.map(Math.round), p99ms: p99, maxDelayMs: max } }
    } finally { await sql.end() }
  },

  // e's floor (side 'floor', no database): the same rows built in plain JS, FLOOR_CHUNK per event-loop
  // turn, with the same histogram. Building and keeping 100,000 rows of objects, strings and Dates
  // costs scavenges of a full young generation whoever decodes them; no connector's p99 can go below this.
  async eFloor() {
    stage = 'building the rows in JS'
    const FLOOR_CHUNK = 2500
    const base = Date.UTC(2024, 0, 1)
    const make = (rows, from, to) => {
      for (let i = from; i <= to; i++) rows.push({ a: i, b: 'row ' + i, c: i * 0.5, d: new Date(base + i * 1000), e: i % 2 === 0 })
    }
    const build = n => new Promise(resolve => {
      const rows = []
      const step = from => {
        make(rows, from, Math.min(n, from + FLOOR_CHUNK - 1))
        from + FLOOR_CHUNK > n ? resolve(rows) : setImmediate(step, from + FLOOR_CHUNK)
      }
      setImmediate(step, 1)
    })
    await build(1000)
    const p99 = [], max = []
    for (let r = 0; r < size.reps; r++) {
      const h = monitorEventLoopDelay({ resolution: 1 })
      h.enable()
      const rows = await build(size.rows)
      await new Promise(resolve => setTimeout(resolve, 2))
      h.disable()
      p99.push(h.percentile(99) / 1e6); max.push(h.max / 1e6)
      const i = size.rows >> 1, row = rows[i - 1]
      check(rows.length === size.rows && row.a === i && row.b === 'row ' + i && row.d.getTime() === base + i * 1000, () => `row ${i}: ${show(row)}`)
    }
    return { metrics: { 'e.floor': median(p99) }, info: { p99ms: p99, maxDelayMs: max } }
  },

  // f: the insert helper, `batches` sequential inserts of `rows` rows × 5 columns.
  async f() {
    const sql = await connect(side, { max: 4 })
    const table = `bench_f_${side}_${process.pid}`
    const make = (from, n) => Array.from({ length: n }, (_, k) => {
      const i = from + k
      return { a: i, b: 'name ' + i, c: i * 0.25, d: stamp(i), e: i % 2 === 0 }
    })
    try {
      stage = `create table ${table}`
      await sql`create table ${sql(table)} (a int, b text, c float8, d timestamptz, e bool)`
      stage = `insert into ${table} ${'${sql(rows)}'} (${size.rows} rows × 5 columns)`
      await sql`insert into ${sql(table)} ${sql(make(-size.rows, size.rows))}` // warm-up batch, negative ids
      const batches = Array.from({ length: size.batches }, (_, b) => make(1 + b * size.rows, size.rows))
      const t0 = performance.now()
      for (const rows of batches) await sql`insert into ${sql(table)} ${sql(rows)}`
      const t = ms(t0)
      const total = size.batches * size.rows
      stage = `verify ${table}`
      const [v] = await sql`select count(*)::int as n, sum(a)::float8 as s from ${sql(table)} where a > 0`
      check(v.n === total && v.s === total * (total + 1) / 2, () => `count/sum ${show(v)}`)
      const [row] = await sql`select * from ${sql(table)} where a = ${total}`
      check(row && row.b === 'name ' + total && row.c === total * 0.25 && row.d?.getTime() === stamp(total).getTime() && row.e === (total % 2 === 0), () => `row ${show(row)}`)
      return { metrics: { f: total / t * 1000 }, info: {} }
    } finally {
      await sql`drop table if exists ${sql(table)}`.catch(() => {})
      await sql.end()
    }
  },

  // g: a fresh pool's first result, and a storm of concurrent queries on a fresh pool as large.
  async g() {
    stage = 'select 1 as x (fresh pool)'
    const first = []
    for (let r = -1; r < size.firstReps; r++) { // r = -1: untimed, loads the modules
      const t0 = performance.now()
      const sql = await connect(side, { max: 4 })
      const [row] = await sql`select 1 as x`
      if (r >= 0) first.push(ms(t0))
      check(row?.x === 1, () => `first result ${show(row)}`)
      await sql.end()
    }
    stage = `${size.storm} × select pg_backend_pid() as pid (fresh pool of ${size.storm})`
    const storm = [], conns = []
    for (let r = 0; r < size.stormReps; r++) {
      const t0 = performance.now()
      const sql = await connect(side, { max: size.storm })
      const rows = await Promise.all(Array.from({ length: size.storm }, () => sql`select pg_backend_pid() as pid`))
      storm.push(ms(t0))
      const pids = new Set(rows.map(r => r[0]?.pid))
      check(rows.length === size.storm && [...pids].every(Number.isInteger), () => `pids ${show([...pids])}`)
      conns.push(pids.size)
      await sql.end()
    }
    return { metrics: { 'g.first': median(first), 'g.storm': median(storm) }, info: { firstMs: first, stormMs: storm, stormConnections: conns } }
  }
}

try {
  const result = await (side === 'floor' ? workloads.eFloor() : workloads[workload]())
  if (failures.length) result.error = { kind: 'wrong result', query: stage, message: failures.join('; ') }
  process.send(result, () => process.exit(0))
} catch (err) {
  process.send({ error: { kind: 'error', query: stage, message: String(err?.message ?? err), code: err?.code } }, () => process.exit(0))
}
