// Child process entry of the upstream runner: swaps the suite's three imports (hooks.mjs) and loads
// ../shared/conformance/postgres.js-3.4.9/index.js unchanged. Started by __test__/upstream.test.mjs
// with --unhandled-rejections=strict and the endpoint's settings in ADP_UPSTREAM.
import { register } from 'node:module'
import { pathToFileURL } from 'node:url'

const suite = pathToFileURL(process.env.ADP_UPSTREAM_SUITE)
register('./hooks.mjs', import.meta.url, { data: { suiteDir: new URL('./', suite).href } })
await import(suite.href)
