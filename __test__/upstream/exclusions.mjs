// Tests of the upstream postgres.js suite that this runner skips, each with its category and a
// reason a reviewer can check:
//   a: Aurora DSQL cannot do it at all (dsql-facts.md, "Unsupported");
//   b: it tests a mechanism this design does not have (it would pass without testing anything);
//   c: a deliberate difference documented in README.md, "Deliberate differences" (named in the reason).
// `transport: 'websocket'` limits an entry to the WebSocket run.
export const exclusions = {
  "Transaction throws on uncaught savepoint": { category: 'a', reason: "Aurora DSQL has no SAVEPOINT (dsql-facts.md, unsupported SQL); tx.savepoint rejects with DSQL_NOT_SUPPORTED" },
  "Transaction throws on uncaught named savepoint": { category: 'a', reason: "Aurora DSQL has no SAVEPOINT (dsql-facts.md, unsupported SQL); tx.savepoint rejects with DSQL_NOT_SUPPORTED" },
  "Transaction succeeds on caught savepoint": { category: 'a', reason: "Aurora DSQL has no SAVEPOINT (dsql-facts.md, unsupported SQL); tx.savepoint rejects with DSQL_NOT_SUPPORTED" },
  "Savepoint returns Result": { category: 'a', reason: "Aurora DSQL has no SAVEPOINT (dsql-facts.md, unsupported SQL); tx.savepoint rejects with DSQL_NOT_SUPPORTED" },
  "Prepared transaction": { category: 'a', reason: "Aurora DSQL has no PREPARE TRANSACTION (two-phase commit); tx.prepare rejects with DSQL_NOT_SUPPORTED" },
  "listen and notify": { category: 'a', reason: "Aurora DSQL has no LISTEN/NOTIFY; sql.listen/sql.notify reject with DSQL_NOT_SUPPORTED" },
  "double listen": { category: 'a', reason: "Aurora DSQL has no LISTEN/NOTIFY; sql.listen/sql.notify reject with DSQL_NOT_SUPPORTED" },
  "multiple listeners work after a reconnect": { category: 'a', reason: "Aurora DSQL has no LISTEN/NOTIFY; sql.listen/sql.notify reject with DSQL_NOT_SUPPORTED" },
  "listen and notify with weird name": { category: 'a', reason: "Aurora DSQL has no LISTEN/NOTIFY; sql.listen/sql.notify reject with DSQL_NOT_SUPPORTED" },
  "listen and notify with upper case": { category: 'a', reason: "Aurora DSQL has no LISTEN/NOTIFY; sql.listen/sql.notify reject with DSQL_NOT_SUPPORTED" },
  "listen reconnects": { category: 'a', reason: "Aurora DSQL has no LISTEN/NOTIFY; sql.listen/sql.notify reject with DSQL_NOT_SUPPORTED" },
  "listen result reports correct connection state after reconnection": { category: 'a', reason: "Aurora DSQL has no LISTEN/NOTIFY; sql.listen/sql.notify reject with DSQL_NOT_SUPPORTED" },
  "unlisten removes subscription": { category: 'a', reason: "Aurora DSQL has no LISTEN/NOTIFY; sql.listen/sql.notify reject with DSQL_NOT_SUPPORTED" },
  "listen after unlisten": { category: 'a', reason: "Aurora DSQL has no LISTEN/NOTIFY; sql.listen/sql.notify reject with DSQL_NOT_SUPPORTED" },
  "multiple listeners and unlisten one": { category: 'a', reason: "Aurora DSQL has no LISTEN/NOTIFY; sql.listen/sql.notify reject with DSQL_NOT_SUPPORTED" },
  "subscribe": { category: 'a', reason: "Aurora DSQL has no logical replication (publications, replication connections); sql.subscribe rejects with DSQL_NOT_SUPPORTED" },
  "subscribe with transform": { category: 'a', reason: "Aurora DSQL has no logical replication (publications, replication connections); sql.subscribe rejects with DSQL_NOT_SUPPORTED" },
  "subscribe reconnects and calls onsubscribe": { category: 'a', reason: "Aurora DSQL has no logical replication (publications, replication connections); sql.subscribe rejects with DSQL_NOT_SUPPORTED" },
  "Large object": { category: 'a', reason: "Aurora DSQL has no large objects (lo_* functions); sql.largeObject rejects with DSQL_NOT_SUPPORTED" },
  "Unix socket": { category: 'b', reason: "connects through a Unix socket directory as host: DSQL is reached over TCP (or WebSocket) by its cluster name only; host must be a DSQL host name or cluster id" },
  "Custom socket": { category: 'b', reason: "the `socket` option (a user function returning a net.Socket): the transport is in Rust (tokio + rustls), so there is no JS socket to hand over; the option is ignored" },
  "Proper handling of non object Errors": { category: 'b', reason: "the `socket` option (a user function returning a net.Socket): the transport is in Rust (tokio + rustls), so there is no JS socket to hand over; the option is ignored" },
  "Proper handling of null Errors": { category: 'b', reason: "the `socket` option (a user function returning a net.Socket): the transport is in Rust (tokio + rustls), so there is no JS socket to hand over; the option is ignored" },
  "Ensure reserve on connection throws proper error": { category: 'b', reason: "the `socket` option (a user function returning a net.Socket): the transport is in Rust (tokio + rustls), so there is no JS socket to hand over; the option is ignored" },
  "Login using MD5": { category: 'b', reason: "password authentication (md5, SCRAM, `pass` as a function): DSQL authenticates by IAM token only, so `pass` is never sent; behind the token-checking endpoint these would pass (or fail) without testing any password method" },
  "Login using scram-sha-256": { category: 'b', reason: "password authentication (md5, SCRAM, `pass` as a function): DSQL authenticates by IAM token only, so `pass` is never sent; behind the token-checking endpoint these would pass (or fail) without testing any password method" },
  "Parallel connections using scram-sha-256": { category: 'b', reason: "password authentication (md5, SCRAM, `pass` as a function): DSQL authenticates by IAM token only, so `pass` is never sent; behind the token-checking endpoint these would pass (or fail) without testing any password method" },
  "Support dynamic password function": { category: 'b', reason: "password authentication (md5, SCRAM, `pass` as a function): DSQL authenticates by IAM token only, so `pass` is never sent; behind the token-checking endpoint these would pass (or fail) without testing any password method" },
  "Support dynamic async password function": { category: 'b', reason: "password authentication (md5, SCRAM, `pass` as a function): DSQL authenticates by IAM token only, so `pass` is never sent; behind the token-checking endpoint these would pass (or fail) without testing any password method" },
  "throws correct error when authentication fails": { category: 'b', reason: "password authentication (md5, SCRAM, `pass` as a function): DSQL authenticates by IAM token only, so `pass` is never sent; behind the token-checking endpoint these would pass (or fail) without testing any password method" },
  "requests works after single connect_timeout": { category: 'b', reason: "re-reads connect_timeout through valueOf at every connection attempt (0.0001 s for the first, 1 s after): options are resolved once, when the sql is made (src/core/config.rs resolve), and connect_timeout is a number there" },
  "Uses default database without slash": { category: 'c', reason: "README 'Deliberate differences': the user defaults to admin (never the OS user) and the database to postgres, as the official DSQL connector does; postgres.js defaults both to the OS user" },
  "Uses default database with slash": { category: 'c', reason: "README 'Deliberate differences': the user defaults to admin (never the OS user) and the database to postgres, as the official DSQL connector does; postgres.js defaults both to the OS user" },
  "Options from uri with special characters in user and pass": { category: 'c', reason: "README 'Deliberate differences': sql.options never holds a password or token (pass is null, as postgres.js's own ParsedOptions type says); authentication is by IAM token" },
  "responds with server parameters (application_name)": { category: 'c', reason: "README 'Deliberate differences': application_name is aurora-dsql-postgres/<version> (with the user's prefix when given), as the official connector sets its own; postgres.js sets 'postgres.js'" },
  "has server parameters": { category: 'c', reason: "README 'Deliberate differences': application_name is aurora-dsql-postgres/<version> (with the user's prefix when given), as the official connector sets its own; postgres.js sets 'postgres.js'" },
  "Multiple hosts": { category: 'c', reason: "README 'Deliberate differences': multi-host configurations are rejected (one DSQL cluster endpoint per sql); postgres.js rotates between hosts" },
}

export function exclusionsFor(transport) {
  const out = new Map()
  for (const [name, e] of Object.entries(exclusions))
    if (!e.transport || e.transport === transport) out.set(name, e)
  return out
}
