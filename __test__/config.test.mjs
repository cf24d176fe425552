// Option validation and resolution seen from JS: errors are thrown synchronously, before any
// connection, name the option, and never carry secrets; sql.options holds no secret.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { auroraDSQLPostgres, AuroraDSQLPostgres } = require('../index.js')
const host = 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws'

test('wrong types and ranges throw TypeError/RangeError naming the option', () => {
  const rows = [
    [{ host, port: 'x' }, TypeError, /^port/],
    [{ host, port: 0 }, RangeError, /^port/],
    [{ host, max: -1 }, RangeError, /^max/],
    [{ host, tokenDurationSecs: 604801 }, RangeError, /^tokenDurationSecs/],
    [{ host, tokenDurationSecs: 'long' }, TypeError, /^tokenDurationSecs/],
    [{ host, ssl: 'sometimes' }, RangeError, /^ssl/],
    [{ host, ssl: { ca: 'nope' } }, TypeError, /^ssl\.ca/],
    [{ host, sslnegotiation: 'x' }, RangeError, /^sslnegotiation/],
    [{ host, hostaddr: 'not-an-ip' }, TypeError, /^hostaddr/],
    [{ host, username: 1 }, TypeError, /^username/],
    [{ host, connect_timeout: -5 }, RangeError, /^connect_timeout/],
    [{ host, onnotice: 'x' }, TypeError, /^onnotice/],
    [{ host, customCredentialsProvider: { accessKeyId: 'a' } }, TypeError, /^customCredentialsProvider/],
    [{ host: 'x.dsql.us-east-1.on.aws/../../etc' }, TypeError, /^host/],
    [{ host: 'x.dsql.us-east-1.on.aws\r\nInjected: 1' }, TypeError, /^host/],
    [null, TypeError, /options/]
  ]
  for (const [opts, Class, pattern] of rows) {
    assert.throws(() => auroraDSQLPostgres(opts), err => err instanceof Class && pattern.test(err.message), JSON.stringify(opts))
  }
})

test('the official connector\'s messages for missing or multi hosts and regions', () => {
  const env = { ...process.env }
  for (const k of ['PGHOST', 'AWS_REGION', 'AWS_DEFAULT_REGION']) delete process.env[k]
  try {
    assert.throws(() => auroraDSQLPostgres({}), { message: 'Host is required' })
    assert.throws(() => auroraDSQLPostgres({ host: [host, host] }), { message: 'Multi-host configurations are not supported for Aurora DSQL' })
    assert.throws(() => auroraDSQLPostgres(`postgres://admin@${host},${host}/postgres`), { message: 'Multi-host connection strings are not supported for Aurora DSQL' })
    assert.throws(() => auroraDSQLPostgres({ host: 'abcdefghijklmnopqrstuvwxyz' }), { message: "Region is not specified for cluster 'abcdefghijklmnopqrstuvwxyz'" })
    assert.throws(() => auroraDSQLPostgres({ host: 'db.example.com' }), { message: "Region is not specified and could not be parsed from hostname: 'db.example.com'" })
  } finally {
    Object.assign(process.env, env)
  }
})

test('resolution: cluster id, URL, defaults, application_name, and no secrets in sql.options', async () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET'
  const sql = auroraDSQLPostgres({ host: 'abcdefghijklmnopqrstuvwxyz', region: 'eu-west-1', customCredentialsProvider: { accessKeyId: 'AKIA1', secretAccessKey: secret, sessionToken: 'SESSIONTOKEN123' }, connection: { application_name: 'prisma' } })
  assert.deepEqual(sql.options.host, ['abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws'])
  assert.equal(sql.options.pass, null)
  assert.equal(sql.options.region, 'eu-west-1')
  assert.equal(sql.options.username, 'admin')
  assert.equal(sql.options.database, 'postgres')
  assert.equal(sql.options.ssl, 'verify-full')
  assert.match(sql.options.applicationName, /^prisma:aurora-dsql-postgres\/\d+\.\d+\.\d+$/)
  const dump = JSON.stringify(sql.options) + require('node:util').inspect(sql, { depth: 5, showHidden: true })
  assert.ok(!dump.includes(secret) && !dump.includes('SESSIONTOKEN123'), 'secrets must not appear in sql.options or inspect(sql)')
  await sql.end()
  const url = AuroraDSQLPostgres(`postgres://alice@${host}/mydb`, { max: 3 })
  assert.deepEqual([url.options.username, url.options.database, url.options.region, url.options.max], ['alice', 'mydb', 'us-east-1', 3])
  await url.end()
})
