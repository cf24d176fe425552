// drizzle-orm's postgres-js driver over this package, through the local DSQL endpoint: drizzle replaces
// some parsers and serializers in sql.options at construction and reads dates as PostgreSQL's text, runs
// prepared queries in arrays mode (.values()), transactions through sql.begin, and its relational
// queries build json in SQL. The schema is one DSQL can store (no json or array columns, no foreign keys,
// no sequences): jsonb and arrays appear in expressions and parameters only.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { drizzle } from 'drizzle-orm/postgres-js'
import { pgTable, uuid, numeric, integer, text, boolean, date, timestamp } from 'drizzle-orm/pg-core'
import { eq, and, gt, inArray, asc, sql as dsql, relations, placeholder } from 'drizzle-orm'
import { connect } from './fixture.mjs'

const client = connect({ max: 4 })
const other = connect({ max: 1 })
const tag = `${process.pid}_${Date.now() % 100000}`
const authors = pgTable(`orm_authors_${tag}`, {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  active: boolean('active').notNull().default(true),
  born: date('born'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow()
})
const books = pgTable(`orm_books_${tag}`, {
  id: uuid('id').primaryKey().defaultRandom(),
  authorId: uuid('author_id').notNull(),
  title: text('title').notNull(),
  pages: integer('pages').notNull(),
  price: numeric('price', { precision: 10, scale: 2 })
})
const authorsRelations = relations(authors, ({ many }) => ({ books: many(books) }))
const booksRelations = relations(books, ({ one }) => ({ author: one(authors, { fields: [books.authorId], references: [authors.id] }) }))
const db = drizzle(client, { schema: { authors, books, authorsRelations, booksRelations } })

before(async () => {
  // One DDL statement per transaction (DSQL): each runs on its own.
  await client.unsafe(`create table ${authors[Symbol.for('drizzle:Name')]} (
    id uuid primary key default gen_random_uuid(), name text not null, active boolean not null default true,
    born date, created_at timestamptz not null default now())`)
  await client.unsafe(`create table ${books[Symbol.for('drizzle:Name')]} (
    id uuid primary key default gen_random_uuid(), author_id uuid not null, title text not null,
    pages integer not null, price numeric(10, 2))`)
})

after(async () => {
  await client.unsafe(`drop table if exists ${books[Symbol.for('drizzle:Name')]}`)
  await client.unsafe(`drop table if exists ${authors[Symbol.for('drizzle:Name')]}`)
  await Promise.all([client.end(), other.end()])
})

test('drizzle() edits sql.options.parsers/serializers of its own sql only, and dates come as text to its parsers', async () => {
  const identity = client.options.parsers[1184]
  assert.equal(typeof identity, 'function')
  assert.equal(identity('2024-01-02 03:04:05+00'), '2024-01-02 03:04:05+00', 'drizzle installed its pass-through parser')
  assert.notEqual(other.options.parsers[1184], identity, 'another instance keeps its parsers')
  // With the pass-through parser, timestamptz and date reach JS as PostgreSQL's text.
  const [row] = await client`select '2024-01-02 03:04:05.678+00'::timestamptz as t, '2024-01-02'::date as d, 7::int4 as i, true as b`
  assert.equal(row.t, '2024-01-02 03:04:05.678+00')
  assert.equal(row.d, '2024-01-02')
  assert.deepEqual([row.i, row.b], [7, true], 'other types keep their default parsers')
  const [plain] = await other`select '2024-01-02 03:04:05.678+00'::timestamptz as t`
  assert.ok(plain.t instanceof Date, 'the other instance still parses dates')
})

test('insert, update and delete with returning; types DSQL stores round-trip', async () => {
  const before = Date.now()
  const inserted = await db.insert(authors).values([
    { name: 'Ada', born: '1815-12-10' },
    { name: 'Grace', born: '1906-12-09', active: false }
  ]).returning()
  assert.equal(inserted.length, 2)
  const ada = inserted.find(a => a.name === 'Ada')
  assert.match(ada.id, /^[0-9a-f-]{36}$/)
  assert.equal(ada.born, '1815-12-10')
  assert.equal(ada.active, true)
  assert.ok(ada.createdAt instanceof Date && Math.abs(ada.createdAt.getTime() - before) < 60_000, String(ada.createdAt))

  const [book] = await db.insert(books).values({ authorId: ada.id, title: 'Notes', pages: 41, price: '12.50' }).returning({ id: books.id, price: books.price, pages: books.pages })
  assert.deepEqual([book.price, book.pages], ['12.50', 41])
  await db.insert(books).values([
    { authorId: ada.id, title: 'Sketch', pages: 10, price: '3.00' },
    { authorId: inserted.find(a => a.name === 'Grace').id, title: 'Compilers', pages: 300, price: null }
  ])

  const updated = await db.update(books).set({ pages: 42, price: dsql`${books.price} + ${'0.25'}` }).where(eq(books.id, book.id)).returning({ pages: books.pages, price: books.price })
  assert.deepEqual(updated, [{ pages: 42, price: '12.75' }])

  const temp = await db.insert(authors).values({ name: 'Temp' }).returning({ id: authors.id })
  const deleted = await db.delete(authors).where(eq(authors.id, temp[0].id)).returning({ name: authors.name })
  assert.deepEqual(deleted, [{ name: 'Temp' }])
})

test('selects: joins in arrays mode, jsonb and arrays in expressions and parameters', async () => {
  const joined = await db.select({ author: authors.name, title: books.title, pages: books.pages, born: authors.born })
    .from(books).innerJoin(authors, eq(books.authorId, authors.id))
    .where(and(gt(books.pages, 5), inArray(authors.name, ['Ada', 'Grace'])))
    .orderBy(asc(books.pages))
  assert.deepEqual(joined, [
    { author: 'Ada', title: 'Sketch', pages: 10, born: '1815-12-10' },
    { author: 'Ada', title: 'Notes', pages: 42, born: '1815-12-10' },
    { author: 'Grace', title: 'Compilers', pages: 300, born: '1906-12-09' }
  ])
  // Left join: the missing side is null (drizzle reads nulls per joined table from the arrays).
  const left = await db.select({ name: authors.name, book: books.title }).from(authors).leftJoin(books, and(eq(books.authorId, authors.id), gt(books.pages, 1000)))
  assert.deepEqual(left.map(r => r.book), [null, null])

  const doc = { tags: ['a', 'b'], n: 1, nested: { ok: true } }
  const [row] = await db.select({
    doc: dsql`${JSON.stringify(doc)}::jsonb`.mapWith(x => x),
    picked: dsql`(${JSON.stringify(doc)}::jsonb -> 'nested' ->> 'ok')`,
    names: dsql`array_agg(${authors.name} order by ${authors.name})`.mapWith(x => x),
    // A JS array in drizzle's sql`` is a list of parameters; sql.param() binds it as one array parameter.
    any: dsql`${'Ada'} = any(${dsql.param(['Ada', 'Bob'])})`,
    ints: dsql`${dsql.param([1, 2, 3])}::int4[]`.mapWith(x => x),
    built: dsql`jsonb_build_object('count', count(*)::int4)`.mapWith(x => x)
  }).from(authors)
  assert.deepEqual(row, { doc, picked: 'true', names: ['Ada', 'Grace'], any: true, ints: [1, 2, 3], built: { count: 2 } })

  // db.execute: rows as objects.
  const rows = await db.execute(dsql`select ${authors.name} as name, ${authors.createdAt} as created from ${authors} where ${authors.born} < ${'1900-01-01'}`)
  assert.equal(rows.length, 1)
  assert.equal(rows[0].name, 'Ada')
  assert.equal(typeof rows[0].created, 'string', 'execute() keeps drizzle\'s pass-through timestamptz parser')
})

test('relational queries with nested relations', async () => {
  const list = await db.query.authors.findMany({
    columns: { name: true, born: true },
    with: { books: { columns: { title: true, pages: true, price: true }, orderBy: [asc(books.pages)] } },
    orderBy: [asc(authors.name)]
  })
  // Nested rows travel as json, where numeric 3.00 is the number 3 (as with postgres.js).
  assert.deepEqual(list, [
    { name: 'Ada', born: '1815-12-10', books: [{ title: 'Sketch', pages: 10, price: '3' }, { title: 'Notes', pages: 42, price: '12.75' }] },
    { name: 'Grace', born: '1906-12-09', books: [{ title: 'Compilers', pages: 300, price: null }] }
  ])
  const book = await db.query.books.findFirst({
    where: eq(books.title, 'Compilers'),
    with: { author: { columns: { name: true, createdAt: true }, with: { books: { columns: { title: true } } } } }
  })
  assert.equal(book.author.name, 'Grace')
  assert.ok(book.author.createdAt instanceof Date)
  assert.deepEqual(book.author.books, [{ title: 'Compilers' }])
})

test('transactions: commit, tx.rollback(), and a failing statement rolls back', async () => {
  const id = await db.transaction(async tx => {
    const [a] = await tx.insert(authors).values({ name: 'Tx' }).returning({ id: authors.id })
    await tx.update(authors).set({ born: '2000-01-01' }).where(eq(authors.id, a.id))
    return a.id
  })
  assert.deepEqual(await db.select({ born: authors.born }).from(authors).where(eq(authors.id, id)), [{ born: '2000-01-01' }])

  const err = await db.transaction(async tx => {
    await tx.insert(authors).values({ name: 'RolledBack' })
    tx.rollback()
  }).catch(e => e)
  assert.equal(err.constructor.name, 'TransactionRollbackError')
  assert.deepEqual(await db.select().from(authors).where(eq(authors.name, 'RolledBack')), [])

  const failed = await db.transaction(async tx => {
    await tx.insert(authors).values({ name: 'Half' })
    await tx.insert(authors).values({ id, name: 'Duplicate' })
  }).catch(e => e)
  assert.equal(failed.cause?.code, '23505', String(failed))
  assert.deepEqual(await db.select().from(authors).where(eq(authors.name, 'Half')), [])
  await db.delete(authors).where(eq(authors.id, id))
})

test('named prepared statements with placeholders', async () => {
  const byName = db.select({ name: authors.name, born: authors.born }).from(authors).where(eq(authors.name, placeholder('name'))).prepare('orm_by_name')
  assert.deepEqual(await byName.execute({ name: 'Ada' }), [{ name: 'Ada', born: '1815-12-10' }])
  assert.deepEqual(await byName.execute({ name: 'Grace' }), [{ name: 'Grace', born: '1906-12-09' }])
  const pagesOver = db.query.books.findMany({ where: gt(books.pages, placeholder('min')), columns: { title: true }, orderBy: [asc(books.pages)] }).prepare('orm_pages_over')
  assert.deepEqual(await pagesOver.execute({ min: 20 }), [{ title: 'Notes' }, { title: 'Compilers' }])
  assert.deepEqual(await pagesOver.execute({ min: 100 }), [{ title: 'Compilers' }])
})

test('errors carry their SQLSTATE', async () => {
  const [ada] = await db.select({ id: authors.id }).from(authors).where(eq(authors.name, 'Ada'))
  const dup = await db.insert(authors).values({ id: ada.id, name: 'Again' }).catch(e => e)
  assert.equal(dup.constructor.name, 'DrizzleQueryError')
  assert.equal(dup.cause.code, '23505')
  assert.equal(dup.cause.name, 'PostgresError')
  const missing = await db.execute(dsql`select nope from ${authors}`).catch(e => e)
  assert.equal(missing.cause.code, '42703')
  const notNull = await db.insert(books).values({ authorId: ada.id, title: null, pages: 1 }).catch(e => e)
  assert.equal(notNull.cause.code, '23502')
})
