// Connection set-up: verified TLS (and what fails it), direct TLS, hostaddr, refused tokens,
// timeouts, credential providers and caching, profiles, and secrets kept out of errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, options, fixture, lib, require } from './fixture.mjs'




test('direct TLS negotiation (ALPN postgresql) through the endpoint', async () => {
  const sql = connect({ sslnegotiation: 'direct' })
  try {
    assert.equal((await sql`select 7 as x`)[0].x, 7)
  } finally {
    await sql.end()
  }
})

test('a wrong CA is refused with a TLS error within connect_timeout', async () => {
  const other = require('../local/index.js').generateCertificates(['localhost'])
  const sql = connect({ ssl: { ca: other.ca }, connect_timeout: 5 })
  const t = Date.now()
  try {
    const err = await sql`select 1`.catch(e => e)
    assert.ok(err instanceof Error)
    assert.equal(err.code, 'TLS_ERROR', err.message)
    assert.match(err.message, /certificate/i)
    // Each cause of the chain once (an io::Error shows the error it wraps and has it as its source).
    const parts = err.message.split(': ')
    assert.equal(new Set(parts).size, parts.length, err.message)
    assert.ok(Date.now() - t < 5000)
  } finally {
    await sql.end()
  }
})

test('the default WebPKI roots do not trust the local CA; rejectUnauthorized: false is the explicit way out', async () => {
  const strict = lib.auroraDSQLPostgres({ ...options(), ssl: true, connect_timeout: 5 })
  assert.equal((await strict`select 1`.catch(e => e)).code, 'TLS_ERROR')
  await strict.end()
  const loose = lib.auroraDSQLPostgres({ ...options(), ssl: { rejectUnauthorized: false } })
  assert.equal((await loose`select 1 as x`)[0].x, 1)
  await loose.end()
})

test('a host name that does not match the certificate is refused', async () => {
  const sql = lib.auroraDSQLPostgres({ ...options(), host: 'zzzzzzzzzzzzzzzzzzzzzzzzzz.dsql.us-east-1.on.aws', connect_timeout: 5 })
  const err = await sql`select 1`.catch(e => e)
  assert.equal(err.code, 'TLS_ERROR', err.message)
  await sql.end()
})

test('tokens signed with a wrong secret are refused by the endpoint, and the error holds no secret', async () => {
  const secret = 'WRONGwrongWRONGwrongWRONGwrong0123456789'
  const sql = connect({ customCredentialsProvider: { accessKeyId: fixture.credentials.accessKeyId, secretAccessKey: secret } })
  const err = await sql`select 1`.catch(e => e)
  assert.ok(err instanceof lib.PostgresError, String(err))
  assert.match(err.code, /^28/)
  const text = JSON.stringify(err) + err.message + err.stack
  assert.ok(!text.includes(secret) && !text.includes('X-Amz-Signature'), 'no secret or token in the error')
  await sql.end()
})

test('non-admin users sign DbConnect tokens; the action is checked by the endpoint', async () => {
  const sql = connect({ username: 'app_user' })
  // The backend logs every session in as its superuser; the endpoint checked a DbConnect token for app_user.
  assert.equal((await sql`select 1 as x`)[0].x, 1)
  await sql.end()
})

test('an unreachable port fails fast; a silent server fails with CONNECT_TIMEOUT within connect_timeout', async () => {
  const closed = net.createServer()
  await new Promise(r => closed.listen(0, '127.0.0.1', r))
  const port = closed.address().port
  await new Promise(r => closed.close(r))
  const refused = connect({ port })
  const err = await refused`select 1`.catch(e => e)
  assert.ok(err.code === 'ECONNREFUSED' || err.code === 'CONNECTION_CLOSED', err.code + ' ' + err.message)
  await refused.end()

  const sockets = []
  const silent = net.createServer(s => sockets.push(s))
  await new Promise(r => silent.listen(0, '127.0.0.1', r))
  const sql = connect({ port: silent.address().port, connect_timeout: 1 })
  const t = Date.now()
  const e2 = await sql`select 1`.catch(e => e)
  const took = Date.now() - t
  assert.equal(e2.code, 'CONNECT_TIMEOUT', e2.message)
  assert.ok(took >= 900 && took < 3000, `took ${took} ms`)
  await sql.end()
  sockets.forEach(s => s.destroy())
  silent.close()
})

