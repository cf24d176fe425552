// h. cold start: import one side's package, run one query, end, and let the process exit by itself.
// run.mjs times this process from spawn to exit; it prints the result and its peak RSS on exit.
import { writeSync } from 'node:fs'
import { connect } from './sides.mjs'

let x
process.on('exit', () => writeSync(1, JSON.stringify({ x, maxRssKb: process.resourceUsage().maxRSS }) + '\n'))
const sql = await connect(process.argv[2])
;[{ x }] = await sql`select 1 as x`
await sql.end()
