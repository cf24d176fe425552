// Unit tests of the pure-JS postgres.js compatibility pieces (no database).
// Where postgres.js is installed (devDependency, or /work/scratch/pgjs) its output is the oracle.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import path from 'node:path'

const require = createRequire(import.meta.url)
const B = require('../js/build.js')
const T = require('../js/types.js')
const X = require('../js/transform.js')
const E = require('../js/errors.js')

// ---- postgres.js oracle (CJS build), or null when it is not installed ----
function loadPostgresJs() {
  let root
  try {
    root = path.resolve(path.dirname(require.resolve('postgres')), '../..')
  } catch {
    root = '/work/scratch/pgjs/node_modules/postgres'
  }
  if (!existsSync(path.join(root, 'cjs/src/types.js')))
    return null
  return {
    types: require(path.join(root, 'cjs/src/types.js')),
    Query: require(path.join(root, 'cjs/src/query.js')).Query,
    Errors: require(path.join(root, 'cjs/src/errors.js')).Errors,
    index: require(path.join(root, 'cjs/src/index.js'))
  }
}
const pg = loadPostgresJs()
const needsPg = { skip: pg ? false : 'postgres.js not installed' }

// ---- a minimal `sql` over our build.js, and the same over postgres.js ----
function ourSql(transform) {
  const sql = (strings, ...args) => Array.isArray(strings.raw)
    ? { [B.FRAGMENT]: true, strings, args }
    : B.helper(strings, ...args)
  return Object.assign(sql, {
    unsafe: (unsafe, args = []) => ({ [B.FRAGMENT]: true, unsafe, args }),
    typed: B.typed,
    json: B.json,
    array: B.array,
    run: q => B.build(q.strings, q.args, { transform })
  })
}

function pgSql(transform) {
  const { Query, types } = pg
  const handler = () => {}
  const sql = (strings, ...args) => Array.isArray(strings.raw)
    ? new Query(strings, args, handler)
    : typeof strings === 'string' && !args.length
      ? new types.Identifier(transform.column.to ? transform.column.to(strings) : strings)
      : new types.Builder(strings, args)
  return Object.assign(sql, {
    unsafe: (text, args = []) => new Query([text], args, handler),
    typed: (x, t) => new types.Parameter(x, t),
    json: x => new types.Parameter(x, 3802),
    // as after fetch_types: element OID → array OID
    array: (x, t) => new types.Parameter(x, t || (x.length ? types.inferType(x) || 25 : 0), T.ELEMENT_ARRAY),
    run: q => {
      const params = []
      const oids = []
      const text = types.stringify(q, q.strings[0], q.args[0], params, oids, { transform })
      return { text, params, types: oids.map(x => x || 0) }
    }
  })
}

const plain = X.normalizeTransform()
const camelT = X.normalizeTransform(X.camel)
const date = new Date('2024-01-02T03:04:05.678Z')

