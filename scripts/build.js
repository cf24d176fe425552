#!/usr/bin/env node
// `npm run build [-- napi build options]`: napi build --platform --release --js native.js --dts native.d.ts.
//
// Cargo performs no LTO for a library with mixed crate types, and ours is ["cdylib", "rlib"] (tests/ link
// the rlib). So outside Windows, `napi build` runs its cargo through scripts/cargo-cdylib.sh, which builds the
// library as a cdylib alone and lets [profile.release] lto apply (the addon comes out at less than half its
// size without LTO).
// Windows (spawn cannot run a script as CARGO) and --use-cross / -x builds (their own cargo) go without LTO.
const { execFileSync } = require('child_process')
const path = require('path')

const root = path.join(__dirname, '..')
const ARGS = ['build', '--platform', '--release', '--features', 'mimalloc', '--js', 'native.js', '--dts', 'native.d.ts']

// The environment for a `napi build` with the given arguments.
function napiEnv(args) {
  const ownCargo = args.some(a => a === '--use-cross' || a === '--cross-compile' || a === '-x')
  if (process.platform === 'win32' || ownCargo) return process.env
  return { ...process.env, CARGO: path.join(__dirname, 'cargo-cdylib.sh') }
}

module.exports = { ARGS, napiEnv }

if (require.main === module) {
  const args = [...ARGS, ...process.argv.slice(2)]
  const napi = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi')
  try {
    execFileSync(napi, args, { cwd: root, stdio: 'inherit', env: napiEnv(args), shell: process.platform === 'win32' })
  } catch (e) {
    process.exitCode = typeof e.status === 'number' && e.status ? e.status : 1
  }
}
