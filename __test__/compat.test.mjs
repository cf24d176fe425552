// postgres.js compatibility suite: every case runs against postgres.js 3.4.9 (the oracle, connected to the
// same local DSQL endpoint the way the official connector connects) and against this package, and asserts
// the same observation (values and their JS types, Result count/command/columns, error codes and classes).
//
// A case: { name, run: async (sql, ctx) => observable, todo?, differs?, expect?, check?, side? }
// - default: the two normalized observations are deepStrictEqual.
// - differs: 'reason' → a deliberate difference: `expect.ours` is asserted, and `expect.pg` documents
//   postgres.js's behaviour (or `check(pg, ours)` does both).
// - side: 'ours' → runs on this package only (DSQL-unsupported calls, connector features); asserts `expect`.
// - todo: 'not implemented: …' | 'mismatch: …' → node:test's todo, so the suite passes while listing them
//   (set on the case, or in the `todo` table below by full test name).
// - hangs: 'reason' → skipped, because running it keeps the test process from exiting (COMPAT_HANGS=1 runs it).
// Environment: COMPAT_FILTER=<regex> runs the matching cases only; COMPAT_TRACE=1 prints both observations.
// ctx: { side, table (unique per case, dropped/created by the sides in turn), mod (postgres / our module),
//        open(options) (an own instance for this side, ended after the run), fresh(sql, columns) }.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postgres, lib, fixture, factory, websocket, pgOptions, defined, openPg, openOurs, pgSocketWithSni, raw, delay, obs, capture } from './compat/harness.mjs'

const PG = openPg()
const OURS = openOurs()
const files = mkdtempSync(join(tmpdir(), 'adp-compat-'))
after(async () => {
  await Promise.all([PG.end({ timeout: 1 }), OURS.end({ timeout: 1 })])
  rmSync(files, { recursive: true, force: true })
})

const file = (name, text) => { const path = join(files, name); writeFileSync(path, text); return path }
const selectFile = file('select.sql', 'select 1 as x')
const argsFile = file('args.sql', 'select $1::int as x, $2 as y')
const multiFile = file('multi.sql', 'select 1 as a;\nselect 2 as b')