// pg: false → postgres.js differs on purpose (see comment); pgTypes: false → only the OIDs differ.
const buildCases = [
  { name: 'plain parameters', q: s => s`select ${1} as a, ${'b'} as b`, text: 'select $1 as a, $2 as b', params: [1, 'b'], types: [0, 0] },
  { name: 'inferred types', q: s => s`${date}${Buffer.from('a')}${true}${1n}${null}${'x'}${1.5}`,
    text: '$1$2$3$4$5$6$7', types: [1184, 17, 16, 20, 0, 0, 0] },
  { name: 'identifier', q: s => s`select * from ${s('my"table')}`, text: 'select * from "my""table"' },
  { name: 'schema.table identifier', q: s => s`select * from ${s('s.t')}`, text: 'select * from "s"."t"' },
  { name: 'identifier list after select', q: s => s`select ${s(['a', 'b'])} from t`, text: 'select "a","b" from t' },
  { name: 'identifier list from varargs', q: s => s`select ${s('a', 'b')} from t`, text: 'select "a","b" from t' },
  { name: 'identifier list without keyword', q: s => s`order by ${s(['a', 'b'])}`, text: 'order by "a","b"' },
  { name: 'identifiers after (', q: s => s`insert into t ( ${s(['a', 'b'])} ) values (1, 2)`, text: 'insert into t ( "a","b" ) values (1, 2)' },
  { name: 'insert one object', q: s => s`insert into t ${s({ a: 1, b: 'x' })}`, text: 'insert into t ("a","b")values($1,$2)', params: [1, 'x'] },
  { name: 'insert objects', q: s => s`insert into t ${s([{ a: 1, b: 2 }, { a: 3, b: 4 }])} returning *`,
    text: 'insert into t ("a","b")values($1,$2),($3,$4) returning *', params: [1, 2, 3, 4] },
  { name: 'insert plain values of every kind after a parameter (the cached-text path)',
    q: s => s`with x as (select ${7}::int) insert into t ${s([{ a: 1, b: 'x', c: null, d: true, e: new Date(0) }, { a: 2.5, b: '', c: null, d: false, e: new Date(1) }])}`,
    text: 'with x as (select $1::int) insert into t ("a","b","c","d","e")values($2,$3,$4,$5,$6),($7,$8,$9,$10,$11)',
    params: [7, 1, 'x', null, true, new Date(0), 2.5, '', null, false, new Date(1)], types: [0, 0, 0, 0, 16, 1184, 0, 0, 0, 16, 1184] },
  { name: 'insert where one value is not plain (the general path)',
    q: s => s`insert into t ${s([{ a: 1, b: Buffer.from([1]) }, { a: 2, b: s.json({ k: 1 }) }])}`,
    text: 'insert into t ("a","b")values($1,$2),($3,$4)', params: [1, Buffer.from([1]), 2, { k: 1 }], types: [0, 17, 0, 3802] },
  { name: 'insert chosen columns', q: s => s`insert into t ${s([{ a: 1, b: 2, c: 3 }, { a: 4, b: 5, c: 6 }], 'a', 'c')}`,
    text: 'insert into t ("a","c")values($1,$2),($3,$4)', params: [1, 3, 4, 6] },
  { name: 'insert columns as array', q: s => s`INSERT INTO t ${s({ a: 1, b: 2 }, ['b'])}`, text: 'INSERT INTO t ("b")values($1)', params: [2] },
  { name: 'insert with fragment value', q: s => s`insert into t ${s({ a: s`now()`, b: 2 })}`, text: 'insert into t ("a","b")values(now(),$1)', params: [2] },
  { name: 'update', q: s => s`update t set ${s({ a: 1, b: null })} where id = ${3}`,
    text: 'update t set "a"=$1,"b"=$2 where id = $3', params: [1, null, 3] },
  { name: 'update chosen columns', q: s => s`update t set ${s({ a: 1, b: 2 }, 'b')}`, text: 'update t set "b"=$1', params: [2] },
  { name: 'update with fragment', q: s => s`update t set ${s({ n: s`n + ${1}` })}`, text: 'update t set "n"=n + $1', params: [1] },
  { name: 'in list', q: s => s`select * from t where id in ${s([1, 2, 3])}`, text: 'select * from t where id in ($1,$2,$3)', params: [1, 2, 3] },
  { name: 'in empty list', q: s => s`select * from t where id IN ${s([])}`, text: 'select * from t where id IN (null)', params: [] },
  { name: 'values rows', q: s => s`values ${s([[1, 2], [3, 4]])}`, text: 'values ($1,$2),($3,$4)', params: [1, 2, 3, 4] },
  { name: 'values object', q: s => s`insert into t (a, b) values ${s({ a: 1, b: 2 })}`, text: 'insert into t (a, b) values ($1,$2)' },
  { name: 'select object', q: s => s`select ${s({ a: 1, b: s`now()` })}`, text: 'select $1 as "a",now() as "b"', params: [1] },
  { name: 'returning list', q: s => s`insert into t ${s({ a: 1 })} returning ${s(['a', 'b'])}`,
    text: 'insert into t ("a")values($1) returning "a","b"' },
  { name: 'latest keyword wins', q: s => s`insert into t ${s({ a: 1, b: 2 })} on conflict (a) do update set ${s({ a: 1, b: 2 }, 'b')}`,
    text: 'insert into t ("a","b")values($1,$2) on conflict (a) do update set "b"=$3' },
  { name: 'keyword after cte', q: s => s`with x as (select 1) insert into t ${s({ a: 1 })}`, text: 'with x as (select 1) insert into t ("a")values($1)' },
  { name: 'repeated keyword', q: s => s`select ${s('a')} from t where a in ${s([1])} and b in ${s([2, 3])}`,
    text: 'select "a" from t where a in ($1) and b in ($2,$3)' },
  { name: 'keyword scoped to fragment', q: s => s`update t set ${s`a = 1 where id in ${s([1, 2])}`}`,
    text: 'update t set a = 1 where id in ($1,$2)' },
  { name: 'nested fragments renumber', q: s => s`select ${1}, ${s`${2} + ${s`${3}`}`}, ${4}`, text: 'select $1, $2 + $3, $4', params: [1, 2, 3, 4] },
  { name: 'array of fragments', q: s => s`select 1 ${[s`where a = ${1}`, s`and b = ${2}`]}`,
    text: 'select 1  where a = $1 and b = $2', params: [1, 2] },
  { name: 'empty fragment', q: s => s`select 1${s``}`, text: 'select 1' },
  { name: 'unsafe inline without args', q: s => s`select ${1}, ${s.unsafe('now() + $1')}`, text: 'select $1, now() + $1', params: [1] },
  // postgres.js drops the args of a nested unsafe and keeps its $n pointing at outer parameters.
  { name: 'unsafe inline with args renumbered', pg: false,
    q: s => s`select ${1}, ${s.unsafe("$1::int + $2 -- $1\n, '$1', E'\\'$1', \"$1\", a$1, $$ $1 $$, $t$ $2 $t$, /* $1 */ $3", [5, 6])}, ${7}`,
    text: "select $1, $2::int + $3 -- $1\n, '$1', E'\\'$1', \"$1\", a$1, $$ $1 $$, $t$ $2 $t$, /* $1 */ $3, $4", params: [1, 5, 6, 7] },
  // postgres.js would fail on a non-fragment in an array of fragments; each element is a value here.
  { name: 'array of fragments with a value', pg: false, q: s => s`x${[s`a`, 2]}`, text: 'x a $1', params: [2] },
  { name: 'typed parameter', q: s => s`select ${s.typed('1', 23)}`, text: 'select $1', params: ['1'], types: [23] },
  { name: 'json parameter', q: s => s`select ${s.json({ a: 1 })}`, params: [{ a: 1 }], types: [3802] },
  { name: 'sql.array defaults to text[]', q: s => s`${s.array([1, 2])}${s.array(['a'])}${s.array([])}${s.array([true])}`,
    types: [1009, 1009, 0, 1000] },
  { name: 'sql.array with element or array OID', q: s => s`${s.array([1, 2], 23)}${s.array([1, 2], 1007)}${s.array([[1n]])}`,
    types: [1007, 1007, 1016] },
  // postgres.js declares a plain array with its element's OID (Date[] as timestamptz), which the
  // server rejects; the array OID is declared instead (0 when unknown).
  { name: 'plain arrays get array OIDs', pgTypes: false, q: s => s`${[1, 2]}${[true]}${[date]}${[[1n]]}${[Buffer.from('a')]}${[]}`,
    types: [0, 1000, 1185, 1016, 1001, 0] },
  { name: 'transform.undefined', transform: X.normalizeTransform({ undefined: null }),
    q: s => s`${undefined} update t set ${s({ a: undefined })}`, text: '$1 update t set "a"=$2', params: [null, null], types: [0, 0] },
  // postgres.js throws UNDEFINED_VALUE for a typed undefined even when transform.undefined is set.
  { name: 'transform.undefined in a typed parameter', pg: false, transform: X.normalizeTransform({ undefined: null }),
    q: s => s`${s.typed(undefined, 23)}`, params: [null], types: [23] },
  { name: 'column.to on identifiers and builders', transform: camelT,
    q: s => s`insert into ${s('myTable')} ${s({ fooBar: 1 })} returning ${s(['fooBar'])}; update t set ${s({ fooBar: 1 })}; select ${s({ fooBar: 1 })}`,
    text: 'insert into "my_table" ("foo_bar")values($1) returning "foo_bar"; update t set "foo_bar"=$2; select $3 as "foo_bar"' }
]

