// Query features beyond plain queries: cursor, forEach, sql.file, parameters, debug, OCC retry.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, lib } from './fixture.mjs'

const sql = connect({ max: 2 })
after(() => sql.end())

test('cursor(n) as an async iterator delivers batches with backpressure, and break stops it', async () => {
  const seen = []
  for await (const rows of sql`select g from generate_series(1, 10) g`.cursor(3)) {
    seen.push(rows.map(r => r.g))
  }
  assert.deepEqual(seen, [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]])
  let batches = 0
  for await (const rows of sql`select g from generate_series(1, 1000000) g`.cursor(100)) {
    assert.equal(rows.length, 100)
    if (++batches === 3) break
  }
  assert.equal(batches, 3)
  // The pool is healthy afterwards and the cursor's connection went back.
  assert.equal((await sql`select 1 as x`)[0].x, 1)
  assert.equal(sql.stats().reserved, 0)
})

test('cursor callback form, with sql.CLOSE to stop early', async () => {
  const got = []
  await sql`select g from generate_series(1, 7) g`.cursor(2, rows => { got.push(rows.length) })
  assert.deepEqual(got, [2, 2, 2, 1])
  const early = []
  await sql`select g from generate_series(1, 100) g`.cursor(10, async rows => {
    early.push(rows[0].g)
    if (early.length === 2) return sql.CLOSE
  })
  assert.deepEqual(early, [1, 11])
})

test('forEach hands rows over one by one and resolves with count and command', async () => {
  const rows = []
  const result = await sql`select g from generate_series(1, 5) g`.forEach(row => rows.push(row.g))
  assert.deepEqual(rows, [1, 2, 3, 4, 5])
  assert.equal(result.length, 0)
  assert.deepEqual([result.count, result.command], [5, 'SELECT'])
})

