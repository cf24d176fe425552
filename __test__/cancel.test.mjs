// query.cancel() through an endpoint that, like DSQL, accepts nothing without TLS: the CancelRequest
// travels on a new TLS connection (same SNI, CA and hostaddr) or a new WebSocket. A plain-text
// CancelRequest is refused. Connect failures carry Node's codes (ENOTFOUND, ECONNREFUSED).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import tls from 'node:tls'
import { constants } from 'node:os'
import { lib, fixture, options, wsOptions } from './fixture.mjs'

const delay = ms => new Promise(r => setTimeout(r, ms))

// Starts `select pg_sleep(5)`, cancels it after 300 ms; resolves to the error and the time from cancel() to it.
async function cancelRunning(sql) {
  await sql`select 1`
  const q = sql`select pg_sleep(5)`
  q.execute()
  await delay(300)
  const t = Date.now()
  await q.cancel()
  const err = await q.then(() => null, e => e)
  return { err, ms: Date.now() - t }
}

const variants = [
  ['TCP with hostaddr, TLS verified by name', () => lib.auroraDSQLPostgres(options({ max: 1, port: fixture.port }))],
  ["TCP with sslnegotiation: 'direct'", () => lib.auroraDSQLPostgres(options({ max: 1, port: fixture.port, sslnegotiation: 'direct' }))],
  ['WebSocket', () => lib.auroraDSQLWsPostgres(wsOptions({ max: 1 }))]
]

for (const [name, open] of variants) {
  test(`cancel() of a running query over ${name}: rejects with 57014 within 2 s, the connection stays usable`, async () => {
    const sql = open()
    try {
      const { err, ms } = await cancelRunning(sql)
      assert.ok(err, 'the query was cancelled, not completed')
      assert.equal(err.code, '57014', String(err))
      assert.equal(err.constructor.name, 'PostgresError', 'the server cancelled it')
      assert.ok(ms < 2000, `rejected ${ms} ms after cancel()`)
      assert.equal((await sql`select 2 as x`)[0].x, 2)
    } finally {
      await sql.end()
    }
  })
}

// The backend key of the only connection of `sql` (max: 1), and a running pg_sleep on it.
async function runningWithKey(sql, seconds) {
  const { state } = await sql`select 1`
  assert.ok(state && state.pid && state.secret !== undefined, 'result.state holds pid and secret')
  const q = sql`select pg_sleep(${seconds})`
  const settled = q.then(() => 'completed', e => e)
  await delay(200)
  return { state, settled }
}

function cancelPacket({ pid, secret }) {
  const b = Buffer.alloc(16)
  b.writeInt32BE(16, 0)
  b.writeInt32BE(80877102, 4)
  b.writeInt32BE(pid, 8)
  b.writeInt32BE(secret, 12)
  return b
}

// Writes `packet` on `socket` and resolves once the endpoint closed it, with what it sent back.
function sendUntilClosed(socket, packet) {
  return new Promise((resolve, reject) => {
    const got = []
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('the endpoint left the connection open')) }, 3000)
    socket.on('data', d => got.push(d))
    socket.on('error', () => {})
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(got)) })
    socket.write(packet)
  })
}

test('a plain-text CancelRequest is refused like any unencrypted connection: the query is not cancelled, the endpoint closes', async () => {
  const sql = lib.auroraDSQLPostgres(options({ max: 1 }))
  try {
    const { state, settled } = await runningWithKey(sql, 1.5)
    const socket = net.connect(fixture.port, fixture.hostaddr)
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
    const answer = await sendUntilClosed(socket, cancelPacket(state))
    // DSQL answers an unencrypted connection with a FATAL ErrorResponse ('E') and closes.
    assert.equal(answer[0], 0x45, 'an ErrorResponse')
    assert.match(answer.toString('latin1'), /ssl is required/)
    assert.equal(await settled, 'completed', 'the plain-text CancelRequest did not cancel the query')
  } finally {
    await sql.end()
  }
})