test('build: generated text, params and types', async t => {
  for (const c of buildCases) {
    await t.test(c.name, () => {
      const r = ourSql(c.transform || plain).run(c.q(ourSql(c.transform || plain)))
      c.text !== undefined && assert.equal(r.text, c.text)
      c.params !== undefined && assert.deepEqual(r.params, c.params)
      c.types !== undefined && assert.deepEqual(r.types, c.types)
      assert.equal(r.params.length, r.types.length)
    })
  }
})

test('build: same as postgres.js', needsPg, async t => {
  for (const c of buildCases.filter(c => c.pg !== false)) {
    await t.test(c.name, () => {
      const transform = c.transform || plain
      const ours = ourSql(transform).run(c.q(ourSql(transform)))
      const theirs = pgSql(transform).run(c.q(pgSql(transform)))
      assert.equal(ours.text, theirs.text)
      assert.deepEqual(ours.params, theirs.params)
      c.pgTypes !== false && assert.deepEqual(ours.types, theirs.types)
    })
  }
})

test('build: undefined values', () => {
  const sql = ourSql(plain)
  for (const q of [sql`${undefined}`, sql`${sql.json(undefined)}`, sql`${[1, undefined]}`, sql`update t set ${sql({ a: undefined })}`])
    assert.throws(() => sql.run(q), { code: 'UNDEFINED_VALUE', message: 'UNDEFINED_VALUE: Undefined values are not allowed' })
  const withNull = ourSql(X.normalizeTransform({ undefined: null }))
  assert.deepEqual(withNull.run(sql`${[1, [undefined]]}`).params, [[1, [null]]])
})

