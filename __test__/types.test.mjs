// Type tests of the published declarations (index.d.ts, local/index.d.ts), no database needed:
// - __test__/types/usage.ts, local.ts, esm.mts (realistic postgres.js, official-connector and local-endpoint
//   code) and native-sync.ts (no drift from native.d.ts) compile: `tsc --noEmit -p __test__/types`;
// - every line of errors.ts marked `// @ts-expect-error TSnnnn` fails with exactly that error, and no other;
// - the same under other TypeScript majors in node_modules, without @types/node, under "bundler"
//   resolution, and together with the 'postgres' and AWS SDK types migrating code still imports.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const project = join(root, '__test__', 'types')
const ts = require('typescript')
const tscOf = dir => join(dir, 'bin', 'tsc')

const ownTsc = tscOf(dirname(require.resolve('typescript/package.json')))

// Runs tsc in a child process; resolves to its exit code and output.
function tsc(tscPath, args) {
  return new Promise(resolve => {
    execFile(process.execPath, [tscPath, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: stdout + stderr }))
  })
}

// tsc -p with a temporary config extending tsconfig.json (kept beside it so relative paths hold).
async function tscWith(name, overrides, tscPath = ownTsc) {
  const config = join(project, `tsconfig.${name}-${process.pid}.tmp.json`)
  writeFileSync(config, JSON.stringify({ extends: './tsconfig.json', ...overrides }))
  try {
    return await tsc(tscPath, ['--noEmit', '-p', config])
  } finally {
    rmSync(config, { force: true })
  }
}

