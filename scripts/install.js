#!/usr/bin/env node
'use strict'
// npm install hook.
// - Installed from the registry: the addon comes prebuilt in the per-platform package that npm
//   picked from optionalDependencies (aurora-dsql-postgres-<platform>); this only checks that it
//   loads and says which one it is. Nothing is built, no Rust toolchain is needed.
// - A checkout of the repository (Cargo.toml next to package.json): when no built addon loads,
//   build it from source with cargo (`napi build --release`, a few minutes).
// AURORA_DSQL_POSTGRES_SKIP_BUILD=1 skips the hook entirely. `node scripts/install.js --no-build`
// only checks that an addon loads (CI uses it after downloading a prebuilt one).
const { execFileSync } = require('child_process')
const fs = require('fs')
const path = require('path')

const root = path.join(__dirname, '..')
const pkg = require(path.join(root, 'package.json'))

// The napi-rs platform suffix of this machine, as native.js and npm/<suffix>/ name it.
function platformSuffix() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function isMusl() {
  try {
    return fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    const report = process.report && typeof process.report.getReport === 'function' ? process.report.getReport() : null
    return !!report && !(report.header && report.header.glibcVersionRuntime)
  }
}

// The napi-rs suffix of each target triple in package.json's napi.targets.
function supportedPlatforms() {
  const names = { x86_64: 'x64', aarch64: 'arm64' }
  return ((pkg.napi && pkg.napi.targets) || []).map(triple => {
    const [arch, , os, abi] = triple.split('-')
    const platform = os === 'darwin' ? 'darwin' : os === 'windows' ? 'win32' : os
    return [platform, names[arch] || arch, abi].filter(Boolean).join('-')
  })
}

// Loads native.js (which tries ./<binary>.<suffix>.node, then the platform package) and reports
// where the addon came from, or the error.
function load() {
  try {
    require(path.join(root, 'native.js'))
  } catch (error) {
    return { error }
  }
  const suffix = platformSuffix()
  const local = path.join(root, `${pkg.napi.binaryName}.${suffix}.node`)
  if (fs.existsSync(local)) return { from: path.relative(process.cwd(), local) || local }
  try {
    const resolved = require.resolve(`${pkg.name}-${suffix}`, { paths: [root] })
    return { from: `${pkg.name}-${suffix} (${path.dirname(resolved)})` }
  } catch {
    return { from: 'NAPI_RS_NATIVE_LIBRARY_PATH' }
  }
}

function commandExists(cmd) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' })
    return true
  } catch {
    return false
  }
}

function main() {
  const noBuild = process.argv.includes('--no-build')
  if (!noBuild && process.env.AURORA_DSQL_POSTGRES_SKIP_BUILD && process.env.AURORA_DSQL_POSTGRES_SKIP_BUILD !== '0') return 0
  const loaded = load()
  if (!loaded.error) {
    console.log(`${pkg.name}: using the prebuilt native addon from ${loaded.from}`)
    return 0
  }
  const suffix = platformSuffix()
  const checkout = fs.existsSync(path.join(root, 'Cargo.toml')) && fs.existsSync(path.join(root, 'src'))
  if (noBuild) {
    console.error(`${pkg.name}: the native addon for ${suffix} did not load: ${loaded.error && loaded.error.message}`)
    return 1
  }
  if (!checkout) {
    const supported = supportedPlatforms()
    console.error(
      `${pkg.name}: the native addon for ${suffix} did not load.\n` +
        (supported.includes(suffix)
          ? `  npm should have installed the optional dependency ${pkg.name}-${suffix}@${pkg.version}. It is missing when\n` +
            `  optional dependencies were skipped (--omit=optional, --no-optional) or a lockfile made on another platform\n` +
            `  left it out (npm/cli#4828): remove node_modules and package-lock.json and install again.\n`
          : `  There is no prebuilt binary for ${suffix}; prebuilt platforms: ${supported.join(', ')}.\n` +
            `  Build from a clone of the repository instead (needs Rust: https://rustup.rs).\n`) +
        `  Load error: ${loaded.error && loaded.error.message}\n` +
        `  Set AURORA_DSQL_POSTGRES_SKIP_BUILD=1 to install anyway.`
    )
    return 1
  }
  if (!commandExists('cargo')) {
    console.error(
      `${pkg.name}: no built native addon for ${suffix} in this checkout, and cargo is not on PATH.\n` +
        '  Install Rust (https://rustup.rs) and run `npm run build`, or set AURORA_DSQL_POSTGRES_SKIP_BUILD=1.'
    )
    return 1
  }
  console.log(`${pkg.name}: no built native addon for ${suffix}; building from source with cargo (a few minutes)...`)
  const { ARGS: args, napiEnv } = require('./build.js')
  const napi = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi')
  const [cmd, cmdArgs] = fs.existsSync(napi) ? [napi, args] : ['npx', ['--yes', `@napi-rs/cli@${(pkg.devDependencies || {})['@napi-rs/cli'] || '3'}`, ...args]]
  try {
    execFileSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env: napiEnv(args), shell: process.platform === 'win32' })
  } catch {
    console.error(`${pkg.name}: building the native addon failed (see above).`)
    return 1
  }
  return 0
}

process.exitCode = main()
