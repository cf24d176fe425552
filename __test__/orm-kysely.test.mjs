// kysely with kysely-postgres-js over this package, through the local DSQL endpoint: every kysely
// connection is a sql.reserve(), transactions are BEGIN/COMMIT on it, streams are cursors, and the
// introspector reads pg_catalog. Schemas are DSQL-valid (no serial, no foreign keys, no json columns).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Kysely, sql } from 'kysely'
import { PostgresJSDialect } from 'kysely-postgres-js'
import { connect } from './fixture.mjs'

const tag = `${process.pid}_${Date.now() % 100000}`
const items = `orm_items_${tag}`
const counters = `orm_counters_${tag}`
const db = new Kysely({ dialect: new PostgresJSDialect({ postgres: connect({ max: 4 }) }) })

after(async () => {
  await db.schema.dropTable(items).ifExists().execute()
  await db.schema.dropTable(counters).ifExists().execute()
  await db.destroy()
})

test('schema builder: create table with DSQL types, and an async index through raw sql', async () => {
  await db.schema.createTable(items)
    .addColumn('id', 'uuid', c => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', c => c.notNull())
    .addColumn('qty', 'integer', c => c.notNull().defaultTo(0))
    .addColumn('price', 'numeric(10, 2)')
    .addColumn('active', 'boolean', c => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', c => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createTable(counters)
    .addColumn('k', 'text', c => c.primaryKey())
    .addColumn('n', 'integer', c => c.notNull())
    .execute()
  // kysely's createIndex() writes a plain CREATE INDEX, which DSQL rejects; CREATE INDEX ASYNC it accepts.
  const plain = await db.schema.createIndex(`${items}_name`).on(items).column('name').execute().catch(e => e)
  assert.equal(plain.code, '0A000', String(plain))
  await sql`create index async ${sql.id(`${items}_name`)} on ${sql.table(items)} (name)`.execute(db)
})

test('insert returning, update and delete with numAffectedRows', async () => {
  const inserted = await db.insertInto(items)
    .values([{ name: 'a', qty: 1, price: '1.50' }, { name: 'b', qty: 2 }, { name: 'c', qty: 3, active: false }])
    .returning(['id', 'name', 'qty', 'price', 'active', 'created_at'])
    .execute()
  assert.equal(inserted.length, 3)
  assert.match(inserted[0].id, /^[0-9a-f-]{36}$/)
  assert.deepEqual(inserted.map(r => [r.name, r.qty, r.price, r.active]), [['a', 1, '1.50', true], ['b', 2, null, true], ['c', 3, null, false]])
  assert.ok(inserted[0].created_at instanceof Date)

  const up = await db.updateTable(items).set(eb => ({ qty: eb('qty', '+', 10) })).where('active', '=', true).executeTakeFirst()
  assert.equal(up.numUpdatedRows, 2n)
  const ins = await db.insertInto(items).values({ name: 'd' }).executeTakeFirst()
  assert.equal(ins.numInsertedOrUpdatedRows, 1n)
  const del = await db.deleteFrom(items).where('name', 'in', ['c', 'd']).executeTakeFirst()
  assert.equal(del.numDeletedRows, 2n)
  const rows = await db.selectFrom(items).select(['name', 'qty']).orderBy('name').execute()
  assert.deepEqual(rows, [{ name: 'a', qty: 11 }, { name: 'b', qty: 12 }])
})

// kysely sends every query through sql.unsafe() without prepare: postgres.js then asks the server for the
// parameter types first and sends an array parameter as an array literal.
test('jsonb and arrays in expressions and parameters', async () => {
  const [row] = await db.selectNoFrom([
    sql`${JSON.stringify({ a: [1, 2] })}::jsonb`.as('doc'),
    sql`${sql.val(['x', 'y'])}::text[]`.as('arr'),
    sql`${'x'} = any(${sql.val(['x', 'y'])}::text[])`.as('hit')
  ]).execute()
  assert.deepEqual(row, { doc: { a: [1, 2] }, arr: ['x', 'y'], hit: true })
})

test('transactions over reserve(): commit and rollback', async () => {
  await db.transaction().execute(async trx => {
    await trx.insertInto(items).values({ name: 'tx' }).execute()
    const seen = await trx.selectFrom(items).select('name').where('name', '=', 'tx').execute()
    assert.equal(seen.length, 1)
  })
  assert.equal((await db.selectFrom(items).select('name').where('name', '=', 'tx').execute()).length, 1)
  const err = await db.transaction().execute(async trx => {
    await trx.insertInto(items).values({ name: 'gone' }).execute()
    throw new Error('abort')
  }).catch(e => e)
  assert.equal(err.message, 'abort')
  assert.equal((await db.selectFrom(items).select('name').where('name', '=', 'gone').execute()).length, 0)
  const dup = await db.transaction().execute(async trx => {
    await trx.insertInto(counters).values({ k: 'x', n: 1 }).execute()
    await trx.insertInto(counters).values({ k: 'x', n: 2 }).execute()
  }).catch(e => e)
  assert.equal(dup.code, '23505')
  assert.equal((await db.selectFrom(counters).selectAll().execute()).length, 0)
})

test('8 concurrent transactions on a pool of 2', async () => {
  const small = new Kysely({ dialect: new PostgresJSDialect({ postgres: connect({ max: 2 }) }) })
  try {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => small.transaction().execute(async trx => {
      await trx.insertInto(counters).values({ k: `c${i}`, n: i }).execute()
      const [{ n }] = await trx.selectFrom(counters).select('n').where('k', '=', `c${i}`).execute()
      return n
    })))
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7])
    const rows = await small.selectFrom(counters).select(sql`count(*)::int4`.as('c')).where('k', 'like', 'c%').execute()
    assert.deepEqual(rows, [{ c: 8 }])
  } finally {
    await small.destroy()
  }
})

test('stream() delivers rows in chunks', async () => {
  const names = []
  for await (const row of db.selectFrom(sql`generate_series(1, 25)`.as('g')).select(sql`g::int4`.as('g')).stream(4))
    names.push(row.g)
  assert.deepEqual(names, Array.from({ length: 25 }, (_, i) => i + 1))
  // Stopping early gives the connection back.
  for await (const row of db.selectFrom(items).select('name').stream(1)) { assert.ok(row.name); break }
  assert.equal((await db.selectFrom(items).select('name').where('name', '=', 'a').execute()).length, 1)
})

test('introspection: getTables() sees the tables and their columns', async () => {
  const tables = await db.introspection.getTables()
  const table = tables.find(t => t.name === items)
  assert.ok(table, `${items} in ${tables.map(t => t.name)}`)
  const columns = Object.fromEntries(table.columns.map(c => [c.name, [c.dataType, c.isNullable, c.hasDefaultValue]]))
  assert.deepEqual(columns, {
    id: ['uuid', false, true],
    name: ['text', false, false],
    qty: ['int4', false, true],
    price: ['numeric', true, false],
    active: ['bool', false, true],
    created_at: ['timestamptz', false, true]
  })
})