// The checks are independent compiler runs: run them side by side.
describe('type declarations', { concurrency: true }, () => {
  test(`tsc ${ts.version}: usage compiles and every @ts-expect-error line errors`, async () => {
    const { code, output } = await tsc(ownTsc, ['--noEmit', '-p', project])
    assert.equal(code, 0, output)
  })

  // `@ts-expect-error` accepts any error; here each marked line must fail with the code written after the
  // directive, and no other line may fail. The file is compiled with its directives neutralised.
  test('errors.ts: each marked line fails with the stated code, and only those lines', () => {
    const errorsFile = join(project, 'errors.ts')
    const source = readFileSync(errorsFile, 'utf8')
    const lines = source.split('\n')
    const expected = new Map() // 1-based line → expected code
    lines.forEach((line, i) => {
      const m = /^\s*\/\/ @ts-expect-error(?: TS(\d+))?/.exec(line)
      if (!m) return
      assert.ok(m[1], `errors.ts:${i + 1}: write the expected code after @ts-expect-error (e.g. TS2322)`)
      expected.set(i + 2, Number(m[1]))
    })
    assert.ok(expected.size >= 30, `only ${expected.size} expected errors found`)

    const { config, error } = ts.readConfigFile(join(project, 'tsconfig.json'), ts.sys.readFile)
    assert.equal(error, undefined)
    const parsed = ts.parseJsonConfigFileContent(config, ts.sys, project)
    const host = ts.createCompilerHost(parsed.options)
    const getSourceFile = host.getSourceFile.bind(host)
    const neutralised = source.replace(/@ts-expect-error/g, 'expect-error')
    host.getSourceFile = (fileName, languageVersion, ...rest) =>
      fileName.replace(/\\/g, '/') === errorsFile.replace(/\\/g, '/')
        ? ts.createSourceFile(fileName, neutralised, languageVersion, true)
        : getSourceFile(fileName, languageVersion, ...rest)
    const program = ts.createProgram({ rootNames: [join(project, 'node-shim.d.ts'), errorsFile], options: parsed.options, host })
    const diagnostics = ts.getPreEmitDiagnostics(program)

    const found = new Map() // line → codes
    const elsewhere = []
    for (const d of diagnostics) {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n')
      if (!d.file || d.file.fileName.replace(/\\/g, '/') !== errorsFile.replace(/\\/g, '/')) {
        elsewhere.push(`${d.file ? d.file.fileName : ''}: TS${d.code} ${text}`)
        continue
      }
      const line = d.file.getLineAndCharacterOfPosition(d.start).line + 1
      if (!found.has(line)) found.set(line, [])
      found.get(line).push(`TS${d.code} ${text.split('\n')[0]}`)
    }
    assert.deepEqual(elsewhere, [], 'errors outside errors.ts')
    const problems = []
    for (const [line, code] of expected) {
      const got = found.get(line) || []
      if (!got.some(g => g.startsWith(`TS${code} `)))
        problems.push(`errors.ts:${line}: expected TS${code}, got ${got.length ? got.join(' | ') : 'no error'}: ${lines[line - 1].trim()}`)
    }
    for (const [line, got] of found)
      if (!expected.has(line)) problems.push(`errors.ts:${line}: unexpected ${got.join(' | ')}: ${lines[line - 1].trim()}`)
    assert.deepEqual(problems, [])
  })

  // The same project under other TypeScript majors installed in node_modules (e.g. the copy @napi-rs/cli
  // depends on), so the declarations keep working for users on newer compilers.
  const others = []
  const modules = join(root, 'node_modules')
  const packageDirs = existsSync(modules)
    ? readdirSync(modules).flatMap(n => n.startsWith('@') ? readdirSync(join(modules, n)).map(m => join(modules, n, m)) : [join(modules, n)])
    : []
  for (const dir of packageDirs) {
    const pkg = join(dir, 'node_modules', 'typescript', 'package.json')
    if (!existsSync(pkg)) continue
    const { version } = JSON.parse(readFileSync(pkg, 'utf8'))
    if (version.split('.')[0] !== ts.version.split('.')[0] && !others.some(o => o.version === version))
      others.push({ version, dir: dirname(pkg) })
  }
  for (const { version, dir } of others) {
    test(`tsc ${version}: usage compiles and every @ts-expect-error line errors`, async () => {
      const { code, output } = await tsc(tscOf(dir), ['--noEmit', '-p', project])
      assert.equal(code, 0, output)
    })
  }

  // Consumers without @types/node and with skipLibCheck off must not get errors from the declarations.
  test('without @types/node: declarations compile', async () => {
    const { code, output } = await tscWith('no-node', { files: ['no-node.ts'] })
    assert.equal(code, 0, output)
  })

  // Bundler-style resolution ("moduleResolution": "bundler"), as used with Vite, esbuild, tsx and Bun; it
  // resolves the "import" condition of package.json "exports".
  const bundler = { module: 'preserve', moduleResolution: 'bundler' }
  test('moduleResolution bundler: usage compiles', async () => {
    const { code, output } = await tscWith('bundler', { compilerOptions: bundler, files: ['node-shim.d.ts', 'usage.ts', 'esm.mts'] })
    assert.equal(code, 0, output)
  })

  // ESM consumers of the subpath ("import" condition, also under "nodenext" from .mts files) get
  // local/index.mjs, which has no declarations beside it: package.json's "./local" export needs a
  // "types": "./local/index.d.ts" condition first.
  const localExport = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).exports?.['./local']
  const localTodo = localExport && typeof localExport === 'object' && !('types' in localExport)
  test('moduleResolution bundler: aurora-dsql-postgres/local compiles',
    { todo: localTodo ? 'package.json "./local" export lacks a "types" condition' : false },
    async () => {
      const { code, output } = await tscWith('bundler-local', { compilerOptions: bundler, files: ['node-shim.d.ts', 'local.ts'] })
      assert.equal(code, 0, output)
    })

  // Migrating code that still imports from 'postgres' (helpers, custom types) and the AWS SDK (credential
  // types and providers) must fit the options. Those packages come with the dev dependencies; without
  // @types/node, their own declarations are not checked (skipLibCheck).
  const interopModules = ['postgres', '@aws-sdk/types', '@aws-sdk/credential-provider-node']
  const missing = interopModules.filter(m => { try { require.resolve(m); return false } catch { return true } })
  test('interop with postgres.js and AWS SDK types', { skip: missing.length ? `not installed: ${missing.join(', ')}` : false }, async () => {
    const { code, output } = await tscWith('interop', { compilerOptions: { skipLibCheck: true, esModuleInterop: true }, files: ['node-shim.d.ts', 'interop.ts'] })
    assert.equal(code, 0, output)
  })
})
