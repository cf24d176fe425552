// The two sides being compared, connected to the same local DSQL endpoint (IAM tokens, verified TLS).
// The endpoint's coordinates and the package snapshot (`pkg`) come from the parent in BENCH_DSQL (see run.mjs).
// Modules are imported lazily so that a side never loads the other side's code.

import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

export const SIDES = ['ours', 'official']
export const LABEL = { ours: 'aurora-dsql-postgres', official: 'postgres.js 3.4.9 + dsql-signer' }

export function coords() {
  if (!process.env.BENCH_DSQL) throw new Error('run the benchmarks with `node bench/run.mjs`')
  return JSON.parse(process.env.BENCH_DSQL)
}

export async function connect(side, options = {}) {
  const d = coords()
  if (side === 'ours') {
    const { auroraDSQLPostgres } = await import(pathToFileURL(join(d.pkg, 'index.mjs')))
    return auroraDSQLPostgres({
      host: d.endpoint, hostaddr: d.hostaddr, port: d.port, ssl: { ca: d.ca },
      customCredentialsProvider: d.credentials, ...options
    })
  }
  // The official connector's recipe: postgres.js with a password function that signs a token per connection.
  const [{ default: postgres }, { DsqlSigner }] = await Promise.all([import('postgres'), import('@aws-sdk/dsql-signer')])
  return postgres({
    host: d.hostaddr, port: d.port, username: 'admin', database: 'postgres',
    ssl: { ca: d.ca, servername: d.endpoint },
    password: async () => new DsqlSigner({ hostname: d.endpoint, region: d.region, credentials: d.credentials, expiresIn: 900 })
      .getDbConnectAdminAuthToken(),
    ...options
  })
}
