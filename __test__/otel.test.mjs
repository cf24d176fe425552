// aurora-dsql-postgres/otel with the real OpenTelemetry SDK: spans recorded by an InMemorySpanExporter under
// the AsyncLocalStorage context manager, metrics read by an in-memory MetricReader.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { trace, context } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { lib, fixture, options, wsOptions, require } from './fixture.mjs'
import { startLocalDsql } from '../local/index.js'

const { instrument } = require('../otel/index.js')

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const tracer = provider.getTracer('otel.test')
class TestReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
const reader = new TestReader()
const meterProvider = new MeterProvider({ readers: [reader] })
const meter = meterProvider.getMeter('otel.test')

before(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
})
after(async () => {
  context.disable()
  await meterProvider.shutdown()
})

function withOtel(fn, opts = {}) {
  return async () => {
    exporter.reset()
    const otel = instrument({ tracer, meter, ...opts })
    try {
      await fn(otel)
    } finally {
      otel.uninstrument()
    }
  }
}

const spans = () => exporter.getFinishedSpans()
const idOf = s => s.spanContext().spanId
const parentOf = s => s.parentSpanContext && s.parentSpanContext.spanId
const childrenOf = (parent, all = spans()) => all.filter(s => parentOf(s) === idOf(parent))
const named = (name, all = spans()) => all.filter(s => s.name === name)
const queriesOnly = () => spans().filter(s => s.attributes['db.query.text'] !== undefined)

// Every attribute value and status message of every span, as one string.
const everything = () => JSON.stringify(spans().map(s => [s.name, s.attributes, s.status]))

for (const [transport, opts, factory] of [['tcp', options, lib.auroraDSQLPostgres], ['websocket', wsOptions, lib.auroraDSQLWsPostgres]]) {
  test(`${transport}: a parent span around a transaction: transaction span, a child per query with the semantic-convention attributes`, withOtel(async () => {
    const sql = factory(opts())
    try {
      await sql`create table if not exists otel_items (id int primary key, name text)`
      await sql`delete from otel_items`
      exporter.reset()
      await tracer.startActiveSpan('parent', async parent => {
        await sql.begin(async tx => {
          await tx`insert into otel_items (id, name) values (${1}, ${'parameter-value-one'})`
          await tracer.startActiveSpan('inside', async inside => {
            await tx`select * from otel_items where id = ${1}`
            inside.end()
          })
        })
        parent.end()
      })
      const [parent] = named('parent')
      const [txSpan] = childrenOf(parent)
      assert.equal(txSpan.name, 'transaction')
      assert.equal(txSpan.attributes['aws.dsql.occ.attempts'], 1)
      assert.equal(txSpan.attributes['aws.dsql.transaction.outcome'], 'committed')
      // begin, insert, inside (whose child is the select), commit
      const kids = childrenOf(txSpan).sort((a, b) => (a.startTime[0] - b.startTime[0]) || (a.startTime[1] - b.startTime[1]))
      assert.deepEqual(kids.map(s => s.name), ['BEGIN', 'INSERT', 'inside', 'COMMIT'])
      const [select] = childrenOf(named('inside')[0])
      assert.equal(select.name, 'SELECT')
      const insert = kids[1]
      assert.equal(insert.kind, 2) // SpanKind.CLIENT
      assert.deepEqual(
        { ...insert.attributes, 'aws.dsql.connection.id': undefined },
        {
          'db.system.name': 'postgresql',
          'server.address': fixture.endpoint,
          'server.port': transport === 'tcp' ? fixture.port : fixture.wsPort,
          'db.namespace': 'postgres',
          'aws.region': 'us-east-1',
          'aws.dsql.transport': transport,
          'db.query.text': 'insert into otel_items (id, name) values ($1, $2)',
          'db.operation.parameter_count': 2,
          'aws.dsql.pipelined': false,
          'db.operation.name': 'INSERT',
          'db.response.returned_rows': 1,
          'aws.dsql.backend.pid': insert.attributes['aws.dsql.backend.pid'],
          'aws.dsql.connection.id': undefined
        }
      )
      assert.equal(typeof insert.attributes['aws.dsql.connection.id'], 'number', 'a transaction\'s queries name their reserved connection')
      assert.ok(!everything().includes('parameter-value-one'))
    } finally {
      await sql.end()
    }
  }))

  test(`${transport}: two parent spans whose queries leave in the same tick each get their own child`, withOtel(async () => {
    const sql = factory(opts({ max: 1 }))
    try {
      await sql`select 1`
      exporter.reset()
      const a = tracer.startSpan('A'), b = tracer.startSpan('B')
      const qa = context.with(trace.setSpan(context.active(), a), () => sql`select 'a'`)
      const qb = context.with(trace.setSpan(context.active(), b), () => sql`select 'b'`)
      await Promise.all([qa, qb])
      a.end(); b.end()
      assert.deepEqual(childrenOf(a).map(s => s.attributes['db.query.text']), ["select 'a'"])
      assert.deepEqual(childrenOf(b).map(s => s.attributes['db.query.text']), ["select 'b'"])
    } finally {
      await sql.end()
    }
  }))
}

test('a failed query\'s span: error status, SQLSTATE in db.response.status_code and error.type', withOtel(async () => {
  const sql = lib.auroraDSQLPostgres(options())
  try {
    await assert.rejects(sql`select 1 / 0`, { code: '22012' })
    const [span] = queriesOnly()
    assert.equal(span.status.code, 2) // SpanStatusCode.ERROR
    assert.equal(span.status.message, 'division by zero')
    assert.equal(span.attributes['db.response.status_code'], '22012')
    assert.equal(span.attributes['error.type'], '22012')
  } finally {
    await sql.end()
  }
}))

