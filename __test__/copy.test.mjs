// COPY through Node streams (query.readable() / writable()), over TCP and WebSocket, through the local
// endpoint (real tokens, verified TLS, DSQL's 3,000-row transaction limit).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as delay } from 'node:timers/promises'
import v8 from 'node:v8'
import vm from 'node:vm'
import { connect, connectWs } from './fixture.mjs'

const tcp = connect({ max: 2 })
const ws = connectWs({ max: 2 })
after(() => Promise.all([tcp.end(), ws.end()]))

let tables = 0
const table = () => `copy_t_${process.pid}_${++tables}`
// Resolves when a Writable has finished, rejects with its error.
const finished = w => new Promise((resolve, reject) => { w.on('finish', resolve); w.on('error', reject) })

// Values that text and CSV formats must escape or quote, and multi-byte UTF-8.
const tricky = ['plain', 'tab\there', 'new\nline', 'back\\slash', 'comma, "quote"', 'crlf\r\nend', 'ünïcødé ✓ 😀', '', null]

for (const [name, sql] of [['TCP', tcp], ['WebSocket', ws]]) {
  test(`${name}: copy to stdout and from stdin round trip tricky text (text format)`, async () => {
    const a = table(), b = table()
    await sql`create table ${sql(a)} (id int, v text)`
    await sql`create table ${sql(b)} (id int, v text)`
    try {
      await sql`insert into ${sql(a)} ${sql(tricky.map((v, id) => ({ id, v })))}`
      const out = await sql`copy ${sql(a)} to stdout`.readable()
      assert.ok(out instanceof Readable)
      const chunks = []
      out.on('data', chunk => chunks.push(chunk))
      await new Promise((resolve, reject) => { out.on('end', resolve); out.on('error', reject) })
      assert.equal(chunks.length, tricky.length, 'one data event per row when flowing, as postgres.js')
      const text = Buffer.concat(chunks).toString()
      assert.ok(text.includes('tab\\there') && text.includes('new\\nline') && text.includes('\\N'), text)
      const into = await sql`copy ${sql(b)} from stdin`.writable()
      assert.ok(into instanceof Writable)
      await pipeline(Readable.from(chunks), into)
      const rows = await sql`select id, v from ${sql(b)} order by id`
      assert.deepEqual(rows.map(r => r.v), tricky)
      // The connection is free again, on a pool of two as on one.
      assert.equal((await sql`select 1 as x`)[0].x, 1)
    } finally {
      await sql`drop table ${sql(a)}`
      await sql`drop table ${sql(b)}`
    }
  })

  test(`${name}: csv format both ways, written in odd-sized pieces`, async () => {
    const t = table()
    await sql`create table ${sql(t)} (id int, v text)`
    try {
      const csv = tricky.map((v, id) => id + ',' + (v === null ? '' : '"' + v.replace(/"/g, '""') + '"') + '\n').join('')
      const bytes = Buffer.from(csv)
      const w = await sql`copy ${sql(t)} from stdin with (format csv)`.writable()
      // Pieces that split rows and multi-byte characters: the server sees one byte stream.
      for (let i = 0; i < bytes.length; i += 7) w.write(bytes.subarray(i, i + 7))
      w.end()
      await finished(w)
      const rows = await sql`select v from ${sql(t)} order by id`
      assert.deepEqual(rows.map(r => r.v), tricky)
      const out = await sql`copy ${sql(t)} to stdout with (format csv)`.readable()
      const back = Buffer.concat(await out.toArray()).toString()
      assert.deepEqual(back.split('\n').slice(0, 2), ['0,plain', '1,tab\there'])
      assert.ok(back.includes('"comma, ""quote"""') && back.includes('😀'), back)
    } finally {
      await sql`drop table ${sql(t)}`
    }
  })
}

test('binary format round trips bytes as they are', async () => {
  const sql = tcp
  const a = table(), b = table()
  await sql`create table ${sql(a)} (b bytea)`
  await sql`create table ${sql(b)} (b bytea)`
  try {
    const blob = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    await sql`insert into ${sql(a)} values (${blob})`
    const out = await sql`copy ${sql(a)} to stdout with (format binary)`.readable()
    const data = Buffer.concat(await out.toArray())
    assert.equal(data.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0')
    const w = await sql`copy ${sql(b)} from stdin with (format binary)`.writable()
    w.end(data)
    await finished(w)
    assert.deepEqual((await sql`select b from ${sql(b)}`)[0].b, blob)
  } finally {
    await sql`drop table ${sql(a)}`
    await sql`drop table ${sql(b)}`
  }
})

test('copy inside sql.begin uses the transaction connection: rolled back with it, or committed', async () => {
  const sql = tcp
  const t = table()
  await sql`create table ${sql(t)} (x int)`
  try {
    await assert.rejects(sql.begin(async tx => {
      const w = await tx`copy ${tx(t)} from stdin`.writable()
      w.end('1\n2\n3\n')
      await finished(w)
      // Seen inside the transaction only.
      assert.equal((await tx`select count(*)::int as n from ${tx(t)}`)[0].n, 3)
      assert.equal((await sql`select count(*)::int as n from ${sql(t)}`)[0].n, 0)
      throw new Error('roll back')
    }), /roll back/)
    assert.equal((await sql`select count(*)::int as n from ${sql(t)}`)[0].n, 0)
    const n = await sql.begin(async tx => {
      const w = await tx`copy ${tx(t)} from stdin`.writable()
      w.end('4\n5\n')
      await finished(w)
      const out = await tx`copy ${tx(t)} to stdout`.readable()
      return Buffer.concat(await out.toArray()).toString()
    })
    assert.equal(n, '4\n5\n')
    assert.equal((await sql`select count(*)::int as n from ${sql(t)}`)[0].n, 2)
  } finally {
    await sql`drop table ${sql(t)}`
  }
})

test('destroy() aborts a copy from stdin: nothing is written and the connection is usable', async () => {
  const sql = connect({ max: 1 })
  const t = table()
  try {
    await sql`create table ${sql(t)} (x int)`
    const w = await sql`copy ${sql(t)} from stdin`.writable()
    await new Promise(resolve => w.write('1\n2\n', resolve))
    const errored = new Promise(resolve => w.on('error', resolve))
    w.destroy(new Error('stop'))
    assert.equal((await errored).message, 'stop')
    // The one connection answers again (the server got CopyFail and rolled the COPY back).
    assert.equal((await sql`select count(*)::int as n from ${sql(t)}`)[0].n, 0)
    // A readable destroyed early: the rest is dropped and the connection is usable.
    const r = await sql`copy (select g, repeat('z', 100) from generate_series(1, 200000) g) to stdout`.readable()
    await new Promise(resolve => r.once('data', resolve))
    r.destroy()
    // Queued behind the rest of the copy, which is read and dropped.
    assert.equal((await sql`select 1 as x`)[0].x, 1)
  } finally {
    await sql`drop table ${sql(t)}`.catch(() => {})
    await sql.end()
  }
})

test('bad data: the stream fails with the PostgresError, nothing is written, the connection is usable', async () => {
  const sql = connect({ max: 1 })
  const t = table()
  try {
    await sql`create table ${sql(t)} (x int)`
    const w = await sql`copy ${sql(t)} from stdin`.writable()
    w.write('1\n')
    w.write('not a number\n')
    w.end('3\n')
    const err = await finished(w).then(() => null, e => e)
    assert.ok(err instanceof sql.PostgresError, String(err))
    assert.equal(err.code, '22P02')
    assert.match(err.message, /invalid input syntax for type integer/)
    assert.equal((await sql`select count(*)::int as n from ${sql(t)}`)[0].n, 0)
    // A COPY that fails to start rejects the query itself.
    await assert.rejects(sql`copy no_such_table_for_copy from stdin`.writable(), { code: '42P01' })
    // readable()/writable() of a statement that is not a COPY resolve to its result, as postgres.js.
    assert.equal((await sql`select 7 as x`.readable())[0].x, 7)
  } finally {
    await sql`drop table ${sql(t)}`
    await sql.end()
  }
})

test('queries on the connection during a copy fail with COPY_IN_PROGRESS; after it finished they run', async () => {
  const sql = connect({ max: 1 })
  const t = table()
  try {
    await sql`create table ${sql(t)} (x int)`
    const w = await sql`copy ${sql(t)} from stdin`.writable()
    await assert.rejects(sql`select 1`, { code: 'COPY_IN_PROGRESS' })
    w.end('1\n')
    await finished(w)
    assert.equal((await sql`select count(*)::int as n from ${sql(t)}`)[0].n, 1)
  } finally {
    await sql`drop table ${sql(t)}`
    await sql.end()
  }
})

// The JS heap's ArrayBuffers still reachable (Buffers of rows not yet consumed), after a full GC.
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')
const liveBuffers = () => { gc(); return process.memoryUsage().arrayBuffers }

test('a slow reader holds the copy back: the server waits and memory stays bounded', async t => {
  const sql = connect({ max: 2 })
  try {
    // 200,000 rows of about 210 bytes: 42 MB of COPY data (a query's rows: DSQL's row limit is on writes).
    const marker = 'slow_reader_' + process.pid
    const base = liveBuffers()
    const rssBase = process.memoryUsage().rss
    const r = await sql.unsafe(`copy (select g, repeat('x', 200) as ${marker} from generate_series(1, 200000) g) to stdout`).readable()
    let bytes = 0, rows = 0, maxLive = 0, maxRss = 0
    const sample = () => {
      maxLive = Math.max(maxLive, liveBuffers() - base)
      maxRss = Math.max(maxRss, process.memoryUsage().rss - rssBase)
    }
    let reads = 0
    for await (const chunk of r) {
      bytes += chunk.length
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++
      if (++reads === 10) {
        // Stop reading for a while: the server must end up waiting for the client to take the data.
        await delay(1000)
        const [a] = await sql`select wait_event from pg_stat_activity where query like ${'copy %' + marker + '%'} and pid <> pg_backend_pid()`
        assert.equal(a.wait_event, 'ClientWrite', 'the server is blocked writing to its socket')
        sample()
      } else if (reads % 20 === 0) {
        sample()
        await delay(10)
      }
    }
    assert.equal(rows, 200000)
    t.diagnostic(`${bytes} bytes; live ArrayBuffers +${maxLive}, RSS +${maxRss}`)
    assert.ok(bytes > 40e6, `${bytes} bytes`)
    // Reachable buffers: the Readable's buffer (its high-water mark) plus one 64 KB batch and one chunk
    // in hand, well under 1 MB; 4 MB leaves room for the frame buffer and Node's stream internals. Had
    // the rows been read ahead they would be here (tens of MB).
    assert.ok(maxLive < 4 * 1024 * 1024, `live ArrayBuffers grew by ${maxLive} bytes`)
    // Resident memory also holds what the native side would buffer (it holds one batch); the JS heap
    // of a loop that made 200,000 chunk objects accounts for most of this bound.
    assert.ok(maxRss < 40 * 1024 * 1024, `RSS grew by ${maxRss} bytes`)
  } finally {
    await sql.end()
  }
})

test('a slow writer and a fast one: every row arrives, writes wait for the native side', async ctx => {
  const sql = connect({ max: 1 })
  const t = table()
  try {
    await sql`create table ${sql(t)} (id int, pad text)`
    // Slow: a row every few milliseconds; the copy holds the connection meanwhile.
    const slow = await sql`copy ${sql(t)} from stdin`.writable()
    for (let i = 0; i < 30; i++) {
      slow.write(`${i}\tslow\n`)
      await delay(3)
    }
    slow.end()
    await finished(slow)
    // Fast: 2,900 rows of 7 KB (20 MB; DSQL allows 3,000 rows per transaction) from a generator through
    // pipeline, which honours write()'s false.
    const base = liveBuffers()
    let maxLive = 0, made = 0
    async function * rowsOf() {
      for (let i = 0; i < 2900; i++) {
        if (++made % 100 === 0) maxLive = Math.max(maxLive, liveBuffers() - base)
        yield `${i}\t${'y'.repeat(7000)}\n`
      }
    }
    await pipeline(Readable.from(rowsOf()), await sql`copy ${sql(t)} from stdin`.writable())
    assert.deepEqual([...await sql`select count(*)::int as n, count(*) filter (where pad = 'slow')::int as s from ${sql(t)}`], [{ n: 2930, s: 30 }])
    ctx.diagnostic(`live ArrayBuffers +${maxLive}`)
    // The producer was held to the Writable's buffer plus the chunk on its way.
    assert.ok(maxLive < 4 * 1024 * 1024, `live ArrayBuffers grew by ${maxLive} bytes`)
  } finally {
    await sql`drop table ${sql(t)}`
    await sql.end()
  }
})

for (const [name, open] of [['TCP', connect], ['WebSocket', connectWs]]) {
  test(`${name}: a copy of more than 3,000 rows fails with 54000 through the endpoint; the connection stays usable`, async () => {
    const sql = open({ max: 1 })
    const t = table()
    try {
      await sql`create table ${sql(t)} (x int)`
      const rows = n => Array.from({ length: n }, (_, i) => i + '\n').join('')
      const over = await sql`copy ${sql(t)} from stdin`.writable()
      over.end(rows(3001))
      const err = await finished(over).then(() => null, e => e)
      assert.equal(err && err.code, '54000', String(err))
      assert.equal((await sql`select count(*)::int as n from ${sql(t)}`)[0].n, 0)
      // Exactly the limit passes; in a transaction the rows of earlier statements count too.
      const at = await sql`copy ${sql(t)} from stdin`.writable()
      at.end(rows(3000))
      await finished(at)
      assert.equal((await sql`select count(*)::int as n from ${sql(t)}`)[0].n, 3000)
      await assert.rejects(sql.begin(async tx => {
        await tx`insert into ${tx(t)} select generate_series(1, 2000)`
        const w = await tx`copy ${tx(t)} from stdin`.writable()
        w.end(rows(1001))
        await finished(w)
      }), { code: '54000' })
      assert.equal((await sql`select count(*)::int as n from ${sql(t)}`)[0].n, 3000)
    } finally {
      await sql`drop table ${sql(t)}`
      await sql.end()
    }
  })
}

test('sql.end() waits for a running copy; with a timeout it destroys the stream', async () => {
  const t = table()
  let sql = connect({ max: 1 })
  await sql`create table ${sql(t)} (x int)`
  const w = await sql`copy ${sql(t)} from stdin`.writable()
  const ended = sql.end()
  await delay(50)
  w.end('1\n2\n')
  await finished(w)
  await ended
  sql = connect({ max: 1 })
  try {
    assert.equal((await sql`select count(*)::int as n from ${sql(t)}`)[0].n, 2)
    const other = connect({ max: 1 })
    const stuck = await other`copy ${other(t)} from stdin`.writable()
    const failed = new Promise(resolve => stuck.on('error', resolve))
    await other.end({ timeout: 0.05 })
    assert.equal((await failed).code, 'CONNECTION_DESTROYED')
  } finally {
    await sql`drop table ${sql(t)}`
    await sql.end()
  }
})
