// Runs every example in example/ as a user would (`node example/<file>`), as a child process with
// CLUSTER_ENDPOINT unset, so each starts its own local DSQL endpoint and throwaway PostgreSQL, and
// checks what it prints.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = join(repo, 'example')

function runExample(file) {
  const env = { ...process.env }
  delete env.CLUSTER_ENDPOINT
  delete env.CLUSTER_USER
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(dir, file)], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = '', stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, output: `--- stdout\n${stdout}--- stderr\n${stderr}` })
    })
  })
}

const expectations = {
  'index.mjs': r => {
    assert.match(r.stdout, /^local DSQL endpoint [a-z0-9]{26}\.dsql\.us-east-1\.on\.aws on 127\.0\.0\.1:\d+$/m)
    assert.match(r.stdout, /^connected: \{ x: 1, t: \d{4}-\d\d-\d\dT/m)
    assert.match(r.stdout, /^inserted: \{\s+id: '[0-9a-f-]{36}',\s+name: 'John Doe',\s+city: 'Anytown'\s+\}/m)
    assert.match(r.stdout, /^read back: 1 row\(s\), command SELECT$/m)
  },
  'no-pool.mjs': r => {
    for (const page of ['/home', '/pricing', '/docs']) assert.match(r.stdout, new RegExp(`^task ${page}: inserted [0-9a-f-]{36}$`, 'm'))
    assert.match(r.stdout, /^visits recorded: 3$/m)
    // One connection per task: create table, three inserts, the count, the clean-up.
    assert.match(r.stdout, /^connections opened: 6$/m)
  },
  'otel.mjs': r => {
    assert.match(r.stdout, /^local DSQL endpoint [a-z0-9]{26}\.dsql\.us-east-1\.on\.aws on 127\.0\.0\.1:\d+$/m)
    const tree = r.stdout.slice(r.stdout.indexOf('span tree:\n'))
    // The query spans nest under the application's span and the transaction span, in order.
    assert.match(tree, /^ {2}place order\n {4}CREATE TABLE \("create table if not exists example_orders/m)
    assert.match(tree, /^ {4}transaction \(attempts 1, committed\)\n {6}BEGIN \("begin"\)\n {6}INSERT \("insert into example_orders \(id, item\) values \(\$1, \$2\)[^\n]*\n {6}SELECT \("select item from example_orders where id = \$1"\)\n {6}COMMIT \("commit"\)$/m)
    assert.match(tree, /^ {4}SELECT \("select 1 \/ 0", SQLSTATE 22012\)\n {4}DROP TABLE \("drop table example_orders"\)$/m)
    assert.ok(!tree.includes("'book'") && !tree.includes('example-local-secret'), 'no parameter value or secret in the spans')
  },
  'occ-retry.mjs': r => {
    assert.match(r.stdout, /^ {2}retry: OCC conflict on attempt 1\/4, retrying in [\d.]+ms$/m)
    const attempts = ['A', 'B'].map(who => Number(r.stdout.match(new RegExp(`^deposit ${who} \\(\\+\\d+\\) committed on attempt (\\d)$`, 'm'))?.[1]))
    assert.deepEqual(attempts.slice().sort(), [1, 2], 'one deposit commits at once, the other after one retry')
    assert.match(r.stdout, /^balance after both deposits: 135 \(expected 135\)$/m)
    assert.match(r.stdout, /^without retry: conflict reached the caller: 40001 ".*\(OC000\)" \(isOCCError: true\)$/m)
  }
}

test('every example has expectations here', () => {
  const examples = readdirSync(dir).filter(f => /\.(mjs|cjs|js)$/.test(f)).sort()
  assert.deepEqual(examples, Object.keys(expectations).sort())
})

for (const [file, check] of Object.entries(expectations)) {
  test(`example/${file} runs against its own local endpoint`, async () => {
    const r = await runExample(file)
    assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\n${r.output}`)
    // Nothing on stderr but Node's own warnings (their wording varies between Node versions).
    const stderr = r.stderr.split('\n').filter(l => l.trim() && !/^\(node:\d+\) |^\(Use `node --trace-/.test(l))
    assert.deepEqual(stderr, [], r.output)
    check(r)
  })
}
