// Queries through the local DSQL endpoint (verified TLS, real SigV4 tokens): values and types,
// results, errors, pipelining, transactions, reserve, end.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect, lib } from './fixture.mjs'

const sql = connect({ max: 4 })
after(() => sql.end())

test('the issue\'s first query', async () => {
  const [row] = await sql`select ${1}::int as x, now() as t`
  assert.equal(row.x, 1)
  assert.ok(row.t instanceof Date && Math.abs(row.t - Date.now()) < 60_000)
})

test('result values follow postgres.js rules', async () => {
  const [r] = await sql`select
    1::int2 as i2, 2::int4 as i4, 9007199254740993::int8 as i8, 1.5::float4 as f4, 0.1::float8 as f8,
    12.340::numeric as num, true as b, false as bf, 'héllo'::text as t, 'x'::varchar as vc, 'ab'::char(3) as ch,
    '\\xdeadbeef'::bytea as by, '{"a":[1,2]}'::json as j, '{"b":null}'::jsonb as jb,
    '2024-02-29'::date as d, '2024-02-29 12:34:56.789+00'::timestamptz as tz,
    '11111111-2222-3333-4444-555555555555'::uuid as u, '1 day 02:03:04'::interval as iv, '12:34:56'::time as tm,
    array[1,null,3]::int4[] as ai, array['a b',null,'NULL','"q"']::text[] as at, array[[1,2],[3,4]] as nested,
    null::int as n, 1.1::float4 as f41, 'NaN'::float8 as nan`
  assert.deepEqual(
    { ...r, by: [...r.by], d: r.d.toISOString(), tz: r.tz.toISOString() },
    {
      i2: 1, i4: 2, i8: '9007199254740993', f4: 1.5, f8: 0.1, num: '12.340', b: true, bf: false, t: 'héllo', vc: 'x', ch: 'ab ',
      by: [0xde, 0xad, 0xbe, 0xef], j: { a: [1, 2] }, jb: { b: null }, d: '2024-02-29T00:00:00.000Z', tz: '2024-02-29T12:34:56.789Z',
      u: '11111111-2222-3333-4444-555555555555', iv: '1 day 02:03:04', tm: '12:34:56', ai: [1, null, 3], at: ['a b', null, 'NULL', '"q"'],
      nested: [[1, 2], [3, 4]], n: null, f41: 1.1, nan: NaN
    })
  assert.ok(Buffer.isBuffer(r.by))
})

