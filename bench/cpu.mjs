// CPU time per query (per row for e), by thread group, for this package and the official recipe: the figure for
// "did a change cost CPU?". It moves less than wall-clock rates on a shared 2-core machine but still grows with
// the machine's load (caches, more wake-ups, longer spins), so compare only sides measured in the same run.
//   node bench/cpu.mjs [--rounds 5] [--only a,d,e] [--sides ours,official] [--label dev] [--quick] [--base DIR]
// --base DIR adds the side 'base': this package as built in another tree (e.g. a `git worktree` of an earlier
// commit with its own `npm run build`), run by this tree's worker in the same rounds, so that before and after
// are measured under the same machine load; the report then gives ours/base as well.
// Like run.mjs: one local DSQL endpoint, a snapshot of the package, each workload in a fresh bench/worker.mjs
// per side per round, alternating. The worker brackets each timed section with cpuMark('start') and
// cpuMark('end', units) and waits for our reply, so the worker is idle while we sample /proc/<pid>/task/*/schedstat
// (first field: ns on a CPU) of all its threads. Groups:
//   js       the JS main thread (tid == pid)
//   v8       the threads Node has before any user code runs (V8's platform workers: concurrent GC and
//            compilation; its delayed-task and inspector-signal threads, idle). Node 20 names every thread
//            "node", so they are told apart by a --require preload that lists them at startup.
//   libuv    libuv's threadpool (threads named "node" or "libuv-worker" that came later)
//   io       this package's tokio runtime ("aurora-dsql-io", src/binding/mod.rs)
//   other    any other thread of the worker
//   total    the worker process: the sum of the above
// and, outside the worker, for either side: endpoint (the local endpoint's tokio threads, in this process) and
// postgres (the PostgreSQL processes under this one); slices: the worker's timeslices per unit (schedstat's
// third field: wake-ups, plus preemptions under load). Prints medians over rounds and ours/official (ours/base);
// writes bench/results/cpu-<label>.json with every sample.
import { fork, execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync, readFileSync, readdirSync, mkdtempSync, rmSync, statSync, cpSync } from 'node:fs'
import { tmpdir, cpus, release, loadavg, totalmem } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createRequire } from 'node:module'
import { SIDES, LABEL } from './sides.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string' }, only: { type: 'string' }, sides: { type: 'string' }, label: { type: 'string', default: 'dev' },
    quick: { type: 'boolean', default: false }, base: { type: 'string' }
  }
})
const quick = flags.quick
const rounds = Number(flags.rounds ?? (quick ? 1 : 5))
if (!(Number.isInteger(rounds) && rounds > 0)) throw new RangeError('--rounds must be a positive integer')
// The workloads whose timed sections worker.mjs brackets; the sizes are run.mjs's.
const SIZE = quick
  ? { a: { n: 2000, reps: 1 }, b: { n: 2000, reps: 1 }, c: { n: 2000, reps: 1 }, d: { n: 1000 }, e: { rows: 20_000, reps: 1 } }
  : { a: { n: 10_000, reps: 3 }, b: { n: 10_000, reps: 3 }, c: { n: 10_000, reps: 3 }, d: { n: 5000 }, e: { rows: 100_000, reps: 3 } }
const UNIT = { a: 'query', b: 'query', c: 'query', d: 'query', e: 'row' }
const only = (flags.only ?? 'a,d,e').split(',').map(s => s.trim())
for (const w of only) if (!SIZE[w]) throw new TypeError(`--only: ${w} is not one of ${Object.keys(SIZE)}`)
const known = flags.base ? ['base', ...SIDES] : SIDES
const sides = (flags.sides ?? known.join(',')).split(',').map(s => s.trim())
for (const s of sides) if (!known.includes(s)) throw new TypeError(`--sides: unknown side ${s} (${known}; base needs --base DIR)`)
if (!/^[\w.-]+$/.test(flags.label)) throw new TypeError('--label: letters, digits, _ . - only')

const GROUPS = ['js', 'v8', 'libuv', 'io', 'other']
const OUTSIDE = ['endpoint', 'postgres']
const median = xs => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
const log = (...a) => console.error(...a)