// Value cases: `select <exprs>`, the last expression named v unless it has an alias.
const v = (name, expr, extra = {}) => ({ name, run: sql => raw(sql, 'select ' + expr + (/\bas\s+(\w+|"[^"]*")\s*$/i.test(expr) ? '' : ' as v')), ...extra })

// Runs fn with these environment variables set, restoring them afterwards.
async function withEnv(vars, fn) {
  const keep = Object.fromEntries(Object.keys(vars).map(k => [k, process.env[k]]))
  Object.assign(process.env, vars)
  try {
    return await fn()
  } finally {
    for (const [k, x] of Object.entries(keep)) x === undefined ? delete process.env[k] : process.env[k] = x
  }
}
// A database for PGDATABASE, created on the PostgreSQL behind the endpoint (DSQL itself has one database).
async function createDatabase(name) {
  const admin = postgres({ host: fixture.backend.host, port: fixture.backend.port, user: fixture.backend.user, database: 'postgres', onnotice: () => {} })
  try {
    const [{ exists }] = await admin`select exists (select 1 from pg_database where datname = ${name}) as exists`
    exists || await admin.unsafe(`create database ${name}`)
  } finally {
    await admin.end()
  }
}
const pid = async sql => (await sql`select pg_backend_pid() as pid`)[0].pid
const count = async (sql, table) => (await sql`select count(*)::int as c from ${sql(table)}`)[0].c

const groups = []
const group = (name, cases) => groups.push([name, cases])

// ---------------------------------------------------------------------------------------------------
// (1) Query building
group('build', [
  { name: 'tagged template with several parameters', run: sql => sql`select ${1}::int as a, ${'b'} as b, ${true} as c, ${null}::text as d` },
  { name: 'the same value twice is two parameters', run: async sql => { const x = 7; const r = await sql`select ${x}::int as a, ${x}::int + 1 as b`; return [r, r.statement.types] } },
  { name: 'sql(identifier) as a column alias', run: sql => sql`select 1 as ${sql('my col')}` },
  { name: 'sql(identifier) escapes double quotes', run: sql => sql`select 1 as ${sql('we"ird')}` },
  { name: 'sql("schema.table") quotes each part', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); await sql`insert into ${sql('public.' + table)} values (1)`; return sql`select * from ${sql('public.' + table)}` } },
  { name: 'sql([names]) after select is a column list', run: sql => sql`select ${sql(['a', 'b'])} from (select 1 as a, 2 as b, 3 as c) t` },
  { name: 'sql(name, ...names) is a column list', run: sql => sql`select ${sql('a', 'b')} from (select 1 as a, 2 as b, 3 as c) t` },
  { name: 'insert a single object', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, name text'); return sql`insert into ${sql(table)} ${sql({ id: 1, name: 'a' })} returning *` } },
  { name: 'insert an array of objects', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, name text'); return sql`insert into ${sql(table)} ${sql([{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, name: null }])} returning *` } },
  { name: 'insert with a column list picks those keys', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, name text'); return sql`insert into ${sql(table)} ${sql({ id: 1, name: 'a', extra: 'x' }, 'id', 'name')} returning *` } },
  { name: 'insert with columns given as an array', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, name text'); return sql`insert into ${sql(table)} ${sql([{ id: 1, name: 'a' }, { id: 2, name: 'b' }], ['id'])} returning *` } },
  { name: 'insert with an undefined value throws UNDEFINED_VALUE', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, name text'); return sql`insert into ${sql(table)} ${sql({ id: 1, name: undefined })}` } },
  { name: 'insert rows take their columns from the first row', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, name text'); return sql`insert into ${sql(table)} ${sql([{ id: 1, name: 'a' }, { id: 2 }])}` } },
  { name: 'insert with an explicit (columns) list', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, name text'); return sql`insert into ${sql(table)} (${sql(['id', 'name'])}) values (1, 'a') returning *` } },
  { name: 'returning a column list', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, name text'); return sql`insert into ${sql(table)} values (1, 'a') returning ${sql(['name', 'id'])}` } },
  { name: 'update set from an object', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, name text, n int'); await sql`insert into ${sql(table)} values (1, 'a', 1), (2, 'b', 2)`; return sql`update ${sql(table)} set ${sql({ name: 'z', n: 9 })} where id = ${1} returning *` } },
  { name: 'update set from an object with a column subset', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, name text, n int'); await sql`insert into ${sql(table)} values (1, 'a', 1)`; return sql`update ${sql(table)} set ${sql({ name: 'z', n: 9 }, 'name')} returning *` } },
  { name: 'select from an object: values as named columns', run: sql => sql`select ${sql({ a: 1, b: 'x', c: true })}` },
  { name: 'in list of numbers', run: sql => sql`select g from generate_series(1, 5) g where g in ${sql([1, 3, 5])}` },
  { name: 'in list of strings', run: sql => sql`select s from unnest(array['a','b','c']) s where s in ${sql(['a', 'c'])}` },
  { name: 'in an empty list is (null)', run: sql => sql`select g from generate_series(1, 3) g where g in ${sql([])}` },
  { name: 'values from an array of arrays', run: sql => sql`select * from (values ${sql([[1, 'a'], [2, 'b']])}) as t(n, s)` },
  { name: 'values from one object', run: sql => sql`select * from (values ${sql({ a: 1, b: 'x' })}) as t(a, b)` },
  { name: 'values from objects with a column list', run: sql => sql`select * from (values ${sql([{ a: 1, b: 'x' }, { a: 2, b: 'y' }], 'b')}) as t(b)` },
  { name: 'nested fragments continue the parameter numbering', run: async sql => { const r = await sql`select ${1}::int as a ${sql`, ${2}::int as b`}, ${3}::int as c`; return [r, r.statement.string] } },
  { name: 'three levels of nested fragments', run: async sql => { const inner = sql`${3}::int as c`; const mid = sql`${2}::int as b, ${inner}`; const r = await sql`select ${1}::int as a, ${mid}, ${4}::int as d`; return [r, r.statement.string] } },
  { name: 'a conditional fragment (included)', run: sql => { const id = 2; return sql`select g from generate_series(1, 3) g ${id ? sql`where g = ${id}` : sql``}` } },
  { name: 'a conditional fragment (the empty fragment)', run: sql => { const id = 0; return sql`select g from generate_series(1, 3) g ${id ? sql`where g = ${id}` : sql``}` } },
  { name: 'the empty fragment alone in a template', run: async sql => { const r = await sql`select 1 as x ${sql``}`; return [r, r.statement.string] } },
  { name: 'an array of fragments is joined', run: async sql => { const r = await sql`select ${[sql`${1}::int as a,`, sql`${2}::int as b`]}`; return [r, r.statement.string] } },
  { name: 'the same fragment twice', run: async sql => { const f = sql`${5}::int`; const r = await sql`select ${f} as a, ${f} as b`; return [r, r.statement.string] } },
  { name: 'a fragment with an identifier and an in list', run: sql => sql`select g from generate_series(1, 5) g ${sql`where ${sql('g')} in ${sql([2, 4])}`}` },
  { name: 'sql.unsafe with args', run: sql => sql.unsafe('select $1::int as x, $2 as y', [1, 'a']) },
  { name: 'sql.unsafe with args and { prepare: true }', run: sql => sql.unsafe('select $1::int as x', [1], { prepare: true }) },
  { name: 'sql.unsafe(text, options) without args', run: sql => sql.unsafe('select 1 as x', { prepare: true }) },
  { name: 'sql.unsafe without args (single statement)', run: sql => sql.unsafe('select 1::int as x, true as b') },
  { name: 'sql.unsafe with several statements gives an array of Results', run: sql => sql.unsafe('select 1::int as a; select \'x\' as b') },
  { name: 'sql.unsafe nested in a template is inlined', run: async sql => { const r = await sql`select ${sql.unsafe('1 + 1')} as x, ${2}::int as y`; return [r, r.statement.string] } },
  { name: 'sql.unsafe nested as a table name', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); await sql`insert into ${sql.unsafe(table)} values (1)`; return sql`select * from ${sql.unsafe(table)}` } },
  {
    name: 'sql.unsafe with args nested in a template', differs: 'ours binds the nested unsafe args (renumbered); postgres.js drops them, so its $1 is the outer first parameter',
    run: sql => sql`select ${2}::int as a, ${sql.unsafe('$1::int as b', [5])}`,
    expect: {
      pg: { rows: [{ a: 2, b: 2 }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 23 }, { name: 'b', type: 23 }] },
      ours: { rows: [{ a: 2, b: 5 }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 23 }, { name: 'b', type: 23 }] }
    }
  },
  { name: 'sql.file', run: sql => sql.file(selectFile) },
  { name: 'sql.file with args', run: sql => sql.file(argsFile, [5, 'y']) },
  { name: 'sql.file with several statements', run: sql => sql.file(multiFile) },
  { name: 'sql.file of a missing file rejects with ENOENT', run: sql => sql.file(join(files, 'missing.sql')) },
  { name: 'sql.typed(value, oid)', run: async sql => { const r = await sql`select ${sql.typed('1', 23)} as v`; return [r, r.statement.types] } },
  { name: 'sql.typed with a timestamptz oid', run: sql => sql`select ${sql.typed('2020-01-02T03:04:05Z', 1184)} as v` },
  { name: 'sql.typed inside an insert helper', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int8, name text'); return sql`insert into ${sql(table)} ${sql({ id: sql.typed('5', 20), name: 'a' })} returning *` } },
  { name: 'sql.types is the typed function', run: sql => sql`select ${sql.types('1', 23)} as v` },
  { name: 'sql.array of numbers is text[]', run: sql => sql`select ${sql.array([1, 2, 3])} as v` },
  { name: 'sql.array with an element oid', run: sql => sql`select ${sql.array([1, 2], 23)} as v` },
  { name: 'sql.array of strings', run: sql => sql`select ${sql.array(['a', 'b"c', 'd,e', ''])} as v` },
  { name: 'sql.array of booleans', run: sql => sql`select ${sql.array([true, false])} as v` },
  { name: 'sql.array empty, cast', run: sql => sql`select ${sql.array([])}::int[] as v` },
  { name: 'sql.array(a, b, c) varargs', run: sql => sql`select ${sql.array(1, 2, 3)} as v` },
  { name: 'sql.array nested', run: sql => sql`select ${sql.array([[1, 2], [3, 4]], 23)} as v` },
  { name: 'sql.json of an object', run: async sql => { const r = await sql`select ${sql.json({ a: [1, { b: null }] })} as v`; return [r, r.statement.types] } },
  { name: 'sql.json of an array', run: sql => sql`select ${sql.json([1, 'a', null])} as v` },
  { name: 'sql.json of a string', run: sql => sql`select ${sql.json('x')} as v` },
  { name: 'sql.json of a number and of null', run: sql => sql`select ${sql.json(5)} as a, ${sql.json(null)} as b` },
  { name: 'awaiting sql(identifier) throws NOT_TAGGED_CALL', run: async sql => await sql('x') },
  { name: 'awaiting sql(object) throws NOT_TAGGED_CALL', run: async sql => await sql({ a: 1 }) },
  { name: 'awaiting sql.json throws NOT_TAGGED_CALL', run: async sql => await sql.json({ a: 1 }) },
  { name: 'awaiting sql.array throws NOT_TAGGED_CALL', run: async sql => await sql.array([1]) },
  { name: 'awaiting sql.typed throws NOT_TAGGED_CALL', run: async sql => await sql.typed(1, 23) },
  { name: 'undefined parameter throws UNDEFINED_VALUE', run: sql => sql`select ${undefined} as x` },
  { name: 'undefined inside an array parameter throws UNDEFINED_VALUE', run: sql => sql`select ${[1, undefined]}::int[] as x` },
  { name: '65533 parameters are fine', run: async sql => (await sql`select 1 as x where 1 in ${sql(Array.from({ length: 65533 }, (_, i) => i))}`).count },
  { name: '65534 parameters throw MAX_PARAMETERS_EXCEEDED', run: async sql => (await sql`select 1 as x where 1 in ${sql(Array.from({ length: 65534 }, (_, i) => i))}`).count }
])

// ---------------------------------------------------------------------------------------------------
// (2) Query objects
group('query', [
  {
    name: 'a query is lazy until awaited',
    run: async (sql, { table, fresh }) => {
      await fresh(sql, 'id int')
      const q = sql`insert into ${sql(table)} values (1)`
      await delay(50)
      const before = await count(sql, table)
      await q
      return [before, await count(sql, table)]
    }
  },
  {
    name: '.execute() sends it without awaiting, and returns the query',
    run: async (sql, { table, fresh }) => {
      await fresh(sql, 'id int')
      const q = sql`insert into ${sql(table)} values (1)`
      const same = q.execute() === q
      await delay(100)
      const c = await count(sql, table)
      return [same, c, await q]
    }
  },
  {
    name: 'awaiting a query twice runs it once',
    run: async (sql, { table, fresh }) => {
      await fresh(sql, 'id int')
      const q = sql`insert into ${sql(table)} values (1)`
      await q; await q
      return count(sql, table)
    }
  },
  { name: 'a query is a Promise', run: sql => { const q = sql`select 1`; const out = [q instanceof Promise, typeof q.then]; q.catch(() => {}); return out } },
  { name: '.values() gives rows as arrays', run: sql => sql`select 1 as a, 'x' as b, null::int as c`.values() },
  { name: '.values() keeps duplicate column names apart', run: sql => sql`select 1 as a, 2 as a`.values() },
  { name: '.raw() gives Buffers of the text values', run: sql => sql`select 1 as a, 'héllo' as b, null::text as c, true as d, '\\x0102'::bytea as e`.raw() },
  { name: '.describe() without parameters', run: async sql => { const d = await sql`select 1::int as a, 'x'::text as b`.describe(); return { string: d.string, types: d.types, columns: d.columns.map(c => [c.name, c.type]) } } },
  { name: '.describe() with parameters', run: async sql => { const d = await sql`select ${1}::int as a, ${'x'} || 'y' as b, ${new Date(0)} as c`.describe(); return { string: d.string, types: d.types, columns: d.columns.map(c => [c.name, c.type]) } } },
  { name: '.describe() does not execute', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); await sql`insert into ${sql(table)} values (${1})`.describe(); return count(sql, table) } },
  { name: '.cursor(n) as an async iterator gives batches', run: async sql => { const batches = []; for await (const rows of sql`select g from generate_series(1, 10) g`.cursor(3)) batches.push(Array.from(rows, obs)); return batches } },
  { name: '.cursor() defaults to one row per batch', run: async sql => { const batches = []; for await (const rows of sql`select g from generate_series(1, 3) g`.cursor()) batches.push(Array.from(rows, obs)); return batches } },
  {
    name: '.cursor() left early, then the connection is usable',
    run: async sql => {
      const batches = []
      for await (const rows of sql`select g from generate_series(1, 100) g`.cursor(10)) { batches.push(rows.length); if (batches.length === 2) break }
      return [batches, await sql`select 1 as x`]
    }
  },
  { name: '.cursor(n, fn) callback form', run: async sql => { const batches = []; await sql`select g from generate_series(1, 5) g`.cursor(2, rows => { batches.push(Array.from(rows, obs)) }); return batches } },
  { name: '.cursor(n, fn) stops when fn returns sql.CLOSE', run: async sql => { const batches = []; await sql`select g from generate_series(1, 10) g`.cursor(2, rows => { batches.push(Array.from(rows, obs)); return batches.length === 2 ? sql.CLOSE : undefined }); return [batches, await sql`select 1 as x`] } },
  { name: '.cursor() with a parameter', run: async sql => { const batches = []; for await (const rows of sql`select g from generate_series(1, ${4}::int) g`.cursor(2)) batches.push(Array.from(rows, obs)); return batches } },
  { name: '.cursor() rejects with the server error', run: async sql => { const batches = []; for await (const rows of sql`select 1 / (g - 3) as x from generate_series(1, 5) g`.cursor(1)) batches.push(Array.from(rows, obs)); return batches } },
  { name: '.forEach() calls fn per row and resolves to an empty Result', run: async sql => { const rows = []; const r = await sql`select g from generate_series(1, 3) g`.forEach(row => rows.push(row)); return [rows, r] } },
  { name: '.forEach() rejects with the server error', run: async sql => { const rows = []; return sql`select 1 / (g - 2) as x from generate_series(1, 3) g`.forEach(row => rows.push(row)) } },
  { name: '.simple() with several statements', run: sql => sql`select 1::int as a, 'x' as b; select true as c`.simple() },
  { name: '.simple() with one statement', run: sql => sql`select 1::int as a, now()::date = current_date as today, '{1,2}'::int[] as arr`.simple() },
  { name: '.simple() with DML and a select', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); return raw(sql, `insert into ${table} values (1), (2); select * from ${table}`).simple() } },
  {
    name: '.cancel() a running query rejects it with 57014',
    run: async (sql, { open }) => {
      const own = open({ max: 1 })
      await own`select 1`
      const q = own`select pg_sleep(2)`
      q.execute()
      await delay(200)
      await q.cancel()
      return q
    }
  },
  { name: '.cancel() before it runs rejects it with 57014', run: async sql => { const q = sql`select 1 as x`; q.cancel(); return q } },
  { name: 'a failed query leaves the pool usable', run: async sql => [await sql`select nope`.catch(e => e), await sql`select 1 as x`] },
  { name: 'errors are isolated among pipelined queries', run: async sql => (await Promise.allSettled([sql`select 1 as x`, sql`select 1/0 as x`, sql`select 3 as x`])).map(x => x.status === 'fulfilled' ? x.value : x.reason) }
])

// ---------------------------------------------------------------------------------------------------
// (3a) Result values by type
group('result type', [
  v('int2, int4, oid', "1::int2 as a, (-2147483648)::int4 as b, '4000000000'::oid as c, 0::int4"),
  v('int8 is a string', '9223372036854775807::int8'),
  v('count(*) is an int8 string', 'count(*) from generate_series(1, 3)'),
  v('numeric keeps its text', '12345678901234567890.123450::numeric'),
  v('numeric NaN', "'NaN'::numeric"),
  v('float4', '1.1::float4 as a, 3.4028235e38::float4 as b, -0.5::float4'),
  v('float8', '0.1::float8 + 0.2::float8 as a, 1e300::float8 as b, 5e-324::float8 as c, -0::float8'),
  v('float NaN and infinities', "'NaN'::float8 as a, 'Infinity'::float8 as b, '-Infinity'::float4 as c, 'NaN'::float4"),
  v('money is a string', "12.34::money as a, (-1.5)::money"),
  v('bool', 'true as a, false as b, null::bool'),
  v('text, varchar, char(n), name', "'héllo ☃ 😀'::text as a, 'x'::varchar(5) as b, 'ab'::char(4) as c, 'nm'::name as d, ''::text"),
  v('bytea', "'\\xdeadbeef00'::bytea as a, ''::bytea as b"),
  v('json', `'{"a":[1,2,{"b":null}],"c":"d"}'::json`),
  v('json scalars', `'"s"'::json as a, '1.5'::json as b, 'null'::json as c, 'true'::json as d, '[]'::jsonb`),
  v('jsonb normalizes key order', `'{"b":1,"a":2,"a":3}'::jsonb`),
  v('json with a large number', `'{"n":12345678901234567890}'::json`),
  v('date', "'2024-02-29'::date as a, '1970-01-01'::date as b"),
  v('timestamp without zone', "'2024-02-29 12:34:56.789'::timestamp"),
  v('timestamptz', "'2024-02-29 12:34:56.789+02'::timestamptz as a, '1900-01-01 00:00:00+00'::timestamptz as b"),
  v('timestamptz with microseconds', "'2024-02-29 12:34:56.123456+00'::timestamptz"),
  v('infinity timestamps and dates', "'infinity'::timestamptz as a, '-infinity'::timestamp as b, 'infinity'::date as c"),
  v('BC dates', "'0044-03-15 BC'::date as a, '0001-01-01 00:00:00+00 BC'::timestamptz as b", {
    differs: 'BC dates are real Dates in ours (44 BC is astronomical year -43); postgres.js parses them as Invalid Date',
    expect: {
      pg: { rows: [{ a: { date: 'Invalid Date' }, b: { date: 'Invalid Date' } }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 1082 }, { name: 'b', type: 1184 }] },
      ours: { rows: [{ a: { date: '-000043-03-15T00:00:00.000Z' }, b: { date: '0000-01-01T00:00:00.000Z' } }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 1082 }, { name: 'b', type: 1184 }] }
    }
  }),
  v('year 10000', "'10000-01-01'::date"),
  v('time and timetz are strings', "'12:34:56.789'::time as a, '23:59:59+02'::timetz as b"),
  v('interval is a string', "'1 year 2 mons 3 days 04:05:06.7'::interval as a, '-1 day'::interval as b, '0'::interval as c"),
  v('uuid', "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid"),
  v('inet, cidr, macaddr', "'192.168.0.1/24'::inet as a, '10.0.0.0/8'::cidr as b, '08:00:2b:01:02:03'::macaddr as c, '::1'::inet"),
  v('bit and varbit', "B'101'::bit(3) as a, B'1'::varbit as b"),
  v('geometric types are strings', "point(1, 2) as a, box(point(0,0), point(1,1)) as b, circle(point(0,0), 1) as c"),
  v('a record is a string', "row(1, 'a b', null)"),
  v('void', 'pg_sleep(0)'),
  v('unknown literal is text', "'abc'"),
  v('null of several types', 'null::int as a, null::text as b, null::date as c, null::json as d, null::int[] as e, null::bytea as f'),
  v('duplicate column names: the last wins', '1 as a, 2 as a, 3 as b'),
  v('unnamed columns', '1, 2'),
  v('column names with spaces and quotes', `1 as "a b", 2 as "c""d", 3 as "É"`),
  v('regclass and regtype are strings', "'pg_class'::regclass as a, 'int4'::regtype as b", {
    differs: 'results arrive in binary, where a reg* value is an OID; its name needs a catalog lookup, so ours gives the OID number',
    expect: {
      pg: { rows: [{ a: 'pg_class', b: 'integer' }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 2205 }, { name: 'b', type: 2206 }] },
      ours: { rows: [{ a: '1259', b: '23' }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 2205 }, { name: 'b', type: 2206 }] }
    }
  }),
  v('tsvector', "to_tsvector('simple', 'a b')"),
  v('int4 array, nested and empty', "array[1,2,3] as a, array[[1,2],[3,4]] as b, '{}'::int[] as c"),
  v('text array with quoting', `array['a b', 'c,d', 'e"f', 'g\\h', '', '{x}', 'NULLX'] as a`),
  v('bool, float8, numeric, int8 arrays', "array[true,false] as a, array[1.5,'NaN']::float8[] as b, array[1.10, 2]::numeric[] as c, array[9007199254740993]::int8[] as d"),
  v('date and timestamptz arrays', "array['2024-01-02'::date] as a, array['2024-01-02 03:04:05+00'::timestamptz] as b"),
  v('json and jsonb arrays', `array['{"a":1}'::json, '[2]'::json] as a, array['{"b":"x y"}'::jsonb] as b`),
  v('bytea, uuid, interval arrays', "array['\\x01'::bytea, '\\x'::bytea] as a, array['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid] as b, array['1 day'::interval] as c"),
  v('box array uses the ; delimiter', "array[box(point(0,0), point(1,1)), box(point(2,2), point(3,3))]"),
  v('varchar and char arrays', "array['a', 'b c']::varchar[] as a, array['x']::char(2)[] as b"),
  {
    name: 'array with explicit bounds', differs: 'the [2:3]= bounds prefix is skipped (postgres.js nests the elements one level deeper)',
    run: sql => sql`select '[2:3]={1,2}'::int[] as v`,
    expect: {
      pg: { rows: [{ v: [[1, 2]] }], count: 1, command: 'SELECT', columns: [{ name: 'v', type: 1007 }] },
      ours: { rows: [{ v: [1, 2] }], count: 1, command: 'SELECT', columns: [{ name: 'v', type: 1007 }] }
    }
  },
  v('3-d array', "'{{{1,2},{3,4}},{{5,6},{7,8}}}'::int[]"),
  {
    name: 'int4 array with NULLs', differs: 'NULL elements are null (postgres.js parses them as NaN)',
    run: sql => sql`select array[1, null, 3] as v`,
    expect: {
      pg: { rows: [{ v: [1, { number: 'NaN' }, 3] }], count: 1, command: 'SELECT', columns: [{ name: 'v', type: 1007 }] },
      ours: { rows: [{ v: [1, null, 3] }], count: 1, command: 'SELECT', columns: [{ name: 'v', type: 1007 }] }
    }
  },
  {
    name: 'text array with NULLs', differs: "NULL elements are null (postgres.js gives the string 'NULL'), a quoted \"NULL\" stays a string",
    run: sql => sql`select array['a', null, 'NULL'] as v`,
    expect: {
      pg: { rows: [{ v: ['a', 'NULL', 'NULL'] }], count: 1, command: 'SELECT', columns: [{ name: 'v', type: 1009 }] },
      ours: { rows: [{ v: ['a', null, 'NULL'] }], count: 1, command: 'SELECT', columns: [{ name: 'v', type: 1009 }] }
    }
  },
  {
    name: 'date and bool arrays with NULLs', differs: 'NULL elements are null (postgres.js: Invalid Date, false)',
    run: sql => sql`select array['2024-01-02'::date, null] as a, array[true, null] as b`,
    expect: {
      pg: { rows: [{ a: [{ date: '2024-01-02T00:00:00.000Z' }, { date: 'Invalid Date' }], b: [true, false] }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 1182 }, { name: 'b', type: 1000 }] },
      ours: { rows: [{ a: [{ date: '2024-01-02T00:00:00.000Z' }, null], b: [true, null] }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 1182 }, { name: 'b', type: 1000 }] }
    }
  },
  // Each side re-creates the enum, so its OIDs differ: the columns compare as [name, user-defined type].
  { name: 'an enum is a string', run: async (sql, { table }) => { await sql.unsafe(`drop type if exists ${table}_mood`); await sql.unsafe(`create type ${table}_mood as enum ('sad', 'ok')`); const r = await raw(sql, `select 'ok'::${table}_mood as v, array['sad']::${table}_mood[] as a`); return [[...r], r.count, r.command, r.columns.map(c => [c.name, c.type >= 16384])] } },
  { name: 'table columns: table oid and number', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, name text'); const r = await sql`select name, id, 1 as k from ${sql(table)}`; return r.columns.map(c => [c.name, c.type, c.table > 0, c.number]) } },
  { name: 'a large result', run: async sql => { const r = await sql`select g, md5(g::text) as h from generate_series(1, 20000) g`; return [r.length, r.count, obs(r[0]), obs(r[19999])] } }
])

