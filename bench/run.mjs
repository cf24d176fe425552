// npm run bench: this package vs the official connector's recipe (postgres.js + @aws-sdk/dsql-signer)
// through ONE local DSQL endpoint (IAM token verification, verified TLS). Every workload runs in a fresh
// child process per side per round, alternating A B A B. Prints medians and ratios, writes
// bench/results/latest.json and bench/results/chart.svg (dev.json and dev.svg for --quick or --only).
//   node bench/run.mjs [--rounds N] [--quick] [--only a,b,...]
import { fork, spawn, execFile, execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync, mkdtempSync, rmSync, statSync, cpSync, readdirSync } from 'node:fs'
import { tmpdir, cpus, release, loadavg, totalmem } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { createRequire } from 'node:module'
import { SIDES, LABEL } from './sides.mjs'
import { chart } from './chart.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const { values: flags } = parseArgs({ options: { rounds: { type: 'string' }, quick: { type: 'boolean', default: false }, only: { type: 'string' } } })
const quick = flags.quick
// 5 rounds by default: on a shared machine single rounds swing by ±20–40%, and the median of 5 moves less than of 3.
const rounds = Number(flags.rounds ?? (quick ? 1 : 5))
if (!(Number.isInteger(rounds) && rounds > 0)) throw new RangeError('--rounds must be a positive integer')
const WORKLOADS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
const only = flags.only ? flags.only.split(',').map(s => s.trim()) : WORKLOADS
for (const w of only) if (!WORKLOADS.includes(w)) throw new TypeError(`--only: unknown workload ${w} (${WORKLOADS})`)

const SIZE = quick
  ? { a: { n: 2000, reps: 1 }, d: { n: 1000 }, e: { rows: 20_000, reps: 1 }, f: { batches: 5, rows: 200 },
      g: { firstReps: 3, storm: 50, stormReps: 1 }, h: { reps: 2 }, pgbench: { seconds: 2, pipeline: 100 } }
  : { a: { n: 10_000, reps: 3 }, d: { n: 5000 }, e: { rows: 100_000, reps: 3 }, f: { batches: 20, rows: 1000 },
      g: { firstReps: 10, storm: 50, stormReps: 5 }, h: { reps: 5 }, pgbench: { seconds: 5, pipeline: 100 } }
SIZE.b = SIZE.c = SIZE.a
const k = n => n >= 1000 ? `${n / 1000}k` : `${n}`
const S = SIZE
const METRICS = [
  { key: 'a', name: `a. ${k(S.a.n)} × select 1, pool 4`, unit: 'q/s', better: 'higher', target: 2.0 },
  { key: 'b', name: `b. ${k(S.b.n)} × select \${i}, pool 4`, unit: 'q/s', better: 'higher', target: 2.0 },
  { key: 'c', name: `c. ${k(S.c.n)} × 7-parameter select`, unit: 'q/s', better: 'higher', target: 2.0 },
  { key: 'd', name: `d. ${k(S.d.n)} sequential select \${i}::int`, unit: 'µs/query', better: 'lower', target: 0.8 },
  { key: 'e.rows', name: `e. ${k(S.e.rows)} rows × 5 columns`, unit: 'rows/s', better: 'higher', target: 2.0 },
  { key: 'e.p99', name: 'e. event-loop delay p99 meanwhile', unit: 'ms', better: 'lower', target: 0.5 },
  { key: 'f', name: `f. insert helper ${S.f.batches} × ${k(S.f.rows)} rows`, unit: 'rows/s', better: 'higher', target: 1.5 },
  { key: 'g.first', name: 'g. fresh pool, first result', unit: 'ms', better: 'lower', target: 0.7 },
  { key: 'g.storm', name: `g. storm: ${S.g.storm} queries, fresh pool of ${S.g.storm}`, unit: 'ms', better: 'lower', target: 0.7 },
  { key: 'h.wall', name: 'h. cold start, wall', unit: 'ms', better: 'lower', target: 0.8 },
  { key: 'h.rss', name: 'h. cold start, peak RSS', unit: 'MB', better: 'lower', target: 1.0 }
].filter(m => only.includes(m.key[0]))