test('a number parameter stores what its text would: binary for int2/4/8 and float8, JS\'s own text elsewhere', async () => {
  // Numbers travel as f64 and are bound in binary only where the server's type holds them exactly;
  // the rest go as String(x), so text columns, numeric and the server's errors are postgres.js's.
  const xs = [0, -0, 1, -1, 7, 1.5, 0.1 + 0.2, 1e21, 1e-7, 2 ** 31, -(2 ** 31), 2 ** 53 - 1, 2 ** 53, 123456789012, -1.25e-9, 1e30]
  for (const x of xs) {
    const [r] = await sql`select ${x}::text as t, ${x}::float8 as f8, ${x}::float8::text as f8t, ${x}::numeric::text as num,
      ${x}::float4 as f4, ${x} as inferred`
    assert.equal(r.t, String(x), `text of ${x}`)
    assert.ok(Object.is(r.f8, x === 0 ? 0 : x), `float8 of ${x}: ${r.f8}`) // JS writes -0 as "0"
    assert.equal(r.f8t, (await sql.unsafe(`select '${String(x)}'::float8::text as v`))[0].v, `float8 text of ${x}`)
    assert.equal(r.num, (await sql.unsafe(`select '${String(x)}'::numeric::text as v`))[0].v, `numeric of ${x}`)
    assert.equal(r.f4, (await sql.unsafe(`select '${String(x)}'::float4 as v`))[0].v, `float4 of ${x}`)
    assert.equal(r.inferred, String(x), `inferred (text) of ${x}`)
  }
  for (const x of [0, -0, 1, -1, 32767, -32768, 2 ** 31 - 1, -(2 ** 31)]) {
    const [r] = await sql`select ${x}::int4 as i4, ${x}::int8 as i8, ${Math.max(-32768, Math.min(32767, x))}::int2 as i2`
    assert.deepEqual([r.i4, r.i8], [x === 0 ? 0 : x, String(x === 0 ? 0 : x)])
    assert.equal(r.i2, Math.max(-32768, Math.min(32767, x)) || 0)
  }
  for (const x of [2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 60]) {
    const [r] = await sql`select ${x}::int8::text as v`
    assert.equal(r.v, String(x), `int8 of ${x}`) // 2 ** 60 as its JS text, 1152921504606847000, as postgres.js stores it
  }
  // Values the type cannot hold fail as their text does, with the same message.
  const fails = async (q) => { try { await q } catch (e) { return e.message } return 'no error' }
  assert.equal(await fails(sql`select ${1.5}::int4`), 'invalid input syntax for type integer: "1.5"')
  assert.equal(await fails(sql`select ${2 ** 31}::int4`), 'value "2147483648" is out of range for type integer')
  assert.equal(await fails(sql`select ${40000}::int2`), 'value "40000" is out of range for type smallint')
  assert.equal(await fails(sql`select ${1e21}::int8`), 'invalid input syntax for type bigint: "1e+21"')
  assert.equal(await fails(sql`select ${NaN}::int4`), 'invalid input syntax for type integer: "NaN"')
  const [special] = await sql`select ${NaN}::float8 as nan, ${Infinity}::float8 as inf, ${-Infinity}::float8 as ninf, ${NaN}::text as t`
  assert.ok(Number.isNaN(special.nan))
  assert.deepEqual([special.inf, special.ninf, special.t], [Infinity, -Infinity, 'NaN'])
  // In a table: columns of each type, and the parameters an error reports are the text sent before.
  await sql`create table if not exists num_params (i int4, b int8, f float8, t text, n numeric)`
  try {
    await sql`insert into num_params ${sql([{ i: 5, b: 2 ** 40, f: 0.1, t: 1e21, n: 0.30000000000000004 }, { i: -7, b: -3, f: -0, t: -0, n: 1e-7 }])}`
    const rows = await sql`select i, b::text as b, f, t, n::text as n from num_params order by i`
    assert.deepEqual(rows.map(r => ({ ...r })), [
      { i: -7, b: '-3', f: 0, t: '0', n: '0.0000001' },
      { i: 5, b: '1099511627776', f: 0.1, t: '1e+21', n: '0.30000000000000004' }])
    const err = await sql`insert into num_params (i) values (${1.5})`.catch(e => e)
    assert.equal(err.message, 'invalid input syntax for type integer: "1.5"')
    assert.deepEqual(err.parameters, ['1.5'])
  } finally {
    await sql`drop table num_params`
  }
  // Unprepared (unnamed statements, parameter types left to the server): the same values, as text.
  const unprepared = connect({ max: 1, prepare: false })
  try {
    const [u] = await unprepared`select ${7}::int4 as i, ${1.5}::float8 as f, ${2 ** 60}::int8::text as b, ${1e21}::text as t, ${-0}::float8 as z`
    assert.deepEqual({ ...u }, { i: 7, f: 1.5, b: '1152921504606847000', t: '1e+21', z: 0 })
    assert.ok(Object.is(u.z, 0))
    assert.equal(await fails(unprepared`select ${1.5}::int4`), 'invalid input syntax for type integer: "1.5"')
  } finally {
    await unprepared.end()
  }
})

