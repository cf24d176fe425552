// The two row decoders (js/rows.js): generated code where `new Function` works, closures where it
// does not (workerd, strict CSP). The same queries through each make identical rows: every encoding
// with nulls, custom parsers, transforms, duplicate and odd column names, forEach, cursors.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect, require, lib } from './fixture.mjs'

const rows = require('../js/rows.js')
after(() => rows.useCompiled(true))

const MANY = `select
  case when i % 2 = 0 then null else (-2147483648 + i)::int4 end as i4, case when i = 2 then 32767::int2 end as i2,
  9007199254740993::int8 + i as i8, case when i % 3 = 0 then null else i * 0.5 end::float8 as f, 1.1::float4 as f4,
  4294967295::oid as o, 12.340::numeric + i as num, 'NaN'::float8 as nan,
  case when i = 1 then null else timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' end as t,
  '2024-02-29'::date + i as d, '1 day 02:03:04'::interval as iv, '12:34:56'::time as tm,
  case when i % 2 = 0 then i = 2 end as b, case when i = 3 then null else int4send(i) end as by,
  case when i = 2 then null else 'r ' || i end as s, 'héllo wörld, a longer text than twelve' as long, 'ü' as u1,
  case when i = 1 then null else ('{"i":' || i || ',"snake_key":[1,2]}')::jsonb end as j, '{"a":[1,2]}'::json as js,
  '11111111-2222-3333-4444-555555555555'::uuid as uu, array[i,null,3]::int4[] as ai, array['a b',null,'NULL']::text[] as at,
  i as "a b", 'x' as "a""q", 1 as dup, 2 as dup, 0 as "constructor", 5 as "1", 'p' as snake_case_name
  from generate_series(1, 5) i`

// The results of the queries, with the name of the decoder that made the object rows.
async function results(compiled, extra) {
  rows.useCompiled(compiled)
  const sql = connect({ max: 1, ...extra })
  try {
    const out = []
    const decoders = new Set()
    const add = result => {
      out.push([...result])
      result.columns && result.columns.decoder && decoders.add(result.columns.decoder.name)
    }
    add(await sql.unsafe(MANY))
    add(await sql.unsafe(MANY)) // the cached columns and decoder
    add(await sql`select 1 as "__proto__", 2 as x, null as y`)
    add(await sql`select ${'p'} as a, ${7} as b, ${null}::int as c`)
    const each = []
    await sql.unsafe(MANY).forEach(row => { each.push(row) })
    out.push(each)
    const batches = []
    await sql.unsafe(MANY).cursor(2, batch => { batches.push([...batch]) })
    out.push(batches)
    add(await sql.unsafe(MANY).values())
    add(await sql`select generate_series(1, 300) as n, 'x' as s`)
    return { out, decoders: [...decoders].sort() }
  } finally {
    await sql.end()
  }
}

// Rows with Buffers and Dates compare by value; NaN as itself.
async function same(extra) {
  const compiled = await results(true, extra)
  const closures = await results(false, extra)
  assert.deepEqual(compiled.decoders, ['decodeRows'])
  assert.deepEqual(closures.decoders, ['decodeRowsWithClosures'])
  assert.deepEqual(closures.out, compiled.out)
  // Same keys in the same order, row by row.
  const keys = r => r.out.flat(2).map(row => row && typeof row === 'object' && !Array.isArray(row) ? Object.keys(row) : null)
  assert.deepEqual(keys(closures), keys(compiled))
  return compiled.out
}

test('both decoders make identical rows', async () => {
  const out = await same()
  const first = out[0][0]
  // An integer-like name comes first (JS property order), a duplicate keeps its first place and its last value.
  assert.deepEqual(Object.keys(first)[0], '1')
  assert.deepEqual(Object.keys(first).slice(-5), ['a b', 'a"q', 'dup', 'constructor', 'snake_case_name'])
  assert.equal(first.dup, 2)
  assert.ok(Buffer.isBuffer(first.by) && first.t === null && out[0][1].t instanceof Date)
})

test('both decoders make identical rows with column, value and row transforms', async () => {
  let seen = 0
  await same({
    transform: {
      column: lib.camel.column, value: lib.camel.value,
      row: { from: row => { seen++; return { ...row, extra: Object.keys(row).length } } }
    }
  })
  assert.ok(seen > 0)
})

test('both decoders make identical rows with custom parsers', async () => {
  await same({
    types: {
      upper: { to: 25, from: [25], serialize: x => String(x), parse: x => x.toUpperCase() },
      half: { to: 23, from: [23], serialize: x => String(x), parse: x => Number(x) / 2 }
    }
  })
})

test('where code generation is forbidden, the closure decoder is used on its own', async () => {
  // --disallow-code-generation-from-strings makes `new Function` throw, as in workerd or under a strict CSP.
  const script = `
    const { connect } = await import(${JSON.stringify(new URL('./fixture.mjs', import.meta.url).href)})
    const sql = connect({ max: 1 })
    const r = await sql\`select 1::int4 as a, 'x' as b, null::float8 as c\`
    await sql.end()
    console.log(JSON.stringify({ rows: [...r], decoder: r.columns.decoder.name }))`
  const { execFile } = await import('node:child_process')
  const out = await new Promise((resolve, reject) => execFile(process.execPath,
    ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script], (err, stdout, stderr) => err ? reject(new Error(stderr || err.message)) : resolve(stdout)))
  assert.deepEqual(JSON.parse(out), { rows: [{ a: 1, b: 'x', c: null }], decoder: 'decodeRowsWithClosures' })
})
