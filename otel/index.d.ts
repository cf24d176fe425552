// aurora-dsql-postgres/otel: the connector's tracing channels as OpenTelemetry spans, sql.stats() as metrics.
import type { Tracer, Meter } from '@opentelemetry/api'

export interface InstrumentOptions {
  /** Default: the global tracer provider's tracer `aurora-dsql-postgres`. */
  tracer?: Tracer | undefined
  /** Default: the global meter provider's meter `aurora-dsql-postgres`. */
  meter?: Meter | undefined
  /**
   * Adds `db.query.parameter.<index>` attributes, for `sql` instances made with `traceParameters: true`
   * (both are needed). Default `false`.
   */
  includeParameters?: boolean | undefined
}

export interface ObserveOptions {
  /** `db.client.connection.pool.name` of the instance's metrics. Default `host:port/database`. */
  poolName?: string | undefined
}

export interface Instrumentation {
  /** Reports `sql.stats()` of this instance as metrics at each collection; returns `sql`. */
  observe<T extends { stats(): unknown }>(sql: T, options?: ObserveOptions | undefined): T
  /** Stops reporting this instance's metrics. */
  unobserve(sql: { stats(): unknown }): void
  /** Unsubscribes from the channels and stops the metrics. */
  uninstrument(): void
}

/**
 * Subscribes to the connector's tracing channels: a `transaction` span per `sql.begin`, a CLIENT span per
 * query (named by its command, attributes by the database semantic conventions), `connect` and
 * `sign token` spans. One at a time: throws if already instrumented. Throws when `@opentelemetry/api`
 * is not installed.
 */
export declare function instrument(options?: InstrumentOptions | undefined): Instrumentation