// (3b) Parameters: inferred types and text serialization
group('parameter', [
  { name: 'an untyped number is text', run: async sql => { const r = await sql`select ${1} as a, ${1.5} as b, ${-0} as c`; return [r, r.statement.types] } },
  { name: 'numbers cast on the server', run: sql => sql`select ${1}::int as a, ${1.5}::float8 as b, ${2}::int8 as c, ${'3.25'}::numeric as d` },
  { name: 'NaN and Infinity numbers', run: sql => sql`select ${NaN}::float8 as a, ${Infinity}::float8 as b, ${-Infinity}::float8 as c` },
  { name: 'a large or tiny number', run: sql => sql`select ${1e21} as a, ${1e21}::float8 as b, ${5e-324}::float8 as c` },
  { name: 'strings', run: sql => sql`select ${'héllo ☃'} as a, ${''} as b, ${"it's \"q\" \\ x"} as c` },
  { name: 'a boolean is bool (16)', run: async sql => { const r = await sql`select ${true} as a, ${false} as b`; return [r, r.statement.types] } },
  { name: 'a boolean in a text context', run: sql => sql`select ${true}::text as a` },
  { name: 'a Date is timestamptz (1184)', run: async sql => { const r = await sql`select ${new Date('2020-01-02T03:04:05.678Z')} as a`; return [r, r.statement.types] } },
  { name: 'a Date to date and timestamp', run: sql => sql`select ${new Date('2020-01-02T03:04:05.678Z')}::date as a, ${new Date('2020-01-02T03:04:05.678Z')}::timestamp as b` },
  { name: 'a Buffer is bytea (17)', run: async sql => { const r = await sql`select ${Buffer.from([0, 1, 255])} as a, ${Buffer.alloc(0)} as b`; return [r, r.statement.types] } },
  { name: 'a Uint8Array is bytea', run: sql => sql`select ${new Uint8Array([1, 2, 3])} as a` },
  { name: 'a bigint is int8 (20)', run: async sql => { const r = await sql`select ${9007199254740993n} as a, ${-5n} as b`; return [r, r.statement.types] } },
  { name: 'null, untyped and cast', run: sql => sql`select ${null} as a, ${null}::int as b, ${null}::json as c` },
  { name: 'an object to json and jsonb', run: sql => sql`select ${{ a: 1, b: [true] }}::json as a, ${{ c: null }}::jsonb as b` },
  { name: 'an array to json', run: sql => sql`select ${[1, 2]}::json as a` },
  { name: 'an array of objects to jsonb', run: sql => sql`select ${[{ a: 1 }]}::jsonb as a` },
  {
    name: 'an object in a text context', differs: 'plain objects are sent as JSON (postgres.js sends String(object))',
    run: sql => sql`select ${{ a: 1 }} as v`,
    expect: {
      pg: { rows: [{ v: '[object Object]' }], count: 1, command: 'SELECT', columns: [{ name: 'v', type: 25 }] },
      ours: { rows: [{ v: '{"a":1}' }], count: 1, command: 'SELECT', columns: [{ name: 'v', type: 25 }] }
    }
  },
  {
    name: 'a JSON string bound to jsonb', differs: 'a string bound to json/jsonb is not JSON-encoded again (postgres.js stores a JSON string)',
    run: sql => sql`select ${'{"a":1}'}::jsonb as v`,
    expect: {
      pg: { rows: [{ v: '{"a":1}' }], count: 1, command: 'SELECT', columns: [{ name: 'v', type: 3802 }] },
      ours: { rows: [{ v: { a: 1 } }], count: 1, command: 'SELECT', columns: [{ name: 'v', type: 3802 }] }
    }
  },
  { name: 'a string array in a text context', run: async sql => { const r = await sql`select ${['a', 'b c', 'd"e', 'f\\g', '']} as a`; return [r, r.statement.types] } },
  { name: 'a string array cast to text[]', run: sql => sql`select ${['a', 'b c', 'd"e', 'f\\g', '', 'NULL']}::text[] as a` },
  { name: 'a number array cast to int[]', run: sql => sql`select ${[1, 2, 3]}::int[] as a` },
  { name: 'a number array in a text context', run: sql => sql`select ${[1, 2]} as a` },
  { name: 'a nested number array', run: sql => sql`select ${[[1, 2], [3, 4]]}::int[] as a` },
  { name: 'an array with null elements', run: sql => sql`select ${[1, null, 3]}::int[]::text as a, ${['a', null]}::text as b` },
  {
    name: 'a boolean array is bool[]', differs: 'an array parameter gets the array type of its first element (postgres.js types it as the element: bool, and sends \'f\')',
    run: async sql => { const r = await sql`select ${[true, false]} as a`; return [r, r.statement.types] },
    expect: {
      pg: [{ rows: [{ a: false }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 16 }] }, [16]],
      ours: [{ rows: [{ a: [true, false] }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 1000 }] }, [1000]]
    }
  },
  {
    name: 'a Date array is timestamptz[]', differs: 'an array parameter gets the array type of its first element (postgres.js types it as timestamptz and sends one date)',
    run: async sql => { const r = await sql`select ${[new Date('2020-01-02T00:00:00Z')]} as a`; return [r, r.statement.types] },
    expect: {
      pg: [{ rows: [{ a: { date: '2020-01-02T00:00:00.000Z' } }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 1184 }] }, [1184]],
      ours: [{ rows: [{ a: [{ date: '2020-01-02T00:00:00.000Z' }] }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 1185 }] }, [1185]]
    }
  },
  {
    name: 'a Buffer array is bytea[]', differs: 'an array parameter gets the array type of its first element (postgres.js types it as bytea and sends zero bytes)',
    run: sql => sql`select ${[Buffer.from('a'), Buffer.from([0, 255])]} as a`,
    expect: {
      pg: { rows: [{ a: { buffer: '0000' } }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 17 }] },
      ours: { rows: [{ a: [{ buffer: '61' }, { buffer: '00ff' }] }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 1001 }] }
    }
  },
  {
    name: 'a bigint array is int8[]', differs: 'an array parameter gets the array type of its first element (postgres.js types it as int8 and sends \'1,2\')',
    run: sql => sql`select ${[1n, 2n]} as a`,
    expect: {
      pg: { error: '22P02', class: 'PostgresError' },
      ours: { rows: [{ a: ['1', '2'] }], count: 1, command: 'SELECT', columns: [{ name: 'a', type: 1016 }] }
    }
  },
  { name: 'an empty array cast', run: sql => sql`select ${[]}::int[] as a, ${[]}::text[] as b` },
  { name: 'values to typed columns (server-inferred types)', run: async (sql, { table, fresh }) => { await fresh(sql, 'i int, f float8, n numeric, t text, b bool, d date, j jsonb'); return sql`insert into ${sql(table)} values (${1}, ${1.5}, ${'2.50'}, ${3}, ${true}, ${'2024-01-02'}, ${{ k: 'v' }}) returning *` } },
  {
    name: 'a string to a bool column', differs: "strings are sent as they are (postgres.js's bool serializer sends 'f' for anything but true)",
    run: async (sql, { table, fresh }) => { await fresh(sql, 'b bool, c bool'); return sql`insert into ${sql(table)} values (${'t'}, ${'false'}) returning *` },
    expect: {
      pg: { rows: [{ b: false, c: false }], count: 1, command: 'INSERT', columns: [{ name: 'b', type: 16 }, { name: 'c', type: 16 }] },
      ours: { rows: [{ b: true, c: false }], count: 1, command: 'INSERT', columns: [{ name: 'b', type: 16 }, { name: 'c', type: 16 }] }
    }
  },
  { name: 'a Date string to a date column', run: async (sql, { table, fresh }) => { await fresh(sql, 'd date, ts timestamptz'); return sql`insert into ${sql(table)} values (${new Date('2024-05-06T00:00:00Z')}, ${'2024-05-06T07:08:09Z'}) returning *` } },
  { name: 'invalid input for the type rejects with 22P02', run: sql => sql`select ${'abc'}::int as a` }
])

