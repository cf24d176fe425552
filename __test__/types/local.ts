// The local DSQL endpoint (aurora-dsql-postgres/local) as the README and test suites use it.
import { auroraDSQLPostgres } from 'aurora-dsql-postgres'
import { startLocalDsql, generateCertificates, type LocalDsql, type StartLocalDsqlOptions } from 'aurora-dsql-postgres/local'

function expectType<T>(value: T): T {
  return value
}

export async function localEndpoint() {
  // This package's README.
  const dsql: LocalDsql = await startLocalDsql({ credentials: [{ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' }] })
  const local = auroraDSQLPostgres({
    host: dsql.endpoint,
    hostaddr: dsql.hostaddr,
    port: dsql.port,
    ssl: { ca: dsql.ca },
    customCredentialsProvider: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' }
  })
  await local`select 1`
  await local.end()
  await dsql.stop()

  const options: StartLocalDsqlOptions = {
    region: 'eu-west-1',
    clusterId: 'abcdefghijklmnopqrstuvwxyz',
    port: 0,
    backend: { host: '127.0.0.1', port: 5432, user: 'postgres', password: 'pw', database: 'postgres' },
    maxConnectionAgeSecs: 60,
    rateLimit: { perSecond: 10, burst: 20 },
    maxConnections: 50,
    maxClockSkewSecs: 300,
    log: line => console.log(line)
  }
  const other = await startLocalDsql(options)
  const stats = other.stats()
  expectType<number>(stats.accepted + stats.rejectedBadToken + stats.rejectedRateLimited)
  await other.stop()
  await startLocalDsql({ rateLimit: false })
  await startLocalDsql()

  const certs = generateCertificates(['localhost', '127.0.0.1'])
  const { ca, cert, key }: { ca: string; cert: string; key: string } = certs
  await startLocalDsql({ tls: { certPem: cert, keyPem: key, caPem: ca } })
}
