// A new user's install, the napi-rs way: the root package and the linux-x64-gnu platform package are
// packed as a release would publish them (npm/<platform>/ with the built .node, `napi prepublish`
// writing the root's optionalDependencies), installed into a fresh project with no Rust toolchain
// on PATH and no network (npm --offline), and used from ESM, CommonJS and TypeScript against the
// local DSQL endpoint that __test__/run.mjs started.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, delimiter, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixture } from './fixture.mjs'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'))
const bin = name => join(repo, 'node_modules', '.bin', name)
const PLATFORM = 'linux-x64-gnu'
const BINARY = `${pkg.napi.binaryName}.${PLATFORM}.node`
const MAX_NODE_BYTES = 8 * 1024 * 1024 // 8 MiB, stripped
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64' && existsSync(join(repo, BINARY))

// PATH without any Rust toolchain, and no npm_* variables from an outer `npm test`.
const userEnv = (() => {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'CARGO_HOME' || k === 'RUSTUP_HOME' || k === 'RUSTUP_TOOLCHAIN') continue
    env[k] = v
  }
  env.PATH = (process.env.PATH || '').split(delimiter).filter(p => p && !/[\\/]\.?(cargo|rustup)([\\/]|$)/.test(p)).join(delimiter)
  return env
})()

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20, ...opts })
  if (r.error) throw r.error
  return r
}
function ok(cmd, args, opts) {
  const r = run(cmd, args, opts)
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`)
  return r
}
function tarList(file) {
  return ok('tar', ['tzf', file]).stdout.split('\n').filter(Boolean).map(f => f.replace(/^package\//, ''))
}

const work = mkdtempSync(join(tmpdir(), 'adp-pack-'))
const stage = join(work, 'stage') // the package as the release job sees it (after `napi artifacts`)
const project = join(work, 'project') // the new user's project
const state = {}

before(() => {
  if (!onLinuxX64) return
  const t0 = Date.now()
  // 1. The root package's published files, unpacked: what `npm publish` would see.
  const packed = JSON.parse(ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repo }).stdout)
  mkdirSync(stage)
  ok('tar', ['xzf', join(work, packed[0].filename), '-C', stage, '--strip-components=1'])
  rmSync(join(work, packed[0].filename))

  // 2. npm/<platform>/ from the repo; the built, stripped addon goes into npm/linux-x64-gnu (what
  //    `napi artifacts` does in the release job). The other platforms' binaries are built on other
  //    runners; placeholders stand in for them so `napi prepublish` sees a complete release.
  cpSync(join(repo, 'npm'), join(stage, 'npm'), { recursive: true })
  const node = join(stage, 'npm', PLATFORM, BINARY)
  copyFileSync(join(repo, BINARY), node)
  copyFileSync(join(repo, 'LICENSE'), join(stage, 'npm', PLATFORM, 'LICENSE')) // as release.yml does
  if (run('strip', ['--version']).status === 0) ok('strip', ['--strip-unneeded', node])
  state.nodeBytes = statSync(node).size
  for (const dir of readdirSync(join(stage, 'npm'))) {
    const file = join(stage, 'npm', dir, `${pkg.napi.binaryName}.${dir}.node`)
    if (!existsSync(file)) writeFileSync(file, 'placeholder: built on another runner\n')
  }

  // 3. `napi prepublish` (the root's prepublishOnly in the release job) without publishing: it
  //    validates npm/* and writes the root's optionalDependencies with exact versions.
  ok(bin('napi'), ['prepublish', '-t', 'npm', '--skip-optional-publish', '--no-gh-release'], { cwd: stage })
  state.staged = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8'))

  // 4. The two tarballs a linux-x64-gnu user downloads.
  const tarballs = JSON.parse(ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work, stage, join(stage, 'npm', PLATFORM)], { cwd: work }).stdout)
  state.rootTgz = join(work, tarballs[0].filename)
  state.platformTgz = join(work, tarballs[1].filename)
  state.rootFiles = tarList(state.rootTgz)
  state.platformFiles = tarList(state.platformTgz)

  // 5. A fresh project installs both, offline (the other platforms' packages cannot be fetched and
  //    are skipped as optional), no cargo on PATH, install scripts in the foreground so we see them.
  mkdirSync(project)
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'adp-new-user', version: '1.0.0', private: true }))
  state.cargoOnPath = run('sh', ['-c', 'command -v cargo'], { env: userEnv }).status === 0
  state.install = run('npm', ['install', '--offline', '--foreground-scripts', '--no-audit', '--no-fund', '--cache', join(work, 'npm-cache'), state.rootTgz, state.platformTgz],
    { cwd: project, env: userEnv, timeout: 120_000 })
  state.setupMs = Date.now() - t0
})

after(() => rmSync(work, { recursive: true, force: true }))

const skip = onLinuxX64 ? false : `needs linux x64 and ${BINARY} built in the repo root`

test('npm/<platform>/ holds a package for every napi target, exactly as `napi create-npm-dirs` makes them', { skip: false }, () => {
  const tmp = join(work, 'create-npm-dirs')
  mkdirSync(tmp)
  copyFileSync(join(repo, 'package.json'), join(tmp, 'package.json'))
  ok(bin('napi'), ['create-npm-dirs'], { cwd: tmp })
  const expected = readdirSync(join(tmp, 'npm')).sort()
  assert.deepEqual(readdirSync(join(repo, 'npm')).sort(), expected, 'run `npx napi create-npm-dirs` after changing napi.targets')
  assert.equal(expected.length, pkg.napi.targets.length)
  for (const dir of expected) {
    for (const file of ['package.json', 'README.md']) {
      const want = readFileSync(join(tmp, 'npm', dir, file), 'utf8')
      const have = readFileSync(join(repo, 'npm', dir, file), 'utf8')
      if (file === 'package.json') assert.deepEqual(JSON.parse(have), JSON.parse(want), `npm/${dir}/package.json is stale: run \`npx napi create-npm-dirs\``)
      else assert.equal(have, want, `npm/${dir}/${file} is stale`)
    }
    const p = JSON.parse(readFileSync(join(repo, 'npm', dir, 'package.json'), 'utf8'))
    const node = `${pkg.napi.binaryName}.${dir}.node`
    assert.equal(p.name, `${pkg.name}-${dir}`)
    assert.equal(p.version, pkg.version)
    assert.equal(p.main, node)
    assert.deepEqual(p.files, [node])
    assert.equal(p.license, 'Apache-2.0')
    assert.equal(p.engines.node, '>= 20')
    assert.deepEqual(p.os, [dir.split('-')[0]])
    assert.deepEqual(p.cpu, [dir.split('-')[1]])
    if (dir.endsWith('-gnu')) assert.deepEqual(p.libc, ['glibc'])
    else if (dir.endsWith('-musl')) assert.deepEqual(p.libc, ['musl'])
    else assert.equal(p.libc, undefined)
  }
})