// (3c) Custom types and BigInt
group('types', [
  {
    name: 'a custom type: sql.types.name, serialize and parse',
    run: async (sql, { open }) => {
      const own = open({ types: { point: { to: 600, from: [600], serialize: ([x, y]) => '(' + x + ',' + y + ')', parse: s => s.slice(1, -1).split(',').map(Number) } } })
      const r = await own`select ${own.types.point([1, 2])} as p, point(3, 4) as q`
      return [r, r.statement.types, typeof own.types.point]
    }
  },
  { name: 'a custom parser for int4', run: (sql, { open }) => open({ types: { int: { to: 23, from: [23], serialize: x => '' + x, parse: x => 'int:' + x } } })`select 1::int as a, array[2]::int[] as b` },
  { name: 'a custom type without parse makes its OIDs strings', run: (sql, { open }) => open({ types: { int: { to: 23, from: [23] } } })`select 1::int as a` },
  { name: 'a custom parser for date', run: (sql, { open }) => open({ types: { date: { to: 1082, from: [1082], serialize: x => x, parse: x => 'D' + x } } })`select '2024-01-02'::date as a, '2024-01-02 00:00:00+00'::timestamptz as b` },
  { name: 'a custom parser for timestamptz', run: (sql, { open }) => open({ types: { tz: { to: 1184, from: [1184], serialize: x => x, parse: x => x } } })`select '2024-01-02 03:04:05+00'::timestamptz as a` },
  { name: 'a custom serializer by oid', run: (sql, { open }) => { const own = open({ types: { up: { to: 25, from: [], serialize: x => String(x).toUpperCase() } } }); return own`select ${own.types.up('abc')} as a` } },
  { name: 'types: { bigint: postgres.BigInt } reads int8 as BigInt', run: (sql, { open, mod }) => open({ types: { bigint: mod.BigInt } })`select 9223372036854775807::int8 as a, count(*) as c, array[1, 2]::int8[] as d, 1::int as e` },
  { name: 'types: { bigint } serializes BigInt parameters', run: async (sql, { open, mod }) => { const own = open({ types: { bigint: mod.BigInt } }); const r = await own`select ${9223372036854775807n}::numeric as a, ${own.types.bigint(5n)} as b`; return [r, r.statement.types] } },
  { name: 'the BigInt type export', run: (sql, { mod }) => ({ to: mod.BigInt.to, from: mod.BigInt.from, parse: mod.BigInt.parse('123'), serialize: mod.BigInt.serialize(123n) }) }
])