test('build: parameter limit', () => {
  const many = n => Object.assign(Array(n + 1).fill(','), { raw: [] })
  const sql = ourSql(plain)
  // As postgres.js: 65,533 parameters are fine, 65,534 are already too many.
  const ok = sql.run(sql(many(65533), ...Array(65533).fill(1)))
  assert.equal(ok.params.length, 65533)
  assert.ok(ok.text.endsWith('$65533,'))
  assert.throws(() => sql.run(sql(many(65534), ...Array(65534).fill(1))),
    { code: 'MAX_PARAMETERS_EXCEEDED', message: 'MAX_PARAMETERS_EXCEEDED: Max number of parameters (65534) exceeded' })
  assert.throws(() => B.buildUnsafe('x', Array(65534).fill(1)), { code: 'MAX_PARAMETERS_EXCEEDED' })
})

test('buildUnsafe: text kept, args bound', () => {
  assert.deepEqual(B.buildUnsafe('select $1, $2', [1, B.json({})]), { text: 'select $1, $2', params: [1, {}], types: [0, 3802] })
  assert.deepEqual(B.buildUnsafe('select 1'), { text: 'select 1', params: [], types: [] })
  assert.throws(() => B.buildUnsafe('select $1', [undefined]), { code: 'UNDEFINED_VALUE' })
})

test('helpers are not awaitable', async () => {
  for (const x of [B.helper('a'), B.helper({ a: 1 }), B.json(1), B.typed(1, 23), B.array([1])])
    await assert.rejects(async () => await x, { code: 'NOT_TAGGED_CALL', message: 'NOT_TAGGED_CALL: Query not called as a tagged template literal' })
  assert.equal(B.notTaggedCallError().code, 'NOT_TAGGED_CALL')
  assert.ok(B.isFragment({ [B.FRAGMENT]: true }))
  assert.ok(!B.isFragment({}) && !B.isFragment(null) && !B.isFragment(0))
  assert.equal(B.FRAGMENT, Symbol.for('aurora-dsql-postgres.fragment'))
})

// ---- values sent ----
const inferCases = [
  ['s', 0], [1, 0], [1.5, 0], [null, 0], [undefined, 0], [{ a: 1 }, 0], [true, 16], [false, 16], [1n, 20],
  [date, 1184], [Buffer.from('a'), 17], [new Uint8Array(1), 17], [[], 0], [[1n], 20], [[[true]], 16], [[null, 1n], 0]
]

test('inferType', () => {
  for (const [x, oid] of inferCases)
    assert.equal(T.inferType(x), oid, String(x))
  assert.equal(T.inferType(new T.Parameter(1, 700)), 700)
})

test('inferType: same as postgres.js', needsPg, () => {
  for (const [x] of inferCases)
    assert.equal(T.inferType(x), pg.types.inferType(x), String(x))
})

const serializeCases = [
  ['abc', 'abc'], ['{"a":1}', '{"a":1}'], [1, '1'], [-1.5, '-1.5'], [NaN, 'NaN'], [12345678901234567890n, '12345678901234567890'],
  [true, 't'], [false, 'f'], [date, '2024-01-02T03:04:05.678Z'], [null, null], [{ a: [1, 'x'] }, '{"a":[1,"x"]}'],
  [[], '{}'], [[1, 2], '{"1","2"}'], [['a"b', 'c\\d', null, 'NULL', '', 'x,y', '{z}'], '{"a\\"b","c\\\\d",null,"NULL","","x,y","{z}"}'],
  [[[1, 2], [3, null]], '{{"1","2"},{"3",null}}'], [[[]], '{{}}'], [[true, false], '{"t","f"}'],
  [[date], '{"2024-01-02T03:04:05.678Z"}'], [[Buffer.from([1, 255])], '{"\\\\x01ff"}'], [[{ a: '"' }], '{"{\\"a\\":\\"\\\\\\"\\"}"}'],
  [[B.typed(1, 23)], '{"1"}']
]

