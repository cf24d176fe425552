// Faults and limits (issue 6): killed connections, DSQL's connection age, connection storms against
// rate and count limits, pool exhaustion, end() rules, bad input, and secrets kept out of output.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { connect, fixture, lib, options, require } from './fixture.mjs'

const { startLocalDsql } = require('../local/index.js')
const admin = connect({ max: 2 })
after(() => admin.end())

const kill = pid => admin`select pg_terminate_backend(${pid}::int)`

test('1. a connection killed while idle: the next query succeeds on a fresh connection, no error seen', async () => {
  const sql = connect({ max: 1 })
  const [{ pid }] = await sql`select pg_backend_pid() as pid`
  await kill(pid)
  await new Promise(r => setTimeout(r, 100))
  const [after] = await sql`select pg_backend_pid() as pid`
  assert.notEqual(after.pid, pid)
  // Killed right before the next query, without waiting: still invisible.
  await kill(after.pid)
  assert.equal((await sql`select 1 as x`)[0].x, 1)
  await sql.end()
})

test('2. killed while a query runs: it rejects promptly with CONNECTION_CLOSED, queries queued behind it succeed', async () => {
  const sql = connect({ max: 1 })
  const [{ pid }] = await sql`select pg_backend_pid() as pid`
  const slow = sql`select pg_sleep(30)`.execute().catch(e => e)
  const behind = Array.from({ length: 5 }, (_, i) => sql`select ${i}::int as i`.execute())
  await new Promise(r => setTimeout(r, 100))
  const t = Date.now()
  await kill(pid)
  const err = await slow
  assert.equal(err.code, 'CONNECTION_CLOSED', String(err))
  assert.ok(Date.now() - t < 2000)
  assert.deepEqual((await Promise.all(behind)).map(r => r[0].i), [0, 1, 2, 3, 4])
  // A transaction sees the error and nothing of it is applied.
  await sql`create table if not exists rel_tx (x int)`
  await sql`delete from rel_tx`
  const tx = sql.begin(async t2 => {
    const [{ pid: p }] = await t2`select pg_backend_pid() as pid`
    await t2`insert into rel_tx values (1)`
    await kill(p)
    await t2`select pg_sleep(5)`
  })
  assert.equal((await tx.catch(e => e)).code, 'CONNECTION_CLOSED')
  assert.equal((await sql`select count(*)::int as c from rel_tx`)[0].c, 0)
  await sql.end()
})

test('4. DSQL\'s connection age: the pool retires connections first; a server-side close between queries is invisible', async () => {
  const dsql = await startLocalDsql({ credentials: [fixture.credentials], backend: fixture.backend, maxConnectionAgeSecs: 1.5 })
  try {
    const base = { host: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ssl: { ca: dsql.ca }, customCredentialsProvider: fixture.credentials }
    const retiring = lib.auroraDSQLPostgres({ ...base, max: 2, max_lifetime: 1 })
    const lazy = lib.auroraDSQLPostgres({ ...base, max: 2 })
    const seen = new Set()
    const until = Date.now() + 4000
    let n = 0
    while (Date.now() < until) {
      const [[a], [b]] = await Promise.all([retiring`select pg_backend_pid() as pid`, lazy`select ${n++}::int as n`])
      seen.add(a.pid)
      assert.equal(b.n, n - 1)
      await new Promise(r => setTimeout(r, 150))
    }
    assert.ok(seen.size >= 3, `connections were replaced (${seen.size})`)
    assert.ok(dsql.stats().closedByMaxAge >= 1, 'the server closed the lazy pool\'s old connections')
    await Promise.all([retiring.end(), lazy.end()])
  } finally {
    await dsql.stop()
  }
})