// (3d) Result metadata
group('result', [
  { name: 'select: count, command, columns', run: sql => sql`select g from generate_series(1, 3) g` },
  { name: 'select of no rows', run: sql => sql`select 1 as x where false` },
  { name: 'insert, update, delete counts', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); return [await sql`insert into ${sql(table)} values (1), (2), (3)`, await sql`update ${sql(table)} set id = id + 1 where id > 1`, await sql`delete from ${sql(table)} where id = 4`, await sql`delete from ${sql(table)} where false`] } },
  { name: 'insert ... returning', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); return sql`insert into ${sql(table)} values (1), (2) returning id` } },
  { name: 'insert ... on conflict do nothing', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int primary key'); await sql`insert into ${sql(table)} values (1)`; return sql`insert into ${sql(table)} values (1) on conflict do nothing` } },
  { name: 'DDL: count null', run: async (sql, { table }) => [await sql`drop table if exists ${sql(table)}`, await sql`create table ${sql(table)} (id int)`, await sql`alter table ${sql(table)} add column x int`, await sql`comment on table ${sql(table)} is 'c'`] },
  { name: 'values as a statement: command SELECT', run: sql => sql`values (1), (2)` },
  { name: 'with ... insert: command INSERT', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); return sql`with x as (select 1 as id) insert into ${sql(table)} select id from x` } },
  { name: 'table t: command SELECT', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); await sql`insert into ${sql(table)} values (1)`; return raw(sql, `table ${table}`) } },
  { name: 'merge: command MERGE', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, n int'); await sql`insert into ${sql(table)} values (1, 1)`; return raw(sql, `merge into ${table} t using (values (1), (2)) s(id) on t.id = s.id when matched then update set n = 2 when not matched then insert values (s.id, 0)`) } },
  { name: 'explain, show, set', run: async sql => [await sql`explain select 1`.then(r => ({ command: r.command, count: r.count, columns: r.columns.map(c => c.name) })), await sql`show server_encoding`, await sql`set local work_mem = '4MB'`] },
  { name: 'a leading comment', run: sql => sql`/* hi */ -- x
    select 1 as x` },
  { name: 'result.statement: string and types', run: async sql => { const r = await sql`select ${1}::int as a, ${'x'} as b`; return { string: r.statement.string, types: r.statement.types, columns: r.statement.columns.map(c => [c.name, c.type]) } } },
  { name: 'result.state holds the backend pid and secret', run: async sql => { const r = await sql`select 1`; return r.state && { pid: typeof r.state.pid, secret: typeof r.state.secret } } },
  { name: 'a Result is an Array; map() gives a plain Array', run: async sql => { const r = await sql`select 1 as x`; const m = r.map(x => x); return [Array.isArray(r), r instanceof Array, m.constructor === Array, 'count' in m, Object.keys(r), JSON.stringify(r)] } },
  { name: 'Result properties are not enumerable', run: async sql => { const r = await sql`select 1 as x`; return ['count', 'command', 'columns', 'statement', 'state'].map(k => [k, k in r, Object.keys(r).includes(k), k in { ...r }, JSON.stringify(r).includes(k)]) } },
  {
    name: 'Result properties: own data properties or accessors',
    differs: 'ours are accessors on the Result prototype (defining own properties on every Array costs microseconds per query); postgres.js defines own non-enumerable properties',
    run: async sql => { const r = await sql`select 1 as x`; return ['count', 'command', 'columns', 'statement', 'state'].map(k => [k, Object.prototype.hasOwnProperty.call(r, k)]) },
    expect: {
      pg: [['count', true], ['command', true], ['columns', true], ['statement', true], ['state', true]],
      ours: [['count', false], ['command', false], ['columns', false], ['statement', false], ['state', false]]
    }
  },
  { name: 'row objects are plain objects in column order', run: async sql => { const [row] = await sql`select 1 as b, 2 as a, 3 as c`; return [Object.getPrototypeOf(row) === Object.prototype, Object.keys(row)] } }
])

// (3e) Errors
const errorFields = e => e && ({ name: e.name, code: e.code, severity: e.severity, message: e.message, position: e.position, routine: e.routine, hasFile: typeof e.file, hasLine: typeof e.line })
group('error', [
  { name: 'a syntax error: PostgresError fields', run: async sql => errorFields(await sql`selec 1`.catch(e => e)) },
  { name: 'the error\'s own enumerable keys', run: async sql => Object.keys(await sql`select nope`.catch(e => e)).sort() },
  { name: 'unique violation: detail, schema, table, constraint', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int primary key'); await sql`insert into ${sql(table)} values (1)`; const e = await sql`insert into ${sql(table)} values (1)`.catch(e => e); return [obs(e), e.detail, e.schema_name, e.table_name, e.constraint_name] } },
  { name: 'not null violation: column_name', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int not null'); const e = await sql`insert into ${sql(table)} values (${null})`.catch(e => e); return [obs(e), e.column_name, e.table_name] } },
  { name: 'division by zero', run: sql => sql`select 1/0 as x` },
  { name: 'undefined table: message and position', run: async sql => { const e = await sql`select * from compat_no_such_table`.catch(e => e); return [obs(e), e.message, e.position] } },
  { name: 'an error with a hint', run: async sql => { const e = await sql`select xz from (select 1 as xy) t`.catch(e => e); return [obs(e), e.message, e.hint, e.position] } },
  { name: 'an error inside a SQL function: where', run: async (sql, { table }) => { await sql.unsafe(`create or replace function ${table}_f(x int) returns int language sql set search_path = public as 'select 1 / x'`); const e = await raw(sql, `select ${table}_f(g) from generate_series(0, 1) g`).catch(e => e); return [obs(e), e.message, e.where] } },
  { name: 'error.parameters hold the values as serialized (Date, Buffer, an array whose type the server infers, json, boolean)', run: async sql => { const e = await sql`select ${new Date(0)}::timestamptz as a, ${Buffer.from([1, 255])}::bytea as b, ${[1, 2]}::text as c, ${[3, 4]}::int[] as d, ${sql.json({ k: [1] })} as e, ${true} as f, ${null}::int as g, 1 / ${0}::int as x`.catch(e => e); return [e.code, e.parameters] } },
  { name: 'error.parameters of a statement that fails before the server typed it', run: async sql => { const e = await sql`select ${[1, 2]} as c, ${new Date(1000)} as d from nope`.catch(e => e); return [e.code, e.parameters] } },
  { name: 'error.query and error.parameters are there and not enumerable', run: async sql => { const e = await sql`select ${1}::int / ${0}::int as x`.catch(e => e); return [e.query, e.parameters, Object.keys(e).includes('query'), Object.keys(e).includes('parameters')] } },
  { name: 'instanceof sql.PostgresError and the exported PostgresError', run: async (sql, { mod }) => { const e = await sql`select nope`.catch(e => e); return [e instanceof sql.PostgresError, e instanceof mod.PostgresError, e instanceof Error, sql.PostgresError === mod.PostgresError, e.name] } },
  { name: 'UNDEFINED_VALUE message', run: async sql => { const e = await sql`select ${undefined}`.catch(e => e); return [obs(e), e.message] } },
  { name: 'NOT_TAGGED_CALL message', run: async sql => { const e = await (async () => await sql('x'))().catch(e => e); return [obs(e), e.message] } }
])

// ---------------------------------------------------------------------------------------------------
// (4) Transactions and connections
group('begin', [
  { name: 'commits and resolves to the callback\'s value', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); const value = await sql.begin(async tx => { await tx`insert into ${tx(table)} values (1)`; return 'done' }); return [value, await count(sql, table)] } },
  { name: 'an array of queries returned is awaited', run: sql => sql.begin(tx => [tx`select 1 as a`, tx`select 2 as b`]) },
  { name: 'a non-promise value', run: sql => sql.begin(() => 42) },
  { name: 'a returned query resolves to its Result', run: sql => sql.begin(tx => tx`select 1 as x`) },
  { name: 'mode string: isolation level', run: sql => sql.begin('isolation level serializable', async tx => (await tx`show transaction_isolation`)[0]) },
  { name: 'mode string: read only', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); return sql.begin('read only', tx => tx`insert into ${tx(table)} values (1)`) } },
  { name: 'rolls back when the callback throws', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); const e = await sql.begin(async tx => { await tx`insert into ${tx(table)} values (1)`; throw new Error('boom') }).catch(e => e); return [obs(e), e.message, await count(sql, table)] } },
  { name: 'rejects if a query inside failed, even when caught', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); const e = await sql.begin(async tx => { await tx`insert into ${tx(table)} values (1)`; await tx`select nope`.catch(() => {}); return 'ok' }).catch(e => e); return [obs(e), await count(sql, table)] } },
  { name: 'a query after a caught failure: rejects with the first error', run: sql => sql.begin(async tx => { await tx`select nope`.catch(() => {}); await tx`select 1` }) },
  { name: 'all queries run on one connection', run: async sql => { const pids = await sql.begin(async tx => [await pid(tx), await pid(tx), await pid(tx)]); return new Set(pids).size } },
  { name: 'writes are invisible outside until commit', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); return sql.begin(async tx => { await tx`insert into ${tx(table)} values (1)`; return [await count(tx, table), await count(sql, table)] }) } },
  { name: 'without a callback rejects', run: sql => sql.begin() },
  { name: 'the transaction sql: helpers and no begin/reserve/end', run: sql => sql.begin(async tx => ['unsafe', 'json', 'array', 'typed', 'begin', 'reserve', 'end', 'savepoint'].map(k => [k, typeof tx[k]])) },
  { name: 'tx.unsafe and helpers inside', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int, j jsonb'); return sql.begin(async tx => { await tx`insert into ${tx(table)} ${tx({ id: 1, j: tx.json({ a: 1 }) })}`; return { r: await tx.unsafe(`select * from ${table} where id = $1`, [1]) } }) } },
  { name: 'a plain `begin` with max > 1 is UNSAFE_TRANSACTION', run: async (sql, { open }) => { const own = open({ max: 2 }); return own`begin` } },
  { name: 'a plain `begin` with max: 1 is allowed', run: async (sql, { open }) => { const own = open({ max: 1 }); return [await own`begin`, await own`select 1 as x`, await own`commit`] } },
  { name: 'after end() rejects with CONNECTION_ENDED', run: async (sql, { open }) => { const own = open(); await own.end(); return own.begin(tx => tx`select 1`) } }
])

