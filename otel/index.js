'use strict'
// aurora-dsql-postgres/otel: the connector's tracing channels (js/tracing.js) as OpenTelemetry spans, and
// sql.stats() as metrics, by the database semantic conventions. Built on @opentelemetry/api, an optional
// peer dependency: the application brings it (and the SDK that records).
//
//   const { instrument } = require('aurora-dsql-postgres/otel')
//   const otel = instrument()              // the global tracer and meter, or { tracer, meter }
//   otel.observe(sql)                      // sql.stats() of this instance as metrics
//   otel.uninstrument()                    // unsubscribes, stops the metrics
//
// Spans: `transaction` (sql.begin, all OCC attempts), one CLIENT span per query (named by its command),
// `connect` per connection attempt and `sign token` per token. A query's span is the child of the active
// span where the query was awaited; connect and token spans are children of the query that made the pool
// open the connection, else roots. Invariant: no attribute holds a token, a secret or a credential, nor a
// parameter value unless both `includeParameters` here and `traceParameters: true` on the sql instance.

const { AsyncLocalStorage } = require('node:async_hooks')
const dc = require('node:diagnostics_channel')

const NAME = 'aurora-dsql-postgres'
const VERSION = require('../package.json').version

function loadApi() {
  try {
    return require('@opentelemetry/api')
  } catch (err) {
    const e = new Error("aurora-dsql-postgres/otel needs the package '@opentelemetry/api' (an optional peer dependency): npm install @opentelemetry/api")
    e.code = 'MODULE_NOT_FOUND'
    e.cause = err
    throw e
  }
}

// A SQLSTATE is five characters of [0-9A-Z]; other codes (ECONNREFUSED, CONNECTION_CLOSED) are not.
const isSqlState = code => typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)

let active = null

