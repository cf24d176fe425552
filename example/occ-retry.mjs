// Optimistic concurrency: Aurora DSQL takes no locks; when two transactions change the same row, the
// one that commits second fails with an OCC conflict (SQLSTATE 40001, OC000) and must be run again.
// `retry: true` does that for `sql.begin`: the whole callback re-runs (with a fresh snapshot) after a
// short exponential backoff, up to 3 retries. Keep such callbacks free of side effects other than SQL.
// Against a real cluster when CLUSTER_ENDPOINT is set (AWS credentials from the default chain),
// otherwise against the local DSQL endpoint with a throwaway PostgreSQL it starts itself.
import { auroraDSQLPostgres, isOCCError } from 'aurora-dsql-postgres'
import { startLocalDsql } from 'aurora-dsql-postgres/local'

let local, options
if (process.env.CLUSTER_ENDPOINT) {
  options = { host: process.env.CLUSTER_ENDPOINT, username: process.env.CLUSTER_USER || 'admin' }
} else {
  const credentials = { accessKeyId: 'AKIAEXAMPLELOCAL0001', secretAccessKey: 'example-local-secret' }
  local = await startLocalDsql({ credentials: [credentials] })
  options = { host: local.endpoint, hostaddr: local.hostaddr, port: local.port, ssl: { ca: local.ca }, customCredentialsProvider: credentials }
  console.log(`local DSQL endpoint ${local.endpoint} on 127.0.0.1:${local.port}`)
}

const sql = auroraDSQLPostgres({
  ...options,
  max: 4,
  retry: true, // or { maxRetries, baseDelayMs, maxDelayMs, jitterFactor }
  logger: { debug: message => console.log(`  retry: ${message}`), error: message => console.error(message) }
})

const account = `acct-${Date.now()}`

// Two deposits into the same account at the same moment: both read the balance, then both write it
// back. To make the conflict certain here, each first attempt waits until the other has read too.
function depositsThatCollide(retry) {
  let arrived = 0, release
  const bothRead = new Promise(resolve => (release = resolve))
  const deposit = (who, amount) => {
    let attempt = 0
    return sql.begin(async tx => {
      attempt++
      const [{ balance }] = await tx`select balance from example_account where id = ${account}`
      if (attempt === 1) {
        if (++arrived === 2) release()
        await bothRead
      }
      await tx`update example_account set balance = ${balance + amount} where id = ${account}`
      return `deposit ${who} (+${amount}) committed on attempt ${attempt}`
    }, { retry })
  }
  return Promise.allSettled([deposit('A', 10), deposit('B', 25)])
}

try {
  await sql`create table if not exists example_account (id text primary key, balance int not null)`
  await sql`insert into example_account (id, balance) values (${account}, ${100})`

  // With retry (from the factory option): the loser of the race runs again and both deposits land.
  for (const r of await depositsThatCollide(undefined)) console.log(r.status === 'fulfilled' ? r.value : `failed: ${r.reason.message}`)
  const [{ balance }] = await sql`select balance from example_account where id = ${account}`
  console.log(`balance after both deposits: ${balance} (expected 135)`)
  if (balance !== 135) throw new Error(`lost update: balance ${balance}`)

  // Per call `retry: false`: the conflict reaches the caller, recognisable with isOCCError.
  const results = await depositsThatCollide(false)
  const conflict = results.find(r => r.status === 'rejected')
  console.log(`without retry: ${conflict ? `conflict reached the caller: ${conflict.reason.code} "${conflict.reason.message}" (isOCCError: ${isOCCError(conflict.reason)})` : 'no conflict'}`)

  await sql`delete from example_account where id = ${account}`
} finally {
  await sql.end()
  await local?.stop()
}