group('reserve', [
  { name: 'pins one connection', run: async sql => { const r = await sql.reserve(); try { return (await pid(r)) === (await pid(r)) } finally { r.release() } } },
  { name: 'a transaction on a reserved connection', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); const r = await sql.reserve(); try { await r`begin`; await r`insert into ${r(table)} values (1)`; const inside = await count(sql, table); await r`commit`; return [inside, await count(sql, table)] } finally { r.release() } } },
  { name: 'two reservations get two connections', run: async (sql, { open }) => { const own = open({ max: 2 }); const [a, b] = await Promise.all([own.reserve(), own.reserve()]); const out = (await pid(a)) !== (await pid(b)); a.release(); b.release(); return out } },
  { name: 'a reservation waits for a released connection', run: async (sql, { open }) => { const own = open({ max: 1 }); const a = await own.reserve(); const p1 = await pid(a); const next = own.reserve(); await delay(50); a.release(); const b = await next; const p2 = await pid(b); b.release(); return p1 === p2 } },
  {
    name: 'using a reserved sql after release()', differs: 'ours rejects with CONNECTION_CLOSED; postgres.js keeps running queries on the released connection',
    run: async sql => { const r = await sql.reserve(); r.release(); return r`select 1 as x` },
    expect: {
      pg: { rows: [{ x: 1 }], count: 1, command: 'SELECT', columns: [{ name: 'x', type: 23 }] },
      ours: { error: 'CONNECTION_CLOSED', class: 'Error' }
    }
  },
  { name: 'release() twice is harmless', run: async sql => { const r = await sql.reserve(); r.release(); r.release(); return sql`select 1 as x` } }
])

group('end', [
  { name: 'running queries finish, later ones reject with CONNECTION_ENDED', run: async (sql, { open }) => { const own = open(); const running = own`select pg_sleep(0.1), 1 as x`.execute(); await delay(20); await own.end(); return [await running, await own`select 1`.catch(e => e)] } },
  { name: 'end({ timeout: 0 }) destroys running queries with CONNECTION_DESTROYED', run: async (sql, { open }) => { const own = open(); const running = own`select pg_sleep(1)`.execute(); await delay(100); await own.end({ timeout: 0 }); return running } },
  { name: 'end() twice resolves', run: async (sql, { open }) => { const own = open(); await own`select 1`; await own.end(); return own.end() } },
  { name: 'end() on an unused instance resolves', run: async (sql, { open }) => open().end() },
  { name: 'CONNECTION_ENDED error shape', run: async (sql, { open }) => { const own = open(); await own.end(); const e = await own`select 1`.catch(e => e); return [obs(e), e.errno, e.message.startsWith('write CONNECTION_ENDED ')] } },
  { name: 'close() ends the connections, the instance stays usable', run: async (sql, { open }) => { const own = open(); await own`select 1`; await own.close(); return own`select 1 as x` } }
])

