// The WebSocket connector (issue 7): auroraDSQLWsPostgres through the local endpoint's wss listener,
// with verified TLS and real SigV4 tokens: options, a frozen peer caught by connectionCheck, a
// server-side close, and HTTPS_PROXY with HTTP CONNECT. (The whole compatibility suite runs over
// WebSocket in compat-ws.test.mjs.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import http from 'node:http'
import { fixture, lib, wsOptions, connectWs, require } from './fixture.mjs'

const { startLocalDsql } = require('../local/index.js')
const sleep = ms => new Promise(r => setTimeout(r, ms))

test('queries, transactions and sql.options over WebSocket', async () => {
  const sql = connectWs({ max: 2 })
  try {
    const [row] = await sql`select ${41}::int + 1 as x, ${'ü'} as s, ${Buffer.from([1, 2])}::bytea as b`
    assert.deepEqual([row.x, row.s, [...row.b]], [42, 'ü', [1, 2]])
    const big = await sql`select g, md5(g::text) as h from generate_series(1, 20000) g`
    assert.equal(big.length, 20000)
    assert.equal(big[19999].h.length, 32)
    const inTx = await sql.begin(async tx => [await tx`select 1 as a`, await tx`select 2 as b`])
    assert.deepEqual(inTx.map(r => Object.values(r[0])[0]), [1, 2])
    assert.equal((await sql`select nope`.catch(e => e)).code, '42703')
    const o = sql.options
    assert.deepEqual([o.transport, o.connectionCheck, o.port, o.host], ['websocket', false, [fixture.wsPort], [fixture.endpoint]])
  } finally {
    await sql.end()
  }
})

test('end() over WebSocket resolves once the server has let the sessions go, as over TLS', async () => {
  const other = lib.auroraDSQLPostgres({ ...wsOptions(), port: fixture.port, max: 1 })
  try {
    for (let round = 0; round < 5; round++) {
      const sql = connectWs({ max: 3 })
      const rows = await Promise.all(Array.from({ length: 3 }, () => sql`select pg_backend_pid() as pid, pg_sleep(0.02)`))
      const pids = [...new Set(rows.map(([r]) => r.pid))]
      assert.equal(pids.length, 3)
      const left = () => other`select count(*)::int as n from pg_stat_activity where pid = any(${pids}::int[])`
      assert.equal((await left())[0].n, 3)
      const t = Date.now()
      await sql.end()
      const took = Date.now() - t
      assert.equal((await left())[0].n, 0, `round ${round}: no backend of the ended pool is left`)
      assert.ok(took < 1000, `end() took ${took} ms`)
    }
  } finally {
    await other.end()
  }
})

test('defaults and option checks: port 443, connectionCheck and friends only on the WebSocket factory', () => {
  const base = { host: fixture.endpoint, customCredentialsProvider: fixture.credentials }
  assert.deepEqual(lib.auroraDSQLWsPostgres(base).options.port, [443])
  // A URL's port is PostgreSQL's: the WebSocket connector keeps 443 unless `port` is given.
  assert.deepEqual(lib.auroraDSQLWsPostgres(`postgres://admin@${fixture.endpoint}:5432/postgres`, { customCredentialsProvider: fixture.credentials }).options.port, [443])
  const saved = process.env.PGPORT
  process.env.PGPORT = '5433'
  try {
    assert.deepEqual(lib.auroraDSQLWsPostgres(base).options.port, [443], 'PGPORT is not the WebSocket port')
    assert.deepEqual(lib.auroraDSQLPostgres(base).options.port, [5433])
  } finally {
    saved === undefined ? delete process.env.PGPORT : (process.env.PGPORT = saved)
  }
  assert.equal(lib.auroraDSQLWsPostgres({ ...base, port: 8443, connectionCheck: true }).options.connectionCheck, true)
  assert.equal(lib.auroraDSQLPostgres(base).options.transport, 'tcp')
  const cases = [
    [() => lib.auroraDSQLPostgres({ ...base, connectionCheck: true }), TypeError, /connectionCheck is an option of auroraDSQLWsPostgres/],
    [() => lib.auroraDSQLPostgres({ ...base, onReservedConnectionClose: () => {} }), TypeError, /onReservedConnectionClose is an option of auroraDSQLWsPostgres/],
    [() => lib.auroraDSQLWsPostgres({ ...base, connectionCheck: 'yes' }), TypeError, /connectionCheck must be a boolean/],
    [() => lib.auroraDSQLWsPostgres({ ...base, connectionId: 7 }), TypeError, /connectionId must be a string/],
    [() => lib.auroraDSQLWsPostgres({ ...base, onReservedConnectionClose: 'x' }), TypeError, /onReservedConnectionClose must be a function/],
    [() => lib.auroraDSQLWsPostgres({ ...base, transport: 'tcp' }), TypeError, /transport is chosen by the factory/],
    [() => lib.auroraDSQLWsPostgres({ ...base, port: 70000 }), RangeError, /port must be between 1 and 65535/]
  ]
  for (const [fn, type, message] of cases) assert.throws(fn, err => err instanceof type && message.test(err.message), String(message))
})

