// The local DSQL endpoint seen from JS: the AWS JS signer's tokens, DSQL's SQL restrictions, real and
// injected optimistic-concurrency conflicts (with the connector's retry), and its WebSocket port.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, fixture, lib, require } from './fixture.mjs'

const { startLocalDsql } = require('../local/index.js')
const postgres = require('postgres')
const { DsqlSigner } = require('@aws-sdk/dsql-signer')

test('tokens from @aws-sdk/dsql-signer (the official connector\'s recipe) are accepted', async () => {
  const signer = new DsqlSigner({ hostname: fixture.endpoint, region: fixture.region, credentials: fixture.credentials })
  const sql = postgres({ host: fixture.hostaddr, port: fixture.port, username: 'admin', database: 'postgres', ssl: { ca: fixture.ca, servername: fixture.endpoint }, password: () => signer.getDbConnectAdminAuthToken(), max: 1 })
  try {
    assert.equal((await sql`select 1 as x`)[0].x, 1)
  } finally {
    await sql.end()
  }
})

test('statements DSQL refuses are refused with 0A000; CREATE INDEX ASYNC is accepted; warn mode only warns', async () => {
  const sql = connect({ max: 1 })
  try {
    await sql`create table if not exists local_t (id int primary key, v int)`
    for (const stmt of ['truncate local_t', 'create temp table local_tmp (x int)', 'listen ch', 'create index local_i on local_t (v)', 'create table local_fk (x int references local_t (id))']) {
      const err = await sql.unsafe(stmt).catch(e => e)
      assert.equal(err.code, '0A000', `${stmt}: ${err.message}`)
    }
    const ok = await sql`create index async local_i2 on local_t (v)`
    assert.equal(ok.command, 'CREATE INDEX')
    await assert.rejects(sql.begin(async tx => {
      await tx`create table local_t2 (x int)`
      await tx`insert into local_t values (1, 1)`
    }), { code: '0A000' })
  } finally {
    await sql.end()
  }
  const warn = await startLocalDsql({ credentials: [fixture.credentials], backend: fixture.backend, sqlChecks: 'warn', websocket: false })
  const notices = []
  const w = lib.auroraDSQLPostgres({ host: warn.endpoint, hostaddr: warn.hostaddr, port: warn.port, ssl: { ca: warn.ca }, customCredentialsProvider: fixture.credentials, onnotice: n => notices.push(n) })
  try {
    await w`create table if not exists local_w (x int)`
    await w.unsafe('truncate local_w')
    assert.ok(notices.some(n => n.code === '01000'), JSON.stringify(notices))
    assert.equal(warn.wsPort, undefined)
  } finally {
    await w.end()
    await warn.stop()
  }
})

test('7. OCC storm: 8 workers moving money among 10 accounts with retry: all commit, total unchanged, retries counted', async () => {
  const dsql = await startLocalDsql({ credentials: [fixture.credentials], backend: fixture.backend, occInjection: { everyNth: 7 } })
  const logs = []
  const sql = lib.auroraDSQLPostgres({
    host: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ssl: { ca: dsql.ca }, customCredentialsProvider: fixture.credentials,
    max: 8, retry: { maxRetries: 30, baseDelayMs: 1, maxDelayMs: 20 }, logger: { debug: m => logs.push(m), error: m => logs.push(m) }
  })
  try {
    await sql`create table if not exists local_accounts (id int primary key, balance int not null)`
    await sql`delete from local_accounts`
    await sql`insert into local_accounts ${sql(Array.from({ length: 10 }, (_, id) => ({ id, balance: 1000 })))}`
    let seed = 7
    const rnd = n => (seed = (seed * 48271) % 2147483647) % n
    const transfers = 200
    let done = 0
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (done < transfers) {
        done++
        const from = rnd(10), to = (from + 1 + rnd(9)) % 10, amount = 1 + rnd(50)
        await sql.begin(async tx => {
          await tx`update local_accounts set balance = balance - ${amount} where id = ${from}`
          await tx`update local_accounts set balance = balance + ${amount} where id = ${to}`
        })
      }
    }))
    const [{ total }] = await sql`select sum(balance)::int as total from local_accounts`
    assert.equal(total, 10000)
    const s = dsql.stats()
    assert.ok(s.conflicts > 0 && s.injectedConflicts > 0, JSON.stringify(s))
    assert.ok(sql.stats().occRetries >= s.injectedConflicts, `retries ${sql.stats().occRetries}, conflicts ${s.conflicts}`)
    assert.ok(logs.some(m => m.startsWith('OCC conflict on attempt 1/')))
    console.log(`OCC storm: ${transfers} transfers, ${s.conflicts} conflicts (${s.injectedConflicts} injected), ${sql.stats().occRetries} retries`)
  } finally {
    await sql.end()
    await dsql.stop()
  }
})