group('options', [
  { name: 'sql.options: max, prepare, database, user, timeouts', run: (sql, { open }) => { const o = open({ max: 3, idle_timeout: 5, connect_timeout: 7 }).options; return { max: o.max, prepare: o.prepare, database: o.database, user: o.user, idle_timeout: o.idle_timeout, connect_timeout: o.connect_timeout } } },
  { name: 'sql.options defaults', run: (sql, { open }) => { const o = open({ max: undefined }).options; return { max: o.max, prepare: o.prepare, idle_timeout: o.idle_timeout, connect_timeout: o.connect_timeout } } },
  {
    name: 'default max_lifetime', differs: 'ours: 45–55 minutes (below DSQL\'s 60), postgres.js: 30–60 minutes',
    run: (sql, { side, open }) => { const o = open().options; return side === 'pg' ? [o.max_lifetime(), o.max_lifetime()] : o.maxLifetime },
    check: (pg, ours) => { pg.forEach(x => assert.ok(x >= 1800 && x <= 3600, String(x))); assert.deepEqual(ours, [2700, 3300]) }
  },
  {
    name: 'default username', differs: 'ours defaults to admin, postgres.js to the OS user',
    run: (sql, { side, open }) => { const o = open({ username: undefined }).options; return side === 'pg' ? o.user : o.username },
    check: (pg, ours) => { assert.equal(typeof pg, 'string'); assert.equal(ours, 'admin') }
  },
  { name: 'sql.parameters after a query', run: async (sql, { open }) => { const own = open(); await own`select 1`; const p = own.parameters; return ['client_encoding', 'server_encoding', 'DateStyle', 'integer_datetimes', 'standard_conforming_strings', 'is_superuser'].map(k => [k, p[k]]) } },
  { name: 'onparameter: startup parameters and a later SET', run: async (sql, { open }) => { const seen = []; const own = open({ max: 1, onparameter: (k, v) => seen.push([k, v]) }); await own`select 1`; const n = seen.length; await own`set datestyle to 'ISO, DMY'`; return [n > 5, seen.some(([k]) => k === 'server_encoding'), seen.slice(n)] } },
  { name: 'onnotice: fields of a notice', run: async (sql, { open, table }) => { const notices = []; const own = open({ onnotice: n => notices.push(n) }); await own`drop table if exists ${own(table + '_none')}`; return notices.map(n => ({ severity: n.severity, severity_local: n.severity_local, code: n.code, message: n.message, routine: n.routine })) } },
  { name: 'onnotice: the notice is a plain object', run: async (sql, { open, table }) => { const notices = []; const own = open({ onnotice: n => notices.push(n) }); await own`drop table if exists ${own(table + '_none')}`; return notices.map(n => [n instanceof Error, Object.getPrototypeOf(n) === Object.prototype]) } },
  { name: 'onnotice: one call per notice, in order', run: async (sql, { open, table }) => { const notices = []; const own = open({ max: 1, onnotice: n => notices.push(n.message) }); await own`drop table if exists ${own(table + '_a')}`; await own`drop table if exists ${own(table + '_b')}`; return notices } },
  { name: 'debug(connection, query, parameters, types)', run: async (sql, { open }) => { const calls = []; const own = open({ debug: (id, q, p, t) => calls.push([typeof id, q, [...p], [...t]]) }); await own`select ${1}::int as x, ${'a'} as y`; return calls.filter(c => !c[1].includes('pg_catalog.pg_type')) } },
  { name: 'connection: startup parameters', run: async (sql, { open }) => open({ connection: { statement_timeout: '1234', search_path: 'public' } })`select current_setting('statement_timeout') as a, current_setting('search_path') as b` },
  {
    name: 'connection.application_name', differs: 'ours (like the official connector) appends its own name: <prefix>:aurora-dsql-postgres/<version>',
    run: async (sql, { open }) => (await open({ connection: { application_name: 'compat' } })`select current_setting('application_name') as a`)[0].a,
    check: (pg, ours) => { assert.equal(pg, 'compat'); assert.match(ours, /^compat:aurora-dsql-postgres\/\d+\.\d+\.\d+/) }
  },
  { name: 'prepare: true caches named statements', run: async (sql, { open }) => { const own = open({ max: 1 }); await own`select 1 as compat_prepare_marker`; return (await own`select count(*)::int as c from pg_prepared_statements where statement like '%compat_prepare_marker%' and statement not like '%pg_prepared_statements%'`)[0].c } },
  { name: 'prepare: false uses unnamed statements', run: async (sql, { open }) => { const own = open({ max: 1, prepare: false }); await own`select 1 as compat_prepare_marker`; return (await own`select count(*)::int as c from pg_prepared_statements where statement like '%compat_prepare_marker%' and statement not like '%pg_prepared_statements%'`)[0].c } },
  { name: 'unsafe({ prepare: true }) prepares', run: async (sql, { open }) => { const own = open({ max: 1 }); await own.unsafe('select $1::int as compat_unsafe_marker', [1], { prepare: true }); return (await own`select count(*)::int as c from pg_prepared_statements where statement like '%compat_unsafe_marker%' and statement not like '%pg_prepared_statements%'`)[0].c } },
  { name: 'unsafe() does not prepare by default', run: async (sql, { open }) => { const own = open({ max: 1 }); await own.unsafe('select $1::int as compat_unsafe_marker', [1]); return (await own`select count(*)::int as c from pg_prepared_statements where statement like '%compat_unsafe_marker%' and statement not like '%pg_prepared_statements%'`)[0].c } },
  { name: 'max: 1 runs every query on one connection', run: async (sql, { open }) => { const own = open({ max: 1 }); return new Set(await Promise.all([pid(own), pid(own), pid(own), pid(own)])).size } },
  { name: 'max: 2 opens two connections for concurrent queries', run: async (sql, { open }) => { const own = open({ max: 2 }); return new Set(await Promise.all([own`select pg_backend_pid() as pid, pg_sleep(0.1)`, own`select pg_backend_pid() as pid, pg_sleep(0.1)`].map(async q => (await q)[0].pid))).size } },
  { name: 'idle_timeout closes idle connections', run: async (sql, { open }) => { const own = open({ max: 1, idle_timeout: 0.2 }); const a = await pid(own); await delay(600); return a === await pid(own) } },
  { name: 'without idle_timeout the connection stays', run: async (sql, { open }) => { const own = open({ max: 1 }); const a = await pid(own); await delay(300); return a === await pid(own) } },
  { name: 'max_lifetime replaces old connections', run: async (sql, { open }) => { const own = open({ max: 1, max_lifetime: 0.3 }); const a = await pid(own); await delay(700); return a === await pid(own) } },
  {
    name: 'PGDATABASE and PGPORT',
    run: async (sql, { open, side }) => {
      await createDatabase('compat_env_db')
      return withEnv({ PGDATABASE: 'compat_env_db', PGPORT: String(fixture.port) }, async () => {
        // PGPORT is PostgreSQL's TCP port: the WebSocket connector keeps its own (ws.test.mjs).
        const own = open({ database: undefined, port: websocket && side === 'ours' ? fixture.wsPort : undefined })
        return [(await own`select current_database() as db`)[0].db, own.options.database]
      })
    }
  },
  { name: 'PGIDLE_TIMEOUT and PGCONNECT_TIMEOUT', run: (sql, { open }) => withEnv({ PGIDLE_TIMEOUT: '5', PGCONNECT_TIMEOUT: '7' }, () => { const o = open().options; return [o.idle_timeout, o.connect_timeout] }) },
  {
    name: 'PGMAX', differs: 'ours reads PGMAX as a number (postgres.js keeps the string \'3\', and its pool then has one connection)',
    run: (sql, { open }) => withEnv({ PGMAX: '3' }, () => open({ max: undefined }).options.max),
    expect: { pg: '3', ours: 3 }
  },
  {
    name: 'a connection URL',
    run: async (sql, { side }) => {
      const url = side === 'pg' ? `postgres://admin@${fixture.hostaddr}:${fixture.port}/postgres` : `postgres://admin@${fixture.endpoint}:${fixture.port}/postgres`
      const own = side === 'pg'
        ? postgres(url, defined(pgOptions({ host: undefined, port: undefined, username: undefined, database: undefined })))
        : factory(url, { hostaddr: fixture.hostaddr, ssl: { ca: fixture.ca }, customCredentialsProvider: fixture.credentials, ...(websocket ? { port: fixture.wsPort } : {}) })
      try { return await own`select current_database() as db, 1 as x` } finally { await own.end() }
    }
  },
  { name: 'a wrong password is refused with 28000', run: async (sql, { side, open }) => open(side === 'pg' ? { password: 'not-a-token' } : { customCredentialsProvider: { accessKeyId: fixture.credentials.accessKeyId, secretAccessKey: 'wrong/secret/wrong/secret/wrong/secret00' } })`select 1` },
  {
    name: 'ssl: \'require\'', differs: 'ours keeps verifying the certificate; postgres.js turns verification off',
    run: async (sql, { side, open }) => side === 'pg' ? open({ ssl: 'require', host: fixture.endpoint, socket: pgSocketWithSni() })`select 1 as x` : open({ ssl: 'require', connect_timeout: 5 })`select 1 as x`,
    expect: {
      pg: { rows: [{ x: 1 }], count: 1, command: 'SELECT', columns: [{ name: 'x', type: 23 }] },
      ours: { error: 'TLS_ERROR', class: 'Error' }
    }
  },
  { name: 'ssl: { rejectUnauthorized: false } connects', run: async (sql, { side, open }) => open({ ssl: side === 'pg' ? { rejectUnauthorized: false, servername: fixture.endpoint } : { rejectUnauthorized: false } })`select 1 as x` }
])

// ---------------------------------------------------------------------------------------------------
// (5) Transforms and exports
group('transform', [
  { name: 'undefined: null replaces undefined parameters', run: (sql, { open }) => open({ transform: { undefined: null } })`select ${undefined}::int as a` },
  { name: 'undefined: null inside arrays and insert helpers', run: async (sql, { open, table, fresh }) => { const own = open({ transform: { undefined: null } }); await fresh(own, 'id int, name text'); return [await own`select ${[1, undefined]}::int[]::text as a`, await own`insert into ${own(table)} ${own([{ id: 1, name: 'a' }, { id: 2 }])} returning *`] } },
  { name: 'column: a function renames result columns', run: (sql, { open }) => open({ transform: { column: x => x.toUpperCase() } })`select 1 as a_b, 2 as c` },
  { name: 'column: { from, to } both ways', run: async (sql, { open, table, fresh }) => { const own = open({ transform: { column: { from: x => x.replace(/^c_/, ''), to: x => 'c_' + x } } }); await fresh(own, 'c_id int, c_name text'); return own`insert into ${own.unsafe(table)} ${own({ id: 1, name: 'a' })} returning *` } },
  { name: 'value: a function maps every value', run: (sql, { open }) => open({ transform: { value: x => typeof x === 'number' ? x * 2 : x } })`select 1 as a, 'x' as b, null::int as c` },
  { name: 'value: receives the column', run: (sql, { open }) => open({ transform: { value: (x, column) => column.name + ':' + column.type } })`select 1 as a, 'x'::text as b` },
  { name: 'row: a function maps every row', run: (sql, { open }) => open({ transform: { row: row => ({ ...row, extra: true }) } })`select g from generate_series(1, 2) g` },
  { name: 'value transform applies to .values()', run: (sql, { open }) => open({ transform: { value: x => typeof x === 'number' ? -x : x } })`select 1 as a, 2 as b`.values() },
  { name: 'camel: columns, json keys and Result.columns', run: (sql, { open, mod }) => open({ transform: mod.camel })`select 1 as a_b, ${{ c_d: [{ e_f: 1 }] }}::json as json_col, ${'x'} as "snake_case_col"` },
  { name: 'camel: insert and update helpers map keys to snake_case', run: async (sql, { open, mod, table, fresh }) => { const own = open({ transform: mod.camel }); await fresh(own, 'user_id int, first_name text'); await own`insert into ${own(table)} ${own({ userId: 1, firstName: 'a' })}`; return own`update ${own(table)} set ${own({ firstName: 'b' })} where ${own('userId')} = 1 returning *` } },
  { name: 'camel: select helper and identifiers', run: (sql, { open, mod }) => { const own = open({ transform: mod.camel }); return own`select ${own(['fooBar'])}, ${own('bazQux')} from (select 1 as foo_bar, 2 as baz_qux) t` } },
  { name: 'pascal: columns both ways', run: async (sql, { open, mod, table, fresh }) => { const own = open({ transform: mod.pascal }); await fresh(own, 'user_id int'); return own`insert into ${own(table)} ${own({ UserId: 1 })} returning *, ${{ a_b: 1 }}::jsonb as json_col` } },
  { name: 'kebab: columns both ways', run: async (sql, { open, mod, table, fresh }) => { const own = open({ transform: mod.kebab }); await fresh(own, 'user_id int'); return own`insert into ${own(table)} ${own({ 'user-id': 1 })} returning *, ${{ a_b: 1 }}::jsonb as json_col` } },
  { name: 'toCamel as the transform (its column has `to` as well)', run: (sql, { open, mod }) => { const own = open({ transform: mod.toCamel }); return own`select ${own('aB')}, ${{ x_y: 1 }}::json as j from (select 1 as a_b) t` } },
  { name: 'fromCamel as column.to only', run: (sql, { open, mod }) => { const own = open({ transform: { column: { to: mod.fromCamel } } }); return own`select ${own({ fooBar: 1 })}` } },
  { name: 'camel with a custom value transform', run: (sql, { open, mod }) => open({ transform: { ...mod.camel, value: x => typeof x === 'number' ? x + 1 : x } })`select 1 as a_b` }
])