const median = xs => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
const log = (...a) => console.error(...a)

// A child per workload, side and round; h is itself a cold process, timed from spawn to exit.
function worker(side, workload) {
  return new Promise(resolve => {
    const child = fork(join(here, 'worker.mjs'), {
      env: { ...process.env, BENCH_DSQL: env, BENCH_JOB: JSON.stringify({ side, workload, size: SIZE[workload] }) },
      timeout: 600_000, killSignal: 'SIGKILL'
    })
    let result
    child.on('message', m => { result = m })
    child.on('exit', (code, signal) => resolve(result ?? { error: { kind: 'crash', message: `worker exited with ${signal ?? code}` } }))
  })
}

function coldOnce(side) {
  return new Promise(resolve => {
    const t0 = process.hrtime.bigint()
    const child = spawn(process.execPath, [join(here, 'cold.mjs'), side], { env: { ...process.env, BENCH_DSQL: env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = '', err = ''
    child.stdout.on('data', d => { out += d }); child.stderr.on('data', d => { err += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('exit', (code, signal) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e6
      clearTimeout(timer)
      let r = {}
      try { r = JSON.parse(out.trim().split('\n').pop()) } catch {}
      if (code !== 0 || r.x !== 1) {
        return resolve({ error: { kind: signal ? 'did not exit within 30 s' : 'error', query: 'select 1 as x (cold process)', message: `exit ${signal ?? code}, x = ${r.x}; ${err.trim().split('\n').slice(-3).join(' | ')}` } })
      }
      resolve({ wall, rss: r.maxRssKb / 1024 })
    })
  })
}

async function cold(side) {
  const runs = []
  for (let i = 0; i < SIZE.h.reps; i++) {
    const r = await coldOnce(side)
    if (r.error) return r
    runs.push(r)
  }
  return { metrics: { 'h.wall': median(runs.map(r => r.wall)), 'h.rss': median(runs.map(r => r.rss)) }, info: { wallMs: runs.map(r => Math.round(r.wall)) } }
}

// The physical limit for a and b: libpq's pipelined `select 1` through the same endpoint.
async function pgbench() {
  const { generateToken } = require(join(pkg, 'index.js'))
  const token = await generateToken({ hostname: dsql.endpoint, region: dsql.region, admin: true, ...CREDENTIALS, expiresIn: 900 })
  const { seconds, pipeline } = SIZE.pgbench
  writeFileSync(join(tmp, 'ca.pem'), dsql.ca)
  writeFileSync(join(tmp, 'pipeline.sql'), `\\startpipeline\n${'select 1;\n'.repeat(pipeline)}\\endpipeline\n`)
  const conninfo = `sslmode=verify-full sslrootcert=${join(tmp, 'ca.pem')} host=${dsql.endpoint} hostaddr=127.0.0.1 port=${dsql.port} user=admin dbname=postgres`
  const args = ['-n', '-M', 'prepared', '-c', '4', '-j', '2', '-T', String(seconds), '-f', join(tmp, 'pipeline.sql'), conninfo]
  const { stdout } = await promisify(execFile)('/usr/lib/postgresql/15/bin/pgbench', args, { env: { ...process.env, PGPASSWORD: token } })
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1])
  if (!(tps > 0)) throw new Error(`pgbench: no tps in output:\n${stdout}`)
  return tps * pipeline
}

// ---- run ----
const CREDENTIALS = { accessKeyId: 'AKIABENCHLOCALDSQL01', secretAccessKey: 'bench/Local+Endpoint/Secret/Key/000001' }
const tmp = mkdtempSync(join(tmpdir(), 'adp-bench-'))
// A snapshot of the package (JS and the built addon), so that edits and rebuilds during a run don't mix in.
const root = join(here, '..'), pkg = join(tmp, 'pkg')
const addonMtime = () => statSync(join(root, 'aurora-dsql-postgres.linux-x64-gnu.node'), { throwIfNoEntry: false })?.mtimeMs
const addonAtStart = addonMtime()
for (const f of ['package.json', 'index.js', 'index.mjs', 'native.js', 'js', 'local', ...readdirSync(root).filter(f => f.endsWith('.node'))])
  cpSync(join(root, f), join(pkg, f), { recursive: true })
const { startLocalDsql } = require(join(pkg, 'local', 'index.js'))
let commit = null
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
  if (execFileSync('git', ['status', '--porcelain', '--', 'src', 'js', 'index.js'], { cwd: root, encoding: 'utf8' }).trim()) commit += ' (+ uncommitted changes)'
} catch {}
const dsql = await startLocalDsql({ credentials: [CREDENTIALS], rateLimit: false })
const env = JSON.stringify({ pkg, endpoint: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ca: dsql.ca, region: dsql.region, credentials: CREDENTIALS })
process.once('SIGINT', () => dsql.stop().finally(() => { rmSync(tmp, { recursive: true, force: true }); process.exit(130) }))
const loadAtStart = loadavg().map(x => +x.toFixed(2))
log(`local DSQL endpoint ${dsql.endpoint} on ${dsql.hostaddr}:${dsql.port}; ${rounds} round(s)${quick ? ', quick sizes' : ''}; workloads ${only.join(',')}`)

const samples = Object.fromEntries(METRICS.map(m => [m.key, { ours: [], official: [] }]))
const errors = [], info = [], limit = [], floor = []
try {
  for (let round = 1; round <= rounds; round++) {
    for (const w of only) {
      for (const side of SIDES) { // A B A B ...
        const r = w === 'h' ? await cold(side) : await worker(side, w)
        info.push({ round, workload: w, side, ...r.info, metrics: r.metrics })
        if (r.error) {
          errors.push({ round, workload: w, side, ...r.error })
          log(`round ${round} ${w} ${side.padEnd(8)} FAILED (${r.error.kind}): ${r.error.query}: ${r.error.message}`)
          continue
        }
        for (const [key, v] of Object.entries(r.metrics)) samples[key]?.[side].push(v)
        log(`round ${round} ${w} ${side.padEnd(8)} ${Object.entries(r.metrics).map(([key, v]) => `${key} ${fmt(v)}`).join('  ')}`)
      }
    }
    if (only.includes('e')) {
      const r = await worker('floor', 'e')
      if (r.error) log(`round ${round} e floor FAILED: ${r.error.message}`)
      else { floor.push(r.metrics['e.floor']); info.push({ round, workload: 'e', side: 'floor', ...r.info, metrics: r.metrics }); log(`round ${round} e floor    e.p99 ${fmt(floor.at(-1))}`) }
    }
    if (only.includes('a') || only.includes('b')) {
      try { limit.push(await pgbench()); log(`round ${round} pgbench   ${fmt(limit.at(-1))} q/s`) } catch (err) { log(`pgbench failed: ${err.message}`) }
    }
  }
} finally {
  await dsql.stop().catch(log)
  rmSync(tmp, { recursive: true, force: true })
}

// ---- report ----
function fmt(v) {
  if (!Number.isFinite(v)) return '-'
  return v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)
}
const results = METRICS.map(m => {
  const s = samples[m.key], failed = errors.filter(e => e.workload === m.key[0])
  const ours = s.ours.length ? median(s.ours) : NaN, official = s.official.length ? median(s.official) : NaN
  const ratio = ours / official
  const met = m.better === 'higher' ? ratio >= m.target : ratio <= m.target
  const status = failed.some(e => e.side === 'ours') ? 'FAIL (ours broken)' : failed.length ? 'FAIL (official broken)' : met ? 'pass' : 'FAIL'
  const roundRatios = s.ours.length === s.official.length ? s.ours.map((v, i) => v / s.official[i]) : null
  return { ...m, ours: s.ours, official: s.official, roundRatios, oursMedian: ours, officialMedian: official, ratio: Number.isFinite(ratio) ? ratio : null, pass: status === 'pass', status }
})

