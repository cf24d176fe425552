// sql.stats()' native counters and the pool's EVENT frames (issue 21, the Rust side): counts of queries,
// errors by SQLSTATE class, connect attempts and failures, tokens and credential resolutions, socket bytes;
// connect and token events as the core frames them (read here from the real completion chunks, below any
// consumer in the facade), and no secret in any of them.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect, connectWs, fixture, lib, options, require } from './fixture.mjs'

const { FrameReader } = require('../js/frames.js')
const { KIND_EVENT } = require('../js/protocol.js')

// Every EVENT frame the facade decodes, in order: the frames of each chunk are read before the facade
// handles them (the same bytes, not a copy the core made for the test).
const events = []
const decodeFrames = FrameReader.prototype.decodeFrames
FrameReader.prototype.decodeFrames = function (buf, dv, end) {
  for (let pos = 0; pos < end;) {
    const kind = buf[pos + 4]
    const len = dv.getUint32(pos + 5, true)
    const start = pos + 9
    pos = start + len
    if (kind === KIND_EVENT) {
      assert.equal(dv.getUint32(start - 9, true), 0, 'an event has id 0')
      events.push(JSON.parse(buf.toString('utf8', start + 4, pos)))
    }
  }
  return decodeFrames.call(this, buf, dv, end)
}
after(() => { FrameReader.prototype.decodeFrames = decodeFrames })

const secret = fixture.credentials.secretAccessKey
const noSecret = (what, x) => {
  const text = JSON.stringify(x)
  assert.ok(!text.includes(secret) && !text.includes('X-Amz-Signature') && !text.includes('X-Amz-Credential'), `${what}: ${text}`)
}
const since = n => events.slice(n)

test('queries, bytes, tokens and connects are counted; the connect and token events describe the connection', async () => {
  const mark = events.length
  const sql = connect({ max: 2 })
  const before = sql.stats()
  assert.deepEqual([before.queries, before.connectAttempts, before.bytesIn, before.bytesOut], [0, 0, 0, 0])
  assert.deepEqual(before.errorsByClass, {})
  const N = 25
  await Promise.all(Array.from({ length: N }, (_, i) => sql`select ${i}::int as i`))
  const s = sql.stats()
  assert.ok(s.queries >= N, `queries ${s.queries}`)
  assert.ok(s.connectAttempts >= 1 && s.connectAttempts <= 2, `attempts ${s.connectAttempts}`)
  assert.equal(s.connectFailures, 0)
  assert.equal(s.tokensSigned, s.connectAttempts)
  // Static credentials: resolved once, then from the cache.
  assert.equal(s.credentialResolutions, 1)
  assert.ok(s.bytesIn > 0 && s.bytesOut > 0, `bytes ${s.bytesIn}/${s.bytesOut}`)
  assert.equal(s.open, s.idle + s.busy)
  assert.ok(s.connections >= s.open + s.opening)
  assert.deepEqual(s.errorsByClass, {})
  // A large result: the bytes in grow by at least its size.
  await sql`select repeat('x', 100000) as x`
  const s2 = sql.stats()
  assert.ok(s2.bytesIn - s.bytesIn >= 100000, `bytes in grew by ${s2.bytesIn - s.bytesIn}`)
  assert.ok(s2.bytesOut > s.bytesOut)
  assert.equal(s2.queries, s.queries + 1)

  // sql.stats() reads the numbers through statsInto (js/stats.js): the same as the native object.
  const { NativePool } = require('../native.js')
  const statsInto = NativePool.prototype.statsInto
  let native = null
  NativePool.prototype.statsInto = function (a) { native = this; return statsInto.call(this, a) }
  sql.stats()
  NativePool.prototype.statsInto = statsInto
  await sql`select 1/0`.catch(() => {})
  const { occConflicts, occRetries, ...fast } = sql.stats()
  assert.deepEqual([occConflicts, occRetries], [0, 0])
  assert.deepEqual(fast, { ...native.stats() })
  assert.deepEqual(fast.errorsByClass, { 22: 1 })

  const mine = since(mark)
  noSecret('events', mine)
  const tokens = mine.filter(e => e.event === 'token')
  const connects = mine.filter(e => e.event === 'connect')
  assert.equal(tokens.length, s.tokensSigned)
  assert.equal(connects.length, s.connectAttempts)
  assert.deepEqual(tokens.map(t => t.credentials), ['resolved', ...tokens.slice(1).map(() => 'cached')])
  for (const t of tokens) assert.ok(t.ms >= 0 && t.connection > 0 && t.query > 0, JSON.stringify(t))
  for (const c of connects) {
    assert.deepEqual(
      [c.ok, c.code, c.message, c.attempt, c.host, c.port, c.region, c.transport],
      [true, null, null, 1, fixture.endpoint, fixture.port, fixture.region, 'tcp']
    )
    // A query placed on a new connection opened it: its id names it (the queries went out in one batch).
    assert.ok(c.query > 0, JSON.stringify(c))
    for (const k of ['token', 'tcp', 'tls', 'auth', 'total']) assert.equal(typeof c.ms[k], 'number', `${k}: ${JSON.stringify(c)}`)
    assert.ok(c.ms.total >= c.ms.token + c.ms.tcp + c.ms.tls + c.ms.auth - 0.01, JSON.stringify(c.ms))
  }
  await sql.end()
})

