// What the upstream suite imports as `postgres`: this package's factory (TCP, or WebSocket under
// ADP_UPSTREAM_TRANSPORT=websocket) with the connection settings of the local endpoint added to
// every call, and nothing else changed. `localhost` becomes the endpoint's cluster name (reached at
// `hostaddr` 127.0.0.1, so TLS is verified against the name), PostgreSQL's port 5432 (or none)
// becomes the endpoint's; other hosts and ports (the suite's deliberately wrong ones, its fake
// servers) stay as they are. The test CA comes as `ssl: { ca }` when the suite gives no `ssl`, else
// through PGSSLROOTCERT (set by run.mjs); credentials and region are added when absent.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const lib = require('../../index.js')
const env = JSON.parse(process.env.ADP_UPSTREAM)
const websocket = process.env.ADP_UPSTREAM_TRANSPORT === 'websocket'
const factory = websocket ? lib.auroraDSQLWsPostgres : lib.auroraDSQLPostgres
const endpointPort = websocket ? env.wsPort : env.port

const isLocal = host => host === undefined || host === '' || host === 'localhost'
const mapPort = port => port === undefined || port === '' || Number(port) === 5432 ? endpointPort : Number(port)

// postgres://user:pass@localhost:5432,localhost:5433/db -> the endpoint's name and ports.
function mapUrl(url) {
  const m = url.match(/^(postgres(?:ql)?:\/\/)(?:([^@/?#]*)@)?([^/?#]*)(.*)$/)
  if (!m) return { url }
  const [, scheme, auth, hosts, rest] = m
  const ports = []
  const mapped = hosts.split(',').map(h => {
    const [, host, port] = h.match(/^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/)
    if (!isLocal(host)) return h
    ports.push(mapPort(port))
    return env.endpoint + ':' + mapPort(port)
  })
  return { url: scheme + (auth === undefined ? '' : auth + '@') + mapped.join(',') + rest, local: ports.length > 0, ports }
}

function inject(options, fromUrl) {
  const o = { ...options }
  const hostKey = o.hostname !== undefined ? 'hostname' : 'host'
  const local = fromUrl ? fromUrl.local && o[hostKey] === undefined : isLocal(o[hostKey])
  if (local) {
    if (!fromUrl) o[hostKey] = env.endpoint
    o.hostaddr ??= env.hostaddr
    if (!fromUrl || websocket) o.port = o.port === undefined && fromUrl ? fromUrl.ports[0] : mapPort(o.port)
  }
  if (o.ssl === undefined) o.ssl = { ca: env.ca }
  o.customCredentialsProvider ??= env.credentials
  o.region ??= env.region
  return o
}

export default function postgres(a, b) {
  if (typeof a === 'string') {
    const mapped = mapUrl(a)
    return factory(mapped.url, inject(b || {}, mapped))
  }
  return factory(inject(a || {}))
}
for (const [k, v] of Object.entries(lib)) if (k !== 'default') postgres[k] = v
