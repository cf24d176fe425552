// A local multi-Region cluster: two endpoints (two Regions, two cluster ids) in front of one
// PostgreSQL, and outages of one of them (refused, or silent as in a network partition).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { fixture, lib, require } from './fixture.mjs'

const { startLocalDsqlPair } = require('../local/index.js')

let pair, A, B
before(async () => {
  pair = await startLocalDsqlPair({ credentials: [fixture.credentials], backend: fixture.backend })
  ;[A, B] = pair.endpoints
})
after(() => pair?.stop())

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const to = (ep, extra = {}) => lib.auroraDSQLPostgres({
  host: ep.endpoint, hostaddr: ep.hostaddr, port: ep.port, ssl: { ca: ep.ca }, customCredentialsProvider: fixture.credentials, ...extra
})
const toWs = (ep, extra = {}) => lib.auroraDSQLWsPostgres({
  host: ep.endpoint, hostaddr: ep.hostaddr, port: ep.wsPort, ssl: { ca: ep.ca }, customCredentialsProvider: fixture.credentials, ...extra
})
// How a promise ends, and when (ms after `t0`).
const outcome = (p, t0 = Date.now()) => p.then(value => ({ value, ms: Date.now() - t0 }), error => ({ error, ms: Date.now() - t0 }))
// A connection with a query running on it (pg_sleep), started once the connection is up; resolves
// (wrapped, so as not to wait for it) once the query has had time to reach the endpoint.
async function busy(sql) {
  await sql`select 1`
  const running = outcome(sql`select pg_sleep(10)`)
  await sleep(150)
  return { running }
}

test('two endpoints, two Regions, one database: a row written through A is read through B', async () => {
  assert.deepEqual([A.region, B.region], ['us-east-1', 'us-east-2'])
  assert.match(A.endpoint, /^[a-z0-9]{26}\.dsql\.us-east-1\.on\.aws$/)
  assert.match(B.endpoint, /^[a-z0-9]{26}\.dsql\.us-east-2\.on\.aws$/)
  assert.notEqual(A.endpoint.split('.')[0], B.endpoint.split('.')[0])
  assert.notEqual(A.port, B.port)
  assert.equal(A.ca, B.ca)
  const a = to(A, { max: 1 }), b = to(B, { max: 1 })
  try {
    await a`create table if not exists regions_t (id int primary key, v text)`
    await a`delete from regions_t`
    await a`insert into regions_t values (1, ${'written in ' + A.region})`
    assert.equal((await b`select v from regions_t where id = 1`)[0].v, 'written in us-east-1')
    await b`update regions_t set v = 'updated in us-east-2' where id = 1`
    assert.equal((await a`select v from regions_t where id = 1`)[0].v, 'updated in us-east-2')
    assert.ok(A.stats().authenticated >= 1 && B.stats().authenticated >= 1)
  } finally {
    await Promise.all([a.end(), b.end()])
  }
})

test('a token signed for A\'s host is refused by B (28000), and the other way round', async () => {
  for (const [signed, at] of [[A, B], [B, A]]) {
    const before = at.stats().rejectedBadToken
    // TLS succeeds (one certificate names both endpoints); the token is for the other host and Region
    const sql = lib.auroraDSQLPostgres({ host: signed.endpoint, hostaddr: at.hostaddr, port: at.port, ssl: { ca: pair.ca }, customCredentialsProvider: fixture.credentials, max: 1 })
    try {
      const err = await sql`select 1`.then(() => null, e => e)
      assert.ok(err, 'the query must fail')
      assert.ok(['28000', '28P01'].includes(err.code), `${err.code}: ${err.message}`)
      // (the connector may try once more with a fresh token)
      assert.ok(at.stats().rejectedBadToken > before, JSON.stringify(at.stats()))
    } finally {
      await sql.end()
    }
  }
})

test('down({ mode: \'refuse\' }): new connections are refused at once, open ones dropped; B keeps working; up() restores A', async () => {
  const a = to(A, { max: 1 }), b = to(B, { max: 1 })
  try {
    await b`select 1`
    const { running } = await busy(a)
    await A.down({ mode: 'refuse' })
    const dropped = await running
    assert.equal(dropped.error?.code, 'CONNECTION_CLOSED', String(dropped.error))
    assert.equal(A.stats().active, 0)

    const fresh = to(A, { max: 1, connect_timeout: 5 })
    const refused = await outcome(fresh`select 1`)
    await fresh.end()
    assert.equal(refused.error?.code, 'ECONNREFUSED', String(refused.error))
    assert.ok(refused.ms < 1000, `refused after ${refused.ms} ms`)

    assert.equal((await b`select 2 as x`)[0].x, 2)
    await A.up()
    assert.equal((await a`select 3 as x`)[0].x, 3)
    const again = to(A, { max: 1 })
    assert.equal((await again`select 4 as x`)[0].x, 4)
    await again.end()
  } finally {
    await A.up()
    await Promise.all([a.end(), b.end()])
  }
})