// ---- /proc ----
// One task's ns on a CPU and timeslices (times it was put on a CPU: wake-ups plus preemptions): schedstat's
// first and third fields; on a kernel without CONFIG_SCHED_INFO, utime + stime from stat in clock ticks (coarse).
let tickNs = null
function cpuTimes(taskDir) {
  try {
    const [ns, , slices] = readFileSync(join(taskDir, 'schedstat'), 'utf8').split(' ').map(Number)
    return [ns, slices]
  } catch (e) {
    if (e.code !== 'ENOENT') return null // the task is gone
  }
  try {
    tickNs ??= 1e9 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }))
    const stat = readFileSync(join(taskDir, 'stat'), 'utf8'), f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return [(Number(f[11]) + Number(f[12])) * tickNs, NaN] // fields 14 and 15, counted from 1 with pid and comm
  } catch { return null }
}
const comm = dir => { try { return readFileSync(join(dir, 'comm'), 'utf8').trim() } catch { return null } }
const tasks = pid => { try { return readdirSync(`/proc/${pid}/task`) } catch { return [] } }
const children = pid => tasks(pid).flatMap(tid => {
  try { return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean) } catch { return [] }
})

// One sample: key (group, pid, tid) -> [ns, slices]. `startup` is the worker's tids before any user code ran.
function sample(worker, startup) {
  const out = new Map()
  const add = (group, pid, tid, dir) => { const t = cpuTimes(dir); if (t) out.set(`${group} ${pid} ${tid}`, t) }
  for (const tid of tasks(worker)) {
    const dir = `/proc/${worker}/task/${tid}`, name = comm(dir)
    const group = tid === String(worker) ? 'js'
      : name === 'aurora-dsql-io' || name?.startsWith('tokio') ? 'io'
        : startup.has(tid) || name?.startsWith('V8 ') ? 'v8'
          : name === 'node' || name === 'libuv-worker' ? 'libuv' : 'other'
    add(group, worker, tid, dir)
  }
  for (const tid of tasks(process.pid)) {
    const dir = `/proc/${process.pid}/task/${tid}`
    if (comm(dir) === 'aurora-dsql-io') add('endpoint', process.pid, tid, dir)
  }
  // PostgreSQL: every process named postgres below this one (the postmaster and its backends), not the worker's.
  const todo = children(process.pid).filter(p => p !== String(worker))
  while (todo.length) {
    const pid = todo.pop()
    if (comm(`/proc/${pid}`) === 'postgres') add('postgres', pid, pid, `/proc/${pid}`)
    todo.push(...children(pid))
  }
  return out
}

// ns and slices per group between two samples, added to `into`; a task that ended in between is counted in
// `gone` (its last part is lost).
function delta(a, b, into) {
  for (const [key, [ns, slices]] of b) {
    const group = key.slice(0, key.indexOf(' ')), [ns0, slices0] = a.get(key) ?? [0, 0]
    into.ns[group] = (into.ns[group] ?? 0) + ns - ns0
    into.slices[group] = (into.slices[group] ?? 0) + slices - slices0
  }
  for (const key of a.keys()) if (!b.has(key)) into.gone++
}

// ---- one worker ----
function worker(side, workload, preload) {
  return new Promise(resolve => {
    const tidsFile = join(tmp, `tids-${side}-${workload}-${Date.now()}`)
    // 'base' is the side 'ours' with the other tree's package snapshot
    const job = { side: side === 'base' ? 'ours' : side, workload, size: SIZE[workload] }
    const child = fork(join(here, 'worker.mjs'), {
      execArgv: [...process.execArgv, '--require', preload],
      env: { ...process.env, BENCH_DSQL: side === 'base' ? baseEnv : env, BENCH_CPU: '1', BENCH_CPU_TIDS: tidsFile, BENCH_JOB: JSON.stringify(job) },
      timeout: 600_000, killSignal: 'SIGKILL'
    })
    let result, startup = null, start = null
    const times = { ns: {}, slices: {}, gone: 0 }
    let units = 0, sections = 0, wallNs = 0, t0 = 0n
    child.on('message', m => {
      if (m?.cpuMark === undefined) { result = m; return }
      startup ??= new Set(readFileSync(tidsFile, 'utf8').split(' ').filter(t => t !== String(child.pid)))
      const now = sample(child.pid, startup)
      if (m.cpuMark === 'start') { start = now; t0 = process.hrtime.bigint() } else if (start) {
        wallNs += Number(process.hrtime.bigint() - t0)
        delta(start, now, times); units += m.units; sections++; start = null
      }
      child.send('go')
    })
    child.on('exit', (code, signal) => {
      result ??= { error: { kind: 'crash', message: `worker exited with ${signal ?? code}` } }
      if (!result.error && !units) result.error = { kind: 'no CPU marks', message: 'bench/worker.mjs sent no cpuMark for this workload' }
      resolve({ ...result, ...times, units, sections, wallNs })
    })
  })
}

