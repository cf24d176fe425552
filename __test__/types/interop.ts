// Code migrating from postgres.js + @aws/aurora-dsql-postgresjs-connector keeps compiling when it still
// imports helpers and types from 'postgres' and the AWS SDK: they must fit this package's options.
import postgres from 'postgres'
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types'
import { defaultProvider } from '@aws-sdk/credential-provider-node'
import { auroraDSQLPostgres, auroraDSQLWsPostgres, type AuroraDSQLConfig } from 'aurora-dsql-postgres'

const host = 'c.dsql.us-east-1.on.aws'

// AWS SDK credentials and providers (the official connector's `customCredentialsProvider` type).
declare const identity: AwsCredentialIdentity
declare const provider: AwsCredentialIdentityProvider
auroraDSQLPostgres({ host, customCredentialsProvider: identity })
auroraDSQLPostgres({ host, customCredentialsProvider: provider })
auroraDSQLPostgres({ host, customCredentialsProvider: defaultProvider({ profile: 'dev' }) })
auroraDSQLWsPostgres({ host, customCredentialsProvider: async (): Promise<AwsCredentialIdentity> => identity })

// postgres.js helpers and custom types in the options.
const point: postgres.PostgresType<{ x: number; y: number }> = {
  to: 600,
  from: [600],
  serialize: p => `(${p.x},${p.y})`,
  parse: (raw: string) => ({ x: Number(raw), y: 0 })
}
const sql = auroraDSQLPostgres({ host, transform: postgres.camel, types: { bigint: postgres.BigInt, point } })
sql.typed.bigint(1n)
sql.typed.point({ x: 1, y: 2 })
auroraDSQLPostgres({ host, transform: { ...postgres.toPascal, column: postgres.toPascal.column } })
auroraDSQLPostgres({ host, transform: { column: { from: postgres.toCamel, to: postgres.fromCamel }, value: postgres.toCamel.value } })

// A config written against postgres.js's Options (minus the password) still fits.
const pgOptions: Omit<postgres.Options<{}>, 'password' | 'pass' | 'host' | 'port' | 'path' | 'ssl' | 'socket' | 'target_session_attrs' | 'publications'> = {
  max: 5,
  idle_timeout: 20,
  connect_timeout: 10,
  prepare: false,
  onnotice: () => {},
  connection: { application_name: 'x' }
}
const config: AuroraDSQLConfig = { host, ...pgOptions }
auroraDSQLPostgres(config)

// Libraries typed against postgres.js's `Sql` (drizzle-orm, kysely-postgres-js) take this package's `sql`.
import './orm.js'
