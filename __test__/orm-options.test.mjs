// sql.options as postgres.js has it, and what ORMs do with it: its parsers and serializers are plain
// objects by type OID whose edits apply to that instance's later queries (and to no other instance).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from './fixture.mjs'

const a = connect({ max: 2 })
const b = connect({ max: 2 })
after(() => Promise.all([a.end(), b.end()]))

test('postgres.js fields, mutable, shared with transactions and reserved connections', async () => {
  const o = a.options
  assert.ok(!Object.isFrozen(o))
  assert.ok(Array.isArray(o.host) && Array.isArray(o.port) && typeof o.port[0] === 'number')
  assert.equal(o.pass, null)
  assert.equal(o.user, o.username)
  assert.deepEqual(Object.keys(o.transform).sort(), ['column', 'row', 'undefined', 'value'])
  assert.deepEqual(Object.keys(o.transform.column).sort(), ['from', 'to'])
  for (const k of ['database', 'max', 'ssl', 'idle_timeout', 'connect_timeout', 'max_lifetime', 'prepare', 'debug', 'fetch_types',
    'publications', 'connection', 'types', 'onnotice', 'onparameter', 'onclose', 'keep_alive', 'backoff', 'parsers', 'serializers', 'region'])
    assert.ok(k in o, k)
  assert.equal(typeof o.parsers[1184], 'function')
  assert.equal(typeof o.serializers[1184], 'function')
  assert.equal(o.parameters, a.parameters)
  assert.equal(await a.begin(tx => tx.options), o)
  const reserved = await a.reserve()
  assert.equal(reserved.options, o)
  reserved.release()
})

test('a replaced parser gets the text form, applies to later queries, and only on its instance', async () => {
  const query = s => s`select 7::int4 as i, '2024-05-06 07:08:09+00'::timestamptz as t, true as b`
  const [before] = await query(a)
  assert.deepEqual([before.i, before.t instanceof Date, before.b], [7, true, true])
  const int4 = a.options.parsers[23]
  a.options.parsers[23] = x => 'int:' + x
  a.options.parsers[1184] = x => x
  const [edited] = await query(a)
  assert.deepEqual([edited.i, edited.t, edited.b], ['int:7', '2024-05-06 07:08:09+00', true])
  const [other] = await query(b)
  assert.deepEqual([other.i, other.t instanceof Date], [7, true], 'the other instance is unchanged')
  // Without a parser a column stays text, as in postgres.js.
  delete a.options.parsers[23]
  assert.equal((await query(a))[0].i, '7')
  // Back to the defaults: numbers and Dates again.
  a.options.parsers[23] = int4
  a.options.parsers[1184] = b.options.parsers[1184]
  const [restored] = await query(a)
  assert.deepEqual([restored.i, restored.t instanceof Date], [7, true])
  // Assigning a whole object works too.
  a.options.parsers = { ...a.options.parsers, 16: x => 'bool:' + x }
  assert.equal((await query(a))[0].b, 'bool:t')
  a.options.parsers = { ...b.options.parsers }
  assert.equal((await query(a))[0].b, true)
})

test('a replaced serializer applies to later queries of its instance only', async () => {
  const run = s => s`select ${s.typed('abc', 25)}::text as t, ${s.typed(new Date(0), 1184)}::text as d`
  assert.equal((await run(a))[0].t, 'abc')
  a.options.serializers[25] = x => x.toUpperCase()
  a.options.serializers[1184] = () => '2001-02-03 04:05:06+00'
  const [edited] = await run(a)
  assert.equal(edited.t, 'ABC')
  assert.match(edited.d, /^2001-02-03 04:05:06/)
  const [other] = await run(b)
  assert.equal(other.t, 'abc')
  assert.match(other.d, /^1970-01-01/)
  delete a.options.serializers[25]
  a.options.serializers[1184] = b.options.serializers[1184]
  assert.equal((await run(a))[0].t, 'abc')
})
