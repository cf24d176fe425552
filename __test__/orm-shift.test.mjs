// postgres-shift (a migration tool for postgres.js) over this package, through the local DSQL endpoint.
// shift creates its bookkeeping table with a serial column and runs every pending migration, each
// followed by an insert into that table, in one transaction (sql.begin). DSQL has no serial, allows one
// DDL statement per transaction and no DDL mixed with DML: so with shift only data (DML) migrations can
// apply; a schema migration fails as a whole, applying nothing.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import shift from 'postgres-shift'
import { connect } from './fixture.mjs'

const sql = connect({ max: 2 })
const dir = mkdtempSync(join(tmpdir(), 'adp-shift-'))
const table = `orm_shift_${process.pid}_${Date.now() % 100000}`
after(async () => {
  await sql.unsafe(`drop table if exists ${table}`)
  await sql.unsafe('drop table if exists migrations')
  await sql.end()
  rmSync(dir, { recursive: true, force: true })
})

function migrations(name, files) {
  const path = join(dir, name)
  mkdirSync(path)
  for (const [file, text] of Object.entries(files)) writeFileSync(join(path, file), text)
  return path
}

test('shift creates its bookkeeping table; data migrations apply; a schema migration fails whole', async () => {
  await sql.unsafe('drop table if exists migrations')
  await sql.unsafe(`create table ${table} (k text primary key, v integer not null)`)
  const data = migrations('data', {
    '00001_seed.sql': `insert into ${table} (k, v) values ('a', 1), ('b', 2)`,
    '00002_bump.sql': `update ${table} set v = v + 10`
  })
  const applied = []
  await shift({ sql, path: data, after: m => applied.push(m.name) })
  assert.deepEqual(applied, ['seed.sql', 'bump.sql'])
  assert.deepEqual([...await sql.unsafe(`select k, v from ${table} order by k`)], [{ k: 'a', v: 11 }, { k: 'b', v: 12 }])
  assert.deepEqual((await sql`select migration_id, name from migrations order by migration_id`).map(r => [r.migration_id, r.name]), [[1, 'seed.sql'], [2, 'bump.sql']])

  // A schema migration (one DDL) runs in the same transaction as shift's insert: DSQL refuses the mix,
  // and the whole run rolls back.
  const schema = migrations('schema', {
    '00001_seed.sql': 'select 1',
    '00002_bump.sql': 'select 1',
    '00003_add-column.sql': `alter table ${table} add column note text`,
    '00004_more.sql': `insert into ${table} (k, v) values ('c', 3)`
  })
  const err = await shift({ sql, path: schema }).catch(e => e)
  assert.equal(err.code, '0A000', String(err))
  assert.match(err.message, /ddl and dml are not supported in the same transaction/)
  assert.equal((await sql`select count(*)::int4 as n from migrations`)[0].n, 2, 'nothing of the failed run was recorded')
  assert.equal((await sql.unsafe(`select count(*)::int4 as n from ${table}`))[0].n, 2)
  const columns = await sql`select column_name from information_schema.columns where table_name = ${table} order by ordinal_position`
  assert.deepEqual(columns.map(c => c.column_name), ['k', 'v'])
})
