'use strict'
// The local DSQL endpoint: an IAM-verifying, TLS-only, DSQL-behaving server in front of a real
// PostgreSQL (one you give, or a throwaway one started here). See README.md, "Local endpoint".

const fs = require('node:fs')
const path = require('node:path')
const native = require('../js/native.js')
const { startBackend } = require('./backend.js')
const { nativeError } = require('../js/client.js')

const CLUSTER_ID = /^[a-z0-9]{26}$/

async function startLocalDsql(options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const { region = 'us-east-1', credentials, port = 0, clusterId, backend, maxConnectionAgeSecs, rateLimit, maxConnections, maxClockSkewSecs, tls, log,
    sqlChecks, maxRowsPerTransaction, optimisticConcurrency, occInjection, websocket, wsPort } = options
  if (typeof region !== 'string' || !/^[a-z0-9-]+$/.test(region)) throw new TypeError(`region must be an AWS region name, got ${region}`)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer between 0 and 65535, got ${port}`)
  if (clusterId !== undefined && !CLUSTER_ID.test(clusterId)) throw new TypeError('clusterId must be 26 characters [a-z0-9]')
  if (credentials !== undefined && (!Array.isArray(credentials) || credentials.some(c => !c || typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string')))
    throw new TypeError('credentials must be an array of { accessKeyId, secretAccessKey, sessionToken? }')
  if (rateLimit !== undefined && rateLimit !== false && (typeof rateLimit !== 'object' || !(rateLimit.perSecond > 0)))
    throw new TypeError('rateLimit must be false or { perSecond, burst }')

  // A throwaway backend unless one is given; every session logs in as its superuser.
  const own = backend ? null : await startBackend({ log })
  const target = backend || { host: own.host, port: own.port, user: own.user, socketDir: own.socketDir }
  // The endpoint reaches its own backend through the Unix socket where there is one (cheaper than
  // loopback TCP for both); `backend` still gives the TCP address, for direct connections. A given
  // backend is reached as its host says (a directory, starting with '/', is a socket directory).
  const via = own && process.platform !== 'win32' && fs.existsSync(path.join(own.socketDir, `.s.PGSQL.${own.port}`)) ? own.socketDir : target.host
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
    own && await own.stop()
    throw nativeError(err)
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
    async stop() {
      if (stopped) return
      stopped = true
      await server.stop()
      own && await own.stop()
    }
  }
}

module.exports = { startLocalDsql, generateCertificates: names => native.generateCertificates(names) }