test('6. connection storm: 200 queries on a pool of 100 against 100 connections/s, burst 20: backoff, all succeed', async t => {
  const dsql = await startLocalDsql({ credentials: [fixture.credentials], backend: fixture.backend, rateLimit: { perSecond: 100, burst: 20 } })
  try {
    const sql = lib.auroraDSQLPostgres({ host: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ssl: { ca: dsql.ca }, customCredentialsProvider: fixture.credentials, max: 100, connect_timeout: 20 })
    const t0 = Date.now()
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => sql`select ${i}::int as i, pg_sleep(0.05)`))
    results.forEach((r, i) => assert.equal(r[0].i, i))
    const s = dsql.stats()
    t.diagnostic(`${s.accepted} connection attempts (${s.rejectedRateLimited} refused by the rate limit) in ${Date.now() - t0} ms`)
    assert.ok(s.rejectedRateLimited > 0, 'the limit was hit')
    assert.ok(s.accepted < 400, `no busy loop: ${s.accepted} attempts for ${sql.stats().connections} connections`)
    await sql.end()
    // Count limit (53300): more connections than the endpoint allows wait and retry, then fail cleanly.
    const capped = await startLocalDsql({ credentials: [fixture.credentials], backend: fixture.backend, maxConnections: 3 })
    const many = lib.auroraDSQLPostgres({ host: capped.endpoint, hostaddr: capped.hostaddr, port: capped.port, ssl: { ca: capped.ca }, customCredentialsProvider: fixture.credentials, max: 6, connect_timeout: 2 })
    const out = await Promise.allSettled(Array.from({ length: 6 }, () => many`select pg_sleep(0.3)`))
    const ok = out.filter(r => r.status === 'fulfilled').length
    const errs = out.filter(r => r.status === 'rejected').map(r => r.reason.code)
    assert.ok(ok >= 3, `${ok} succeeded`)
    errs.forEach(c => assert.ok(c === '53300' || c === 'CONNECT_TIMEOUT', c))
    await many.end()
    await capped.stop()
    assert.ok(Date.now() - t0 < 30000)
  } finally {
    await dsql.stop()
  }
})

test('8. pool exhaustion, a reserved connection never released, end() with pending work, prompt exit', async () => {
  const sql = connect({ max: 2 })
  const reserved = await sql.reserve()
  await reserved`select 1`
  // One connection is pinned; 20 queries still complete on the other.
  const rows = await Promise.all(Array.from({ length: 20 }, (_, i) => sql`select ${i}::int as i`))
  assert.equal(rows.length, 20)
  // end({ timeout }) with a long query: it is destroyed after the timeout.
  const long = sql`select pg_sleep(10)`.execute()
  await new Promise(r => setTimeout(r, 50))
  const t = Date.now()
  await sql.end({ timeout: 0.3 })
  assert.ok(Date.now() - t < 2000)
  assert.equal((await long.catch(e => e)).code, 'CONNECTION_DESTROYED')
  assert.equal((await sql`select 1`.catch(e => e)).code, 'CONNECTION_ENDED')
  // A process that runs a query and ends exits promptly (idle native threads never keep it alive).
  const script = `const { auroraDSQLPostgres } = require(${JSON.stringify(process.cwd() + '/index.js')})
    const o = ${JSON.stringify(options())}
    const sql = auroraDSQLPostgres(o)
    sql\`select 1\`.then(() => sql.end()).then(() => console.log('done'))`
  const started = Date.now()
  const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 })
  assert.equal(out.stdout.trim(), 'done', out.stderr)
  assert.ok(Date.now() - started < 5000, `exit took ${Date.now() - started} ms`)
  // Without end(), an idle pool does not keep the process alive either.
  const noEnd = spawnSync(process.execPath, ['-e', script.replace('.then(() => sql.end())', '')], { encoding: 'utf8', timeout: 20000 })
  assert.equal(noEnd.status, 0, noEnd.stderr)
})