test('serialize', () => {
  for (const [x, text] of serializeCases)
    assert.deepEqual(T.serialize(x), text, String(x))
  const buffer = Buffer.from('ab')
  assert.equal(T.serialize(buffer), buffer)
  const bytes = T.serialize(new Uint8Array([1, 2]))
  assert.ok(Buffer.isBuffer(bytes))
  assert.deepEqual([...bytes], [1, 2])
  assert.throws(() => T.serialize([undefined]), { code: 'UNDEFINED_VALUE' })
})

test('serialize arrays: same as postgres.js arraySerializer', needsPg, () => {
  const options = { transform: plain }
  for (const xs of [[1, 2], ['a"b', 'c\\d', null, 'NULL', '', 'x,y'], [[1, 2], [3, null]], [[]], [1.5, -2]])
    assert.equal(T.serialize(xs), pg.types.arraySerializer(xs, null, options))
  assert.equal(T.serialize([true, false]), pg.types.arraySerializer([true, false], pg.types.serializers[16], options))
  assert.equal(T.serialize([date]), pg.types.arraySerializer([date], pg.types.serializers[1184], options))
  assert.equal(T.serialize([Buffer.from('a')]), pg.types.arraySerializer([Buffer.from('a')], pg.types.serializers[17], options))
  assert.equal(T.serialize([{ a: 1 }]), pg.types.arraySerializer([{ a: 1 }], pg.types.serializers[3802], options))
})

test('serializeParams', () => {
  const point = { to: 600, from: [600], serialize: p => `(${p.x},${p.y})`, parse: x => x }
  const { serializers } = T.buildTypes({ point }, { bigint: true })
  const buffer = Buffer.from([1])
  const params = [null, 'x', 1, 5n, buffer, { a: 1 }, 'x', 'ab', '2024-01-02', 1, [{ x: 1, y: 2 }, null], { x: 3, y: 4 }, [1, 2]]
  const types = [0, 0, 0, 20, 17, 0, 3802, 17, 1184, 16, 1017, 600, 1007]
  const out = B.serializeParams(params, types, serializers)
  // A plain number stays a number: the native side binds it by the server's type (see query.test.mjs).
  assert.deepEqual(out, [null, 'x', 1, '5', buffer, '{"a":1}', '"x"', Buffer.from('ab'), '2024-01-02T00:00:00.000Z', 'f',
    '{"(1,2)",null}', '(3,4)', '{"1","2"}'])
  assert.equal(out[4], buffer)
  assert.equal(params[9], 1, 'the values given are left as they are')
  // Values that are their own wire form: the same array, not a copy per query.
  const plain = [1, 'x', null, 2.5]
  assert.equal(B.serializeParams(plain, [0, 0, 0, 0]), plain)
  // without custom serializers
  assert.deepEqual(B.serializeParams([true, [true], { a: 1 }], [16, 1000, 3802]), ['t', '{"t"}', '{"a":1}'])
  // user-defined types have large OIDs (looked up apart from the built-in ones)
  const big = T.buildTypes({ money: { to: 90001, from: [90001], serialize: x => `$${x}` } }).serializers
  assert.deepEqual(B.serializeParams([5, 5, true], [90001, 0, 16], big), ['$5', 5, 't'])
})

// ---- values received ----
test('parsers: built-in OIDs', () => {
  const cases = [
    [16, 't', true], [16, 'f', false], [17, '\\x01ff', Buffer.from([1, 255])], [20, '9007199254740993', '9007199254740993'],
    [21, '-2', -2], [23, '42', 42], [26, '7', 7], [700, '1.5', 1.5], [701, '-1e+100', -1e100], [701, 'NaN', NaN],
    [114, '{"a":[1]}', { a: [1] }], [3802, '"x"', 'x'], [1700, '1.50', '1.50'], [790, '$1.00', '$1.00'],
    [2950, '00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000'],
    [1083, '01:02:03', '01:02:03'], [1186, '1 day', '1 day'], [25, 'a', 'a'], [1043, 'a', 'a'], [18, 'a', 'a'],
    [1082, '2024-01-02', new Date('2024-01-02')], [1114, '2024-01-02 03:04:05', new Date('2024-01-02 03:04:05')],
    [1184, '2024-01-02 03:04:05.678+00', date]
  ]
  for (const [oid, text, value] of cases) {
    const parse = T.parserFor(oid)
    assert.deepEqual(parse ? parse(text) : text, value, oid + ' ' + text)
  }
  assert.equal(T.parserFor(25), undefined)
  assert.equal(T.parserFor(1700), undefined)
})

test('parsers: same as postgres.js for scalars', needsPg, () => {
  for (const oid of [16, 17, 20, 21, 23, 26, 114, 700, 701, 1082, 1114, 1184, 1700, 3802, 25])
    assert.equal(T.parserFor(oid), oid in pg.types.parsers ? T.defaultParsers[oid] : undefined, String(oid))
})

