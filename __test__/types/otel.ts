// aurora-dsql-postgres/otel and the observability types of index.d.ts, as the README uses them.
import { auroraDSQLPostgres } from 'aurora-dsql-postgres'
import type { SqlStats, QueryTraceContext, ConnectTraceContext } from 'aurora-dsql-postgres'
import { instrument, type Instrumentation } from 'aurora-dsql-postgres/otel'
import { trace, metrics } from '@opentelemetry/api'

export async function observability() {
  const otel: Instrumentation = instrument({ tracer: trace.getTracer('app'), meter: metrics.getMeter('app'), includeParameters: false })
  const sql = otel.observe(auroraDSQLPostgres({ host: 'x.dsql.us-east-1.on.aws', traceParameters: true }), { poolName: 'main' })
  const stats: SqlStats = sql.stats()
  const n: number = stats.occConflicts + stats.occRetries + stats.bytesIn + (stats.errorsByClass['40'] ?? 0)
  const onQuery = (ctx: QueryTraceContext) => ctx.error ? ctx.error.message : `${ctx.command} ${ctx.rowCount} ${ctx.serverAddress}`
  const onConnect = (ctx: ConnectTraceContext) => `${ctx.host} ${ctx.ms.total ?? 0} ${ctx.code ?? ''}`
  otel.unobserve(sql)
  otel.uninstrument()
  await sql.end()
  return [n, onQuery, onConnect]
}
