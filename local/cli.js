#!/usr/bin/env node
'use strict'
// npx aurora-dsql-local [--port N] [--region R] [--max-age SECS]: runs the local DSQL endpoint
// (with a throwaway PostgreSQL) until Ctrl-C, printing how to connect.
const { startLocalDsql } = require('./index.js')
const fs = require('fs')
const os = require('os')
const path = require('path')

const args = process.argv.slice(2)
const opt = name => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
if (args.includes('--help')) {
  console.log('usage: aurora-dsql-local [--port N] [--region us-east-1] [--max-age SECS]\nCredentials: the AWS default chain (e.g. AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).')
  process.exit(0)
}
startLocalDsql({ port: Number(opt('--port') || 0), region: opt('--region') || 'us-east-1', maxConnectionAgeSecs: opt('--max-age') ? Number(opt('--max-age')) : undefined }).then(dsql => {
  const ca = path.join(os.tmpdir(), `aurora-dsql-local-${process.pid}-ca.pem`)
  fs.writeFileSync(ca, dsql.ca)
  console.log(`local DSQL endpoint: ${dsql.endpoint} at 127.0.0.1:${dsql.port}\nCA: ${ca}\n` +
    `connect: auroraDSQLPostgres({ host: '${dsql.endpoint}', hostaddr: '127.0.0.1', port: ${dsql.port}, ssl: { ca: fs.readFileSync('${ca}') } })`)
  const stop = () => dsql.stop().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}, err => { console.error(err.message); process.exit(1) })