test('parsers: arrays', () => {
  const cases = [
    [1007, '{1,2,NULL}', [1, 2, null]],
    [1007, '{}', []],
    [1007, '{{1,2},{3,4}}', [[1, 2], [3, 4]]],
    [1007, '[0:1]={1,2}', [1, 2]],
    [1009, '{a,"NULL",NULL,null,"b\\"c","d\\\\e","","x,y","{z}"}', ['a', 'NULL', null, null, 'b"c', 'd\\e', '', 'x,y', '{z}']],
    [1009, '{{a,NULL},{"}",b}}', [['a', null], ['}', 'b']]],
    [1015, '{"a b",c}', ['a b', 'c']],
    [1016, '{9007199254740993}', ['9007199254740993']],
    [1000, '{t,f,NULL}', [true, false, null]],
    [1001, '{"\\\\x01ff",NULL}', [Buffer.from([1, 255]), null]],
    [1005, '{1}', [1]], [1028, '{1}', [1]], [1021, '{1.5}', [1.5]], [1022, '{NaN,Infinity}', [NaN, Infinity]],
    [1231, '{1.50,NaN}', ['1.50', 'NaN']], [2951, '{00000000-0000-0000-0000-000000000000}', ['00000000-0000-0000-0000-000000000000']],
    [199, '{"{\\"a\\":1}",NULL}', [{ a: 1 }, null]], [3807, '{"[1, 2]","\\"NULL\\""}', [[1, 2], 'NULL']],
    [1182, '{2024-01-02}', [new Date('2024-01-02')]], [1115, '{"2024-01-02 03:04:05"}', [new Date('2024-01-02 03:04:05')]],
    [1185, '{"2024-01-02 03:04:05.678+00"}', [date]],
    [1020, '{(1,1),(0,0);(2,2),(1,1)}', ['(1,1),(0,0)', '(2,2),(1,1)']]
  ]
  for (const [oid, text, value] of cases)
    assert.deepEqual(T.parserFor(oid)(text), value, oid + ' ' + text)
  assert.deepEqual(T.parseArray('{a;b,c}', null, ';'), ['a', 'b,c'])
  assert.deepEqual(T.parseArray('{"1",2}', Number), [1, 2])
  assert.deepEqual(T.parseArray('{"abc'), ['abc']) // malformed input ends instead of looping
})

test('parseArray: same as postgres.js without NULLs', needsPg, () => {
  for (const text of ['{1,2}', '{}', '{{1,2},{3,4}}', '{a,"b\\"c","d\\\\e","","x,y"}', '{{a},{"}"}}'])
    assert.deepEqual(T.parseArray(text), pg.types.arrayParser(text.slice(1)), text)
})

test('buildTypes: custom types, BigInt and helpers', () => {
  const keepDates = { to: 1184, from: [1082, 1114, 1184], serialize: x => x } // no parse: strings
  const point = { to: 600, from: [600], serialize: p => `(${p.x},${p.y})`, parse: x => x.slice(1, -1).split(',').map(Number) }
  const { serializers, parsers, helpers } = T.buildTypes({ keepDates, point, bigint: T.BigInt })
  assert.equal(T.parserFor(1184, parsers), undefined)
  assert.equal(T.parserFor(20, parsers)('12345678901234567890'), 12345678901234567890n)
  assert.deepEqual(T.parserFor(1016, parsers)('{1,NULL}'), [1n, null])
  assert.deepEqual(T.parserFor(600, parsers)('(1,2)'), [1, 2])
  assert.equal(T.parserFor(23, parsers)('1'), 1)
  assert.equal(serializers[600]({ x: 1, y: 2 }), '(1,2)')
  assert.equal(serializers[1082]('2024-01-02'), '2024-01-02')
  assert.deepEqual(Object.keys(helpers), ['keepDates', 'point', 'bigint'])
  const p = helpers.point({ x: 1, y: 2 })
  assert.ok(p instanceof T.Parameter)
  assert.deepEqual([p.value, p.type], [{ x: 1, y: 2 }, 600])
  assert.equal(T.buildTypes({}, { bigint: true }).parsers[20]('1'), 1n)
  assert.equal(T.parserFor(20, T.buildTypes().parsers), undefined)
  assert.deepEqual(T.buildTypes(), { serializers: T.defaultSerializers, parsers: T.defaultParsers, helpers: {} })
})

