#!/usr/bin/env node
// Smoke test of a built addon where no PostgreSQL is at hand (the release workflow runs it on each
// platform's own runner or container): the binary loads, signs a DSQL token in the documented
// format, makes certificates for the local endpoint, and rejects bad options before connecting.
// Usage: node scripts/smoke.mjs   (exits non-zero on any failure)
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const lib = require('../index.js')
const local = require('../local/index.js')
const pkg = require('../package.json')

const host = 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws'
const token = await lib.generateToken({
  hostname: host, region: 'us-east-1', admin: true,
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
})
assert.match(token, new RegExp(`^${host.replaceAll('.', '\\.')}/\\?Action=DbConnectAdmin&`))
assert.match(token, /X-Amz-Signature=[0-9a-f]{64}/)

const certs = local.generateCertificates(['localhost'])
assert.match(certs.ca, /-----BEGIN CERTIFICATE-----/)

assert.throws(() => lib.auroraDSQLPostgres({ host, tokenDurationSecs: 0 }), RangeError)

const sql = lib.auroraDSQLPostgres({ host, username: 'admin', customCredentialsProvider: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' } })
assert.equal(String(sql.options.host), host)
await sql.end()

console.log(`${pkg.name} ${pkg.version}: smoke test passed on ${process.platform}-${process.arch}, Node ${process.version}`)
