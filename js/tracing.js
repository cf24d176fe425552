'use strict'
// Tracing channels (node:diagnostics_channel, the convention undici follows): what the connector does,
// published to whoever subscribes, at no cost otherwise. Every publication is behind a `hasSubscribers`
// check made when the work starts, so a subscriber attached at any time sees the work that starts after.
//   aurora-dsql-postgres:query        one traced promise per query (tracePromise's events: subscribers run in
//                                     the caller's async context, and the resolved Result is the context's result)
//   aurora-dsql-postgres:transaction  one traced promise per sql.begin, all OCC attempts included
//   aurora-dsql-postgres:connect      one traced call per connection attempt that ended (from the pool's
//                                     EVENT frames), `error` set when it failed
//   aurora-dsql-postgres:token        one traced call per token signed (its time, never the token)
// Invariant: no context object ever holds a token, a secret or a credential; parameter values only with
// the factory option `traceParameters: true`. The types of the contexts are in index.d.ts.
// Where node:diagnostics_channel or async_hooks are missing (a browser or workerd build) the channels
// are inert and nothing is published.

let dc = null, AsyncResource = null
try {
  dc = require('node:diagnostics_channel')
  AsyncResource = require('node:async_hooks').AsyncResource
} catch {
  dc = null
}

const INERT = { hasSubscribers: false }
function channel(name) {
  if (dc === null || typeof dc.tracingChannel !== 'function') return INERT
  const tc = dc.tracingChannel(name)
  // TracingChannel.hasSubscribers is Node 20.13+; before, any of its five channels.
  if (!('hasSubscribers' in tc)) {
    Object.defineProperty(tc, 'hasSubscribers', {
      get() { return this.start.hasSubscribers || this.end.hasSubscribers || this.asyncStart.hasSubscribers || this.asyncEnd.hasSubscribers || this.error.hasSubscribers }
    })
  }
  return tc
}

const queryChannel = channel('aurora-dsql-postgres:query')
const transactionChannel = channel('aurora-dsql-postgres:transaction')
const connectChannel = channel('aurora-dsql-postgres:connect')
const tokenChannel = channel('aurora-dsql-postgres:token')

// The scope of connect/token events no query caused: made when this module loads (normally the root
// context), so such an event is a root and not a child of whatever context the completion callback has.
const ROOT_SCOPE = AsyncResource === null ? null : new AsyncResource('aurora-dsql-postgres:root')

// The context of one query, filled in as the query goes (see index.d.ts, QueryTraceContext).
class QueryTrace {
  constructor(q, env) {
    const o = env.traceOptions
    this.query = q.text
    this.parameterCount = q.givenParams ? q.givenParams.length : 0
    env.traceParameters && (this.parameters = q.givenParams)
    this.command = null
    this.rowCount = null
    this.serverAddress = o.host
    this.serverPort = o.port
    this.database = o.database
    this.region = o.region
    this.transport = o.transport
    this.connection = q.conn || null // the reserved connection (a transaction, sql.reserve()); null: the pool's choice
    this.processId = null // the server's backend process id, once answered
    this.inflight = env.client.pending.size // other queries of this pool in flight when it was sent
    this.pipelined = this.inflight >= o.max // at least as many in flight as connections: it queued behind another
    this.retries = 0 // OCC retries of an autocommit statement (retry.statements) and stale-plan re-prepares
    this.cancelled = false
  }
}

// A query's trace, with tracePromise's events and order, made by hand so that the context is complete
// at `start` (the text is built when the query runs, not when it is awaited) and the outcome is published
// before the awaiting caller resumes. `start` (and `end`) are published when the query has been built and
// is about to be sent, in the caller's async context (q.scope, captured where the query was made, by
// QueryState's constructor); `asyncStart`/`asyncEnd` (after `error` when it failed) when it settles, in the
// scope captured inside `start` (where stores bound to `start`, such as a subscriber's span, are active). That
// scope also parents the connect/token events this query causes (see publishEvent).
function startQueryTrace(query, env) {
  const q = query._state
  const ctx = new QueryTrace(q, env)
  const scope = q.scope
  q.scope = null
  q.trace = ctx
  scope !== null ? scope.runInAsyncScope(begin, null, q, ctx) : begin(q, ctx)
}