test('9. bad input: random option objects never crash; huge parameters; too many parameters', async () => {
  let seed = 42
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
  const values = [undefined, null, 0, -1, 1.5, 1e300, NaN, Infinity, '', 'x', 'a'.repeat(300), '\u0000', true, false, [], [1, 2], {}, { a: 1 }, () => 1, Symbol('s'), 10n, new Date(NaN), Buffer.from('x')]
  const keys = ['host', 'hostname', 'port', 'database', 'username', 'user', 'region', 'profile', 'tokenDurationSecs', 'ssl', 'sslnegotiation', 'hostaddr', 'max', 'idle_timeout', 'max_lifetime', 'connect_timeout', 'prepare', 'connection', 'customCredentialsProvider', 'transform', 'types', 'onnotice', 'debug', 'retry', 'logger', 'keep_alive']
  let created = 0
  for (let i = 0; i < 10000; i++) {
    const o = { host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' }
    const n = 1 + Math.floor(rnd() * 4)
    for (let k = 0; k < n; k++) o[keys[Math.floor(rnd() * keys.length)]] = values[Math.floor(rnd() * values.length)]
    try {
      const sql = lib.auroraDSQLPostgres(o)
      created++
      sql.end()
    } catch (err) {
      assert.ok(err instanceof Error, `threw a non-Error for ${Object.keys(o)}`)
      assert.ok(typeof err.message === 'string' && err.message.length > 0)
    }
  }
  assert.ok(created > 100 && created < 10000, `${created} valid`)
  const sql = connect({ max: 1 })
  const big = 'x'.repeat(10 * 1024 * 1024)
  assert.equal((await sql`select length(${big}::text) as n`)[0].n, big.length)
  const many = Array.from({ length: 65534 }, (_, i) => i)
  const [r] = await sql.unsafe('select ' + many.slice(0, 1000).map((_, i) => `$${i + 1}::int`).join('+') + ' as s', many.slice(0, 1000))
  assert.equal(r.s, 499500)
  await assert.rejects(sql`select 1 where 1 in ${sql([...many, 1])}`.then(x => x), { code: 'MAX_PARAMETERS_EXCEEDED' })
  await sql.end()
})

test('9b. the native submit function: what is not a Buffer is a TypeError, a malformed batch an Error, never a crash', async () => {
  const native = require('../js/native.js')
  const pool = new native.NativePool(null, { host: fixture.endpoint, hostaddr: fixture.hostaddr, port: fixture.port, region: fixture.region, ...fixture.credentials }, [], Buffer.alloc(64), () => {})
  try {
    const submit = pool.submitter()
    for (const bad of [[], ['x'], [null], [{ length: 3 }]]) assert.throws(() => submit(...bad), TypeError, JSON.stringify(bad))
    for (const bad of [Buffer.from([1, 2, 3]), Buffer.alloc(40, 0xff), new Uint8Array(9)]) assert.throws(() => submit(bad), /malformed query batch/)
    assert.equal(submit(Buffer.alloc(0)), undefined)
  } finally {
    await pool.end()
  }
})

test('9c. an ended sql instance is garbage-collected with its client, native pool and buffers', () => {
  // Each instance holds at least 192 KB of array buffers (the submit writer's and the frame buffer). The
  // native side holds the frames callback strongly while the pool lives: a callback that captured the
  // instance's own scope kept every ended instance alive (20 of them: +3.8 MB).
  const script = `const { auroraDSQLPostgres } = require(${JSON.stringify(process.cwd() + '/index.js')})
    const f = ${JSON.stringify(fixture)}
    const collect = async () => { for (let k = 0; k < 4; k++) { global.gc(); await new Promise(r => setTimeout(r, 20)) } }
    const once = async (i, extra) => {
      const sql = auroraDSQLPostgres({ host: f.endpoint, hostaddr: f.hostaddr, port: f.port, ssl: { ca: f.ca }, customCredentialsProvider: f.credentials, max: 2, ...extra })
      if ((await sql\`select \${i}::int as x\`)[0].x !== i) throw new Error('wrong result')
      await sql.end()
    }
    ;(async () => {
      await once(-1); await collect()
      const before = process.memoryUsage().arrayBuffers
      for (let i = 0; i < 20; i++) await once(i, i % 2 ? { onnotice: () => {}, debug: () => {} } : {})
      await collect()
      console.log(JSON.stringify({ grew: process.memoryUsage().arrayBuffers - before }))
    })()`
  const out = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 60000 })
  assert.equal(out.status, 0, out.stderr)
  const { grew } = JSON.parse(out.stdout.trim().split('\n').pop())
  assert.ok(grew < 1024 * 1024, `array buffers grew by ${grew} bytes over 20 ended instances`)
})