test('TLS is verified: a wrong CA and a wrong host name are refused', async () => {
  const other = lib.auroraDSQLWsPostgres(wsOptions({ ssl: undefined, connect_timeout: 5 }))
  const e1 = await other`select 1`.catch(e => e)
  assert.equal(e1.code, 'TLS_ERROR', String(e1))
  await other.end()
  const wrongName = lib.auroraDSQLWsPostgres(wsOptions({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', connect_timeout: 5 }))
  const e2 = await wrongName`select 1`.catch(e => e)
  assert.equal(e2.code, 'TLS_ERROR', String(e2))
  assert.match(e2.message, /certificate|name/i)
  await wrongName.end()
})

// A TCP relay in front of the WebSocket listener whose open connections can be frozen: bytes stop
// flowing both ways while the sockets stay open, as with a peer that hangs or a dead NAT mapping.
async function freezer(port) {
  const pairs = new Set()
  const server = net.createServer(client => {
    const upstream = net.connect(port, '127.0.0.1')
    const pair = { client, upstream, frozen: false }
    pairs.add(pair)
    client.on('data', d => pair.frozen || upstream.write(d))
    upstream.on('data', d => pair.frozen || client.write(d))
    const close = () => { pairs.delete(pair); client.destroy(); upstream.destroy() }
    client.on('close', close); upstream.on('close', close); client.on('error', close); upstream.on('error', close)
  })
  await new Promise(r => server.listen(0, '127.0.0.1', r))
  return {
    port: server.address().port,
    freezeAll: () => { for (const p of pairs) p.frozen = true },
    get open() { return pairs.size },
    close: () => { for (const p of pairs) { p.client.destroy(); p.upstream.destroy() } server.close() }
  }
}

test('connectionCheck: a frozen connection fails its heartbeat within 5 s, is closed and reported; the query runs on a new one', async () => {
  const relay = await freezer(fixture.wsPort)
  const closed = []
  const sql = connectWs({ port: relay.port, max: 1, connectionCheck: true, connectionId: 'conn-7', onReservedConnectionClose: id => closed.push(id) })
  try {
    const [{ pid }] = await sql`select pg_backend_pid() as pid`
    relay.freezeAll()
    const t0 = Date.now()
    const [after] = await sql`select pg_backend_pid() as pid, 'ok' as s`
    const elapsed = Date.now() - t0
    assert.equal(after.s, 'ok')
    assert.notEqual(after.pid, pid, 'the query ran on a new connection')
    assert.ok(elapsed >= 4900 && elapsed < 9000, `heartbeat deadline honoured: ${elapsed} ms`)
    assert.deepEqual(closed, ['conn-7'])
    // Without connectionCheck the same freeze is not detected by a heartbeat (the query would wait).
    assert.equal((await sql`select 1 as x`)[0].x, 1)
    assert.deepEqual(closed, ['conn-7'], 'healthy connections are not reported')
  } finally {
    await sql.end()
    relay.close()
  }
})

test('a server-side close is reported to onReservedConnectionClose and invisible to the next query', async () => {
  const dsql = await startLocalDsql({ credentials: [fixture.credentials], backend: fixture.backend, websocket: true, maxConnectionAgeSecs: 1 })
  const closed = []
  const sql = lib.auroraDSQLWsPostgres({
    host: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.wsPort, ssl: { ca: dsql.ca }, customCredentialsProvider: fixture.credentials,
    max: 1, connectionId: 'srv', onReservedConnectionClose: id => closed.push(id)
  })
  try {
    const [{ pid }] = await sql`select pg_backend_pid() as pid`
    for (let i = 0; i < 40 && !closed.length; i++) await sleep(100)
    assert.deepEqual(closed, ['srv'], 'the close was reported')
    const [after] = await sql`select pg_backend_pid() as pid`
    assert.notEqual(after.pid, pid)
    // end() is not an unexpected close.
    await sql.end()
    await sleep(100)
    assert.deepEqual(closed, ['srv'])
  } finally {
    await sql.end()
    await dsql.stop()
  }
})

// An HTTP proxy that answers CONNECT by tunnelling to 127.0.0.1 at the requested port.
async function connectProxy({ refuse = false } = {}) {
  const seen = []
  const server = http.createServer((req, res) => { res.writeHead(405); res.end() })
  server.on('connect', (req, socket, head) => {
    seen.push({ target: req.url, auth: req.headers['proxy-authorization'] })
    if (refuse) return socket.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n')
    const port = Number(req.url.split(':').pop())
    const upstream = net.connect(port, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    const close = () => { socket.destroy(); upstream.destroy() }
    upstream.on('error', close); socket.on('error', close)
  })
  await new Promise(r => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${server.address().port}`, port: server.address().port, seen, close: () => new Promise(r => { server.closeAllConnections?.(); server.close(r) }) }
}

async function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map(k => [k, process.env[k]]))
  Object.assign(process.env, vars)
  try { return await fn() } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v)
  }
}

test('HTTPS_PROXY: the WebSocket is tunnelled with HTTP CONNECT (Basic auth), NO_PROXY bypasses it', async () => {
  const proxy = await connectProxy()
  try {
    await withEnv({ HTTPS_PROXY: `http://us%40er:p%3Ass@127.0.0.1:${proxy.port}`, NO_PROXY: 'example.com' }, async () => {
      const sql = connectWs({ max: 1 })
      assert.equal((await sql`select 1 as x`)[0].x, 1)
      await sql.end()
    })
    assert.equal(proxy.seen.length, 1)
    assert.equal(proxy.seen[0].target, `${fixture.endpoint}:${fixture.wsPort}`)
    assert.equal(proxy.seen[0].auth, 'Basic ' + Buffer.from('us@er:p:ss').toString('base64'))
    // NO_PROXY with a domain suffix of the cluster host: straight to the endpoint.
    await withEnv({ HTTPS_PROXY: proxy.url, NO_PROXY: '.on.aws' }, async () => {
      const sql = connectWs({ max: 1 })
      assert.equal((await sql`select 2 as x`)[0].x, 2)
      await sql.end()
    })
    assert.equal(proxy.seen.length, 1, 'NO_PROXY bypassed the proxy')
    // The TCP connector never uses the HTTP proxy (PostgreSQL is not HTTP).
    await withEnv({ HTTPS_PROXY: proxy.url, NO_PROXY: '' }, async () => {
      const tcp = lib.auroraDSQLPostgres({ host: fixture.endpoint, hostaddr: fixture.hostaddr, port: fixture.port, ssl: { ca: fixture.ca }, customCredentialsProvider: fixture.credentials, max: 1 })
      assert.equal((await tcp`select 3 as x`)[0].x, 3)
      await tcp.end()
    })
    assert.equal(proxy.seen.length, 1)
  } finally {
    await proxy.close()
  }
})

test('a proxy that refuses CONNECT: the query rejects with a clear error that never shows the proxy password', async () => {
  const proxy = await connectProxy({ refuse: true })
  try {
    const err = await withEnv({ HTTPS_PROXY: `http://user:hunter2secret@127.0.0.1:${proxy.port}` }, async () => {
      const sql = connectWs({ max: 1, connect_timeout: 5 })
      try { return await sql`select 1`.catch(e => e) } finally { await sql.end() }
    })
    assert.equal(err.code, 'ECONNREFUSED', String(err))
    assert.match(err.message, /proxy 127\.0\.0\.1:\d+ refused CONNECT .*407/)
    assert.doesNotMatch(err.message + err.stack, /hunter2secret/)
    const bad = await withEnv({ HTTPS_PROXY: 'socks5://127.0.0.1:1080' }, async () => {
      const sql = connectWs({ max: 1, connect_timeout: 5 })
      try { return await sql`select 1`.catch(e => e) } finally { await sql.end() }
    })
    assert.match(bad.message, /only http:\/\/ proxies are supported/)
  } finally {
    await proxy.close()
  }
})