const table = [['workload', 'unit', 'ours', 'official', 'ratio', 'target', 'result'],
  ...results.map(r => [r.name, r.unit, fmt(r.oursMedian), fmt(r.officialMedian), r.ratio == null ? '-' : r.ratio.toFixed(2), `${r.better === 'higher' ? '≥' : '≤'} ${r.target}`, r.status])]
const widths = table[0].map((_, i) => Math.max(...table.map(row => row[i].length)))
const line = row => row.map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')
console.log(`\nthis package (ours) vs ${LABEL.official} (official); medians of ${rounds} alternating round(s)`)
console.log(line(table[0])); console.log(widths.map(w => '-'.repeat(w)).join('  '))
for (const row of table.slice(1)) console.log(line(row))

let physical = null
if (limit.length) {
  const pg = median(limit), pct = key => results.find(r => r.key === key)
  physical = { pgbench: { queriesPerSec: pg, runs: limit, script: `\\startpipeline + ${SIZE.pgbench.pipeline} × select 1; + \\endpipeline`, args: `-M prepared -c 4 -j 2 -T ${SIZE.pgbench.seconds}` } }
  console.log(`\nphysical limit: pgbench, pipelined select 1 (${physical.pgbench.args}): ${fmt(pg)} q/s`)
  for (const key of ['a', 'b']) {
    const r = pct(key)
    if (!r) continue
    physical[key] = { ours: r.oursMedian / pg, official: r.officialMedian / pg }
    console.log(`  ${r.name}: ours ${(100 * physical[key].ours).toFixed(0)}% of it, official ${(100 * physical[key].official).toFixed(0)}%`)
  }
}
if (floor.length) {
  const f = median(floor), r = results.find(x => x.key === 'e.p99')
  physical ??= {}
  physical.eFloor = { p99Ms: f, runs: floor, what: 'the same 100k rows built in plain JS, 2,500 per event-loop turn, no database', ours: r?.oursMedian / f, official: r?.officialMedian / f }
  console.log(`\ne's floor: the same rows built in plain JS (no database), event-loop p99 ${fmt(f)} ms; ours ${physical.eFloor.ours.toFixed(2)}× it, official ${physical.eFloor.official.toFixed(2)}×`)
}
for (const e of errors) console.log(`\n${e.side} failed ${e.workload} in round ${e.round} (${e.kind}):\n  query: ${e.query}\n  error: ${e.message}${e.code ? ` [${e.code}]` : ''}`)
const conns = side => [...new Set(info.filter(i => i.side === side && i.stormConnections).flatMap(i => i.stormConnections))]
if (only.includes('g')) console.log(`\nstorm: distinct backend connections per run: ours ${conns('ours').join('/')}, official ${conns('official').join('/')}`)