test('down({ mode: \'silent\' }): new connections time out, an open one hangs without closing; up() resumes it', async () => {
  const a = to(A, { max: 1 }), b = to(B, { max: 1 })
  try {
    await a`select 1`
    await A.down({ mode: 'silent' })
    const accepted = A.stats().accepted

    const fresh = to(A, { max: 1, connect_timeout: 1 })
    const timedOut = await outcome(fresh`select 1`)
    await fresh.end()
    assert.equal(timedOut.error?.code, 'CONNECT_TIMEOUT', String(timedOut.error))
    assert.ok(timedOut.ms >= 900 && timedOut.ms < 1500, `timed out after ${timedOut.ms} ms`)
    assert.equal(A.stats().accepted, accepted + 1, 'the TCP connection was accepted')

    let settled = false
    const hanging = outcome(a`select 5 as x`).finally(() => { settled = true })
    await sleep(500)
    assert.equal(settled, false, 'a query on a frozen connection must not settle')
    assert.equal((await b`select 6 as x`)[0].x, 6)

    await A.up()
    const resumed = await hanging
    assert.equal(resumed.value?.[0]?.x, 5, String(resumed.error))
    assert.equal((await a`select 7 as x`)[0].x, 7)
  } finally {
    await A.up()
    await Promise.all([a.end(), b.end()])
  }
})

test('silent, then refuse: the frozen connection is dropped; up() serves again', async () => {
  const a = to(A, { max: 1 })
  try {
    await a`select 1`
    await A.down({ mode: 'silent' })
    const hanging = outcome(a`select 1`)
    await sleep(200)
    await A.down({ mode: 'refuse' })
    const r = await hanging
    assert.equal(r.error?.code, 'CONNECTION_CLOSED', String(r.error))
    await A.up()
    assert.equal((await a`select 8 as x`)[0].x, 8)
  } finally {
    await A.up()
    await a.end()
  }
})

test('over WebSocket: refuse drops the open connection and refuses new ones; up() listens again on the same port', async () => {
  const a = toWs(A, { max: 1 }), b = toWs(B, { max: 1 })
  const wsPort = A.wsPort
  try {
    await b`select 1`
    const { running } = await busy(a)
    await A.down({ mode: 'refuse' })
    const dropped = await running
    assert.equal(dropped.error?.code, 'CONNECTION_CLOSED', String(dropped.error))

    const fresh = toWs(A, { max: 1, connect_timeout: 5 })
    const refused = await outcome(fresh`select 1`)
    await fresh.end()
    assert.ok(refused.error, 'a new WebSocket connection must fail')
    assert.equal(refused.error.code, 'ECONNREFUSED', String(refused.error))
    assert.ok(refused.ms < 1000, `refused after ${refused.ms} ms`)

    assert.equal((await b`select 2 as x`)[0].x, 2)
    await A.up()
    assert.equal(A.wsPort, wsPort)
    assert.equal((await a`select 3 as x`)[0].x, 3)
  } finally {
    await A.up()
    await Promise.all([a.end(), b.end()])
  }
})

test('bad input: down() names the mode; the pair names the options it chooses itself; stop() is idempotent', async () => {
  await assert.rejects(A.down({ mode: 'sideways' }), { name: 'TypeError', message: /mode must be 'refuse' or 'silent'/ })
  await assert.rejects(startLocalDsqlPair({ regions: ['us-east-1'] }), { name: 'TypeError', message: /regions/ })
  await assert.rejects(startLocalDsqlPair({ regions: ['us-east-1', 'us-east-1'] }), { name: 'TypeError', message: /regions/ })
  await assert.rejects(startLocalDsqlPair({ port: 5432 }), { name: 'TypeError', message: /port/ })
  const p = await startLocalDsqlPair({ regions: ['eu-west-1', 'eu-west-2', 'eu-west-3'], credentials: [fixture.credentials], backend: fixture.backend, websocket: false })
  assert.deepEqual(p.endpoints.map(e => e.region), ['eu-west-1', 'eu-west-2', 'eu-west-3'])
  await p.stop()
  await p.stop()
  await assert.rejects(p.endpoints[0].down(), /stopped/)
})