test('rows of many shapes decode alike: every encoding with nulls, extremes, duplicate and odd names, forEach, cursor', async () => {
  // Mixed nulls and values in every encoding (i32, f64, time, bool, bytes, text with and without a parser).
  const rows = await sql`select
    case when i % 2 = 0 then null else (-2147483648 + i)::int4 end as i4, case when i = 2 then 32767::int2 end as i2,
    case when i % 3 = 0 then null else i * 0.5 end::float8 as f, 4294967295::oid as o,
    case when i = 1 then null else timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' end as t,
    case when i % 2 = 0 then i = 2 end as b, case when i = 3 then null else int4send(i) end as by,
    case when i = 2 then null else 'r ' || i end as s, case when i = 1 then null else ('{"i":' || i || '}')::jsonb end as j,
    i as "a b", 'x' as "a""q", 1 as dup, 2 as dup, 0 as "constructor"
    from generate_series(1, 4) i`
  assert.equal(rows.length, 4)
  assert.deepEqual(rows.map(r => [r.i4, r.i2, r.f, r.o, r.t && r.t.toISOString(), r.b, r.by && [...r.by], r.s, r.j, r['a b'], r['a"q'], r.dup, r.constructor]), [
    [-2147483647, null, 0.5, 4294967295, null, null, [0, 0, 0, 1], 'r 1', null, 1, 'x', 2, 0],
    [null, 32767, 1, 4294967295, '2024-01-01T00:00:02.000Z', true, [0, 0, 0, 2], null, { i: 2 }, 2, 'x', 2, 0],
    [-2147483645, null, null, 4294967295, '2024-01-01T00:00:03.000Z', null, null, 'r 3', { i: 3 }, 3, 'x', 2, 0],
    [null, null, 2, 4294967295, '2024-01-01T00:00:04.000Z', false, [0, 0, 0, 4], 'r 4', { i: 4 }, 4, 'x', 2, 0]
  ])
  assert.ok(Buffer.isBuffer(rows[0].by) && rows[0].by.buffer !== rows[1].by.buffer || rows[0].by.byteOffset !== rows[1].by.byteOffset, 'each bytea value is its own copy')
  assert.deepEqual(Object.keys(rows[0]), ['i4', 'i2', 'f', 'o', 't', 'b', 'by', 's', 'j', 'a b', 'a"q', 'dup', 'constructor'])
  const [proto] = await sql`select 1 as "__proto__", 2 as x`
  // As in postgres.js (assignment): a "__proto__" column never changes the row's prototype.
  assert.equal(Object.getPrototypeOf(proto), Object.prototype)
  assert.equal(proto.x, 2)
  const seen = []
  const done = await sql`select i from generate_series(1, 3) i`.forEach(r => seen.push(r.i))
  assert.deepEqual([seen, done.length, done.count], [[1, 2, 3], 0, 3])
  const batches = []
  for await (const b of sql`select i, i::text as s from generate_series(1, 5) i`.cursor(2)) batches.push(b.map(r => r.i + r.s))
  assert.deepEqual(batches, [['11', '22'], ['33', '44'], ['55']])
})

test('text values of every short length, ASCII and not, over many chunks, decode exactly (objects and values())', async () => {
  // Lengths 0–14 around the 12-byte short-text cut-off, ASCII (incl. 0x7f) and multi-byte, in
  // 4,000 rows (several chunks and 16 KB stretches), next to a column of long text.
  const n = 4000
  const query = () => sql`select i,
    repeat(chr(97 + i % 26), i % 15) as a,
    case i % 4 when 0 then repeat('é', i % 8) when 1 then repeat(chr(127), i % 13) when 2 then 'x' || repeat('€', i % 5) end as u,
    repeat('long ', 3 + i % 3) || i as l
    from generate_series(1, ${n}::int) i`
  const expect = i => [i, String.fromCharCode(97 + i % 26).repeat(i % 15),
    [() => 'é'.repeat(i % 8), () => '\x7f'.repeat(i % 13), () => 'x' + '€'.repeat(i % 5), () => null][i % 4](),
    'long '.repeat(3 + i % 3) + i]
  const want = Array.from({ length: n }, (_, k) => expect(k + 1))
  const rows = await query()
  assert.deepEqual(rows.map(r => [r.i, r.a, r.u, r.l]), want)
  assert.deepEqual([...await query().values()], want)
})

test('chunks larger than the frame buffer (one 300 KB row) and small ones, mixed in one backlog, decode exactly', async () => {
  // A row over 128 KB comes in a Buffer of its own; the small results around it through the frame
  // buffer, all in one delivery when fired together.
  const big = k => sql`select repeat(chr(97 + ${k}::int), 150000) || ${k}::text as s, decode(repeat('ff', 200000), 'hex') as b, ${k}::int as k`
  const small = k => sql`select i, 'v' || i || '.' || ${k}::int as v from generate_series(1, 20) i`
  const all = await Promise.all(Array.from({ length: 12 }, (_, k) => k % 3 === 1 ? big(k) : small(k)))
  all.forEach((rows, k) => {
    if (k % 3 === 1) {
      const [r] = rows
      assert.equal(r.k, k)
      assert.equal(r.s, String.fromCharCode(97 + k).repeat(150000) + k)
      assert.ok(Buffer.isBuffer(r.b) && r.b.length === 200000 && r.b.every(x => x === 0xff), `row ${k}: bytea`)
    } else {
      assert.deepEqual(rows.map(r => [r.i, r.v]), Array.from({ length: 20 }, (_, i) => [i + 1, `v${i + 1}.${k}`]), `result ${k}`)
    }
  })
})