const machine = {
  cpu: cpus()[0]?.model, cores: cpus().length, memoryGB: Math.round(totalmem() / 2 ** 30), os: `${process.platform} ${release()}`,
  node: process.version, loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg().map(x => +x.toFixed(2)), date: new Date().toISOString(),
  package: commit, addonBuilt: new Date(addonAtStart).toISOString()
}
if (addonMtime() !== addonAtStart) console.log('\nnote: the addon was rebuilt during this run; the run used a snapshot taken at its start')
// Only a full run (all workloads, full sizes) replaces the published results; others write dev.*.
const name = quick || flags.only ? 'dev' : 'latest'
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results', `${name}.json`), JSON.stringify({
  machine, config: { rounds, quick, only, sizes: SIZE, order: 'for each round, for each workload: ours then official, each in a fresh process' },
  sides: LABEL, results, physicalLimit: physical, errors, runs: info
}, null, 2) + '\n')
writeFileSync(join(here, 'results', name === 'latest' ? 'chart.svg' : 'dev.svg'), chart(results, {
  title: `aurora-dsql-postgres vs ${LABEL.official}, local DSQL endpoint`,
  subtitle: `medians of ${rounds} alternating round(s)${quick ? ' (quick sizes)' : ''}; ${machine.cpu}, ${machine.cores} cores; Node ${machine.node}; ${machine.date.slice(0, 10)}`
}))
console.log(`\nwrote bench/results/${name}.json and bench/results/${name === 'latest' ? 'chart' : 'dev'}.svg`)
