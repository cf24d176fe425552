'use strict'
// Loads the addon. Its allocator (mimalloc, see Cargo.toml) reads its options from the environment when
// the addon is loaded; arena memory committed on demand (MIMALLOC_ARENA_EAGER_COMMIT=0) keeps a small
// process's peak RSS as it is with the system allocator (about 6 MB less than mimalloc's default here).
// The variable is set only while loading, and only when the user has not set it.
const KEY = 'MIMALLOC_ARENA_EAGER_COMMIT'
const own = process.env[KEY] === undefined
if (own) process.env[KEY] = '0'
try {
  module.exports = require('../native.js')
} finally {
  if (own) delete process.env[KEY]
}
