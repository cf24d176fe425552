// worker_threads Workers that load the package and are terminated (or end) mid-query: the process
// must survive, the other workers' queries must succeed, and a worker that simply stops must let
// itself and the process exit. The crash-prone part runs in a child process, so that a crash shows
// as the child's signal (and fails the test) instead of killing the test runner.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { options, wsOptions } from './fixture.mjs'

const index = fileURLToPath(new URL('../index.js', import.meta.url))

// Runs in every worker: queries in a loop (200 selects at once, then two transactions) until told to
// stop; then `sql.end()` and a report. Half the workers get credentials from an async function
// (a threadsafe function into the worker's env), half from a static object.
const workerCode = `
const { workerData, parentPort } = require('node:worker_threads')
const lib = require(workerData.index)
const o = { ...workerData.opts }
if (workerData.provider) { const c = o.customCredentialsProvider; o.customCredentialsProvider = async () => c }
const sql = (workerData.ws ? lib.auroraDSQLWsPostgres : lib.auroraDSQLPostgres)(o)
let stop = false, rounds = 0, queries = 0
const errors = []
parentPort.on('message', m => { if (m === 'stop') stop = true })
// Only the queries keep the worker alive: once it has ended the pool and reported, it exits.
parentPort.unref()
;(async () => {
  while (!stop) {
    try {
      const rows = await Promise.all(Array.from({ length: 200 }, (_, i) => sql\`select \${i}::int as x\`))
      rows.forEach((r, i) => { if (r[0].x !== i) throw new Error('wrong row ' + r[0].x + ' for ' + i) })
      for (let t = 0; t < 2; t++) {
        const [r] = await sql.begin(async tx => { await tx\`select 1\`; return tx\`select \${t}::int as t\` })
        if (r.t !== t) throw new Error('wrong transaction result')
      }
      queries += 204
      rounds++
      if (rounds === 1) parentPort.postMessage({ first: true })
    } catch (e) { errors.push(String(e && e.stack || e)); stop = true }
  }
  await sql.end()
  parentPort.postMessage({ rounds, queries, errors })
})()
`

// The child: with a main thread that never loads the package (as a test runner's), first workers one
// at a time, each terminated right after its first round (every env of the addon goes away between
// them), then `workers` at once, `terminate` of them terminated at random moments while the others
// keep running, which are then stopped and report.
const terminateChild = `
import { Worker } from 'node:worker_threads'
const { index, opts, ws, workers, terminate, sequential } = JSON.parse(process.env.ADP_WORKERS)
const spawnWorker = provider => new Worker(${JSON.stringify(workerCode)}, { eval: true, execArgv: [], workerData: { index, opts, ws, provider } })
// A worker whose first round failed reports at once (its errors fail the test).
const first = w => new Promise((resolve, reject) => { w.on('message', resolve); w.once('error', reject) })
let terminated = 0
for (let i = 0; i < sequential; i++) {
  const w = spawnWorker(i % 2 === 0)
  await first(w)
  await new Promise(r => setTimeout(r, Math.random() * 20))
  await w.terminate()
  terminated++
  console.error('sequential', terminated)
}
const all = Array.from({ length: workers }, (_, i) => spawnWorker(i % 2 === 0))
const reports = all.map(w => new Promise((resolve, reject) => { w.on('message', m => m.first || resolve(m)); w.once('error', reject) }))
await Promise.all(all.map(first))
const victims = all.slice(0, terminate)
await Promise.all(victims.map(async w => {
  await new Promise(r => setTimeout(r, Math.random() * 1500))
  await w.terminate()
  terminated++
}))
console.error('terminated', terminated)
const survivors = all.slice(terminate)
survivors.forEach(w => w.postMessage('stop'))
const results = await Promise.all(reports.slice(terminate))
console.log(JSON.stringify({ terminated, results }))
`

// The child: a worker that runs queries and returns without sql.end() (its event loop ends
// naturally): it must exit, and so must the process.
const exitChild = `
import { Worker } from 'node:worker_threads'
const { index, opts, ws } = JSON.parse(process.env.ADP_WORKERS)
const code = "const { workerData } = require('node:worker_threads'); const lib = require(workerData.index);" +
  "const sql = (workerData.ws ? lib.auroraDSQLWsPostgres : lib.auroraDSQLPostgres)(workerData.opts);" +
  "Promise.all(Array.from({ length: 50 }, (_, i) => sql\`select \${i}::int as x\`)).then(() => sql.begin(t => t\`select 1\`))"
for (let i = 0; i < 3; i++) {
  const w = new Worker(code, { eval: true, execArgv: [], workerData: { index, opts, ws } })
  const exitCode = await new Promise((resolve, reject) => { w.once('exit', resolve); w.once('error', reject) })
  if (exitCode !== 0) throw new Error('worker exit code ' + exitCode)
}
console.log(JSON.stringify({ exited: 3 }))
`

function runChild(script, env, timeoutMs) {
  return new Promise(resolve => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ADP_WORKERS: JSON.stringify(env) }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = '', stderr = '', timedOut = false
    child.stdout.on('data', d => { stdout += d })
    child.stderr.on('data', d => { stderr += d })
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }) })
  })
}

for (const [name, ws, opts] of [['TCP', false, () => options({ max: 4 })], ['WebSocket', true, () => wsOptions({ max: 4 })]]) {
  test(`${name}: workers terminated mid-query never crash the process; the others' queries all succeed`, { timeout: 120_000 }, async () => {
    const r = await runChild(terminateChild, { index, opts: opts(), ws, workers: 20, terminate: 10, sequential: 5 }, 100_000)
    assert.equal(r.timedOut, false, `the child hung\n${r.stderr}`)
    assert.equal(r.signal, null, `the child died of ${r.signal}\n${r.stderr}`)
    assert.equal(r.code, 0, r.stderr)
    const { terminated, results } = JSON.parse(r.stdout.trim().split('\n').pop())
    assert.equal(terminated, 15)
    assert.equal(results.length, 10)
    for (const w of results) {
      assert.deepEqual(w.errors, [])
      assert.ok(w.rounds >= 1 && w.queries === w.rounds * 204)
    }
  })

  test(`${name}: a worker that stops without sql.end() exits, and so does the process`, { timeout: 60_000 }, async () => {
    const r = await runChild(exitChild, { index, opts: opts(), ws }, 30_000)
    assert.equal(r.timedOut, false, `the worker or the process did not exit\n${r.stderr}`)
    assert.equal(r.signal, null, `the child died of ${r.signal}\n${r.stderr}`)
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()), { exited: 3 })
  })
}
