// OpenTelemetry in one line: `instrument()` from aurora-dsql-postgres/otel turns the connector's tracing
// channels into spans (a transaction span, a CLIENT span per query, connect and token spans under the
// query that opened the connection) and sql.stats() into metrics. This example records the spans of a
// small workload in memory and prints them as a tree.
// Against a real cluster when CLUSTER_ENDPOINT is set (AWS credentials from the default chain),
// otherwise against the local DSQL endpoint with a throwaway PostgreSQL it starts itself.
import { auroraDSQLPostgres } from 'aurora-dsql-postgres'
import { instrument } from 'aurora-dsql-postgres/otel'
import { startLocalDsql } from 'aurora-dsql-postgres/local'
import { context, trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'

// The SDK: spans kept in memory; the AsyncLocalStorage context manager makes `startActiveSpan` parents.
const exporter = new InMemorySpanExporter()
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
const tracer = trace.getTracer('example')

// The one line.
const otel = instrument()

let local, options
if (process.env.CLUSTER_ENDPOINT) {
  options = { host: process.env.CLUSTER_ENDPOINT, username: process.env.CLUSTER_USER || 'admin' }
} else {
  const credentials = { accessKeyId: 'AKIAEXAMPLELOCAL0001', secretAccessKey: 'example-local-secret' }
  local = await startLocalDsql({ credentials: [credentials] })
  options = { host: local.endpoint, hostaddr: local.hostaddr, port: local.port, ssl: { ca: local.ca }, customCredentialsProvider: credentials }
  console.log(`local DSQL endpoint ${local.endpoint} on 127.0.0.1:${local.port}`)
}

const sql = otel.observe(auroraDSQLPostgres({ ...options, max: 1 }))
try {
  await tracer.startActiveSpan('place order', async span => {
    await sql`create table if not exists example_orders (id int primary key, item text)`
    await sql.begin(async tx => {
      await tx`insert into example_orders (id, item) values (${1}, ${'book'}) on conflict (id) do nothing`
      await tx`select item from example_orders where id = ${1}`
    })
    await sql`select 1 / 0`.catch(() => {})
    await sql`drop table example_orders`
    span.end()
  })
} finally {
  await sql.end()
  await local?.stop()
  otel.uninstrument()
}

// The span tree: children under their parent, in start order, with a few attributes.
const spans = exporter.getFinishedSpans()
const byParent = new Map()
for (const s of spans) {
  const parent = s.parentSpanContext?.spanId ?? null
  byParent.has(parent) || byParent.set(parent, [])
  byParent.get(parent).push(s)
}
const ids = new Set(spans.map(s => s.spanContext().spanId))
const at = t => t[0] * 1e3 + t[1] / 1e6
function print(s, depth) {
  const a = s.attributes
  const notes = [
    a['db.query.text'] && `"${a['db.query.text']}"`,
    a['db.response.status_code'] && `SQLSTATE ${a['db.response.status_code']}`,
    a['aws.dsql.occ.attempts'] && `attempts ${a['aws.dsql.occ.attempts']}`,
    a['aws.dsql.transaction.outcome'],
    a['aws.dsql.token.credentials'] && `credentials ${a['aws.dsql.token.credentials']}`,
    s.name === 'connect' && `${a['aws.dsql.transport']} ${a['server.address']}`
  ].filter(Boolean).join(', ')
  console.log(`${'  '.repeat(depth)}${s.name}${notes ? ` (${notes})` : ''}`)
  for (const c of (byParent.get(s.spanContext().spanId) || []).sort((x, y) => at(x.startTime) - at(y.startTime))) print(c, depth + 1)
}
console.log('span tree:')
for (const root of spans.filter(s => !s.parentSpanContext || !ids.has(s.parentSpanContext.spanId)).sort((x, y) => at(x.startTime) - at(y.startTime))) print(root, 1)