test('one call site, parameter types that change from call to call (types are reused only while they repeat)', async () => {
  const at = (x, y) => sql`select ${x} as x, ${y} as y`
  const seen = []
  for (const [x, y] of [[1, 2], [1, 2], [true, 2], [true, new Date(0)], [Buffer.from([1]), null], [sql.json({}), 'b'], [1, true], [1, true]]) {
    const r = await at(x, y)
    seen.push(r.columns.map(c => c.type).join(','))
  }
  assert.deepEqual(seen, ['25,25', '25,25', '16,25', '16,1184', '17,25', '3802,25', '25,16', '25,16'])
})

test('parameters: inferred types, text serialization, bytea, json, null', async () => {
  const date = new Date('2020-01-02T03:04:05.678Z')
  const [r] = await sql`select ${1} as one, ${'txt'} as s, ${true} as b, ${date} as d, ${Buffer.from([1, 2])} as by,
    ${null}::int as n, ${sql.json({ k: [1] })} as j, ${10n} as big, ${[1, 2, 3]}::int[] as arr, ${3.25}::float8 as f`
  assert.equal(r.one, '1', 'an untyped parameter is text, as in postgres.js')
  assert.equal(r.s, 'txt')
  assert.equal(r.b, true)
  assert.equal(r.d.toISOString(), date.toISOString())
  assert.deepEqual([...r.by], [1, 2])
  assert.equal(r.n, null)
  assert.deepEqual(r.j, { k: [1] })
  assert.equal(r.big, '10')
  assert.deepEqual(r.arr, [1, 2, 3])
  assert.equal(r.f, 3.25)
})

test('Date parameters (bound as binary timestamptz) keep every millisecond, before 1970 and 2000 and BC too (ISO text of a BC year is not valid input); an invalid Date throws', async () => {
  const dates = ['2020-01-02T03:04:05.678Z', '1999-12-31T23:59:59.999Z', '1969-07-20T20:17:40.001Z', '0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']
    .map(s => new Date(s)).concat(new Date(Date.UTC(-43, 2, 15, 12)))
  for (const d of dates) {
    const [r] = await sql`select ${d} as d, extract(epoch from ${d}::timestamptz) * 1000 as ms`
    assert.equal(r.d.getTime(), d.getTime(), d.toISOString())
    assert.equal(Number(r.ms), d.getTime(), d.toISOString())
  }
  const [typed] = await sql`select ${sql.typed(new Date('2024-02-29T12:00:00Z'), 1082)}::text as day`
  assert.equal(typed.day, '2024-02-29', 'a Date typed as date still goes as text')
  await assert.rejects(sql`select ${new Date(NaN)} as d`, RangeError)
})

test('Result metadata: count, command, columns, statement', async () => {
  await sql`create table if not exists q_meta (id int, name text)`
  await sql`delete from q_meta`
  const ins = await sql`insert into q_meta ${sql([{ id: 1, name: 'a' }, { id: 2, name: 'b' }])}`
  assert.equal(ins.count, 2)
  assert.equal(ins.command, 'INSERT')
  const rows = await sql`select id, name from q_meta order by id`
  assert.equal(rows.count, 2)
  assert.equal(rows.command, 'SELECT')
  assert.deepEqual(rows.columns.map(c => [c.name, c.type]), [['id', 23], ['name', 25]])
  assert.ok(rows.columns[0].table > 0 && rows.columns[0].number === 1)
  assert.equal(rows.statement.string, 'select id, name from q_meta order by id')
  const upd = await sql`update q_meta set ${sql({ name: 'z' })} where id in ${sql([1, 2])}`
  assert.deepEqual([upd.count, upd.command], [2, 'UPDATE'])
  const ddl = await sql`create table if not exists q_meta2 (x int)`
  assert.deepEqual([ddl.count, ddl.command], [null, 'CREATE TABLE'])
  assert.deepEqual([...await sql`select 1 as a, 2 as b`.values()], [[1, 2]])
  const empty = await sql`select id from q_meta where false`
  assert.equal(empty.length, 0)
  assert.deepEqual(empty.columns.map(c => c.name), ['id'])
})

