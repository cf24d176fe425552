'use strict'
// The local DSQL endpoint: an IAM-verifying, TLS-only, DSQL-behaving server in front of a real
// PostgreSQL (one you give, or a throwaway one started here). See README.md, "Local endpoint".

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const native = require('../js/native.js')
const { startBackend } = require('./postgres-server.js')
const { nativeError } = require('../js/client.js')

const CLUSTER_ID = /^[a-z0-9]{26}$/

// Options that name one endpoint, so a pair refuses them (it picks its own).
const PER_ENDPOINT = ['region', 'clusterId', 'port', 'wsPort']

function checkOptions(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const { region = 'us-east-1', credentials, port = 0, clusterId, rateLimit } = options
  if (typeof region !== 'string' || !/^[a-z0-9-]+$/.test(region)) throw new TypeError(`region must be an AWS region name, got ${region}`)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer between 0 and 65535, got ${port}`)
  if (clusterId !== undefined && !CLUSTER_ID.test(clusterId)) throw new TypeError('clusterId must be 26 characters [a-z0-9]')
  if (credentials !== undefined && (!Array.isArray(credentials) || credentials.some(c => !c || typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string')))
    throw new TypeError('credentials must be an array of { accessKeyId, secretAccessKey, sessionToken? }')
  if (rateLimit !== undefined && rateLimit !== false && (typeof rateLimit !== 'object' || !(rateLimit.perSecond > 0)))
    throw new TypeError('rateLimit must be false or { perSecond, burst }')
}

// A throwaway backend unless one is given; every session logs in as its superuser. The endpoint
// reaches its own backend through the Unix socket where there is one (cheaper than loopback TCP for
// both); `target` still gives the TCP address, for direct connections. A given backend is reached as
// its host says (a directory, starting with '/', is a socket directory).
async function openBackend({ backend, log }) {
  const own = backend ? null : await startBackend({ log })
  const target = backend || { host: own.host, port: own.port, user: own.user, socketDir: own.socketDir }
  const via = own && process.platform !== 'win32' && fs.existsSync(path.join(own.socketDir, `.s.PGSQL.${own.port}`)) ? own.socketDir : target.host
  return { own, target, via }
}

// One endpoint in front of an open backend; `stop()` stops the endpoint only.
async function startEndpoint(options, { target, via }) {
  const { region = 'us-east-1', credentials, port = 0, clusterId, maxConnectionAgeSecs, rateLimit, maxConnections, maxClockSkewSecs, tls,
    sqlChecks, maxRowsPerTransaction, optimisticConcurrency, occInjection, websocket, wsPort } = options
  let server
  try {
    server = await native.startLocalDsqlServer({
      region,
      clusterId,
      port,
      credentials,
      backend: { host: via, port: target.port, user: target.user, password: target.password, database: target.database },
      maxConnectionAgeSecs,
      rateLimitPerSecond: rateLimit === false ? 0 : rateLimit && rateLimit.perSecond,
      rateLimitBurst: rateLimit ? rateLimit.burst : undefined,
      maxConnections,
      maxClockSkewSecs,
      tls,
      sqlChecks,
      maxRowsPerTransaction,
      optimisticConcurrency,
      occInjection,
      websocket,
      wsPort
    })
  } catch (err) {
    throw nativeError(err)
  }
  const call = async f => {
    try {
      await f()
    } catch (err) {
      throw nativeError(err)
    }
  }
  let stopped = false
  return {
    endpoint: server.endpoint,
    region: server.region,
    hostaddr: '127.0.0.1',
    port: server.port,
    wsPort: server.wsPort ?? undefined,
    ca: server.ca,
    backend: target,
    stats: () => server.stats(),
    setCredentials: list => {
      try {
        server.setCredentials(list)
      } catch (err) {
        throw nativeError(err)
      }
    },
    down(opts = {}) {
      const mode = opts === null || typeof opts !== 'object' ? undefined : opts.mode ?? 'refuse'
      if (mode !== 'refuse' && mode !== 'silent') return Promise.reject(new TypeError(`down: mode must be 'refuse' or 'silent', got ${mode}`))
      return call(() => server.down(mode))
    },
    up: () => call(() => server.up()),
    async stop() {
      if (stopped) return
      stopped = true
      await server.stop()
    }
  }
}

async function startLocalDsql(options = {}) {
  checkOptions(options)
  const backend = await openBackend(options)
  let dsql
  try {
    dsql = await startEndpoint(options, backend)
  } catch (err) {
    backend.own && await backend.own.stop()
    throw err
  }
  const stopEndpoint = dsql.stop
  let stopped = false
  dsql.stop = async () => {
    if (stopped) return
    stopped = true
    await stopEndpoint()
    backend.own && await backend.own.stop()
  }
  return dsql
}

function randomClusterId() {
  const ch = 'abcdefghijklmnopqrstuvwxyz0123456789'
  return Array.from(crypto.randomBytes(26), b => ch[b % ch.length]).join('')
}

// Endpoints of a multi-Region cluster: one per Region (own cluster id, own token host and Region),
// all in front of one PostgreSQL, so that they share one database.
async function startLocalDsqlPair(options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const { regions = ['us-east-1', 'us-east-2'], ...rest } = options
  for (const k of PER_ENDPOINT) {
    if (rest[k] !== undefined) throw new TypeError(`${k} is chosen per endpoint by startLocalDsqlPair; leave it out`)
  }
  if (!Array.isArray(regions) || regions.length < 2 || regions.some(r => typeof r !== 'string' || !/^[a-z0-9-]+$/.test(r)) || new Set(regions).size !== regions.length)
    throw new TypeError(`regions must list at least two distinct AWS region names, got ${JSON.stringify(regions)}`)
  checkOptions(rest)
  const ids = regions.map(randomClusterId)
  // One CA and one certificate naming every endpoint, unless one was given.
  const tls = rest.tls || (c => ({ certPem: c.cert, keyPem: c.key, caPem: c.ca }))(
    native.generateCertificates([...regions.map((r, i) => `${ids[i]}.dsql.${r}.on.aws`), 'localhost', '127.0.0.1']))
  const backend = await openBackend(rest)
  const endpoints = []
  const stop = async () => {
    await Promise.all(endpoints.map(e => e.stop()))
    backend.own && await backend.own.stop()
  }
  try {
    for (const [i, region] of regions.entries()) endpoints.push(await startEndpoint({ ...rest, tls, region, clusterId: ids[i] }, backend))
  } catch (err) {
    await stop()
    throw err
  }
  let stopped = false
  return {
    endpoints,
    ca: endpoints[0].ca,
    backend: backend.target,
    async stop() {
      if (stopped) return
      stopped = true
      await stop()
    }
  }
}

module.exports = { startLocalDsql, startLocalDsqlPair, generateCertificates: names => native.generateCertificates(names) }