function instrument({ tracer, meter, includeParameters = false } = {}) {
  const api = loadApi()
  if (active !== null) throw new Error('aurora-dsql-postgres/otel: already instrumented; call uninstrument() first')
  const { trace, context, SpanKind, SpanStatusCode } = api
  tracer = tracer || trace.getTracer(NAME, VERSION)
  meter = meter || api.metrics.getMeter(NAME, VERSION)

  // Where a span made at a channel's `start` becomes the active context for what runs inside it (a
  // transaction's callback, the events a query causes): the context manager's own AsyncLocalStorage when
  // it is AsyncLocalStorageContextManager (the Node default of the SDK), so that spans the application
  // makes inside a transaction nest under it too; otherwise a store of our own, read as the parent first.
  const manager = typeof context._getContextManager === 'function' ? context._getContextManager() : null
  const managerStore = manager && manager._asyncLocalStorage instanceof AsyncLocalStorage ? manager._asyncLocalStorage : null
  const store = managerStore || new AsyncLocalStorage()
  const parent = () => managerStore ? context.active() : (store.getStore() || context.active())

  const channels = {
    query: dc.tracingChannel('aurora-dsql-postgres:query'),
    transaction: dc.tracingChannel('aurora-dsql-postgres:transaction'),
    connect: dc.tracingChannel('aurora-dsql-postgres:connect'),
    token: dc.tracingChannel('aurora-dsql-postgres:token')
  }
  const spans = new WeakMap() // channel context -> span

  const base = ctx => ({
    'db.system.name': 'postgresql',
    'server.address': ctx.serverAddress,
    'server.port': ctx.serverPort,
    'db.namespace': ctx.database,
    'aws.region': ctx.region,
    'aws.dsql.transport': ctx.transport
  })

  // Span made in the bound store's transform: it runs at `start`, in the caller's context.
  function startQuery(ctx) {
    const attributes = base(ctx)
    attributes['db.query.text'] = ctx.query
    attributes['db.operation.parameter_count'] = ctx.parameterCount
    ctx.connection !== null && (attributes['aws.dsql.connection.id'] = ctx.connection)
    attributes['aws.dsql.pipelined'] = ctx.pipelined
    if (includeParameters && Array.isArray(ctx.parameters)) {
      for (let i = 0; i < ctx.parameters.length; i++) {
        const v = ctx.parameters[i]
        attributes['db.query.parameter.' + i] = v === null || v === undefined ? 'NULL' : typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : String(v)
      }
    }
    const span = tracer.startSpan(operation(ctx.query) || 'postgresql', { kind: SpanKind.CLIENT, attributes }, parent())
    spans.set(ctx, span)
    return trace.setSpan(parent(), span)
  }

  function endQuery(ctx) {
    const span = spans.get(ctx)
    if (span === undefined) return
    spans.delete(ctx)
    ctx.command && (span.updateName(ctx.command), span.setAttribute('db.operation.name', ctx.command))
    ctx.rowCount !== null && span.setAttribute('db.response.returned_rows', ctx.rowCount)
    ctx.processId && span.setAttribute('aws.dsql.backend.pid', ctx.processId)
    ctx.retries && span.setAttribute('aws.dsql.occ.retries', ctx.retries)
    ctx.cancelled && span.setAttribute('aws.dsql.cancelled', true)
    ctx.error !== undefined && failed(span, ctx.error)
    span.end()
  }

  function failed(span, err) {
    const code = err && err.code
    isSqlState(code) && span.setAttribute('db.response.status_code', code)
    span.setAttribute('error.type', typeof code === 'string' && code ? code : (err && err.name) || 'Error')
    // The message of a server or connector error; a connect failure's holds no credential (src/core/error.rs).
    span.setStatus({ code: SpanStatusCode.ERROR, message: err && err.message })
  }

  function startTransaction(ctx) {
    const attributes = base(ctx)
    ctx.mode && (attributes['aws.dsql.transaction.mode'] = ctx.mode)
    const span = tracer.startSpan('transaction', { kind: SpanKind.INTERNAL, attributes }, parent())
    spans.set(ctx, span)
    return trace.setSpan(parent(), span)
  }

  function endTransaction(ctx) {
    const span = spans.get(ctx)
    if (span === undefined) return
    spans.delete(ctx)
    span.setAttribute('aws.dsql.occ.attempts', ctx.attempts)
    ctx.outcome && span.setAttribute('aws.dsql.transaction.outcome', ctx.outcome)
    ctx.error !== undefined && failed(span, ctx.error)
    span.end()
  }

  // Connect and token events arrive when the work is over: the span is dated back by its duration. They
  // are published in the causing query's scope (its span active) or in the connector's root scope.
  const eventParent = parent

  function connectSpan(ctx) {
    const ms = ctx.ms || {}
    const now = Date.now()
    const attributes = {
      'db.system.name': 'postgresql',
      'server.address': ctx.host,
      'server.port': ctx.port,
      'aws.region': ctx.region,
      'aws.dsql.transport': ctx.transport,
      'aws.dsql.connection.id': ctx.connection,
      'aws.dsql.connect.attempt': ctx.attempt
    }
    for (const k of ['token', 'tcp', 'tls', 'auth']) typeof ms[k] === 'number' && (attributes[`aws.dsql.connect.${k}_ms`] = ms[k])
    const span = tracer.startSpan('connect', { kind: SpanKind.CLIENT, attributes, startTime: now - (ms.total || 0) }, eventParent())
    ctx.error !== undefined && failed(span, ctx.error)
    span.end(now)
  }

  function tokenSpan(ctx) {
    const now = Date.now()
    const span = tracer.startSpan('sign token', {
      kind: SpanKind.INTERNAL,
      attributes: { 'aws.dsql.connection.id': ctx.connection, 'aws.dsql.token.credentials': ctx.credentials },
      startTime: now - (ctx.ms || 0)
    }, eventParent())
    span.end(now)
  }

  const subscribers = {
    query: { asyncEnd: endQuery },
    transaction: { asyncEnd: endTransaction },
    connect: { end: connectSpan },
    token: { end: tokenSpan }
  }
  // The query and transaction spans start in the bound stores' transforms (at `start`, in the caller's
  // context) and are the active context inside; they end at `asyncEnd`.
  channels.query.start.bindStore(store, startQuery)
  channels.transaction.start.bindStore(store, startTransaction)
  for (const k of Object.keys(subscribers)) channels[k].subscribe(subscribers[k])

  // Metrics: sql.stats() of each observed instance, read once per collection.
  const observed = new Map() // sql -> { attrs, max }
  const gauges = {
    connections: meter.createObservableUpDownCounter('db.client.connection.count', { description: 'Connections by state (idle, used)', unit: '{connection}' }),
    max: meter.createObservableUpDownCounter('db.client.connection.max', { description: 'The most connections the pool opens', unit: '{connection}' }),
    pending: meter.createObservableUpDownCounter('db.client.connection.pending_requests', { description: 'Queries and reservations waiting for a connection', unit: '{request}' }),
    opening: meter.createObservableUpDownCounter('aws.dsql.connection.opening', { description: 'Connections being opened', unit: '{connection}' }),
    reserved: meter.createObservableUpDownCounter('aws.dsql.connection.reserved', { description: 'Connections reserved (transactions, sql.reserve())', unit: '{connection}' }),
    inflight: meter.createObservableUpDownCounter('aws.dsql.queries.inflight', { description: 'Queries sent and not answered yet', unit: '{query}' })
  }
  const counters = {
    queries: ['aws.dsql.queries', 'Queries submitted', '{query}'],
    connectAttempts: ['aws.dsql.connect.attempts', 'Connection attempts', '{attempt}'],
    connectFailures: ['aws.dsql.connect.failures', 'Connection attempts that failed', '{attempt}'],
    tokensSigned: ['aws.dsql.tokens.signed', 'Authentication tokens signed', '{token}'],
    credentialResolutions: ['aws.dsql.credentials.resolutions', 'Times the AWS credentials were resolved', '{resolution}'],
    bytesIn: ['aws.dsql.bytes.received', 'Bytes received from the server', 'By'],
    bytesOut: ['aws.dsql.bytes.sent', 'Bytes sent to the server', 'By'],
    occConflicts: ['aws.dsql.occ.conflicts', 'Queries that failed with an OCC conflict', '{conflict}'],
    occRetries: ['aws.dsql.occ.retries', 'OCC retries (transactions and statements)', '{retry}']
  }
  const counterInstruments = {}
  for (const [field, [name, description, unit]] of Object.entries(counters))
    counterInstruments[field] = meter.createObservableCounter(name, { description, unit })
  const errors = meter.createObservableCounter('aws.dsql.errors', { description: 'Query errors by SQLSTATE class, and connection errors by code', unit: '{error}' })
  const all = [...Object.values(gauges), ...Object.values(counterInstruments), errors]

  function collect(result) {
    for (const [sql, { attrs, max }] of observed) {
      let s
      try { s = sql.stats() } catch { continue }
      const busy = typeof s.busy === 'number' ? s.busy : s.open - (s.idle || 0)
      typeof s.idle === 'number' && result.observe(gauges.connections, s.idle, { ...attrs, 'db.client.connection.state': 'idle' })
      result.observe(gauges.connections, busy, { ...attrs, 'db.client.connection.state': 'used' })
      typeof max === 'number' && result.observe(gauges.max, max, attrs)
      result.observe(gauges.pending, s.waiting || 0, attrs)
      typeof s.opening === 'number' && result.observe(gauges.opening, s.opening, attrs)
      result.observe(gauges.reserved, s.reserved || 0, attrs)
      result.observe(gauges.inflight, s.inflight || 0, attrs)
      for (const field of Object.keys(counters)) typeof s[field] === 'number' && result.observe(counterInstruments[field], s[field], attrs)
      if (s.errorsByClass && typeof s.errorsByClass === 'object')
        for (const [k, n] of Object.entries(s.errorsByClass)) result.observe(errors, n, { ...attrs, 'error.type': k })
    }
  }
  meter.addBatchObservableCallback(collect, all)

  const handle = {
    // sql.stats() of `sql` as metrics, with `db.client.connection.pool.name` = options.poolName (default
    // host:port/database) on every point. Returns `sql`.
    observe(sql, options = {}) {
      if (typeof sql !== 'function' || typeof sql.stats !== 'function') throw new TypeError('observe: an sql instance is required')
      const o = sql.options || {}
      const poolName = options.poolName || `${o.host}:${o.port}/${o.database}`
      observed.set(sql, { attrs: { 'db.client.connection.pool.name': poolName, 'db.system.name': 'postgresql' }, max: o.max })
      return sql
    },
    unobserve(sql) { observed.delete(sql) },
    uninstrument() {
      if (active !== handle) return
      active = null
      channels.query.start.unbindStore(store)
      channels.transaction.start.unbindStore(store)
      for (const k of Object.keys(subscribers)) channels[k].unsubscribe(subscribers[k])
      meter.removeBatchObservableCallback(collect, all)
      observed.clear()
    }
  }
  active = handle
  return handle
}

// The first keyword of a statement (SELECT, INSERT, WITH, ...) until the server's command tag replaces it.
function operation(text) {
  const m = /^\s*([A-Za-z]+)/.exec(text || '')
  return m ? m[1].toUpperCase() : ''
}

module.exports = { instrument }