test('server errors are PostgresErrors with the server\'s fields, and query/parameters', async () => {
  const err = await sql`select * from no_such_table where x = ${5}`.catch(e => e)
  assert.ok(err instanceof lib.PostgresError)
  assert.equal(err.code, '42P01')
  assert.equal(err.severity, 'ERROR')
  assert.equal(err.position, '15')
  assert.match(err.message, /no_such_table/)
  assert.match(err.query, /no_such_table/)
  // As postgres.js: a statement that failed before its parameter types were known shows the values as given.
  assert.deepEqual(err.parameters, [5])
  const typed = await sql`select ${5}::int / ${0}::int as x`.catch(e => e)
  assert.deepEqual([typed.code, typed.parameters], ['22012', ['5', '0']], 'once typed: as serialized')
  assert.ok(!Object.keys(err).includes('query'), 'query is not enumerable')
  const dup = await sql`select 1/0`.catch(e => e)
  assert.equal(dup.code, '22012')
  // The connection stays usable after errors.
  assert.equal((await sql`select 2 as x`)[0].x, 2)
})

test('many queries at once are pipelined over the pool and all resolve in order of their own results', async () => {
  const n = 2000
  const results = await Promise.all(Array.from({ length: n }, (_, i) => sql`select ${i}::int as i, ${'v' + i} as s`))
  results.forEach((r, i) => assert.deepEqual(r[0], { i, s: 'v' + i }))
  assert.ok(sql.stats().connections <= 4)
})

test('a large result arrives whole, in chunks', async () => {
  const rows = await sql`select g as id, md5(g::text) as h, g * 1.5::float8 as f from generate_series(1, 50000) g`
  assert.equal(rows.length, 50000)
  assert.deepEqual(rows[49999], { id: 50000, h: '1017bfd4673955ffee4641ad3d481b1c', f: 75000 })
})

test('a result that piled up while JS was busy is decoded with event-loop turns in between', async () => {
  const query = sql`select i, repeat('x', 100) as s from generate_series(1, 100000) i`.execute()
  await new Promise(resolve => setImmediate(resolve)) // sent
  const until = Date.now() + 1500
  while (Date.now() < until); // meanwhile the whole result (about 11 MB, 85 chunks) arrives natively
  let turns = 0, done = false, last = 0, longest = 0
  const tick = () => {
    if (done) return
    const now = performance.now()
    turns++ > 0 && (longest = Math.max(longest, now - last))
    last = now
    setImmediate(tick)
  }
  setImmediate(tick)
  const rows = await query
  done = true
  assert.equal(rows.length, 100000)
  assert.equal(rows[99999].i, 100000)
  // decoded for at most 2 ms at a time (plus one chunk and the GC)
  assert.ok(turns >= 4 && longest < 40, `the event loop turned ${turns} times, the longest wait was ${longest.toFixed(1)} ms`)
})

test('begin commits, rolls back on throw, and rejects when a query inside failed even if caught', async () => {
  await sql`create table if not exists q_tx (x int)`
  await sql`delete from q_tx`
  const value = await sql.begin(async tx => {
    await tx`insert into q_tx values (1)`
    return [tx`select count(*)::int as c from q_tx`]
  })
  assert.equal(value[0][0].c, 1)
  await assert.rejects(sql.begin(async tx => {
    await tx`insert into q_tx values (2)`
    throw new Error('boom')
  }), { message: 'boom' })
  const caught = sql.begin(async tx => {
    await tx`insert into q_tx values (3)`
    await tx`select nope`.catch(() => {})
    return 'ok'
  })
  await assert.rejects(caught, { code: '42703' })
  assert.deepEqual((await sql`select x from q_tx order by x`).map(r => r.x), [1])
  await assert.rejects(sql.begin(), TypeError)
  await assert.rejects(sql.begin(async tx => tx.savepoint()), { code: 'DSQL_NOT_SUPPORTED' })
})

test('reserve pins one connection until release', async () => {
  const r = await sql.reserve()
  const [a] = await r`select pg_backend_pid() as pid`
  const [b] = await r`select pg_backend_pid() as pid`
  assert.equal(a.pid, b.pid)
  r.release()
  await assert.rejects(r`select 1`, { code: 'CONNECTION_CLOSED' })
})

test('helpers awaited alone throw NOT_TAGGED_CALL; undefined throws UNDEFINED_VALUE', async () => {
  assert.throws(() => sql('x').then(), { code: 'NOT_TAGGED_CALL' })
  await assert.rejects(sql`select ${undefined} as x`, { code: 'UNDEFINED_VALUE' })
})

test('end: running queries finish, later ones reject with CONNECTION_ENDED, the process can exit', async () => {
  const own = connect({ max: 2 })
  const running = own`select pg_sleep(0.2), 1 as x`.execute()
  await new Promise(r => setTimeout(r, 20))
  await own.end()
  assert.equal((await running)[0].x, 1)
  await assert.rejects(own`select 1`, { code: 'CONNECTION_ENDED' })
})