test('an OCC conflict retried twice: the transaction span shows three attempts and the 40001', withOtel(async () => {
  const dsql = await startLocalDsql({ credentials: [fixture.credentials], backend: fixture.backend, websocket: false, occInjection: { everyNth: 1 } })
  const sql = lib.auroraDSQLPostgres({
    host: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ssl: { ca: dsql.ca }, customCredentialsProvider: fixture.credentials,
    retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2 }
  })
  try {
    await assert.rejects(sql.begin(tx => tx`select 1`), { code: '40001' })
    const [txSpan] = named('transaction')
    assert.equal(txSpan.attributes['aws.dsql.occ.attempts'], 3)
    assert.equal(txSpan.attributes['aws.dsql.transaction.outcome'], 'commit_failed')
    assert.equal(txSpan.attributes['db.response.status_code'], '40001')
    assert.equal(txSpan.status.code, 2)
    const commits = childrenOf(txSpan).filter(s => s.attributes['db.query.text'] === 'commit')
    assert.equal(commits.length, 3)
    for (const c of commits) assert.equal(c.attributes['db.response.status_code'], '40001')
  } finally {
    await sql.end()
    await dsql.stop()
  }
}))

test('instrumented after the first query: later queries get spans; after uninstrument() none', async () => {
  const sql = lib.auroraDSQLPostgres(options())
  try {
    await sql`select 1`
    exporter.reset()
    const otel = instrument({ tracer, meter })
    await sql`select 2`
    otel.uninstrument()
    await sql`select 3`
    assert.deepEqual(queriesOnly().map(s => s.attributes['db.query.text']), ['select 2'])
  } finally {
    await sql.end()
  }
})

test('parameters as attributes only with includeParameters and traceParameters both', withOtel(async () => {
  const on = lib.auroraDSQLPostgres(options({ traceParameters: true }))
  const off = lib.auroraDSQLPostgres(options())
  try {
    await on`select ${7}::int, ${'seven'}::text`
    await off`select ${8}::int, ${'eight'}::text`
    const [a, b] = queriesOnly()
    assert.equal(a.attributes['db.query.parameter.0'], '7')
    assert.equal(a.attributes['db.query.parameter.1'], 'seven')
    assert.equal(b.attributes['db.query.parameter.0'], undefined)
    assert.ok(!everything().includes('eight'))
  } finally {
    await on.end()
    await off.end()
  }
}, { includeParameters: true }))

test('metrics: sql.stats() of an observed instance through a MetricReader', withOtel(async otel => {
  const sql = otel.observe(lib.auroraDSQLPostgres(options({ max: 3 })), { poolName: 'test-pool' })
  try {
    for (let i = 0; i < 5; i++) await sql`select ${i}::int`
    const { resourceMetrics, errors } = await reader.collect()
    assert.deepEqual(errors, [])
    const metrics = Object.fromEntries(resourceMetrics.scopeMetrics.flatMap(s => s.metrics).map(m => [m.descriptor.name, m.dataPoints]))
    const point = (name, attrs = {}) => metrics[name]?.find(p => p.attributes['db.client.connection.pool.name'] === 'test-pool' && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))
    const used = point('db.client.connection.count', { 'db.client.connection.state': 'used' })
    assert.ok(used, 'db.client.connection.count (used)')
    assert.ok(point('db.client.connection.pending_requests'))
    assert.equal(point('db.client.connection.max').value, 3)
    assert.ok(point('aws.dsql.occ.retries'))
    assert.equal(point('aws.dsql.occ.conflicts').value, 0)
    assert.ok(point('aws.dsql.queries').value >= 5, 'queries counted')
    assert.ok(point('aws.dsql.bytes.received').value > 0)
    assert.equal(point('aws.dsql.connect.attempts').value, 1)
  } finally {
    await sql.end()
  }
}))

test('instrument() twice without uninstrument() is refused', withOtel(async () => {
  assert.throws(() => instrument({ tracer, meter }), /already instrumented/)
}))

test('connect and token spans: under the query that opened the connection; a failed connect (wrong secret) has the server\'s code', withOtel(async () => {
  const secretAccessKey = 'wrong/Secret+Key/Not/Accepted/By/The/Endpoint'
  const good = lib.auroraDSQLPostgres(options({ max: 1 }))
  const bad = lib.auroraDSQLPostgres(options({ customCredentialsProvider: { ...fixture.credentials, secretAccessKey } }))
  try {
    await good`select 1`
    const [query] = named('SELECT')
    const [connect] = childrenOf(query).filter(s => s.name === 'connect')
    assert.ok(connect, 'connect span under the query')
    assert.equal(connect.status.code, 0)
    assert.equal(connect.attributes['server.address'], fixture.endpoint)
    assert.equal(connect.attributes['aws.dsql.connect.attempt'], 1)
    assert.equal(typeof connect.attributes['aws.dsql.connect.tls_ms'], 'number')
    assert.equal(childrenOf(query).filter(s => s.name === 'sign token').length, 1)
    exporter.reset()
    await assert.rejects(bad`select 2`, { code: '28000' })
    const failed = named('connect')
    assert.ok(failed.length >= 1)
    const [badQuery] = named('SELECT')
    for (const s of failed) {
      assert.equal(parentOf(s), idOf(badQuery))
      assert.equal(s.status.code, 2)
      assert.equal(s.attributes['db.response.status_code'], '28000')
      assert.equal(s.attributes['error.type'], '28000')
    }
    const all = everything()
    assert.ok(!all.includes(secretAccessKey) && !all.includes(fixture.credentials.secretAccessKey) && !all.includes('X-Amz-'), 'no secret or token')
  } finally {
    await good.end()
    await bad.end()
  }
}))