test('a JS credentials provider is called from Rust once and cached until its expiration', async () => {
  let calls = 0
  const sql = connect({
    max: 5,
    customCredentialsProvider: async () => {
      calls++
      return { ...fixture.credentials, expiration: new Date(Date.now() + 3600_000) }
    }
  })
  await Promise.all(Array.from({ length: 50 }, () => sql`select pg_sleep(0.01)`))
  assert.equal(sql.stats().connections, 5)
  assert.equal(calls, 1, 'five connections, one resolution')
  await sql.end()

  let n = 0
  const expiring = connect({ max: 3, customCredentialsProvider: () => ({ ...fixture.credentials, expiration: new Date(Date.now() + 10_000), n: n++ }) })
  await Promise.all(Array.from({ length: 30 }, () => expiring`select pg_sleep(0.01)`))
  assert.equal(n, 3, 'credentials inside the refresh window are resolved for each new connection')
  await expiring.end()
})

test('provider errors surface with their message', async () => {
  const sql = connect({ customCredentialsProvider: async () => { throw new Error('vault is sealed') } })
  const err = await sql`select 1`.catch(e => e)
  assert.match(err.message, /vault is sealed/)
  await sql.end()
  const bad = connect({ customCredentialsProvider: async () => ({ accessKeyId: 'x' }) })
  assert.match((await bad`select 1`.catch(e => e)).message, /secretAccessKey/)
  await bad.end()
})

test('the profile option selects a profile of the shared credentials file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'adp-profile-'))
  try {
    writeFileSync(join(dir, 'credentials'), `[default]\naws_access_key_id = AKIADEFAULTWRONG0000\naws_secret_access_key = wrong\n\n[dsql]\naws_access_key_id = ${fixture.credentials.accessKeyId}\naws_secret_access_key = ${fixture.credentials.secretAccessKey}\n`)
    writeFileSync(join(dir, 'config'), '[default]\nregion = us-east-1\n')
    const script = `
      const { auroraDSQLPostgres } = require(${JSON.stringify(join(process.cwd(), 'index.js'))})
      const f = ${JSON.stringify(fixture)}
      const run = async profile => {
        const sql = auroraDSQLPostgres({ host: f.endpoint, hostaddr: f.hostaddr, port: f.port, ssl: { ca: f.ca }, profile })
        try { return (await sql\`select 1 as x\`)[0].x } catch (e) { return e.code } finally { await sql.end() }
      }
      Promise.all([run('dsql'), run(undefined)]).then(r => console.log(JSON.stringify(r)))`
    const env = { ...process.env, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_CONFIG_FILE: join(dir, 'config'), AWS_EC2_METADATA_DISABLED: 'true' }
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete env[k]
    const out = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 60_000 })
    assert.equal(out.status, 0, out.stderr)
    const [withProfile, withDefault] = JSON.parse(out.stdout.trim().split('\n').pop())
    assert.equal(withProfile, 1)
    assert.match(String(withDefault), /^28/, 'the default profile has keys the endpoint rejects')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('straight to PostgreSQL 15 over SSLRequest TLS, verified against the run\'s CA', async () => {
  // The fixture's PostgreSQL trusts local connections, so the token is sent but not checked here.
  const sql = lib.auroraDSQLPostgres({ host: '127.0.0.1', region: 'us-east-1', port: fixture.backend.port, username: fixture.backend.user, ssl: { ca: fixture.backend.ca }, customCredentialsProvider: fixture.credentials })
  try {
    const [r] = await sql`select ssl from pg_stat_ssl where pid = pg_backend_pid()`
    assert.equal(r.ssl, true)
  } finally {
    await sql.end()
  }
})

test('end() resolves once the server has let the sessions go (as postgres.js: after the sockets closed), and promptly', async () => {
  const sql = connect({ max: 5 })
  const rows = await Promise.all(Array.from({ length: 5 }, () => sql`select pg_backend_pid() as pid, pg_sleep(0.02)`))
  const pids = [...new Set(rows.map(([r]) => r.pid))]
  assert.equal(pids.length, 5)
  const other = connect({ max: 1 }) // connected beforehand, so it looks right after end()
  const left = () => other`select count(*)::int as n from pg_stat_activity where pid = any(${pids}::int[])`
  assert.equal((await left())[0].n, 5)
  const t = Date.now()
  await sql.end()
  const took = Date.now() - t
  const [{ n }] = await left()
  await other.end()
  assert.equal(n, 0, 'no backend of the ended pool is left')
  assert.ok(took < 1000, `end() took ${took} ms`)
})
