// The upstream suite's test.js, for this runner: the same `t(name, [options], fn)` contract (a test
// returns [expected, got, ...cleanup], compared with !==; a throw or the timeout fails it), but every
// test runs (upstream skips the rest after a failure), excluded tests are skipped by name, and the
// counts are printed in the plain 'N passed, N failed, N skipped' form at the end.
import util from 'node:util'
import { exclusionsFor } from './exclusions.mjs'
import { exec } from './bootstrap.mjs'

const transport = process.env.ADP_UPSTREAM_TRANSPORT === 'websocket' ? 'websocket' : 'tcp'
const excluded = exclusionsFor(transport)
const only = process.env.ADP_UPSTREAM_ONLY ? new RegExp(process.env.ADP_UPSTREAM_ONLY) : null
const tests = []
let scheduled = false
let current = null
const unhandled = []

export const t = (name, options, fn) => register(name, options, fn)
t.timeout = 5
export const ot = t
export const nt = () => {}

function register(name, options, fn) {
  if (typeof options !== 'object') fn = options, options = {}
  tests.push({ name, options, fn })
  if (!scheduled) scheduled = setTimeout(runAll, 0)
}

// With --unhandled-rejections=strict an unhandled rejection arrives here: it fails the test that was
// running (or the run), and the run goes on so the report is complete.
process.on('uncaughtException', err => {
  unhandled.push({ test: current && current.name, err })
  if (current) current.failure = current.failure || new Error('unhandled: ' + util.inspect(err))
})

async function runOne(test) {
  let timer
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error('Timed out')), (test.options.timeout || t.timeout) * 1000)
  })
  try {
    const x = await Promise.race([timeout, test.fn()])
    if (!Array.isArray(x)) throw new Error('Test should return result array')
    const [expected, got] = await Promise.race([timeout, Promise.all(x)])
    if (expected !== got) throw new Error(util.inspect(expected) + ' != ' + util.inspect(got))
  } catch (err) {
    test.failure = test.failure || (err instanceof Error ? err : new Error(util.inspect(err)))
  } finally {
    clearTimeout(timer)
  }
}

// The suite's tests drop what they create only when they pass (upstream stops at the first failure). So
// that one failure does not fail every later test that creates the same table, whatever a failed test
// left in the database is dropped before the next one runs (and before the first, for a second run).
const DROP_LEFTOVERS = `do $$ declare r record; begin
  for r in select tablename from pg_tables where schemaname = 'public' loop execute 'drop table if exists public.' || quote_ident(r.tablename) || ' cascade'; end loop;
  for r in select pubname from pg_publication loop execute 'drop publication ' || quote_ident(r.pubname); end loop;
end $$`
const dropLeftovers = () => exec('psql', ['-c', DROP_LEFTOVERS])

async function runAll() {
  await dropLeftovers()
  const names = new Set(tests.map(x => x.name))
  const stale = [...excluded.keys()].filter(n => !names.has(n))
  let passed = 0, failed = 0, skipped = 0
  for (const test of tests) {
    if (excluded.has(test.name) || (only && !only.test(test.name))) {
      skipped++
      continue
    }
    current = test
    const started = Date.now()
    await runOne(test)
    // Let stray callbacks of this test (late rejections) land while it is still the current one.
    await new Promise(r => setImmediate(r))
    current = null
    if (test.failure) {
      await dropLeftovers()
      failed++
      console.log(`not ok - ${test.name} (${Date.now() - started} ms)\n  ${util.inspect(test.failure).split('\n').slice(0, 8).join('\n  ')}`)
    } else {
      passed++
      process.env.ADP_UPSTREAM_VERBOSE && console.log(`ok - ${test.name}`)
    }
  }
  for (const u of unhandled.filter(u => !u.test)) {
    failed++
    console.log('not ok - unhandled outside any test:', util.inspect(u.err))
  }
  if (stale.length && !only) {
    failed += stale.length
    console.log('not ok - exclusions naming no test of the suite:\n  ' + stale.join('\n  '))
  }
  console.log(`upstream postgres.js suite over ${transport}: ${tests.length} tests, ${excluded.size} excluded`)
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
  process.exit(failed ? 1 : 0)
}
