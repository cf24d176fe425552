#!/usr/bin/env node
'use strict'
// Refuses to publish a root package that cannot find its binaries: every target in napi.targets must
// be in optionalDependencies at exactly this version, as `napi prepublish` writes them in
// .github/workflows/release.yml. Runs there before `npm publish`, and as prepublishOnly so that a
// manual `npm publish` from a checkout (no optionalDependencies, no platform packages) stops here.
const path = require('path')
const pkg = require(path.join(__dirname, '..', 'package.json'))

const names = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' }
function suffix(triple) {
  const [arch, , os, abi] = triple.split('-')
  const platform = os === 'darwin' ? 'darwin' : os === 'windows' ? 'win32' : os
  return [platform, names[arch] || arch, abi].filter(Boolean).join('-')
}

const want = pkg.napi.targets.map(t => `${pkg.name}-${suffix(t)}`)
const have = pkg.optionalDependencies || {}
const problems = want.filter(name => have[name] !== pkg.version).map(name => `  ${name}: ${have[name] ? `at ${have[name]}, not ${pkg.version}` : 'missing'}`)
if (problems.length) {
  console.error(
    `${pkg.name}: not publishing: optionalDependencies must list every platform package at ${pkg.version}:\n${problems.join('\n')}\n` +
      'Releases are published by .github/workflows/release.yml (push a v<version> tag); `napi prepublish -t npm` writes these.'
  )
  process.exit(1)
}
console.log(`${pkg.name}@${pkg.version}: optionalDependencies name all ${want.length} platform packages`)