// ---- run ----
const CREDENTIALS = { accessKeyId: 'AKIABENCHLOCALDSQL01', secretAccessKey: 'bench/Local+Endpoint/Secret/Key/000001' }
const tmp = mkdtempSync(join(tmpdir(), 'adp-cpu-'))
// Snapshots of the package (JS and the built addon), so that edits and rebuilds during a run don't mix in.
function snapshot(root, pkg) {
  const addonPath = join(root, 'aurora-dsql-postgres.linux-x64-gnu.node')
  const addon = statSync(addonPath, { throwIfNoEntry: false })
  for (const f of ['package.json', 'index.js', 'index.mjs', 'native.js', 'js', 'local', ...readdirSync(root).filter(f => f.endsWith('.node'))])
    cpSync(join(root, f), join(pkg, f), { recursive: true })
  // A debug addon is several times slower and ten times larger than the release build (`npm run build`).
  if (addon && addon.size > 40e6) log(`warning: ${addonPath} is ${(addon.size / 1e6).toFixed(0)} MB: a debug build? CPU figures need \`npm run build\``)
  let commit = null
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
    if (execFileSync('git', ['status', '--porcelain', '--', 'src', 'js', 'index.js'], { cwd: root, encoding: 'utf8' }).trim()) commit += ' (+ uncommitted changes)'
  } catch {}
  return { root, commit, addonBuilt: addon && new Date(addon.mtimeMs).toISOString(), addonBytes: addon?.size }
}
const pkg = join(tmp, 'pkg'), basePkg = join(tmp, 'base')
const packages = { ours: snapshot(join(here, '..'), pkg), ...flags.base && { base: snapshot(flags.base, basePkg) } }
const preload = join(tmp, 'startup-tids.cjs')
writeFileSync(preload, "require('fs').writeFileSync(process.env.BENCH_CPU_TIDS, require('fs').readdirSync('/proc/self/task').join(' '))\n")
const { startLocalDsql } = require(join(pkg, 'local', 'index.js'))
const dsql = await startLocalDsql({ credentials: [CREDENTIALS], rateLimit: false })
const coords = { endpoint: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ca: dsql.ca, region: dsql.region, credentials: CREDENTIALS }
const env = JSON.stringify({ pkg, ...coords }), baseEnv = JSON.stringify({ pkg: basePkg, ...coords })
process.once('SIGINT', () => dsql.stop().finally(() => { rmSync(tmp, { recursive: true, force: true }); process.exit(130) }))
const loadAtStart = loadavg().map(x => +x.toFixed(2))
log(`local DSQL endpoint on ${dsql.hostaddr}:${dsql.port}; ${rounds} round(s)${quick ? ', quick sizes' : ''}; workloads ${only}; sides ${sides}; ` +
  Object.entries(packages).map(([side, p]) => `${side}: ${p.root} at ${p.commit}`).join(', '))