test('sql.file runs a file with parameters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'adp-file-'))
  try {
    const f = join(dir, 'q.sql')
    writeFileSync(f, 'select $1::int + 1 as x')
    assert.equal((await sql.file(f, [41]))[0].x, 42)
    await assert.rejects(sql.file(join(dir, 'missing.sql')), { code: 'ENOENT' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('server parameters reach sql.parameters and onparameter; debug sees each query', async () => {
  const seen = {}
  const queries = []
  const own = connect({ onparameter: (k, v) => { seen[k] = v }, debug: (conn, text, params) => queries.push([text, params]) })
  await own`select ${5}::int as x`
  assert.match(own.parameters.server_version, /^\d+/)
  assert.equal(seen.client_encoding, 'UTF8')
  assert.match(own.parameters.application_name, /aurora-dsql-postgres/)
  assert.deepEqual(queries, [['select $1::int as x', [5]]])
  await own.end()
})

test('OCC retry: validation messages match the official connector', async () => {
  const bad = [
    [{ maxRetries: 1.5 }, 'maxRetries must be an integer'],
    [{ maxRetries: -1 }, 'maxRetries must be >= 0'],
    [{ maxRetries: 101 }, 'maxRetries must not exceed 100'],
    [{ baseDelayMs: 0 }, 'baseDelayMs must be greater than 0'],
    [{ baseDelayMs: 10, maxDelayMs: 5 }, 'maxDelayMs must be >= baseDelayMs'],
    [{ jitterFactor: 2 }, 'jitterFactor must be between 0.0 and 1.0'],
    [{ maxDelayMs: Infinity }, 'maxDelayMs must be a finite number']
  ]
  for (const [retry, message] of bad) {
    assert.throws(() => connect({ retry }), { message })
    await assert.rejects(sql.begin(() => {}, { retry }), { message })
  }
  await assert.rejects(sql.begin('read write'), { name: 'TypeError', message: 'sql.begin: callback function is required' })
})

test('OCC retry re-runs the whole transaction with backoff and logs like the official connector', async () => {
  const logs = []
  const logger = { debug: m => logs.push(['debug', m]), error: m => logs.push(['error', m]) }
  const own = connect({ retry: { maxRetries: 2, baseDelayMs: 1 }, logger })
  let runs = 0
  const out = await own.begin(async tx => {
    runs++
    await tx`select 1`
    if (runs < 3) throw Object.assign(new Error('change conflicts with another transaction, please retry: (OC000)'), { code: '40001' })
    return 'committed'
  })
  assert.equal(out, 'committed')
  assert.equal(runs, 3)
  assert.equal(logs.length, 2)
  assert.match(logs[0][1], /^OCC conflict on attempt 1\/3, retrying in \d+\.\dms$/)
  runs = 0
  await assert.rejects(own.begin(async () => { runs++; throw Object.assign(new Error('x'), { code: 'OC001' }) }), { code: 'OC001' })
  assert.equal(runs, 3)
  assert.deepEqual(logs.at(-1), ['error', 'OCC retry exhausted after 3 attempts'])
  // Per-call opt-out, and non-OCC errors are never retried.
  runs = 0
  await assert.rejects(own.begin(async () => { runs++; throw Object.assign(new Error('x'), { code: '40001' }) }, { retry: false }), { code: '40001' })
  assert.equal(runs, 1)
  runs = 0
  await assert.rejects(own.begin(async () => { runs++; throw Object.assign(new Error('x'), { code: '23505' }) }), { code: '23505' })
  assert.equal(runs, 1)
  await own.end()
  assert.equal(lib.isOCCError({ code: '40001' }), true)
  assert.equal(lib.isOCCError({ code: 'OC001' }), true)
  assert.equal(lib.isOCCError({ code: '23505' }), false)
  assert.equal(lib.isOCCError(null), false)
})

test('cancel(): a query pipelined behind another is cancelled when its turn comes; the one ahead is untouched', async () => {
  const one = connect({ max: 1 })
  try {
    await one`select 1`
    const ahead = one`select pg_sleep(0.4) as a, 'ahead' as s`.execute()
    const behind = one`select pg_sleep(5) as b`.execute()
    await new Promise(r => setTimeout(r, 100))
    const t0 = Date.now()
    await behind.cancel()
    const [first, second] = await Promise.allSettled([ahead, behind])
    assert.equal(first.status, 'fulfilled')
    assert.equal(first.value[0].s, 'ahead')
    assert.equal(second.reason.code, '57014')
    assert.equal(second.reason.constructor.name, 'PostgresError', 'the server cancelled it (it was sent)')
    assert.ok(Date.now() - t0 < 2500, `cancelled promptly: ${Date.now() - t0} ms`)
    // The connection is fine afterwards, and cancelling a finished query does nothing.
    const done = one`select 2 as x`
    assert.equal((await done)[0].x, 2)
    await done.cancel()
    assert.equal((await one`select 3 as x`)[0].x, 3)
    // result.state is the backend's pid and secret key.
    const r = await one`select pg_backend_pid() as pid`
    assert.equal(r.state.pid, r[0].pid)
    assert.equal(typeof r.state.secret, 'number')
  } finally {
    await one.end()
  }
})

test('close(): open connections close after their work, the instance stays usable; close({ timeout }) destroys what still runs', async () => {
  const own = connect({ max: 2 })
  try {
    const [{ pid }] = await own`select pg_backend_pid() as pid`
    const slow = own`select pg_sleep(0.3) as s, pg_backend_pid() as pid`.execute()
    await new Promise(r => setTimeout(r, 50))
    await own.close()
    assert.equal((await slow)[0].s, '', 'a running query finished before its connection closed')
    const [after] = await own`select pg_backend_pid() as pid`
    assert.ok(after.pid !== pid && after.pid !== (await slow)[0].pid, 'a new connection after close()')
    // With a timeout, a query still running then is destroyed.
    const stuck = own`select pg_sleep(5)`.execute().catch(e => e)
    await new Promise(r => setTimeout(r, 100))
    const t0 = Date.now()
    await own.close({ timeout: 0.2 })
    const err = await stuck
    assert.equal(err.code, 'CONNECTION_DESTROYED', String(err))
    assert.ok(Date.now() - t0 < 2000, `close({ timeout }) returned in ${Date.now() - t0} ms`)
    assert.equal((await own`select 7 as x`)[0].x, 7)
  } finally {
    await own.end()
  }
})

test('loading the addon sets its allocator option for the load only, and a user\'s own setting wins', async () => {
  const { execFileSync } = await import('node:child_process')
  const script = `const before = process.env.MIMALLOC_ARENA_EAGER_COMMIT; require(${JSON.stringify(join(process.cwd(), 'index.js'))});
    process.stdout.write(JSON.stringify({ before: before ?? null, after: process.env.MIMALLOC_ARENA_EAGER_COMMIT ?? null }))`
  const run = env => JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' }))
  const clean = { ...process.env }
  delete clean.MIMALLOC_ARENA_EAGER_COMMIT
  assert.deepEqual(JSON.parse(execFileSync(process.execPath, ['-e', script], { env: clean, encoding: 'utf8' })), { before: null, after: null })
  assert.deepEqual(run({ MIMALLOC_ARENA_EAGER_COMMIT: '1' }), { before: '1', after: '1' })
})