test('array OID maps', () => {
  const pairs = { 1007: 23, 1009: 25, 1016: 20, 1000: 16, 1001: 17, 1015: 1043, 1021: 700, 1022: 701, 1231: 1700,
    1182: 1082, 1115: 1114, 1185: 1184, 2951: 2950, 199: 114, 3807: 3802, 1005: 21, 1028: 26 }
  for (const [array, element] of Object.entries(pairs)) {
    assert.equal(T.ARRAY_ELEMENT[array], element)
    assert.equal(T.ELEMENT_ARRAY[element], +array)
  }
  assert.deepEqual([T.OID.bool, T.OID.int8, T.OID.jsonb, T.OID.timestamptz, T.OID.numeric], [16, 20, 3802, 1184, 1700])
})

// ---- transforms ----
const words = ['a', 'abc', 'a_b', 'a_b_c', '_a', 'a__b', 'abc_def', 'aBc', 'ABC', 'a-b', 'AbcDef', 'abcDef', 'a1_b2']

test('transform functions', () => {
  assert.equal(X.toCamel('abc_def_g'), 'abcDefG')
  assert.equal(X.toCamel('_a_b'), '_aB')
  assert.equal(X.toPascal('abc_def'), 'AbcDef')
  assert.equal(X.toKebab('abc_def'), 'abc-def')
  assert.equal(X.fromCamel('abcDefG'), 'abc_def_g')
  assert.equal(X.fromPascal('AbcDef'), 'abc_def')
  assert.equal(X.fromKebab('abc-def'), 'abc_def')
  assert.equal(X.toCamel('a_'), 'a_')
})

test('transform functions: same as postgres.js', needsPg, () => {
  for (const name of ['toCamel', 'toPascal', 'toKebab', 'fromCamel', 'fromPascal', 'fromKebab'])
    for (const w of words)
      assert.equal(X[name](w), pg.index[name](w), name + ' ' + w)
})

test('transform objects and normalizeTransform', () => {
  for (const [to, from, both] of [[X.toCamel, X.fromCamel, X.camel], [X.toPascal, X.fromPascal, X.pascal], [X.toKebab, X.fromKebab, X.kebab]]) {
    assert.equal(both.column.from, to)
    assert.equal(both.column.to, from)
    assert.equal(to.column.from, to)
    assert.equal(from.column.to, from)
    assert.equal(both.value, to.value)
    assert.deepEqual(X.normalizeTransform(both), {
      undefined: undefined, column: { from: to, to: from }, value: { from: to.value.from, to: undefined }, row: { from: undefined, to: undefined }
    })
  }
  // postgres.js quirk kept: toCamel.column is camel.column, so it maps names both ways.
  assert.equal(X.toCamel.column.to, X.fromCamel)
  assert.deepEqual(X.normalizeTransform({ column: X.toCamel, row: { to: X.fromCamel }, undefined: null }), {
    undefined: null, column: { from: X.toCamel, to: undefined }, value: { from: undefined, to: undefined }, row: { from: undefined, to: X.fromCamel }
  })
  assert.deepEqual(X.normalizeTransform(), X.normalizeTransform({}))
  assert.deepEqual(X.normalizeTransform(null).column, { from: undefined, to: undefined })

  const value = { a_b: [{ c_d: 1 }], e: 'f_g' }
  assert.deepEqual(X.camel.value.from(value, { type: 3802 }), { aB: [{ cD: 1 }], e: 'f_g' })
  assert.deepEqual(X.pascal.value.from(value, { type: 114 }), { AB: [{ CD: 1 }], E: 'f_g' })
  assert.deepEqual(X.kebab.value.from([value], { type: 3802 }), [{ 'a-b': [{ 'c-d': 1 }], e: 'f_g' }])
  assert.equal(X.camel.value.from(value, { type: 25 }), value)
  assert.equal(X.camel.value.from(null, { type: 3802 }), null)
})

test('transform objects: same shape as postgres.js', needsPg, () => {
  for (const name of ['camel', 'pascal', 'kebab', 'toCamel', 'toPascal', 'toKebab', 'fromCamel', 'fromPascal', 'fromKebab']) {
    const ours = X[name]
    const theirs = pg.index[name]
    assert.deepEqual(Object.keys(ours.column).sort(), Object.keys(theirs.column).sort(), name)
    assert.equal(!!ours.value, !!theirs.value, name)
    for (const w of words.filter(w => !w.endsWith('_'))) {
      ours.column.from && assert.equal(ours.column.from(w), theirs.column.from(w))
      ours.column.to && assert.equal(ours.column.to(w), theirs.column.to(w))
    }
    if (ours.value) {
      const v = { a_b: [{ c_d: { e_f: 1 } }] }
      assert.deepEqual(ours.value.from(v, { type: 3802 }), theirs.value.from(v, { type: 3802 }))
    }
  }
})