const fmt = v => !Number.isFinite(v) ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3)
const runs = []
try {
  for (let round = 1; round <= rounds; round++) {
    for (const w of only) {
      for (const side of sides) {
        const r = await worker(side, w, preload)
        // µs per unit by group; total is the worker process
        const us = Object.fromEntries([...GROUPS, ...OUTSIDE].map(g => [g, (r.ns[g] ?? 0) / 1e3 / (r.units || NaN)]))
        us.total = GROUPS.reduce((s, g) => s + us[g], 0)
        // the worker's timeslices per unit: its threads' wake-ups (and preemptions, which load adds)
        us.slices = GROUPS.reduce((s, g) => s + (r.slices[g] ?? 0), 0) / (r.units || NaN)
        // wall: the timed sections' wall time per unit, as seen from here (includes the sampling)
        us.wall = r.wallNs / 1e3 / (r.units || NaN)
        runs.push({ round, workload: w, side, load1: +loadavg()[0].toFixed(2), units: r.units, sections: r.sections, ns: r.ns, slices: r.slices, gone: r.gone, us, metrics: r.metrics, error: r.error })
        if (r.error) { log(`round ${round} ${w} ${side.padEnd(8)} FAILED (${r.error.kind}): ${r.error.query ?? ''} ${r.error.message}`); continue }
        log(`round ${round} ${w} ${side.padEnd(8)} µs/${UNIT[w]}: ${[...GROUPS, 'total', ...OUTSIDE].map(g => `${g} ${fmt(us[g])}`).join('  ')}  wall ${fmt(us.wall)}  slices ${fmt(us.slices)}` +
          `${r.gone ? `  (${r.gone} task(s) ended mid-section)` : ''}  | ${Object.entries(r.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join('  ')}`)
      }
    }
  }
} finally {
  await dsql.stop().catch(log)
  rmSync(tmp, { recursive: true, force: true })
}

// ---- report ----
const COLS = [...GROUPS, 'total', ...OUTSIDE, 'slices']
const summary = {}
console.log(`\nload average ${loadAtStart.join(' ')} at the start, ${loadavg().map(x => x.toFixed(2)).join(' ')} at the end` +
  ' (CPU per query grows with the load of a shared machine: compare sides of one run, e.g. with --base)')
console.log(`\nCPU µs per query (per row for e), medians of ${rounds} alternating round(s); total = the worker process` +
  ` (js + v8 + libuv + io + other); endpoint and postgres are outside it; slices = the worker's timeslices per query`)
for (const w of only) {
  summary[w] = {}
  const rows = [[`${w} (µs/${UNIT[w]})`, ...COLS, 'total range']]
  for (const side of sides) {
    const ok = runs.filter(r => r.workload === w && r.side === side && !r.error)
    if (!ok.length) { rows.push([side, ...COLS.map(() => '-'), 'failed']); continue }
    const med = Object.fromEntries(COLS.map(g => [g, median(ok.map(r => r.us[g]))]))
    const totals = ok.map(r => r.us.total)
    summary[w][side] = { ...med, totalMin: Math.min(...totals), totalMax: Math.max(...totals), rounds: ok.length }
    rows.push([side, ...COLS.map(g => fmt(med[g])), `${fmt(Math.min(...totals))}–${fmt(Math.max(...totals))}`])
  }
  for (const other of ['official', 'base']) {
    if (!summary[w].ours || !summary[w][other]) continue
    const ratio = summary[w][`ours/${other}`] = Object.fromEntries(COLS.map(g => [g, summary[w].ours[g] / summary[w][other][g]]))
    rows.push([`ours/${other}`, ...COLS.map(g => Number.isFinite(ratio[g]) ? ratio[g].toFixed(2) : '-'), ''])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map(row => row[i].length)))
  console.log('')
  for (const row of rows) console.log(row.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '))
}
for (const r of runs.filter(r => r.error)) console.log(`\n${r.side} failed ${r.workload} in round ${r.round} (${r.error.kind}): ${r.error.query ?? ''} ${r.error.message}`)

const machine = {
  cpu: cpus()[0]?.model, cores: cpus().length, memoryGB: Math.round(totalmem() / 2 ** 30), os: `${process.platform} ${release()}`,
  node: process.version, loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg().map(x => +x.toFixed(2)), date: new Date().toISOString(),
  packages
}
mkdirSync(join(here, 'results'), { recursive: true })
const out = join(here, 'results', `cpu-${flags.label}.json`)
writeFileSync(out, JSON.stringify({
  machine, config: { rounds, quick, only, sides, sizes: SIZE, units: UNIT, groups: { worker: GROUPS, outside: OUTSIDE } },
  sideLabels: LABEL, summary, runs
}, null, 2) + '\n')
console.log(`\nwrote ${out}`)