group('exports', [
  { name: 'toX/fromX functions', run: (sql, { mod }) => ['a_b', 'snake_case_name', 'x', 'a_b_c', 'ABC', 'with_1_digit', 'a__b'].map(s => [mod.toCamel(s), mod.toPascal(s), mod.toKebab(s), mod.fromCamel(mod.toCamel(s)), mod.fromPascal(mod.toPascal(s)), mod.fromKebab(mod.toKebab(s))]) },
  { name: 'camel/pascal/kebab objects', run: (sql, { mod }) => ['camel', 'pascal', 'kebab'].map(k => [k, Object.keys(mod[k]).sort(), mod[k].column.from('a_b_c'), mod[k].column.to(mod[k].column.from('a_b_c')), mod[k].value.from({ a_b: [{ c_d: 1 }] }, { type: 3802 }), mod[k].value.from({ a_b: 1 }, { type: 25 })]) },
  { name: 'toX.column / toX.value / fromX.column', run: (sql, { mod }) => [typeof mod.toCamel.column.from, typeof mod.toCamel.column.to, typeof mod.toCamel.value.from, typeof mod.fromCamel.column.to, mod.toCamel.column === mod.camel.column] },
  { name: 'PostgresError is exported', run: (sql, { mod }) => [typeof mod.PostgresError, new mod.PostgresError({ message: 'm', code: 'X' }).code, new mod.PostgresError({ message: 'm' }).name] },
  { name: 'the sql function: its API surface', run: sql => ['begin', 'reserve', 'end', 'close', 'unsafe', 'file', 'json', 'array', 'typed', 'types', 'listen', 'notify', 'subscribe', 'largeObject', 'options', 'parameters', 'CLOSE', 'END', 'PostgresError'].map(k => [k, typeof sql[k]]) },
  { name: 'sql.END is sql.CLOSE', run: sql => sql.END === sql.CLOSE }
])

// ---------------------------------------------------------------------------------------------------
// (6) DSQL-unsupported calls: ours rejects at once with DSQL_NOT_SUPPORTED (postgres.js would try them)
const notSupported = { error: 'DSQL_NOT_SUPPORTED', class: 'Error' }
group('DSQL not supported', [
  { side: 'ours', name: 'sql.listen', run: sql => sql.listen('compat_channel', () => {}), expect: notSupported },
  { side: 'ours', name: 'sql.notify', run: sql => sql.notify('compat_channel', 'x'), expect: notSupported },
  { side: 'ours', name: 'sql.subscribe', run: sql => sql.subscribe('*', () => {}), expect: notSupported },
  { side: 'ours', name: 'sql.largeObject', run: sql => sql.largeObject(), expect: notSupported },
  { side: 'ours', name: 'savepoint inside begin, and the transaction rolls back', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); const e = await sql.begin(async tx => { await tx`insert into ${tx(table)} values (1)`; await tx.savepoint(s => s`select 1`) }).catch(e => e); return [obs(e), await count(sql, table)] }, expect: [notSupported, 0] },
  { side: 'ours', name: 'prepare transaction inside begin', run: async (sql, { table, fresh }) => { await fresh(sql, 'id int'); const e = await sql.begin(async tx => { await tx`insert into ${tx(table)} values (1)`; await tx.prepare('compat_tx') }).catch(e => e); return [obs(e), await count(sql, table)] }, expect: [notSupported, 0] },
  { side: 'ours', name: 'listen on a reserved connection', run: async sql => { const r = await sql.reserve(); try { return await r.listen('x', () => {}) } finally { r.release() } }, expect: notSupported },
  { side: 'ours', name: 'rejects at once, without a round trip', run: async (sql, { open }) => { const own = open({ port: 1, connect_timeout: 5 }); const t = Date.now(); const e = await own.listen('x', () => {}).catch(e => e); return [obs(e), Date.now() - t < 1000] }, expect: [notSupported, true] }
])

// Connector features (the official @aws/aurora-dsql-postgresjs-connector, not postgres.js): ours only.
// A real write conflict: `tx` (repeatable read) reads row 1, another connection updates and commits it,
// then `tx` updates it too → 40001 (the endpoint reports DSQL's OC000 message).
async function conflict(tx, other, table) {
  await tx`set transaction isolation level repeatable read`
  await tx`select n from ${tx(table)} where id = 1`
  await other`update ${other(table)} set n = n + 1 where id = 1`
  await tx`update ${tx(table)} set n = n + 1 where id = 1`
}
const occTable = async (sql, fresh, table) => { await fresh(sql, 'id int primary key, n int'); await sql`insert into ${sql(table)} values (1, 0)` }
const n1 = async (sql, table) => (await sql`select n from ${sql(table)} where id = 1`)[0].n
group('connector', [
  { side: 'ours', name: 'isOCCError', run: (sql, { mod }) => [{ code: 'OC000' }, { code: 'OC001' }, { code: '40001' }, { code: '23505' }, null, { message: 'x (OC001)' }].map(mod.isOCCError), expect: [true, true, true, false, false, false] },
  { side: 'ours', name: 'a conflict without retry rejects with 40001', run: async (sql, { table, fresh, mod }) => { await occTable(sql, fresh, table); const e = await sql.begin(tx => conflict(tx, sql, table)).catch(e => e); return [obs(e), mod.isOCCError(e), await n1(sql, table)] }, expect: [{ error: '40001', class: 'PostgresError' }, true, 1] },
  { side: 'ours', name: 'begin(fn, { retry: true }) retries an OCC conflict', run: async (sql, { table, fresh }) => { await occTable(sql, fresh, table); let attempts = 0; const value = await sql.begin(async tx => { attempts++; attempts === 1 ? await conflict(tx, sql, table) : await tx`update ${tx(table)} set n = n + 1 where id = 1`; return 'ok' }, { retry: true }); return [value, attempts, await n1(sql, table)] }, expect: ['ok', 2, 2] },
  { side: 'ours', name: 'begin(mode, fn, { retry }) gives up after maxRetries', run: async (sql, { table, fresh }) => { await occTable(sql, fresh, table); let attempts = 0; const e = await sql.begin('isolation level repeatable read', async tx => { attempts++; await conflict(tx, sql, table) }, { retry: { maxRetries: 2, baseDelayMs: 1 } }).catch(e => e); return [obs(e), attempts, await n1(sql, table)] }, expect: [{ error: '40001', class: 'PostgresError' }, 3, 3] },
  { side: 'ours', name: 'factory retry: true, per-call retry: false opts out', run: async (sql, { open, table, fresh }) => { const own = open({ retry: true }); await occTable(own, fresh, table); let a = 0, b = 0; await own.begin(async tx => { a++; a === 1 && await conflict(tx, own, table) }); const e = await own.begin(async tx => { b++; await conflict(tx, own, table) }, { retry: false }).catch(e => e); return [a, b, obs(e)] }, expect: [2, 1, { error: '40001', class: 'PostgresError' }] },
  { side: 'ours', name: 'retry options are validated', run: (sql, { open }) => [{ maxRetries: 1.5 }, { maxRetries: -1 }, { maxRetries: 101 }, { baseDelayMs: 0 }, { baseDelayMs: 10, maxDelayMs: 5 }, { jitterFactor: 2 }].map(retry => { try { open({ retry }); return null } catch (e) { return e.message } }), expect: ['maxRetries must be an integer', 'maxRetries must be >= 0', 'maxRetries must not exceed 100', 'baseDelayMs must be greater than 0', 'maxDelayMs must be >= baseDelayMs', 'jitterFactor must be between 0.0 and 1.0'] }
])

// ---------------------------------------------------------------------------------------------------
// Known gaps, by full test name: remove a line once the case passes.
const todo = {
}

// ---------------------------------------------------------------------------------------------------
// The runner.
// COMPAT_FILTER=<regex> runs only the matching cases (table names keep their numbers).
const filter = process.env.COMPAT_FILTER ? new RegExp(process.env.COMPAT_FILTER, 'i') : null
const names = new Set(groups.flatMap(([area, cases]) => cases.map(c => `${area}: ${c.name}`)))
for (const name of Object.keys(todo))
  if (!names.has(name)) throw new Error('compat: the todo table names a case that does not exist: ' + name)
let index = 0
for (const [area, cases] of groups) {
  for (const c of cases) {
    const n = index++
    const name = `${area}: ${c.name}`
    if (filter && !filter.test(name)) continue
    const mark = c.todo || todo[name]
    const hangs = c.hangs && !process.env.COMPAT_HANGS
    test(name, hangs ? { skip: c.hangs } : mark ? { todo: mark } : {}, async t => {
      const trace = (side, x) => process.env.COMPAT_TRACE && t.diagnostic(side + ': ' + JSON.stringify(x))
      if (c.side === 'ours') {
        const ours = await observe(c, 'ours', n)
        trace('ours', ours)
        return assert.deepStrictEqual(ours, c.expect)
      }
      const pg = await observe(c, 'pg', n)
      const ours = await observe(c, 'ours', n)
      trace('pg', pg)
      trace('ours', ours)
      if (c.check) return c.check(pg, ours)
      if (c.differs) {
        assert.deepStrictEqual(pg, c.expect.pg, 'postgres.js (documented behaviour) changed')
        assert.deepStrictEqual(ours, c.expect.ours)
        return
      }
      assert.deepStrictEqual(ours, pg)
    })
  }
}

async function observe(c, side, n) {
  const table = (websocket ? 'compatws_' : 'compat_') + n
  const opened = []
  const ctx = {
    side,
    table,
    mod: side === 'pg' ? postgres : lib,
    open: extra => { const s = side === 'pg' ? openPg(extra) : openOurs(extra); opened.push(s); return s },
    fresh: async (sql, columns) => { await sql.unsafe(`drop table if exists ${table}`); await sql.unsafe(`create table ${table} (${columns})`) }
  }
  try {
    return await capture(() => c.run(side === 'pg' ? PG : OURS, ctx))
  } finally {
    await Promise.all(opened.map(s => s.end({ timeout: 5 }).catch(() => {})))
  }
}