// ---- errors ----
test('errors', () => {
  const e = new E.PostgresError({ severity: 'ERROR', code: '23505', message: 'duplicate key', detail: 'Key (id)=(1)', hint: undefined, constraint_name: 'pk' })
  assert.ok(e instanceof Error)
  assert.equal(e.name, 'PostgresError')
  assert.equal(e.message, 'duplicate key')
  assert.deepEqual([e.severity, e.code, e.detail, e.constraint_name], ['ERROR', '23505', 'Key (id)=(1)', 'pk'])
  assert.ok(!('hint' in e))

  const c = E.connectionError('CONNECTION_CLOSED', undefined, { address: 'db.example', port: 5432 })
  assert.equal(c.message, 'write CONNECTION_CLOSED db.example:5432')
  assert.deepEqual([c.code, c.errno, c.address, c.port], ['CONNECTION_CLOSED', 'CONNECTION_CLOSED', 'db.example', 5432])
  const d = E.connectionError('CONNECT_TIMEOUT', 'timed out', { errno: 'ETIMEDOUT', address: 'h' })
  assert.deepEqual([d.message, d.code, d.errno, d.address, 'port' in d], ['timed out', 'CONNECT_TIMEOUT', 'ETIMEDOUT', 'h', false])

  const g = E.genericError('UNSAFE_TRANSACTION', 'Only use sql.begin, sql.reserved or max: 1')
  assert.deepEqual([g.code, g.message], ['UNSAFE_TRANSACTION', 'UNSAFE_TRANSACTION: Only use sql.begin, sql.reserved or max: 1'])
  assert.ok(!g.stack.split('\n')[1].includes('genericError'))

  const n = E.notSupportedError('LISTEN/NOTIFY')
  assert.equal(n.code, 'DSQL_NOT_SUPPORTED')
  assert.match(n.message, /LISTEN\/NOTIFY.*Aurora DSQL/)
})

test('errors: same messages as postgres.js', needsPg, () => {
  const { Errors } = pg
  const theirs = Errors.connection('CONNECTION_ENDED', { host: ['h'], port: [1] }, { host: 'h', port: 1 })
  const ours = E.connectionError('CONNECTION_ENDED', undefined, { address: 'h', port: 1 })
  assert.deepEqual([ours.message, ours.code, ours.errno, ours.address, ours.port], [theirs.message, theirs.code, theirs.errno, theirs.address, theirs.port])
  assert.equal(E.genericError('X', 'y').message, Errors.generic('X', 'y').message)
  const fields = { severity: 'ERROR', code: '42P01', message: 'relation "x" does not exist', position: '15', file: 'f', line: '1', routine: 'r' }
  assert.deepEqual({ ...new E.PostgresError(fields) }, { ...new pg.index.PostgresError(fields) })
})


test('the in-flight table agrees with a Map under random finishing orders, long-held entries and id wrap-around', () => {
  const { InFlight } = require('../js/inflight.js')
  let seed = 7
  const rand = n => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  for (const start of [1, 0xfffffff0 - 70000]) {
    const t = new InFlight(), m = new Map(), live = []
    let id = start
    const next = () => { const i = id++; id > 0xfffffff0 && (id = 1); return i }
    const held = next() // one entry held open through everything (a cursor, say)
    const h = { id: held }
    t.set(held, h); m.set(held, h)
    for (let step = 0; step < 200000; step++) {
      if (rand(1000) >= live.length) {
        const i = next(), o = { id: i }
        t.set(i, o); m.set(i, o); live.push(i)
      } else {
        // finish a mostly old entry: one of the first few in sending order, sometimes any
        const at = rand(4) === 0 ? rand(live.length) : rand(Math.min(8, live.length))
        const k = live.splice(at, 1)[0]
        assert.equal(t.delete(k), true)
        m.delete(k)
        assert.equal(t.delete(k), false, 'a second delete finds nothing')
      }
      if (step % 9973 === 0) {
        assert.equal(t.size, m.size)
        for (const [k, v] of m) assert.equal(t.get(k), v)
        assert.deepEqual(new Set(t.values()), new Set(m.values()))
        assert.equal(t.get(id), undefined)
      }
    }
    assert.equal(t.get(held), h, 'the long-held entry is still found')
    assert.ok(t.old.size > 0 && t.list.length - t.head <= 65536 + 1, 'it moved out of the window, which stayed bounded')
    t.clear()
    assert.equal(t.size, 0)
    assert.equal(t.get(held), undefined)
  }
})
