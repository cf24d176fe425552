// The tracing channels (js/tracing.js) as a plain subscriber sees them, over TCP and WebSocket: the
// query context, the caller's async context, late subscribers, queries of one tick, errors, opt-in
// parameters, transactions with OCC attempts, connect/token events, and sql.stats()'s schema.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import dc from 'node:diagnostics_channel'
import { AsyncLocalStorage } from 'node:async_hooks'
import { lib, fixture, options, wsOptions } from './fixture.mjs'
import { startLocalDsql } from '../local/index.js'

const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error']

// Records every event of a channel as [event, context, store at that moment].
function record(name, als) {
  const tc = dc.tracingChannel(`aurora-dsql-postgres:${name}`)
  const events = []
  const handlers = Object.fromEntries(EVENTS.map(e => [e, ctx => events.push([e, ctx, als && als.getStore()])]))
  tc.subscribe(handlers)
  return { events, stop: () => tc.unsubscribe(handlers), of: ev => events.filter(([e]) => e === ev).map(([, c, s]) => ({ ctx: c, store: s })) }
}

for (const [transport, opts, factory] of [['tcp', options, lib.auroraDSQLPostgres], ['websocket', wsOptions, lib.auroraDSQLWsPostgres]]) {
  test(`${transport}: a query's context from start to asyncEnd, in the caller's async context; parameter values stay out`, async () => {
    const sql = factory(opts({ max: 2 }))
    const als = new AsyncLocalStorage()
    const rec = record('query', als)
    try {
      const rows = await als.run('caller-1', () => sql`select ${42}::int as x, ${'secret-value'}::text as y`)
      assert.equal(rows[0].x, 42)
      const names = rec.events.map(([e]) => e)
      assert.deepEqual(names, ['start', 'end', 'asyncStart', 'asyncEnd'])
      const [{ ctx, store }] = rec.of('start')
      assert.equal(store, 'caller-1', 'start runs in the caller\'s async context')
      assert.equal(rec.of('asyncEnd')[0].store, 'caller-1')
      assert.match(ctx.query, /^select \$1::int as x, \$2::text as y$/)
      assert.equal(ctx.parameterCount, 2)
      assert.equal('parameters' in ctx, false)
      assert.equal(ctx.command, 'SELECT')
      assert.equal(ctx.rowCount, 1)
      assert.equal(ctx.serverAddress, fixture.endpoint)
      assert.equal(ctx.serverPort, transport === 'tcp' ? fixture.port : fixture.wsPort)
      assert.equal(ctx.region, 'us-east-1')
      assert.equal(ctx.transport, transport)
      assert.equal(ctx.result, rows)
      assert.equal(ctx.retries, 0)
      assert.equal(ctx.cancelled, false)
      assert.ok(!JSON.stringify({ ...ctx, result: undefined }).includes('secret-value'))
    } finally {
      rec.stop()
      await sql.end()
    }
  })

  test(`${transport}: two queries leaving in the same tick each keep their caller's context`, async () => {
    const sql = factory(opts({ max: 1 }))
    const als = new AsyncLocalStorage()
    await sql`select 1`
    const rec = record('query', als)
    try {
      const [a, b] = await Promise.all([
        als.run('A', () => sql`select 'a' as v`),
        als.run('B', () => sql`select 'b' as v`)
      ])
      assert.equal(a[0].v, 'a')
      assert.equal(b[0].v, 'b')
      const starts = rec.of('start').map(({ ctx, store }) => [ctx.query, store])
      assert.deepEqual(starts, [["select 'a' as v", 'A'], ["select 'b' as v", 'B']])
      const ends = rec.of('asyncEnd').map(({ ctx, store }) => [ctx.query, store]).sort()
      assert.deepEqual(ends, [["select 'a' as v", 'A'], ["select 'b' as v", 'B']])
      assert.equal(rec.of('start')[1].ctx.inflight, 1, 'the second left while the first was in flight')
    } finally {
      rec.stop()
      await sql.end()
    }
  })
}

test('a subscriber attached after the first query gets the later ones; one that leaves gets no more', async () => {
  const sql = lib.auroraDSQLPostgres(options())
  try {
    await sql`select 1`
    const rec = record('query')
    await sql`select 2`
    rec.stop()
    await sql`select 3`
    assert.deepEqual(rec.of('asyncEnd').map(({ ctx }) => ctx.query), ['select 2'])
  } finally {
    await sql.end()
  }
})