test('the endpoint listens for WebSocket (wss) connections too', async () => {
  const dsql = await startLocalDsql({ credentials: [fixture.credentials], backend: fixture.backend })
  try {
    assert.ok(Number.isInteger(dsql.wsPort) && dsql.wsPort > 0)
    assert.notEqual(dsql.wsPort, dsql.port)
  } finally {
    await dsql.stop()
  }
})

test('5. short token lifetimes and rotating credentials revoked at the endpoint: new connections always authenticate', async () => {
  const key = i => ({ accessKeyId: `AKIAROTATE${String(i).padStart(10, '0')}`, secretAccessKey: `rotating-secret-${i}` })
  let current = 0
  const dsql = await startLocalDsql({ credentials: [key(0)], backend: fixture.backend })
  const used = new Set()
  const sql = lib.auroraDSQLPostgres({
    host: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ssl: { ca: dsql.ca }, max: 3, max_lifetime: 0.4, tokenDurationSecs: 2,
    // Each resolution returns the key in force now; it expires soon, so the connector asks again.
    customCredentialsProvider: async () => { used.add(current); return { ...key(current), expiration: new Date(Date.now() + 61_000) } }
  })
  try {
    const rotate = setInterval(() => { current++; dsql.setCredentials([key(current)]) }, 600)
    const until = Date.now() + 4000
    let n = 0
    while (Date.now() < until) {
      const rows = await Promise.all(Array.from({ length: 6 }, (_, i) => sql`select ${n * 6 + i}::int as i`))
      rows.forEach((r, i) => assert.equal(r[0].i, n * 6 + i))
      n++
      await new Promise(r => setTimeout(r, 50))
    }
    clearInterval(rotate)
    const s = dsql.stats()
    assert.equal(s.rejectedExpired, 0, 'no connection presented an expired token')
    assert.ok(used.size >= 4, `keys used: ${used.size}`)
    assert.ok(s.authenticated > 6, `connections: ${s.authenticated}`)
    assert.throws(() => dsql.setCredentials([]), TypeError)
  } finally {
    await sql.end()
    await dsql.stop()
  }
})

test('the endpoint reaches PostgreSQL through a Unix socket when the backend host is a directory, else over TCP', async () => {
  // inet_server_addr() is null on a Unix socket session: the suite's endpoint (started with the socket directory).
  const sql = connect({ max: 1 })
  try {
    assert.deepEqual([...await sql`select inet_server_addr()::text as a`], [{ a: null }])
  } finally {
    await sql.end()
  }
  const tcp = await startLocalDsql({ credentials: [fixture.credentials], backend: fixture.backend, websocket: false })
  const missing = await startLocalDsql({ credentials: [fixture.credentials], backend: { ...fixture.backend, host: '/nonexistent-socket-dir' }, websocket: false })
  const at = d => lib.auroraDSQLPostgres({ host: d.endpoint, hostaddr: d.hostaddr, port: d.port, ssl: { ca: d.ca }, customCredentialsProvider: fixture.credentials, max: 1 })
  const t = at(tcp), m = at(missing)
  try {
    assert.deepEqual([...await t`select inet_server_addr()::text as a`], [{ a: '127.0.0.1/32' }])
    const err = await m`select 1`.catch(e => e)
    assert.equal(err.code, '08001', err.message)
  } finally {
    await t.end()
    await m.end()
    await tcp.stop()
    await missing.stop()
  }
})
