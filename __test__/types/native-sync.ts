// index.d.ts and local/index.d.ts restate a few shapes of the napi-generated native.d.ts (importing it
// would make every consumer need @types/node). This file stops compiling when they drift apart:
// same keys, same optional keys, and values that fit in the direction data flows.
import type * as native from '../../native'
import type { GenerateTokenOptions, SqlOptions } from 'aurora-dsql-postgres'
import type * as local from 'aurora-dsql-postgres/local'

type OptionalKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? K : never }[keyof T]
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Defined<T> = { [K in keyof T]-?: Exclude<T[K], undefined> }
/** Same keys and optional keys, and every value of `From` fits `To` (`undefined` aside). */
type Synced<From, To> = Mutual<keyof From, keyof To> extends true
  ? Mutual<OptionalKeys<From>, OptionalKeys<To>> extends true
    ? [Defined<From>] extends [Defined<To>]
      ? true
      : 'a value type does not fit'
    : 'optional keys differ'
  : 'keys differ'
function synced<T extends true>(): T | void {}

// Results: what the native side returns must fit the declared type.
// sql.options holds the native view's fields (host, port and ssl in postgres.js's shapes, checked in orm.ts).
type Reshaped = 'host' | 'port' | 'ssl'
synced<Synced<Omit<native.ResolvedOptions, Reshaped>, Pick<SqlOptions, Exclude<keyof native.ResolvedOptions, Reshaped>>>>()
synced<Synced<native.LocalStats, local.LocalStats>>()
synced<Synced<native.CertificateBundle, local.CertificateBundle>>()

// Inputs: what the declared type lets users pass must fit the native side.
synced<Synced<GenerateTokenOptions, native.TokenRequest>>()
synced<Synced<local.LocalCredentials, native.LocalCredentials>>()
synced<Synced<local.LocalTls, native.LocalTls>>()
synced<Synced<local.LocalBackendOptions, native.LocalBackend>>()