test('10. secrets: with debug on and after failures, no token, secret key or session token in any output', async () => {
  const secret = 'SECRETsecretSECRETsecretSECRETsecret0001'
  const sessionToken = 'SESSIONtokenSESSIONtokenSESSION0001'
  const script = `const { auroraDSQLPostgres } = require(${JSON.stringify(process.cwd() + '/index.js')})
    const f = ${JSON.stringify(fixture)}
    const run = async (creds, extra) => {
      const sql = auroraDSQLPostgres({ host: f.endpoint, hostaddr: f.hostaddr, port: f.port, ssl: { ca: f.ca }, customCredentialsProvider: creds, debug: true, onnotice: console.log, connect_timeout: 3, ...extra })
      console.log(sql.options)
      try { console.log(await sql\`select 1 as x\`) } catch (e) { console.log(e, e.stack, JSON.stringify(e)) }
      await sql.end()
    }
    ;(async () => {
      await run({ accessKeyId: f.credentials.accessKeyId, secretAccessKey: ${JSON.stringify(secret)}, sessionToken: ${JSON.stringify(sessionToken)} })
      await run(async () => ({ accessKeyId: 'AKIAWRONG', secretAccessKey: ${JSON.stringify(secret)} }))
      await run(f.credentials, { ssl: { ca: f.ca }, port: 1 })
      await run(async () => { throw new Error('provider failed') })
    })()`
  const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60000 })
  const all = out.stdout + out.stderr
  assert.match(all, /28000|access denied/i, 'the failures happened')
  for (const needle of [secret, sessionToken, 'X-Amz-Signature', 'X-Amz-Security-Token', 'Action=DbConnect']) {
    assert.ok(!all.includes(needle), `output contains ${needle}`)
  }
})

test('2b. release() and reserve() right after a reserved connection died: the new reservation works', async () => {
  const sql = connect({ max: 1 })
  try {
    for (let i = 0; i < 10; i++) {
      const r = await sql.reserve()
      const [{ pid }] = await r`select pg_backend_pid() as pid`
      const running = r`select pg_sleep(5)`.execute().catch(e => e)
      await new Promise(res => setTimeout(res, 30))
      await kill(pid)
      assert.equal((await running).code, 'CONNECTION_CLOSED')
      r.release()
      const again = await sql.reserve()
      assert.equal((await again`select ${i}::int as i`)[0].i, i, `round ${i}`)
      again.release()
    }
  } finally {
    await sql.end()
  }
})

test('end() while connections are still being opened closes them too: a close() waiting for them resolves', async () => {
  const sql = connect({ max: 4, connection: { application_name: 'end-while-opening' } })
  // A reservation opens a connection that nothing releases: only end() can close it.
  const reservations = Array.from({ length: 2 }, () => sql.reserve().catch(e => e))
  const queries = Array.from({ length: 2 }, () => sql`select 1`.execute().catch(e => e))
  await new Promise(resolve => setImmediate(resolve)) // submitted: connections are opening
  const closing = sql.close()
  await sql.end({ timeout: 0 })
  const closed = await Promise.race([closing.then(() => true), new Promise(r => setTimeout(r, 5000, false))])
  assert.ok(closed, 'close() resolved once end() destroyed the connections it waited for')
  await Promise.all([...queries, ...reservations])
  // Nothing of this pool is left on the server (the endpoint closes a backend session shortly after its client).
  const name = sql.options.connection.application_name
  let n = -1
  for (let i = 0; i < 40 && n !== 0; i++) {
    await new Promise(r => setTimeout(r, 100));
    [{ n }] = await admin`select count(*)::int as n from pg_stat_activity where application_name = ${name}`
  }
  assert.equal(n, 0, `${n} sessions of the ended pool remain`)
})