test(`the stripped ${BINARY} is at most 8 MiB`, { skip }, () => {
  assert.ok(state.nodeBytes > 0)
  assert.ok(state.nodeBytes <= MAX_NODE_BYTES, `${BINARY} is ${(state.nodeBytes / 1048576).toFixed(2)} MiB stripped (limit 8 MiB)`)
})

test('napi prepublish writes optionalDependencies with exact versions for every target', { skip }, () => {
  const want = Object.fromEntries(readdirSync(join(repo, 'npm')).sort().map(dir => [`${pkg.name}-${dir}`, pkg.version]))
  const have = state.staged.optionalDependencies || {}
  assert.deepEqual(Object.fromEntries(Object.entries(have).sort()), want)
  // scripts/prepublish-check.js (release.yml runs it before `npm publish`) accepts it, and refuses the
  // repository's own package.json, which has no optionalDependencies until release time.
  mkdirSync(join(stage, 'scripts'), { recursive: true })
  copyFileSync(join(repo, 'scripts', 'prepublish-check.js'), join(stage, 'scripts', 'prepublish-check.js'))
  ok(process.execPath, [join(stage, 'scripts', 'prepublish-check.js')])
  if (!pkg.optionalDependencies) assert.equal(run(process.execPath, [join(repo, 'scripts', 'prepublish-check.js')]).status, 1)
})

