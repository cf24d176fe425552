// Module resolution hooks for the upstream postgres.js suite (registered by run.mjs): the suite's
// `import postgres from '../src/index.js'` gets this package (through postgres.mjs, which adds the
// connection settings), `./test.js` gets harness.mjs (same t/nt/ot, with counts and the exclusion
// list), and `./bootstrap.js` gets bootstrap.mjs (psql against the PostgreSQL behind the endpoint).
// Every other import, and every test body, is the suite's own.
const here = new URL('./', import.meta.url)
const swaps = {
  '../src/index.js': new URL('postgres.mjs', here).href,
  './test.js': new URL('harness.mjs', here).href,
  './bootstrap.js': new URL('bootstrap.mjs', here).href
}
let suiteDir

export function initialize(data) {
  suiteDir = data.suiteDir
}

export async function resolve(specifier, context, next) {
  if (context.parentURL && context.parentURL.startsWith(suiteDir) && swaps[specifier])
    return { url: swaps[specifier], shortCircuit: true }
  return next(specifier, context)
}
