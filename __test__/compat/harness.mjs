// Harness of the postgres.js compatibility suite (__test__/compat.test.mjs): both clients against the
// same local DSQL endpoint, and the normalization of what a case observes into plain JSON-able data.
import net from 'node:net'
import { fixture, lib, options as oursOptions, factory, websocket, require } from '../fixture.mjs'

export const postgres = require('postgres')
export { fixture, lib, factory, websocket }

const quiet = () => {}

// postgres.js configured as the official connector does: IAM token as the password function, verified
// TLS with the cluster name as SNI, here towards the endpoint's address.
export function pgOptions(extra = {}) {
  return {
    host: fixture.hostaddr,
    port: fixture.port,
    username: 'admin',
    database: 'postgres',
    ssl: { ca: fixture.ca, servername: fixture.endpoint },
    password: () => lib.generateToken({
      hostname: fixture.endpoint, region: fixture.region, admin: true, expiresIn: 900, ...fixture.credentials
    }),
    max: 4,
    onnotice: quiet,
    ...extra
  }
}

// Options given as undefined are left out, so that a case can ask for a default (`{ max: undefined }`).
export const defined = o => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
export const openPg = extra => postgres(defined(pgOptions(extra)))
export const openOurs = extra => factory(defined(oursOptions({ max: 4, onnotice: quiet, ...extra })))

// A socket to the endpoint's address whose `host` is the cluster name, so postgres.js sends SNI
// even with ssl modes that take the server name from the host (ssl: 'require').
export const pgSocketWithSni = () => () => Object.assign(net.connect(fixture.port, fixture.hostaddr), { host: fixture.endpoint })

// A template strings array built at run time: raw(sql, 'select 1') is sql`select 1`.
export function raw(sql, text, ...args) {
  const strings = [].concat(text)
  return sql(Object.assign([...strings], { raw: [...strings] }), ...args)
}

export const delay = ms => new Promise(r => setTimeout(r, ms))

// postgres.js's Result has own (non-enumerable) properties, ours accessors on its prototype.
const isResult = x => Array.isArray(x) && 'command' in x
const hex = x => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')

// Normalizes any observed value: Results → { rows, count, command, columns }, with type tags for the
// values JSON cannot tell apart (Date, Buffer, BigInt, NaN/±Infinity, undefined) and errors reduced to
// their code and class. A Result's absent `columns` (postgres.js leaves it undefined after simple-protocol
// statements without rows) compares as [].
export function obs(x) {
  if (x === null) return null
  if (x === undefined) return { undefined: true }
  switch (typeof x) {
    case 'bigint': return { bigint: x.toString() }
    case 'number': return Number.isFinite(x) ? x : { number: String(x) }
    case 'string': case 'boolean': return x
    case 'function': return { function: true }
    case 'symbol': return { symbol: String(x) }
  }
  if (x instanceof Error) return { error: x.code === undefined ? null : x.code, class: x.constructor.name }
  if (x instanceof Date) return { date: Number.isNaN(+x) ? 'Invalid Date' : x.toISOString() }
  if (Buffer.isBuffer(x)) return { buffer: hex(x) }
  if (x instanceof Uint8Array) return { uint8array: hex(x) }
  if (isResult(x))
    return {
      rows: Array.from(x, obs),
      count: obs(x.count),
      command: obs(x.command),
      columns: (x.columns || []).map(c => ({ name: c.name, type: c.type }))
    }
  if (Array.isArray(x)) return Array.from(x, obs)
  const out = {}
  for (const [k, v] of Object.entries(x)) out[k] = obs(v)
  return out
}

// What a run observes: its normalized value, or its normalized error.
export async function capture(fn) {
  try {
    return obs(await fn())
  } catch (err) {
    return obs(err)
  }
}