function begin(q, ctx) {
  queryChannel.start.runStores(ctx, inside, null, q, ctx)
}

function inside(q, ctx) {
  q.scope = AsyncResource === null ? null : new AsyncResource('aurora-dsql-postgres:query')
  queryChannel.end.publish(ctx)
}

// Called once the query has settled (QueryState.resolve / reject), before its promise settles.
function endQueryTrace(q, result, err) {
  const ctx = q.trace
  q.trace = null
  const scope = q.scope
  q.scope = null
  ctx.retries = q.attempts + (q.retried !== null ? 1 : 0)
  if (err === null) {
    const r = Array.isArray(q.results) && q.results.length ? q.results[q.results.length - 1] : result
    if (r !== null && typeof r === 'object') {
      typeof r.count === 'number' && (ctx.rowCount = r.count)
      typeof r.command === 'string' && (ctx.command = r.command)
      r.state && (ctx.processId = r.state.pid)
    }
    ctx.result = result
  } else {
    ctx.error = err
  }
  scope !== null ? scope.runInAsyncScope(settle, null, ctx) : settle(ctx)
}

function settle(ctx) {
  ctx.error !== undefined && queryChannel.error.publish(ctx)
  queryChannel.asyncStart.publish(ctx)
  queryChannel.asyncEnd.publish(ctx)
}

// Captures the caller's async context for the query's trace, when the query is awaited (the Query constructor).
function captureScope() {
  return AsyncResource === null ? null : new AsyncResource('aurora-dsql-postgres:query')
}

// sql.begin's traced promise; `run(ctx)` makes the attempts and records them in ctx.
function traceTransaction(run, env, mode) {
  const o = env.traceOptions
  const ctx = { mode, serverAddress: o.host, serverPort: o.port, database: o.database, region: o.region, transport: o.transport, attempts: 0, outcome: null }
  return transactionChannel.tracePromise(run, ctx, null, ctx)
}

// A connect or token EVENT frame of the pool (src/core/protocol.rs): published in the scope of the query
// that caused it (so it nests under that query's span), else as a root.
function publishEvent(buf, start, end, pending) {
  if (!connectChannel.hasSubscribers && !tokenChannel.hasSubscribers) return
  let e
  try { e = JSON.parse(buf.toString('utf8', start, end)) } catch { return }
  const tc = e.event === 'connect' ? connectChannel : e.event === 'token' ? tokenChannel : null
  if (tc === null || !tc.hasSubscribers) return
  const q = e.query ? pending.get(e.query) : undefined
  const scope = q !== undefined && q.scope ? q.scope : ROOT_SCOPE
  const ctx = e.event === 'connect' ? connectContext(e) : tokenContext(e)
  const publish = () => {
    try {
      tc.traceSync(throwFailure, ctx, null, ctx)
    } catch (err) {
      // A subscriber's own exception is its own: rethrown outside the frame decoding.
      err !== ctx.error && queueMicrotask(() => { throw err })
    }
  }
  scope !== null ? scope.runInAsyncScope(publish) : publish()
}

function throwFailure(ctx) {
  if (ctx.error !== undefined) throw ctx.error
}

const num = x => typeof x === 'number' ? x : null

function connectContext(e) {
  const ms = e.ms || {}
  const ctx = {
    query: e.query || 0, connection: e.connection, attempt: e.attempt, host: e.host, port: e.port, region: e.region,
    transport: e.transport, ok: e.ok === true, code: e.code || null,
    ms: { token: num(ms.token), tcp: num(ms.tcp), tls: num(ms.tls), auth: num(ms.auth), total: num(ms.total) }
  }
  if (!ctx.ok) ctx.error = Object.assign(new Error(e.message || 'connection failed'), { code: ctx.code })
  return ctx
}

function tokenContext(e) {
  return { query: e.query || 0, connection: e.connection, ms: num(e.ms), credentials: e.credentials }
}

module.exports = { queryChannel, transactionChannel, connectChannel, tokenChannel, captureScope, startQueryTrace, endQueryTrace, traceTransaction, publishEvent }
