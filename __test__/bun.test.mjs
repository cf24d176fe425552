// Settings put into process.env at run time reach the native side, under Bun (from npm, a
// devDependency) and Node alike. Bun keeps what a script (or a .env file) sets at run time in
// process.env only, not in the C environment the native side would read; the facade hands the
// variables the native side reads to the pool. The child script sets the credentials, PGHOST,
// PGPORT and PGSSLROOTCERT at run time and passes neither credentials nor host in its options; the
// child's environment has no AWS_* or PG* variable of its own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixture } from './fixture.mjs'

const root = resolve(fileURLToPath(import.meta.url), '../..')
const bun = join(root, 'node_modules/.bin/bun')

function bunRuns() {
  if (!existsSync(bun)) return `${bun} is missing (npm install)`
  const r = spawnSync(bun, ['--version'], { encoding: 'utf8', timeout: 30_000 })
  return r.status === 0 ? null : `${bun} --version failed: ${r.error?.message ?? r.stderr}`
}

// The child: everything it needs comes through process.env, set here at run time.
const SCRIPT = `
const lib = require(${JSON.stringify(join(root, 'index.js'))})
const f = JSON.parse(process.argv[2])
async function main() {
  process.env.AWS_ACCESS_KEY_ID = f.credentials.accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY = f.credentials.secretAccessKey
  if (f.credentials.sessionToken) process.env.AWS_SESSION_TOKEN = f.credentials.sessionToken
  process.env.AWS_EC2_METADATA_DISABLED = 'true'
  process.env.PGHOST = f.endpoint
  process.env.PGPORT = String(f.port)
  process.env.PGSSLROOTCERT = f.caFile
  const out = { runtime: typeof Bun === 'undefined' ? 'node ' + process.version : 'bun ' + Bun.version }
  const sql = lib.auroraDSQLPostgres({ hostaddr: f.hostaddr, max: 1 })
  try {
    const [row] = await sql\`select 1 as one\`
    out.one = row.one
  } catch (err) {
    out.error = err.code + ' ' + err.message
  }
  out.options = JSON.stringify(sql.options)
  await sql.end()
  // The variables are read when the pool is made: a wrong secret set now fails the next pool's
  // queries (the token is refused), and the error does not show the secret.
  process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret-' + f.marker
  const bad = lib.auroraDSQLPostgres({ hostaddr: f.hostaddr, max: 1, connect_timeout: 5 })
  try {
    await bad\`select 1\`
    out.badError = null
  } catch (err) {
    out.badError = String(err.code) + ' ' + err.message + ' ' + String(err.stack) + ' ' + JSON.stringify(err)
  }
  out.badOptions = JSON.stringify(bad.options)
  await bad.end()
  return out
}
main().then(out => process.stdout.write(JSON.stringify(out)), err => { process.stdout.write(JSON.stringify({ crashed: String(err && err.stack) })) })
`

function run(runtime, dir) {
  const script = join(dir, 'child.js')
  writeFileSync(script, SCRIPT)
  const caFile = join(dir, 'ca.pem')
  writeFileSync(caFile, fixture.ca)
  const marker = Math.random().toString(36).slice(2)
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|PG)/.test(k) && !/_PROXY$/i.test(k)) env[k] = v
  const args = JSON.stringify({ credentials: fixture.credentials, endpoint: fixture.endpoint, hostaddr: fixture.hostaddr, port: fixture.port, caFile, marker })
  const r = spawnSync(runtime, [script, args], { env, cwd: dir, encoding: 'utf8', timeout: 60_000 })
  assert.equal(r.status, 0, `${runtime} exited with ${r.status}: ${r.stderr}`)
  const out = JSON.parse(r.stdout)
  assert.equal(out.crashed, undefined, out.crashed)
  return { out, marker }
}

for (const [name, runtime, skip] of [['bun', bun, bunRuns()], ['node', process.execPath, null]]) {
  test(`${name}: credentials, PGHOST, PGPORT and PGSSLROOTCERT set in process.env at run time reach the pool; secrets appear in no error or option`, { skip: skip ?? false, timeout: 120_000 }, t => {
    const dir = mkdtempSync(join(tmpdir(), 'adp-env-'))
    try {
      const { out, marker } = run(runtime, dir)
      t.diagnostic(out.runtime)
      assert.equal(out.error, undefined, 'the query with credentials and host from process.env')
      assert.equal(out.one, 1)
      const secret = fixture.credentials.secretAccessKey
      assert.ok(!out.options.includes(secret), 'sql.options shows no secret')
      assert.match(out.options, new RegExp(fixture.endpoint.replace(/\./g, '\\.')), 'the host came from PGHOST')
      assert.ok(out.badError, 'a wrong secret set before the second pool was made is used by it')
      assert.ok(!out.badError.includes(marker) && !out.badOptions.includes(marker), `no secret in the error: ${out.badError}`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
}