test('a CancelRequest inside TLS without SNI is refused; with SNI it cancels (the same pid and secret)', async () => {
  const sql = lib.auroraDSQLPostgres(options({ max: 1, sslnegotiation: 'direct' }))
  const viaTls = servername => new Promise((resolve, reject) => {
    // Direct TLS (ALPN postgresql); the certificate is verified against the run's CA, by name when SNI is sent.
    const s = tls.connect({ host: fixture.hostaddr, port: fixture.port, ca: fixture.ca, ALPNProtocols: ['postgresql'], ...(servername ? { servername } : { checkServerIdentity: () => undefined }) })
    s.once('secureConnect', () => resolve(s)).once('error', reject)
  })
  try {
    const first = await runningWithKey(sql, 1.5)
    await sendUntilClosed(await viaTls(null), cancelPacket(first.state))
    assert.equal(await first.settled, 'completed', 'a CancelRequest without SNI did not cancel the query')

    const second = await runningWithKey(sql, 5)
    const t = Date.now()
    await sendUntilClosed(await viaTls(fixture.endpoint), cancelPacket(second.state))
    const err = await second.settled
    assert.equal(err.code, '57014', String(err))
    assert.ok(Date.now() - t < 2000)
  } finally {
    await sql.end()
  }
})

test('cancel() of a query in a transaction (reserved connection) over TLS', async () => {
  const sql = lib.auroraDSQLPostgres(options({ max: 2 }))
  try {
    const err = await sql.begin(async tx => {
      const q = tx`select pg_sleep(5)`
      q.execute()
      await delay(300)
      await q.cancel()
      return q.then(() => null, e => e)
    }).catch(e => e)
    assert.equal(err.code, '57014', String(err))
  } finally {
    await sql.end()
  }
})

// A name under .invalid never resolves (RFC 6761).
for (const [name, open] of [
  ['TCP', o => lib.auroraDSQLPostgres(options({ hostaddr: undefined, port: fixture.port, ...o }))],
  ['WebSocket', o => lib.auroraDSQLWsPostgres(wsOptions({ hostaddr: undefined, ...o }))]
]) {
  test(`a host name that does not resolve rejects with ENOTFOUND, as postgres.js (${name})`, async () => {
    const hostname = 'nohost-adp.invalid'
    const sql = open({ host: hostname, region: fixture.region, connect_timeout: 5 })
    try {
      const err = await sql`select 1`.catch(e => e)
      assert.ok(err instanceof Error)
      assert.equal(err.code, 'ENOTFOUND', err.code + ' ' + err.message)
      assert.equal(err.message, `getaddrinfo ENOTFOUND ${hostname}`)
      assert.equal(err.errno, -3008)
      assert.equal(err.syscall, 'getaddrinfo')
      assert.equal(err.hostname, hostname)
    } finally {
      await sql.end()
    }
  })

  test(`a refused connection rejects with ECONNREFUSED, as postgres.js (${name})`, async () => {
    const server = net.createServer()
    await new Promise(r => server.listen(0, '127.0.0.1', r))
    const port = server.address().port
    await new Promise(r => server.close(r))
    const sql = open({ hostaddr: '127.0.0.1', port, connect_timeout: 5 })
    try {
      const err = await sql`select 1`.catch(e => e)
      assert.equal(err.code, 'ECONNREFUSED', err.code + ' ' + err.message)
      assert.equal(err.message, `connect ECONNREFUSED 127.0.0.1:${port}`)
      assert.equal(err.errno, -constants.errno.ECONNREFUSED)
      assert.equal(err.syscall, 'connect')
      assert.equal(err.address, '127.0.0.1')
      assert.equal(err.port, port)
      // sql.begin() reserves a connection before it is open: the transaction rejects with the same error.
      const inTx = await sql.begin(tx => tx`select 1`).catch(e => e)
      assert.equal(inTx.code, 'ECONNREFUSED', inTx.code + ' ' + inTx.message)
    } finally {
      await sql.end()
    }
  })
}
