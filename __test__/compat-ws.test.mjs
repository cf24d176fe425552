// The postgres.js compatibility suite again, with our side on auroraDSQLWsPostgres through the local
// endpoint's WebSocket listener (wss, verified TLS, SigV4 tokens): the WebSocket connector must
// behave exactly as the TCP one.
process.env.COMPAT_TRANSPORT = 'websocket'
await import('./compat.test.mjs')