test('failed queries count by SQLSTATE class, connection errors by their code', async () => {
  const sql = connect({ max: 1 })
  await assert.rejects(sql`select 1/0`, { code: '22012' })
  await assert.rejects(sql`select 1/0`, { code: '22012' })
  await assert.rejects(sql`selec 1`, { code: '42601' })
  await sql`select 1`
  assert.deepEqual(sql.stats().errorsByClass, { 22: 2, 42: 1 })
  await sql.end()

  const mark = events.length
  // Nothing listens on this port: the connect fails with Node's code, and so does the query.
  const refused = lib.auroraDSQLPostgres(options({ port: 1, max: 1, connect_timeout: 5 }))
  const err = await refused`select 1`.catch(e => e)
  assert.equal(err.code, 'ECONNREFUSED', String(err))
  const r = refused.stats()
  assert.deepEqual([r.connectAttempts, r.connectFailures, r.tokensSigned], [1, 1, 1])
  assert.deepEqual(r.errorsByClass, { ECONNREFUSED: 1 })
  await refused.end()
  const [connectEvent] = since(mark).filter(e => e.event === 'connect')
  assert.deepEqual([connectEvent.ok, connectEvent.code, connectEvent.ms.tls, connectEvent.ms.auth], [false, 'ECONNREFUSED', null, null])
  assert.match(connectEvent.message, /ECONNREFUSED/)
})

test('a wrong secret: the server refuses both attempts (credentials resolved again once), and nothing shows the secret', async () => {
  const mark = events.length
  const wrong = 'wrong/secret/wrong/secret/wrong/secret00'
  const sql = lib.auroraDSQLPostgres(options({
    max: 1,
    customCredentialsProvider: async () => ({ accessKeyId: fixture.credentials.accessKeyId, secretAccessKey: wrong })
  }))
  const err = await sql`select 1`.catch(e => e)
  assert.match(err.code, /^28/, String(err))
  const s = sql.stats()
  assert.deepEqual([s.connectAttempts, s.connectFailures, s.tokensSigned, s.credentialResolutions], [2, 2, 2, 2])
  assert.deepEqual(s.errorsByClass, { 28: 1 })
  const mine = since(mark)
  assert.ok(!JSON.stringify(mine).includes(wrong))
  noSecret('events', mine)
  const connects = mine.filter(e => e.event === 'connect')
  assert.deepEqual(connects.map(c => [c.attempt, c.ok, c.code]), [[1, false, err.code], [2, false, err.code]])
  assert.ok(connects.every(c => typeof c.ms.auth === 'number'), 'the server answered: authentication is timed')
  assert.deepEqual(mine.filter(e => e.event === 'token').map(t => t.credentials), ['resolved', 'resolved'])
  await sql.end()
})

test('a reservation opens its connection for no query (query 0); WebSocket sessions are counted and named', async () => {
  const mark = events.length
  const sql = connectWs({ max: 1 })
  await sql.begin(tx => tx`select 1`)
  const s = sql.stats()
  assert.ok(s.bytesIn > 0 && s.bytesOut > 0)
  assert.equal(s.queries >= 2, true, `queries ${s.queries}`)
  const [c] = since(mark).filter(e => e.event === 'connect')
  assert.deepEqual([c.ok, c.transport, c.port, c.query], [true, 'websocket', fixture.wsPort, 0])
  assert.equal(typeof c.ms.tls, 'number')
  await sql.end()
})

test('stats() is cheap', async () => {
  const sql = connect({ max: 4 })
  await Promise.all(Array.from({ length: 8 }, () => sql`select 1`))
  await assert.rejects(sql`select 1/0`)
  const n = 20000
  for (let i = 0; i < 1000; i++) sql.stats()
  const t = process.hrtime.bigint()
  for (let i = 0; i < n; i++) sql.stats()
  const us = Number(process.hrtime.bigint() - t) / 1000 / n
  console.log(`sql.stats(): ${us.toFixed(2)} µs per call (${sql.stats().connections} connections)`)
  // The budget (5 µs) is a release build's; this bound only catches a lock held long or work per
  // connection or per query slipping in, in whatever build the tests run (a debug build: ~70 µs).
  assert.ok(us < 250, `${us} µs per call`)
  await sql.end()
})