test('a failed query publishes error with the PostgresError (SQLSTATE), and traceParameters: true shows values', async () => {
  const sql = lib.auroraDSQLPostgres(options({ traceParameters: true }))
  const rec = record('query')
  try {
    await assert.rejects(sql`select ${1}::int / 0`, { code: '22012' })
    assert.deepEqual(rec.events.map(([e]) => e), ['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    const { ctx } = rec.of('error')[0]
    assert.equal(ctx.error.code, '22012')
    assert.deepEqual(ctx.parameters, [1])
  } finally {
    rec.stop()
    await sql.end()
  }
  assert.throws(() => lib.auroraDSQLPostgres(options({ traceParameters: 'yes' })), /traceParameters must be a boolean/)
})

test('cancel() marks the context; a cursor\'s query is traced once', async () => {
  const sql = lib.auroraDSQLPostgres(options())
  const rec = record('query')
  try {
    const q = sql`select pg_sleep(5)`
    q.execute()
    await new Promise(resolve => setTimeout(resolve, 200))
    await q.cancel()
    await assert.rejects(q, { code: '57014' })
    let batches = 0
    for await (const rows of sql`select generate_series(1, 10) as n`.cursor(4)) batches += rows.length ? 1 : 0
    assert.equal(batches, 3)
    const done = rec.of('asyncEnd').map(({ ctx }) => ctx)
    assert.equal(done.length, 2)
    assert.equal(done[0].cancelled, true)
    assert.equal(done[0].error.code, '57014')
    assert.equal(done[1].error, undefined)
  } finally {
    rec.stop()
    await sql.end()
  }
})

test('a cursor cancelled while it waits for its connection ends its trace', async () => {
  const sql = lib.auroraDSQLPostgres(options({ max: 1 }))
  const reserved = await sql.reserve()
  const rec = record('query')
  try {
    const q = sql`select 1`.cursor(1, () => {})
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(rec.of('start').length, 1)
    await q.cancel()
    await assert.rejects(q, { code: '57014' })
    const [{ ctx }] = rec.of('asyncEnd')
    assert.equal(ctx.cancelled, true)
    assert.equal(ctx.error.code, '57014')
  } finally {
    rec.stop()
    reserved.release()
    await sql.end()
  }
})

test('transaction: OCC conflicts retried twice show three attempts; queries of an attempt run inside it', async () => {
  // Every COMMIT fails with an OCC conflict: two retries, then the conflict reaches the caller.
  const dsql = await startLocalDsql({ credentials: [fixture.credentials], backend: fixture.backend, websocket: false, occInjection: { everyNth: 1 } })
  const sql = lib.auroraDSQLPostgres({
    host: dsql.endpoint, hostaddr: dsql.hostaddr, port: dsql.port, ssl: { ca: dsql.ca }, customCredentialsProvider: fixture.credentials,
    retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2 }
  })
  const als = new AsyncLocalStorage()
  const tx = dc.tracingChannel('aurora-dsql-postgres:transaction')
  const txStore = new AsyncLocalStorage()
  tx.start.bindStore(txStore, ctx => ctx)
  const rec = record('transaction', als)
  const queries = record('query', txStore)
  try {
    await assert.rejects(als.run('caller', () => sql.begin(tx => tx`select 1`)), { code: '40001' })
    const [{ ctx, store }] = rec.of('start')
    assert.equal(store, 'caller')
    assert.equal(ctx.attempts, 3)
    assert.equal(ctx.outcome, 'commit_failed')
    assert.equal(ctx.error.code, '40001')
    assert.deepEqual(rec.events.map(([e]) => e), ['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    // begin, select, commit per attempt, each inside the transaction's store.
    const texts = queries.of('start').map(({ ctx: q, store: s }) => [q.query, s === ctx])
    assert.deepEqual(texts, Array(3).fill([['begin', true], ['select 1', true], ['commit', true]]).flat())
    const stats = sql.stats()
    assert.equal(stats.occConflicts, 3)
    assert.equal(stats.occRetries, 2)
  } finally {
    rec.stop()
    queries.stop()
    tx.start.unbindStore(txStore)
    await sql.end()
    await dsql.stop()
  }
})

test('sql.stats(): the pool\'s counters and the facade\'s, numbers all', async () => {
  const sql = lib.auroraDSQLPostgres(options())
  try {
    await sql`select 1`
    const s = sql.stats()
    const fields = ['connections', 'open', 'opening', 'idle', 'busy', 'reserved', 'inflight', 'waiting', 'queries', 'connectAttempts',
      'connectFailures', 'tokensSigned', 'credentialResolutions', 'bytesIn', 'bytesOut', 'errorsByClass', 'retried', 'occConflicts', 'occRetries']
    // At least index.d.ts's SqlStats of issue 21 (issue 20 adds fields of its own).
    for (const k of fields) k === 'errorsByClass' ? assert.equal(typeof s[k], 'object') : assert.equal(typeof s[k], 'number', k)
    assert.ok(s.open >= 1)
    assert.ok(s.queries >= 1 && s.connectAttempts >= 1 && s.tokensSigned >= 1 && s.bytesIn > 0 && s.bytesOut > 0)
  } finally {
    await sql.end()
  }
})

for (const [transport, opts, factory] of [['tcp', options, lib.auroraDSQLPostgres], ['websocket', wsOptions, lib.auroraDSQLWsPostgres]]) {
  test(`${transport}: connect and token events nest in the async context of the query that opened the connection`, async () => {
    const sql = factory(opts({ max: 1 }))
    const als = new AsyncLocalStorage()
    const connect = record('connect', als), token = record('token', als), query = record('query', als)
    try {
      await als.run('first', () => sql`select 1`)
      await als.run('second', () => sql`select 2`)
      const [c] = connect.of('end')
      assert.equal(connect.of('end').length, 1, 'one connection, opened by the first query')
      assert.equal(c.store, 'first')
      assert.equal(c.ctx.ok, true)
      assert.equal(c.ctx.code, null)
      assert.equal(c.ctx.attempt, 1)
      assert.equal(c.ctx.host, fixture.endpoint)
      assert.equal(c.ctx.port, transport === 'tcp' ? fixture.port : fixture.wsPort)
      assert.equal(c.ctx.region, 'us-east-1')
      assert.equal(c.ctx.transport, transport)
      assert.equal(c.ctx.query > 0, true)
      for (const k of ['token', 'tcp', 'tls', 'auth', 'total']) assert.equal(typeof c.ctx.ms[k], 'number', `ms.${k}`)
      assert.deepEqual(connect.events.map(([e]) => e), ['start', 'end'])
      const [t] = token.of('end')
      assert.equal(t.store, 'first')
      assert.equal(t.ctx.connection, c.ctx.connection)
      assert.ok(['cached', 'resolved'].includes(t.ctx.credentials))
      assert.equal(typeof t.ctx.ms, 'number')
      assert.ok(!JSON.stringify([c.ctx, t.ctx]).includes(fixture.credentials.secretAccessKey))
      assert.equal(query.of('start').length, 2)
    } finally {
      connect.stop(); token.stop(); query.stop()
      await sql.end()
    }
  })
}

test('a failed connect (wrong secret key): error with the server\'s code; without query subscribers the event is a root', async () => {
  const secretAccessKey = 'wrong/Secret+Key/Not/Accepted/By/The/Endpoint'
  const sql = lib.auroraDSQLPostgres(options({ customCredentialsProvider: { ...fixture.credentials, secretAccessKey } }))
  const als = new AsyncLocalStorage()
  const connect = record('connect', als), token = record('token', als)
  try {
    await assert.rejects(als.run('caller', () => sql`select 1`), { code: '28000' })
    const failures = connect.of('error')
    assert.ok(failures.length >= 1)
    for (const { ctx, store } of failures) {
      assert.equal(ctx.ok, false)
      assert.equal(ctx.code, '28000')
      assert.equal(ctx.error.code, '28000')
      assert.match(ctx.error.message, /access denied/)
      assert.equal(store, undefined, 'no query trace: published as a root')
    }
    const all = JSON.stringify([...connect.events, ...token.events].map(([, c]) => ({ ...c, message: c.error && c.error.message })))
    assert.ok(!all.includes(secretAccessKey) && !all.includes('X-Amz-'), 'no secret or token')
  } finally {
    connect.stop(); token.stop()
    await sql.end()
  }
})