test('the tarballs hold what a user needs and nothing else', { skip }, () => {
  const root = new Set(state.rootFiles)
  for (const f of ['package.json', 'README.md', 'LICENSE', 'index.js', 'index.mjs', 'index.d.ts', 'native.js', 'native.d.ts', 'scripts/install.js', 'local/index.js', 'local/index.mjs', 'local/index.d.ts', 'local/cli.js', 'js/sql.js'])
    assert.ok(root.has(f), `root tarball lacks ${f}`)
  // Every entry point named in package.json is in the tarball.
  const targets = []
  const walk = v => (typeof v === 'string' ? targets.push(v) : v && typeof v === 'object' && Object.values(v).forEach(walk))
  walk([state.staged.main, state.staged.types, state.staged.exports, state.staged.bin])
  for (const t of targets) assert.ok(root.has(t.replace(/^\.\//, '')), `package.json names ${t}, which is not packed`)
  for (const f of state.rootFiles) {
    assert.ok(!f.endsWith('.node'), `root tarball carries a binary: ${f}`)
    assert.ok(!/^(src|target|tests|__test__|bench|npm|example|\.github|\.ci)\//.test(f), `root tarball carries ${f}`)
  }
  assert.deepEqual(state.platformFiles.sort(), ['LICENSE', 'README.md', BINARY, 'package.json'].sort())
})

test('CHANGELOG.md is published with the root package', { skip, todo: pkg.files.includes('CHANGELOG.md') ? false : 'needs package.json change: "CHANGELOG.md" in "files"' }, () => {
  assert.ok(state.rootFiles.includes('CHANGELOG.md'))
})

test('a fresh project installs both tarballs without cargo and without building', { skip }, () => {
  assert.equal(state.cargoOnPath, false, 'cargo must not be on the PATH of the install')
  const out = state.install.stdout + state.install.stderr
  assert.equal(state.install.status, 0, out)
  assert.match(out, new RegExp(`using the prebuilt native addon from ${pkg.name}-${PLATFORM}`), out)
  assert.doesNotMatch(out, /building from source|Compiling|napi build/i)
  const installed = join(project, 'node_modules', pkg.name)
  assert.ok(existsSync(join(project, 'node_modules', `${pkg.name}-${PLATFORM}`, BINARY)))
  assert.deepEqual(readdirSync(installed).filter(f => f.endsWith('.node')), [], 'no binary was built into the root package')
  assert.ok(!existsSync(join(installed, 'target')))
  assert.ok(existsSync(join(project, 'node_modules', '.bin', 'aurora-dsql-local')))
  assert.ok(state.setupMs < 60_000, `pack + prepublish + install took ${state.setupMs} ms`)
})

test('without its platform package the install fails with a clear message, and never tries to build', { skip }, () => {
  const lonely = join(work, 'lonely')
  mkdirSync(lonely)
  writeFileSync(join(lonely, 'package.json'), JSON.stringify({ name: 'adp-lonely-user', version: '1.0.0', private: true }))
  const r = run('npm', ['install', '--offline', '--foreground-scripts', '--no-audit', '--no-fund', '--cache', join(work, 'npm-cache-lonely'), state.rootTgz],
    { cwd: lonely, env: userEnv, timeout: 120_000 })
  const out = r.stdout + r.stderr
  assert.notEqual(r.status, 0, out)
  assert.match(out, new RegExp(`the native addon for ${PLATFORM} did not load`))
  assert.match(out, new RegExp(`optional dependency ${pkg.name}-${PLATFORM}@${pkg.version.replaceAll('.', '\\.')}`))
  assert.doesNotMatch(out, /building from source/i)
})

function userRun(args) {
  return run(process.execPath, args, { cwd: project, env: { ...userEnv, ADP_FIXTURE_JSON: JSON.stringify(fixture) } })
}
const parseLast = r => JSON.parse(r.stdout.trim().split('\n').at(-1))

test('an ES module script connects with the installed package', { skip }, () => {
  writeFileSync(join(project, 'esm.mjs'), `
import { auroraDSQLPostgres, isOCCError, PostgresError } from 'aurora-dsql-postgres'
import defaultExport from 'aurora-dsql-postgres'
import { generateCertificates } from 'aurora-dsql-postgres/local'
const f = JSON.parse(process.env.ADP_FIXTURE_JSON)
const sql = auroraDSQLPostgres({ host: f.endpoint, hostaddr: f.hostaddr, port: f.port, ssl: { ca: f.ca }, customCredentialsProvider: f.credentials, max: 2 })
try {
  const [row] = await sql\`select \${41}::int + 1 as answer, current_user as who\`
  const via = await sql.begin(tx => tx\`select \${'esm'}::text as via\`)
  let code
  try { await sql\`select * from no_such_table_pack_test\` } catch (e) { code = e instanceof PostgresError && e.code }
  console.log(JSON.stringify({ answer: row.answer, via: via[0].via, code, occ: isOCCError({ code: 'OC000' }), same: defaultExport === auroraDSQLPostgres, certs: typeof generateCertificates }))
} finally {
  await sql.end()
}
`)
  const r = userRun(['esm.mjs'])
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.deepEqual(parseLast(r), { answer: 42, via: 'esm', code: '42P01', occ: true, same: true, certs: 'function' })
})

test('a CommonJS script connects with the installed package', { skip }, () => {
  writeFileSync(join(project, 'cjs.cjs'), `
const { auroraDSQLPostgres, generateToken } = require('aurora-dsql-postgres')
const local = require('aurora-dsql-postgres/local')
const f = JSON.parse(process.env.ADP_FIXTURE_JSON)
async function main() {
  const sql = auroraDSQLPostgres({ host: f.endpoint, hostaddr: f.hostaddr, port: f.port, ssl: { ca: f.ca }, customCredentialsProvider: f.credentials, max: 1 })
  try {
    const rows = await sql\`select x from (values (\${1}::int), (\${2}::int)) v(x) order by x\`
    const token = await generateToken({ hostname: f.endpoint, region: f.region, admin: true, ...f.credentials })
    console.log(JSON.stringify({ xs: rows.map(r => r.x), count: rows.count, token: token.startsWith(f.endpoint + '/?Action=DbConnectAdmin'), local: typeof local.startLocalDsql }))
  } finally {
    await sql.end()
  }
}
main().catch(e => { console.error(e); process.exit(1) })
`)
  const r = userRun(['cjs.cjs'])
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.deepEqual(parseLast(r), { xs: [1, 2], count: 2, token: true, local: 'function' })
})

// TypeScript with the repo's typescript devDependency, strict, nodenext, no @types/node.
const tsHeader = `declare const process: { env: Record<string, string | undefined> }
declare const console: { log(...args: unknown[]): void }
interface Fixture { endpoint: string; hostaddr: string; port: number; ca: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } }
const f = JSON.parse(process.env['ADP_FIXTURE_JSON'] ?? 'null') as Fixture
`
function tsc(file, source) {
  writeFileSync(join(project, file), tsHeader + source)
  const tsconfig = join(project, `tsconfig.${file}.json`)
  writeFileSync(tsconfig, JSON.stringify({
    compilerOptions: { strict: true, exactOptionalPropertyTypes: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], types: [], skipLibCheck: false, outDir: 'out' },
    files: [file]
  }))
  return run(bin('tsc'), ['-p', tsconfig], { cwd: project, env: userEnv })
}

test('a TypeScript file type-checks against the installed types, compiles and runs', { skip }, () => {
  const c = tsc('main.mts', `
import auroraDSQLPostgres, { isOCCError, PostgresError, type Sql } from 'aurora-dsql-postgres'
interface Row { n: number; label: string }
const sql: Sql = auroraDSQLPostgres({ host: f.endpoint, hostaddr: f.hostaddr, port: f.port, ssl: { ca: f.ca }, customCredentialsProvider: f.credentials, max: 2 })
try {
  const rows = await sql<Row[]>\`select \${7}::int as n, \${'typed'}::text as label\`
  const first: Row | undefined = rows[0]
  const committed = await sql.begin(async tx => (await tx<{ one: number }[]>\`select 1::int as one\`)[0]?.one, { retry: true })
  let code: string | undefined
  try {
    await sql\`select * from no_such_table_pack_test\`
  } catch (err) {
    if (err instanceof PostgresError && !isOCCError(err)) code = err.code
  }
  console.log(JSON.stringify({ n: first?.n, label: first?.label, committed, code }))
} finally {
  await sql.end()
}
`)
  assert.equal(c.status, 0, `tsc failed:\n${c.stdout}${c.stderr}`)
  const r = userRun([join('out', 'main.mjs')])
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.deepEqual(parseLast(r), { n: 7, label: 'typed', committed: 1, code: '42P01' })
})

test('TypeScript ES modules get types for aurora-dsql-postgres/local', {
  skip, todo: pkg.exports['./local']?.types ? false : 'needs package.json change: exports["./local"].types = "./local/index.d.ts"'
}, () => {
  const c = tsc('local.mts', `
import { generateCertificates, type CertificateBundle } from 'aurora-dsql-postgres/local'
const b: CertificateBundle = generateCertificates(['localhost'])
console.log(JSON.stringify({ ca: b.ca.includes('BEGIN CERTIFICATE'), endpoint: f.endpoint.length > 0 }))
`)
  assert.equal(c.status, 0, `tsc failed:\n${c.stdout}${c.stderr}`)
  const r = userRun([join('out', 'local.mjs')])
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.deepEqual(parseLast(r), { ca: true, endpoint: true })
})
