#!/usr/bin/env node
'use strict'
// npm install hook: use a prebuilt binary when one fits this platform (the per-platform npm
// package, or a .node file already in the package), otherwise build the addon from source with
// cargo (a fresh clone of the repository).
const { execFileSync } = require('child_process')
const path = require('path')
const root = path.join(__dirname, '..')

function loads() {
  try {
    require(path.join(root, 'native.js'))
    return true
  } catch {
    return false
  }
}

if (process.env.AURORA_DSQL_POSTGRES_SKIP_BUILD) process.exit(0)
if (loads()) process.exit(0)
console.log('aurora-dsql-postgres: no prebuilt binary for this platform; building from source with cargo (a few minutes)...')
try {
  const fs = require('fs')
  const local = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi')
  const args = ['build', '--platform', '--release', '--js', 'native.js', '--dts', 'native.d.ts']
  if (fs.existsSync(local)) execFileSync(local, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  else execFileSync('npx', ['--yes', '@napi-rs/cli@3.10.12', ...args], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
} catch (err) {
  console.error('aurora-dsql-postgres: building the native addon failed. Install Rust (https://rustup.rs) or use a platform with a prebuilt binary.')
  process.exit(1)
}
