//! The connection pool and the per-connection query driver.
//!
//! postgres.js's rule: a query goes to an idle connection, else a new one is opened (up to `max`),
//! else it is pipelined on the least busy connection. Each connection has one driver task that
//! sends its queries strictly in submission order (a transaction's statements must not overtake
//! each other): a cached statement is sent at once and finishes concurrently with later ones; a
//! statement that still needs preparing holds the line until its Parse is answered.
//!
//! Results are streamed as frames into the [`Sink`], which the binding drains with one call for
//! many completions.

use crate::core::close_wait::CLOSE_WAIT;
use crate::core::command::command_of;
use crate::core::config::{Config, Transport};
use crate::core::copy;
use crate::core::credentials::CredentialCache;
use crate::core::error::{Error, Result};
use crate::core::token::TokenSigner;
use crate::core::transport::{self, NoticeHandler};
use crate::core::values::{encode, encoding_for, Encoding};
use crate::core::wire::{
    ColumnMeta, FrameWriter, Job, Param, FLAG_COPY, FLAG_CURSOR, FLAG_DESCRIBE, FLAG_FRESH, FLAG_PREPARE, FLAG_SIMPLE,
    FLAG_TEXT, KIND_PARAMETERS,
};
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt, TryStreamExt};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};
use tokio_postgres::types::{FromSql, Kind, ToSql, Type};
use tokio_postgres::{Client, Statement};

/// Rows are handed to JS in chunks of about this many bytes, so a large result never blocks the
/// event loop in one piece.
const CHUNK_BYTES: usize = 64 * 1024;
/// While framing a large result, the I/O thread yields its CPU (`sched_yield`) after about this many
/// bytes of rows: a large fetch keeps more threads runnable than there are CPUs (the JS thread decoding,
/// this one, and a nearby server's), and the JS thread's event-loop stalls were mostly waits for a CPU.
/// Measured here: e's event-loop p99 about 19 -> 13 ms in alternating runs, rows/s unchanged.
const YIELD_BYTES: usize = 16 * 1024;
const STATEMENT_CACHE_MAX: usize = 1000;

/// At most this much (whole frames, at least one) is handed to JS per take, so that JS can give its
/// event loop a turn between takes even when it falls behind a big result.
pub const POLL_BYTES: usize = 128 * 1024;
/// How many bytes of frames may wait for the binding before a large result stops reading rows
/// (tokio-postgres then stops reading the socket, and TCP holds the server back): up to
/// [`ROOM_BYTES`] always, up to [`ROOM_MAX_BYTES`] while the JS thread keeps taking them (it took
/// some within [`TAKER_STALLED`]). Without a bound a result kept being read and framed at full
/// speed while the JS thread was stopped in a garbage collection, competing with the collector for
/// the CPUs, and the pauses were about twice as long; with only the small bound the I/O thread
/// stopped and was woken too often in steady flow (rows/s about 10% lower).
const ROOM_BYTES: usize = 128 * 1024;
const ROOM_MAX_BYTES: usize = 512 * 1024;
const TAKER_STALLED: Duration = Duration::from_millis(2);

/// Completed frames waiting for the binding to take them: chunks of whole frames, each filled up
/// to [`POLL_BYTES`] (a single push may be larger).
///
/// Two ways to take them: `take().await` (Rust callers), or push delivery for the binding: a hook
/// set with [`Sink::deliver_with`] is called (off the JS thread) when frames arrive and no delivery
/// is under way; the JS thread then takes chunks with [`Sink::take_delivery`] (for a couple of
/// milliseconds at a time, then its event loop gets a turn) until it reports none left; only then
/// does the next push call the hook again.
#[derive(Default)]
pub struct Sink {
    buf: Mutex<Queue>,
    notify: Notify,
    /// Wakes a large result waiting for room (see [`ROOM_BYTES`]).
    drained: Notify,
    /// Set when the pool has ended: a waiting `take` returns (empty) instead of keeping Node alive.
    closed: AtomicBool,
    /// Wakes the signaller task (see [`Sink::signal_later`]), when there is one.
    signaller: Arc<Notify>,
    signaller_running: AtomicBool,
}

pub type DeliveryHook = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Queue {
    chunks: VecDeque<Vec<u8>>,
    /// The chunks' length in bytes.
    bytes: usize,
    /// When frames were last taken.
    last_take: Option<Instant>,
    /// A large result waits for room.
    waiting: bool,
    hook: Option<DeliveryHook>,
    /// A delivery was requested and has not emptied the queue yet.
    signalled: bool,
    /// The signaller task will request a delivery (see [`Sink::signal_later`]).
    deferred: bool,
    /// A taken chunk's allocation, for the next chunk (see [`Sink::recycle`]).
    spare: Option<Vec<u8>>,
}

impl Drop for Sink {
    /// Lets the signaller task see that the sink is gone, and end.
    fn drop(&mut self) {
        self.signaller.notify_one();
    }
}

impl Sink {
    pub fn push(&self, frames: &[u8]) {
        if frames.is_empty() {
            return;
        }
        let mut q = lock(&self.buf);
        q.bytes += frames.len();
        match q.chunks.back_mut() {
            Some(last) if last.len() + frames.len() <= POLL_BYTES => last.extend_from_slice(frames),
            _ => {
                let mut chunk = q.spare.take().unwrap_or_default();
                chunk.extend_from_slice(frames);
                q.chunks.push_back(chunk)
            }
        }
        if q.signalled || q.deferred || q.hook.is_none() {
            drop(q);
            return self.notify.notify_one();
        }
        if self.signaller_running.load(Ordering::Relaxed) {
            q.deferred = true;
            drop(q);
            return self.signaller.notify_one();
        }
        q.signalled = true;
        let hook = q.hook.clone();
        drop(q);
        if let Some(h) = hook {
            h()
        }
    }

    /// Pushes frames and requests their delivery at once (a chunk of a large result: JS starts on it
    /// while this task goes on framing rows).
    pub fn push_now(&self, frames: &[u8]) {
        self.push(frames);
        self.signal_now();
    }

    /// Starts the task that requests deliveries on the I/O thread's behalf (when called within a
    /// tokio runtime; otherwise each first push requests one itself). A push wakes it, and it runs
    /// once the task that pushed yields, so the frames one connection task pushes in one go (every
    /// response that came in with one read) are delivered by one request (a cross-thread call that
    /// wakes the JS thread, about 5 µs of the I/O thread each), not one per query.
    pub fn signal_later(self: &Arc<Self>) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        if self.signaller_running.swap(true, Ordering::SeqCst) {
            return;
        }
        let sink = Arc::downgrade(self);
        let wake = self.signaller.clone();
        rt.spawn(async move {
            loop {
                wake.notified().await;
                let Some(sink) = sink.upgrade() else { return };
                sink.signal_now();
            }
        });
    }

    /// Requests the delivery the signaller task would request, now (before the I/O thread waits
    /// for the JS thread's next query, which may need these frames first).
    pub fn signal_now(&self) {
        let hook = {
            let mut q = lock(&self.buf);
            let due = q.deferred && !q.signalled && !q.chunks.is_empty();
            q.deferred = false;
            q.signalled |= due;
            if due {
                q.hook.clone()
            } else {
                None
            }
        };
        if let Some(h) = hook {
            h()
        }
    }

    /// Push delivery (see the type's doc); `None` stops it.
    pub fn deliver_with(&self, hook: Option<DeliveryHook>) {
        let mut q = lock(&self.buf);
        q.signalled = false;
        q.hook = hook;
        let call = q.hook.clone().filter(|_| !q.chunks.is_empty());
        q.signalled = call.is_some();
        drop(q);
        if let Some(h) = call {
            h();
        }
    }

    /// The oldest chunk (empty when there is none) and whether more remain. While they do, the
    /// delivery stays under way: the taker comes back for them.
    pub fn take_delivery(&self) -> (Vec<u8>, bool) {
        let mut q = lock(&self.buf);
        let chunk = q.chunks.pop_front().unwrap_or_default();
        let more = !q.chunks.is_empty();
        q.signalled = more;
        self.taken(&mut q, chunk.len());
        (chunk, more)
    }

    /// Gives back a taken chunk whose bytes were copied out: its allocation makes the next chunk
    /// (one kept, and none much larger than a regular chunk).
    pub fn recycle(&self, mut chunk: Vec<u8>) {
        if chunk.capacity() <= 2 * POLL_BYTES {
            chunk.clear();
            lock(&self.buf).spare = Some(chunk);
        }
    }

    fn taken(&self, q: &mut Queue, n: usize) {
        q.bytes -= n;
        q.last_take = Some(Instant::now());
        if q.waiting {
            q.waiting = false;
            self.drained.notify_waiters();
        }
    }

    /// Waits while too many bytes wait to be taken (see [`ROOM_BYTES`]); never once the pool has ended.
    pub async fn room(&self) {
        loop {
            let drained = self.drained.notified();
            let mut drained = std::pin::pin!(drained);
            drained.as_mut().enable();
            {
                let mut q = lock(&self.buf);
                let taking = q.last_take.is_none_or(|t| t.elapsed() < TAKER_STALLED);
                if q.bytes <= ROOM_BYTES || (taking && q.bytes <= ROOM_MAX_BYTES) || self.closed.load(Ordering::SeqCst)
                {
                    return;
                }
                q.waiting = true;
            }
            // Woken by the next take (or close); a taker that stays away wakes nobody, which is the point.
            drained.await;
        }
    }

    /// Waits until frames are available and takes the oldest chunk (empty once the pool has ended).
    pub async fn take(&self) -> Vec<u8> {
        loop {
            let notified = self.notify.notified();
            {
                let mut q = lock(&self.buf);
                if let Some(chunk) = q.chunks.pop_front() {
                    self.taken(&mut q, chunk.len());
                    return chunk;
                }
                if self.closed.load(Ordering::SeqCst) {
                    return Vec::new();
                }
            }
            notified.await;
        }
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.drained.notify_waiters();
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Takes everything that is there without waiting.
    pub fn try_take(&self) -> Vec<u8> {
        let mut q = lock(&self.buf);
        let chunks = std::mem::take(&mut q.chunks);
        let n = chunks.iter().map(Vec::len).sum();
        self.taken(&mut q, n);
        drop(q);
        let mut out = Vec::with_capacity(n);
        for c in chunks {
            out.extend_from_slice(&c);
        }
        out
    }
}

/// A poisoned lock means a panic elsewhere; the data is still usable for our simple states.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Conn {
    id: u32,
    tx: mpsc::UnboundedSender<Job>,
    inflight: AtomicUsize,
    reserved: AtomicBool,
    /// No new work is given to a retiring connection; it closes when its work is done.
    retiring: AtomicBool,
    open: AtomicBool,
    /// Queries sent and not finished, in send order (seq → job id). One that failed because the
    /// connection died stays listed, so the oldest of them is the only one that may have run.
    outstanding: Arc<Mutex<std::collections::BTreeMap<u64, u32>>>,
    /// For `query.cancel()`: the session's cancel token, once connected.
    cancel_token: std::sync::OnceLock<transport::CancelTarget>,
    /// Wakes the driver to look at `retiring`, `reserved` and `killed` again.
    wake: Notify,
    /// `close({ timeout })` ran out of time: leave now, failing what runs with CONNECTION_DESTROYED.
    killed: AtomicBool,
    /// The query id of the COPY in progress (0 when none): other queries sent to this connection
    /// meanwhile fail with COPY_IN_PROGRESS, as in postgres.js.
    copying: Arc<AtomicU32>,
}

/// What `Pool::reserve_start` got: a connection now, or a place in the queue of reservations.
pub enum Reservation {
    Granted(u32),
    Queued(oneshot::Receiver<Result<u32>>),
}

#[derive(Default)]
struct State {
    conns: Vec<Arc<Conn>>,
    next_id: u32,
    ended: bool,
    /// Jobs for which no connection can take work now (all reserved or retiring at `max`).
    waiting: VecDeque<Job>,
    reserve_waiters: VecDeque<oneshot::Sender<Result<u32>>>,
    /// Reserved connections that could not be opened, with the error: `reserve()` hands out a
    /// connection before it is open, so jobs sent to it may arrive after it failed; they fail with
    /// that error (postgres.js's begin() rejects with the connect error). Dropped on release.
    open_failed: HashMap<u32, Error>,
}

pub struct PoolOptions {
    /// Type OIDs whose columns must arrive as text (custom JS parsers).
    pub text_oids: Vec<u32>,
    pub on_notice: Option<NoticeHandler>,
    /// Called with the connection id when a connection closes unexpectedly (the server or the
    /// network ended it, or it failed its connection check), never for closes the pool decides.
    pub on_close: Option<Arc<dyn Fn(u32) + Send + Sync>>,
}

/// The WebSocket connector's `connectionCheck`: how long the `select 1` heartbeat may take.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

struct Inner {
    cfg: Config,
    creds: CredentialCache,
    signer: TokenSigner,
    connector: transport::Connector,
    sink: Arc<Sink>,
    state: Mutex<State>,
    opts: PoolOptions,
    idle: Notify,
    destroy: tokio::sync::watch::Sender<bool>,
    /// Open cursors: a permit lets the next batch of rows through.
    cursors: Mutex<HashMap<u32, Arc<Semaphore>>>,
    /// Jobs `cancel()`ed whose CancelRequest is not sent yet (they wait to be the one running), and
    /// whether there are any (so the hot path only reads an atomic).
    cancelled: Mutex<std::collections::HashSet<u32>>,
    any_cancelled: AtomicBool,
    /// Running COPYs (see `core::copy`).
    copies: Arc<copy::Registry>,
    /// The back-off between connection attempts after failures (see [`ConnectGate`]).
    gate: ConnectGate,
}

#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    pub fn new(cfg: Config, creds: CredentialCache, opts: PoolOptions) -> Result<Pool> {
        let connector = transport::connector(&cfg)?;
        let signer = TokenSigner::new(&cfg.host, &cfg.region, cfg.token_duration_secs);
        let (destroy, _) = tokio::sync::watch::channel(false);
        let sink = Arc::new(Sink::default());
        sink.signal_later();
        Ok(Pool {
            inner: Arc::new(Inner {
                cfg,
                creds,
                signer,
                connector,
                sink,
                state: Mutex::new(State { next_id: 1, ..Default::default() }),
                opts,
                idle: Notify::new(),
                destroy,
                cursors: Mutex::new(HashMap::new()),
                cancelled: Mutex::default(),
                any_cancelled: AtomicBool::new(false),
                copies: Arc::default(),
                gate: ConnectGate::default(),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    pub fn sink(&self) -> Arc<Sink> {
        self.inner.sink.clone()
    }

    /// Queues jobs; their results arrive in the sink.
    pub fn submit(&self, jobs: Vec<Job>) {
        let mut st = lock(&self.inner.state);
        for job in jobs {
            dispatch(&self.inner, &mut st, job);
        }
    }

    /// `query.cancel()`: a query not sent yet never runs (it fails with 57014); a running one gets a
    /// CancelRequest (resolves once it was sent); one pipelined behind another is cancelled when
    /// its turn comes.
    pub async fn cancel(&self, id: u32) {
        let inner = &self.inner;
        lock(&inner.cancelled).insert(id);
        inner.any_cancelled.store(true, Ordering::SeqCst);
        let conns = lock(&inner.state).conns.clone();
        for c in conns {
            if let Some(sending) = cancel_if_running(inner, &c) {
                let _ = sending.await;
            }
        }
    }

    /// Takes a connection out of the pool for exclusive use (transactions, `sql.reserve()`).
    pub async fn reserve(&self) -> Result<u32> {
        match self.reserve_start()? {
            Reservation::Granted(id) => Ok(id),
            Reservation::Queued(rx) => Self::reserve_wait(rx).await,
        }
    }

    /// The synchronous half of `reserve`: takes an idle (or new) connection now, or joins the queue
    /// of reservations now, so that reservations and queries are served in the order they were made
    /// (a transaction begun before a query gets the connection first, as in postgres.js).
    pub fn reserve_start(&self) -> Result<Reservation> {
        let mut st = lock(&self.inner.state);
        if st.ended {
            return Err(Error::connection("CONNECTION_ENDED", "the pool has been ended"));
        }
        let idle = st
            .conns
            .iter()
            .find(|c| {
                c.inflight.load(Ordering::SeqCst) == 0
                    && !c.reserved.load(Ordering::SeqCst)
                    && !c.retiring.load(Ordering::SeqCst)
            })
            .cloned();
        if let Some(c) = idle {
            c.reserved.store(true, Ordering::SeqCst);
            return Ok(Reservation::Granted(c.id));
        }
        if st.conns.len() < self.inner.cfg.max {
            let c = open_conn(&self.inner, &mut st);
            c.reserved.store(true, Ordering::SeqCst);
            return Ok(Reservation::Granted(c.id));
        }
        let (tx, rx) = oneshot::channel();
        st.reserve_waiters.push_back(tx);
        Ok(Reservation::Queued(rx))
    }

    /// The waiting half of `reserve` for a queued reservation.
    pub async fn reserve_wait(rx: oneshot::Receiver<Result<u32>>) -> Result<u32> {
        rx.await.unwrap_or_else(|_| Err(Error::connection("CONNECTION_ENDED", "the pool has been ended")))
    }

    /// Lets a cursor deliver its next batch.
    pub fn cursor_next(&self, id: u32) {
        if let Some(s) = lock(&self.inner.cursors).get(&id) {
            s.add_permits(1);
        }
    }

    /// Hands an operation to running COPY `id` (see `core::copy`).
    pub fn copy_op(&self, id: u32, op: copy::Op) {
        self.inner.copies.send(id, op)
    }

    /// Stops a cursor; its query completes with the rows delivered so far.
    pub fn cursor_close(&self, id: u32) {
        if let Some(s) = lock(&self.inner.cursors).remove(&id) {
            s.close();
        }
    }

    /// Returns a reserved connection to the pool.
    pub fn release(&self, id: u32) {
        let mut st = lock(&self.inner.state);
        st.open_failed.remove(&id);
        if let Some(c) = st.conns.iter().find(|c| c.id == id).cloned() {
            c.reserved.store(false, Ordering::SeqCst);
            on_available(&self.inner, &mut st, &c);
            c.wake.notify_one();
        }
        drop(st);
        // A graceful end() waits for reserved connections to come back.
        self.inner.idle.notify_waiters();
    }

    /// `sql.close({ timeout })`: closes the connections open now (each once its work is done and it
    /// is released) while the pool stays usable: later queries open new connections. After `timeout`
    /// the rest are closed at once, their queries failing with CONNECTION_DESTROYED.
    pub async fn close(&self, timeout: Option<Duration>) {
        let conns: Vec<Arc<Conn>> = lock(&self.inner.state).conns.clone();
        for c in &conns {
            c.retiring.store(true, Ordering::SeqCst);
            c.wake.notify_one();
        }
        let Some(t) = timeout else { return self.until_closed(&conns).await };
        if tokio::time::timeout(t, self.until_closed(&conns)).await.is_err() {
            for c in &conns {
                c.killed.store(true, Ordering::SeqCst);
                c.wake.notify_one();
            }
            self.until_closed(&conns).await;
        }
    }

    /// Resolves once none of `conns` is in the pool or open any more.
    async fn until_closed(&self, conns: &[Arc<Conn>]) {
        loop {
            let notified = self.inner.idle.notified();
            let gone = {
                let st = lock(&self.inner.state);
                conns.iter().all(|c| !st.conns.iter().any(|x| x.id == c.id) && !c.open.load(Ordering::SeqCst))
            };
            if gone {
                return;
            }
            notified.await;
        }
    }

    /// Stops taking queries, waits up to `timeout` for the ones already taken (running, and queued for
    /// a busy connection, as postgres.js's end() lets them finish), then closes every connection
    /// (queries still running then fail with CONNECTION_DESTROYED).
    pub async fn end(&self, timeout: Option<Duration>) {
        lock(&self.inner.state).ended = true;
        // Queued jobs and reservations (transactions waiting for a connection) are served as
        // connections free up (`on_available`); reserved connections finish their transactions; with
        // no connection left, nothing queued can run.
        let all_idle = async {
            loop {
                let notified = self.inner.idle.notified();
                {
                    let st = lock(&self.inner.state);
                    let busy = st
                        .conns
                        .iter()
                        .any(|c| c.inflight.load(Ordering::SeqCst) > 0 || c.reserved.load(Ordering::SeqCst));
                    let queued = !st.waiting.is_empty() || !st.reserve_waiters.is_empty();
                    if !busy && !queued {
                        return;
                    }
                }
                notified.await;
            }
        };
        let in_time = match timeout {
            Some(t) => tokio::time::timeout(t, all_idle).await.is_ok(),
            None => {
                all_idle.await;
                true
            }
        };
        let (waiting, reservations): (Vec<Job>, Vec<_>) = {
            let mut st = lock(&self.inner.state);
            (st.waiting.drain(..).collect(), st.reserve_waiters.drain(..).collect())
        };
        let code = if in_time { "CONNECTION_ENDED" } else { "CONNECTION_DESTROYED" };
        for w in reservations {
            let _ = w.send(Err(Error::connection(code, "the pool has been ended")));
        }
        for j in waiting {
            fail(&self.inner.sink, j.id, &Error::connection(code, format!("write {code}")));
        }
        let _ = self.inner.destroy.send(true);
        let conns: Vec<Arc<Conn>> = lock(&self.inner.state).conns.drain(..).collect();
        // As postgres.js's end(): resolves once the connections have closed (each waits a bounded
        // time for the server to let go, see close_wait).
        let _ = tokio::time::timeout(CLOSE_WAIT + Duration::from_millis(200), self.until_closed(&conns)).await;
        drop(conns);
        self.inner.sink.close();
    }

    pub fn stats(&self) -> PoolStats {
        let st = lock(&self.inner.state);
        PoolStats {
            connections: st.conns.len(),
            open: st.conns.iter().filter(|c| c.open.load(Ordering::SeqCst)).count(),
            reserved: st.conns.iter().filter(|c| c.reserved.load(Ordering::SeqCst)).count(),
            inflight: st.conns.iter().map(|c| c.inflight.load(Ordering::SeqCst)).sum(),
            waiting: st.waiting.len(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub connections: usize,
    pub open: usize,
    pub reserved: usize,
    pub inflight: usize,
    pub waiting: usize,
}

fn fail(sink: &Sink, id: u32, e: &Error) {
    let mut w = FrameWriter::new(id);
    w.error(e);
    sink.push(&w.take());
}

fn dispatch(inner: &Arc<Inner>, st: &mut State, job: Job) {
    // After end() the pool takes no new work; a reserved connection still answers for itself while
    // it is open (a transaction finishing during a graceful end, as in postgres.js).
    if st.ended && job.conn == 0 {
        return fail(&inner.sink, job.id, &Error::connection("CONNECTION_ENDED", "write CONNECTION_ENDED"));
    }
    place(inner, st, job)
}

/// Gives a job taken before any end() to its connection, an idle one, a new one, or the queue.
fn place(inner: &Arc<Inner>, st: &mut State, job: Job) {
    if job.conn != 0 {
        match st.conns.iter().find(|c| c.id == job.conn && c.reserved.load(Ordering::SeqCst)) {
            Some(c) => send(c, job),
            None => match st.open_failed.get(&job.conn) {
                Some(e) => fail(&inner.sink, job.id, e),
                None => fail(
                    &inner.sink,
                    job.id,
                    &Error::connection("CONNECTION_CLOSED", "the reserved connection is closed or was released"),
                ),
            },
        }
        return;
    }
    let usable = |c: &&Arc<Conn>| !c.reserved.load(Ordering::SeqCst) && !c.retiring.load(Ordering::SeqCst);
    if let Some(c) = st.conns.iter().filter(usable).find(|c| c.inflight.load(Ordering::SeqCst) == 0) {
        return send(c, job);
    }
    if st.conns.len() < inner.cfg.max {
        let c = open_conn(inner, st);
        return send(&c, job);
    }
    match st.conns.iter().filter(usable).min_by_key(|c| c.inflight.load(Ordering::SeqCst)) {
        Some(c) => send(c, job),
        None => st.waiting.push_back(job),
    }
}

fn send(c: &Arc<Conn>, job: Job) {
    c.inflight.fetch_add(1, Ordering::SeqCst);
    // The driver owns the receiver until it has left the pool's list, so this cannot fail while
    // the connection is listed; a failure would mean a bug, and the job's error is reported then.
    if let Err(mpsc::error::SendError(job)) = c.tx.send(job) {
        c.inflight.fetch_sub(1, Ordering::SeqCst);
        let _ = job;
    }
}

/// Hands a connection that has become free to waiting reservations and queued jobs.
fn on_available(_inner: &Arc<Inner>, st: &mut State, c: &Arc<Conn>) {
    if c.reserved.load(Ordering::SeqCst) || c.retiring.load(Ordering::SeqCst) {
        return;
    }
    if c.inflight.load(Ordering::SeqCst) == 0 {
        while let Some(w) = st.reserve_waiters.pop_front() {
            c.reserved.store(true, Ordering::SeqCst);
            if w.send(Ok(c.id)).is_ok() {
                return;
            }
            c.reserved.store(false, Ordering::SeqCst);
        }
    }
    while let Some(job) = st.waiting.pop_front() {
        send(c, job);
    }
}

fn open_conn(inner: &Arc<Inner>, st: &mut State) -> Arc<Conn> {
    let (tx, rx) = mpsc::unbounded_channel();
    let id = st.next_id;
    st.next_id = st.next_id.wrapping_add(1).max(1);
    let c = Arc::new(Conn {
        id,
        tx,
        inflight: AtomicUsize::new(0),
        reserved: AtomicBool::new(false),
        retiring: AtomicBool::new(false),
        open: AtomicBool::new(false),
        outstanding: Arc::default(),
        cancel_token: std::sync::OnceLock::new(),
        wake: Notify::new(),
        killed: AtomicBool::new(false),
        copying: Arc::default(),
    });
    st.conns.push(c.clone());
    tokio::spawn(run_conn(inner.clone(), c.clone(), rx));
    c
}

/// Removes the connection from the pool; jobs it had not started go back to the pool.
fn remove_conn(inner: &Arc<Inner>, c: &Arc<Conn>, rx: &mut mpsc::UnboundedReceiver<Job>, err: Option<&Error>) {
    let mut st = lock(&inner.state);
    st.conns.retain(|x| x.id != c.id);
    if let Some(e) = err.filter(|_| c.reserved.load(Ordering::SeqCst)) {
        if st.open_failed.len() >= 1024 {
            st.open_failed.clear();
        }
        st.open_failed.insert(c.id, e.clone());
    }
    let mut pending = Vec::new();
    while let Ok(job) = rx.try_recv() {
        c.inflight.fetch_sub(1, Ordering::SeqCst);
        pending.push(job);
    }
    for (i, job) in pending.into_iter().enumerate() {
        match err {
            // The connection could not be opened. As in postgres.js, the query it was opened for
            // fails with that error (the first one sent to it; every query of a reserved connection),
            // and the queries queued behind it wait for a connection of their own, whose attempt
            // comes after the pool's back-off (see `ConnectGate`).
            Some(e) if i == 0 || job.conn != 0 => fail(&inner.sink, job.id, e),
            Some(_) => place(inner, &mut st, job),
            None if job.conn != 0 => {
                fail(&inner.sink, job.id, &Error::connection("CONNECTION_CLOSED", "the reserved connection was closed"))
            }
            None => place(inner, &mut st, job),
        }
    }
    // A slot is free: queued reservations, then queued jobs, may now open a new connection (also
    // during a graceful end, which serves what was queued before it).
    while st.conns.len() < inner.cfg.max {
        let Some(w) = st.reserve_waiters.pop_front() else { break };
        let c = open_conn(inner, &mut st);
        c.reserved.store(true, Ordering::SeqCst);
        if w.send(Ok(c.id)).is_err() {
            c.reserved.store(false, Ordering::SeqCst);
        }
    }
    while st.conns.len() < inner.cfg.max && !st.waiting.is_empty() {
        if let Some(job) = st.waiting.pop_front() {
            place(inner, &mut st, job);
        }
    }
    drop(st);
    inner.idle.notify_waiters();
}

/// Opens a session. Every attempt waits for its turn at the pool's [`ConnectGate`] and reports its
/// outcome there. `connect_timeout` counts from the first attempt (postgres.js starts its timer after
/// the reconnect delay too).
async fn open(inner: &Inner) -> Result<transport::Session> {
    let cfg = &inner.cfg;
    let timeout_error =
        || Error::connection("CONNECT_TIMEOUT", format!("write CONNECT_TIMEOUT {}:{}", cfg.host, cfg.port));
    let mut refreshed = false;
    inner.gate.turn().await;
    let deadline = tokio::time::Instant::now() + cfg.connect_timeout;
    loop {
        let once = async {
            let creds = inner.creds.get().await?;
            let token = inner.signer.token(creds, cfg.is_admin()).await?;
            transport::connect(cfg, &token, &inner.connector, inner.opts.on_notice.clone()).await
        };
        let e = match tokio::time::timeout_at(deadline, once).await {
            Err(_) => {
                inner.gate.failed();
                return Err(timeout_error());
            }
            Ok(Ok(session)) => {
                inner.gate.succeeded();
                return Ok(session);
            }
            Ok(Err(e)) => e,
        };
        inner.gate.failed();
        let again = match e.sqlstate() {
            // DSQL refuses connections over its rate (53400) or count (53300) limit: try again
            // while connect_timeout allows, instead of failing the queries waiting.
            Some("53300") | Some("53400") => true,
            // Rejected token: the cached credentials may have been rotated or revoked. Resolve
            // them again once (a JS provider or the default chain returns the new ones).
            Some("28000") | Some("28P01") if !refreshed => {
                refreshed = true;
                inner.creds.invalidate().await;
                true
            }
            _ => false,
        };
        if !again || tokio::time::timeout_at(deadline, inner.gate.turn()).await.is_err() {
            return Err(e);
        }
    }
}

/// The first back-off after a failed connection attempt; it doubles with each failure in a row up
/// to [`CONNECT_BACKOFF_CAP`], and each delay is jittered to between half and all of that.
const CONNECT_BACKOFF_BASE: Duration = Duration::from_millis(20);
/// At most this long between two attempts while the server stays unreachable: a pool makes 2 to 4
/// attempts per second then (each a TCP and TLS handshake and a token check for the server), and
/// its first attempt after the server is back comes within this long.
const CONNECT_BACKOFF_CAP: Duration = Duration::from_millis(500);
/// How long attempts stay spaced after a failure streak ended with a success.
const CONNECT_RECOVERY: Duration = Duration::from_secs(1);

/// The pool's back-off between connection attempts. One failure streak is shared by all of the
/// pool's attempts (every kind of failure counts: refused, reset, timeout, TLS, credentials, an
/// error from the server such as 08xxx, 28xxx, 57P0x, 53300/53400), and one success ends it. While
/// a streak lasts, attempts start one at a time, each at least a back-off delay after the previous
/// one, so a pool whose server is down makes a few attempts per second however many queries and
/// connections wait; without a streak, attempts start at once.
#[derive(Default)]
struct ConnectGate {
    state: Mutex<GateState>,
    /// Wakes the attempts waiting for their turn when one succeeded.
    recovered: Notify,
}

#[derive(Default)]
struct GateState {
    /// Failed attempts since the last success; 1 after a success that ended a longer streak, until
    /// [`CONNECT_RECOVERY`] has passed without a failure (attempts then stay spaced by the base delay,
    /// so a pool that was refused does not send all its waiting attempts at once when one gets through).
    streak: u32,
    /// The earliest start of the next attempt while the streak lasts.
    next: Option<tokio::time::Instant>,
    last_failure: Option<tokio::time::Instant>,
}

impl GateState {
    fn quiet(&self) -> bool {
        self.last_failure.is_none_or(|t| t.elapsed() >= CONNECT_RECOVERY)
    }
}

impl ConnectGate {
    /// Waits for this attempt's turn.
    async fn turn(&self) {
        loop {
            let recovered = self.recovered.notified();
            let at = {
                let mut g = lock(&self.state);
                let now = tokio::time::Instant::now();
                if g.streak == 1 && g.quiet() {
                    g.streak = 0;
                    g.next = None;
                }
                match g.next {
                    _ if g.streak == 0 => return,
                    Some(t) if t > now => t,
                    _ => {
                        // This attempt starts now; the next one waits a delay after it even if this
                        // one takes long to fail.
                        g.next = Some(now + backoff_delay(g.streak));
                        return;
                    }
                }
            };
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = recovered => {}
            }
        }
    }

    fn failed(&self) {
        let mut g = lock(&self.state);
        g.streak = g.streak.saturating_add(1);
        g.last_failure = Some(tokio::time::Instant::now());
        let at = tokio::time::Instant::now() + backoff_delay(g.streak);
        g.next = Some(g.next.map_or(at, |t| t.max(at)));
    }

    /// Ends a streak: the waiting attempts go, one base delay apart until the failures have been quiet
    /// for [`CONNECT_RECOVERY`] (a rate limit that let one through may refuse a burst).
    fn succeeded(&self) {
        let mut g = lock(&self.state);
        if g.streak != 0 {
            g.streak = if g.streak == 1 && g.quiet() { 0 } else { 1 };
            g.next = None;
            drop(g);
            self.recovered.notify_waiters();
        }
    }
}

/// The back-off after `streak` failures in a row: [`CONNECT_BACKOFF_BASE`] × 2^(streak-1), at most
/// [`CONNECT_BACKOFF_CAP`], times a random factor between 0.5 and 1 (attempts of several pools
/// that failed together do not stay in step).
fn backoff_delay(streak: u32) -> Duration {
    let cap = CONNECT_BACKOFF_BASE.saturating_mul(1 << streak.saturating_sub(1).min(10)).min(CONNECT_BACKOFF_CAP);
    cap.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

fn lifetime(cfg: &Config) -> Option<Duration> {
    cfg.max_lifetime.map(|(lo, hi)| if hi > lo { lo + (hi - lo).mul_f64(rand::random::<f64>()) } else { lo })
}

/// A running query; it yields its job back when the connection died before the server could
/// have started it (so it can run on another connection).
type RunFuture = Pin<Box<dyn Future<Output = Option<Job>> + Send>>;
type Running = FuturesUnordered<RunFuture>;

/// Prepared statements per SQL text, one per set of parameter types.
type StatementCache = HashMap<String, Vec<(Vec<u32>, Arc<Prepared>)>>;

struct Session {
    client: Arc<Client>,
    /// Prepared statements by SQL text, then by parameter type OIDs (looked up without allocating).
    cache: StatementCache,
    /// The backend's process id and secret key (`result.state`).
    key: (i32, i32),
    parameters_now: transport::ParameterReader,
    ended_by_server: Arc<std::sync::atomic::AtomicBool>,
    next_seq: u64,
}

impl Session {
    /// Numbers a query about to be sent and lists it as outstanding on `c`.
    fn track(&mut self, c: &Conn, id: u32) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        lock(&c.outstanding).insert(seq, id);
        seq
    }
}

async fn run_conn(inner: Arc<Inner>, c: Arc<Conn>, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut destroy = inner.destroy.subscribe();
    let (client, mut closed, ended_by_server, task, parameters_now) = match open(&inner).await {
        Ok(s) => {
            let _ = c.cancel_token.set(s.cancel_target());
            inner.sink.push(&parameters_frame(s.parameters));
            (s.client, s.closed, s.ended_by_server, s.task, s.parameters_now)
        }
        Err(e) => return remove_conn(&inner, &c, &mut rx, Some(&e)),
    };
    c.open.store(true, Ordering::SeqCst);
    let created = Instant::now();
    let max_age = lifetime(&inner.cfg);
    let key = transport::backend_key(&client).await.unwrap_or((0, 0));
    let mut session =
        Session { client: Arc::new(client), cache: HashMap::new(), key, ended_by_server, parameters_now, next_seq: 0 };
    let mut running: Running = FuturesUnordered::new();
    let mut retry: Vec<Job> = Vec::new();
    let mut last_active = Instant::now();
    let check = matches!(inner.cfg.transport, Transport::WebSocket { connection_check: true });
    // Set when the server or the network ended the session, or it failed its heartbeat.
    let mut unexpected = false;
    // Set when the connection task has ended (`closed` fired).
    let mut closed_done = false;
    let mut spinner = Spinner::default();
    let mut answer = AnswerSpin::default();
    // A job taken while spinning (see `Spinner`), handled by the `rx` branch below.
    let mut spun: Option<Job> = None;
    loop {
        if c.killed.load(Ordering::SeqCst) {
            break;
        }
        let idle = running.is_empty();
        let reserved = c.reserved.load(Ordering::SeqCst);
        // A retiring connection gets no new work; it closes once its work is done (and it is released).
        let retiring = c.retiring.load(Ordering::SeqCst);
        if retiring && idle && !reserved && c.inflight.load(Ordering::SeqCst) == 0 {
            break;
        }
        if idle
            && !retiring
            && spun.is_none()
            && spinner.ready()
            && c.inflight.load(Ordering::SeqCst) == 0
            && pool_idle(&inner)
        {
            inner.sink.signal_now();
            spun = spinner.spin(&mut rx);
        }
        let deadline =
            if retiring { None } else { next_deadline(&inner.cfg, created, max_age, last_active, idle, reserved) };
        let poll_answer =
            answer.active(running.len(), || c.inflight.load(Ordering::SeqCst) == 1 && pool_inflight(&inner) == 1);
        tokio::select! {
            biased;
            _ = destroy.changed() => break,
            _ = &mut closed => {
                unexpected = true;
                closed_done = true;
                break;
            }
            Some(back) = running.next(), if !running.is_empty() => {
                answer.finished();
                last_active = Instant::now();
                retry.extend(back);
                job_finished(&inner, &c);
            }
            job = next_job(&mut spun, &mut rx) => match job {
                Some(job) if session.client.is_closed() || (check && running.is_empty() && !heartbeat(&session.client).await) => {
                    // The server went away while idle, or the connection check got no answer:
                    // this job was never sent, so it can run elsewhere.
                    unexpected = true;
                    task.abort();
                    c.inflight.fetch_sub(1, Ordering::SeqCst);
                    let mut st = lock(&inner.state);
                    st.conns.retain(|x| x.id != c.id);
                    dispatch(&inner, &mut st, job);
                    break;
                }
                Some(job) => {
                    last_active = Instant::now();
                    if let Some(fut) = start_job(&inner, &mut session, &mut running, &mut retry, &c, job).await {
                        running.push(fut);
                    }
                }
                None => break,
            },
            _ = c.wake.notified() => {}
            // Idle past idle_timeout, or older than max_lifetime: retire when no work is left.
            _ = sleep_until(deadline) => c.retiring.store(true, Ordering::SeqCst),
            // Last, so that any real event wins: the worker polls the sockets without parking. The
            // thread yields its CPU too: a thread woken onto it (the server's, the JS thread) runs at
            // once instead of waiting for the spin's time slice to end.
            _ = tokio::task::yield_now(), if poll_answer => std::thread::yield_now(),
        }
    }
    // A job taken while spinning and not started goes back to the channel, whose jobs are handled below.
    if let Some(job) = spun.take() {
        let _ = c.tx.send(job);
    }
    // Leaving: queries still running fail as the client is dropped (or were destroyed by end()).
    let killed = c.killed.load(Ordering::SeqCst);
    let destroyed = *destroy.borrow() || killed;
    if killed {
        let ids: Vec<u32> = lock(&c.outstanding).values().copied().collect();
        for id in ids {
            fail(&inner.sink, id, &Error::connection("CONNECTION_DESTROYED", "write CONNECTION_DESTROYED"));
        }
    }
    if unexpected && !destroyed {
        if let Some(f) = &inner.opts.on_close {
            f(c.id);
        }
    }
    remove_conn(&inner, &c, &mut rx, None);
    // Nothing was cut short: the session can end gracefully (see below).
    let graceful = !killed && !unexpected && running.is_empty();
    if destroyed {
        drop(running);
        let n = c.inflight.swap(0, Ordering::SeqCst);
        let _ = n;
    } else {
        while let Some(back) = running.next().await {
            retry.extend(back);
            job_finished(&inner, &c);
        }
    }
    if !retry.is_empty() {
        let mut st = lock(&inner.state);
        for job in retry {
            dispatch(&inner, &mut st, job);
        }
    }
    drop(session);
    // The client is gone, so the connection task sends Terminate and waits (bounded) for the
    // server to close (see close_wait): the connection counts as open until then, and `close()`
    // (sql.end()) resolves after, as postgres.js's end() does.
    if !closed_done
        && graceful
        && tokio::time::timeout(CLOSE_WAIT + Duration::from_millis(100), &mut closed).await.is_err()
    {
        task.abort();
    }
    c.open.store(false, Ordering::SeqCst);
    inner.idle.notify_waiters();
}

/// The next job: one taken while spinning, else from the channel.
async fn next_job(spun: &mut Option<Job>, rx: &mut mpsc::UnboundedReceiver<Job>) -> Option<Job> {
    match spun.take() {
        Some(job) => Some(job),
        None => rx.recv().await,
    }
}

/// Whether no connection of the pool has work (spinning would delay no one).
fn pool_idle(inner: &Inner) -> bool {
    pool_inflight(inner) == 0
}

fn pool_inflight(inner: &Inner) -> usize {
    lock(&inner.state).conns.iter().map(|c| c.inflight.load(Ordering::SeqCst)).sum()
}

/// The answer to the one query in flight in the whole pool (someone awaiting queries one after
/// another): for a short while the task yields instead of waiting, so the worker polls the sockets
/// (epoll with no timeout) rather than parking, and the answer is read as soon as it arrives instead
/// of after this thread's wake-up. Adaptive like [`Spinner`]: a wait that outlasts the spin turns it
/// off for a growing number of waits, so a distant server (real DSQL: a millisecond away) costs
/// almost nothing. Never on a single CPU, where the spin would take the CPU from the JS thread.
#[derive(Default)]
struct AnswerSpin {
    /// Spinning for the current wait until then.
    until: Option<Instant>,
    /// Whether the current wait has been looked at (it spins from its start or not at all).
    decided: bool,
    backoff: Backoff,
}

const ANSWER_SPIN_FOR: Duration = Duration::from_micros(500);

fn several_cpus() -> bool {
    static SEVERAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SEVERAL.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2))
}

impl AnswerSpin {
    /// Whether to keep polling now; `running` queries are in flight on this connection, `alone`
    /// says whether this one query is all the pool has.
    fn active(&mut self, running: usize, alone: impl FnOnce() -> bool) -> bool {
        if running != 1 {
            if running > 1 {
                self.until = None;
                self.decided = true;
            }
            return false;
        }
        if let Some(t) = self.until {
            if Instant::now() < t {
                return true;
            }
            self.until = None;
            self.backoff.miss();
            return false;
        }
        if self.decided {
            return false;
        }
        self.decided = true;
        if !self.backoff.ready() || !several_cpus() || !alone() {
            return false;
        }
        self.until = Some(Instant::now() + ANSWER_SPIN_FOR);
        true
    }

    /// A query finished: a spin that was on caught its answer.
    fn finished(&mut self) {
        if self.until.take().is_some() {
            self.backoff.hit();
        }
        self.decided = false;
    }
}

/// Awaiting queries one after another: after a result is delivered, the caller's next query usually
/// arrives within tens of microseconds. Waiting for it in a short spin instead of parking the I/O
/// thread saves a thread wake-up (on the submitting side, a wake of a running task is free) on each
/// query's critical path. Adaptive: a spin that catches nothing turns spinning off for a growing
/// number of idle moments, so sporadic traffic pays almost nothing.
#[derive(Default)]
struct Spinner {
    backoff: Backoff,
}

const SPIN_FOR: Duration = Duration::from_micros(100);

/// The back-off of both spins: each spin that catches nothing doubles the number of chances let pass
/// before the next one (2, 4, ... 1,024); one that catches something ends it.
#[derive(Default)]
struct Backoff {
    /// Chances to let pass before spinning again.
    skip: u32,
    /// Consecutive spins that caught nothing.
    misses: u32,
}

impl Backoff {
    /// Whether this chance may spin (one let pass otherwise).
    fn ready(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }

    fn miss(&mut self) {
        self.misses = (self.misses + 1).min(10);
        self.skip = 1 << self.misses;
    }

    fn hit(&mut self) {
        self.misses = 0;
    }
}

impl Spinner {
    fn ready(&mut self) -> bool {
        self.backoff.ready()
    }

    fn spin(&mut self, rx: &mut mpsc::UnboundedReceiver<Job>) -> Option<Job> {
        let until = Instant::now() + SPIN_FOR;
        loop {
            for _ in 0..64 {
                match rx.try_recv() {
                    Ok(job) => {
                        self.backoff.hit();
                        return Some(job);
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => return None,
                    Err(mpsc::error::TryRecvError::Empty) => std::hint::spin_loop(),
                }
            }
            // Whoever was woken onto this CPU (the JS thread making that job) runs first.
            std::thread::yield_now();
            if Instant::now() >= until {
                self.backoff.miss();
                return None;
            }
        }
    }
}

/// `connectionCheck`: `select 1` answered within [`HEARTBEAT_TIMEOUT`]. A server error (e.g. a
/// failed transaction's 25P02) still proves the connection alive.
async fn heartbeat(client: &Client) -> bool {
    match tokio::time::timeout(HEARTBEAT_TIMEOUT, client.simple_query("select 1")).await {
        Err(_) => false,
        Ok(Ok(_)) => true,
        Ok(Err(e)) => e.as_db_error().is_some(),
    }
}

fn next_deadline(
    cfg: &Config,
    created: Instant,
    max_age: Option<Duration>,
    last_active: Instant,
    idle: bool,
    reserved: bool,
) -> Option<Instant> {
    if reserved {
        return None;
    }
    let age = max_age.map(|a| created + a);
    let idle_at = if idle { cfg.idle_timeout.map(|t| last_active + t) } else { None };
    match (age, idle_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

fn job_finished(inner: &Arc<Inner>, c: &Arc<Conn>) {
    if c.inflight.fetch_sub(1, Ordering::SeqCst) == 1 {
        let mut st = lock(&inner.state);
        on_available(inner, &mut st, c);
        drop(st);
        inner.idle.notify_waiters();
    }
}

/// Prepares (or finds) the statement in order, then sends the query at once; what remains of it
/// is returned to run concurrently with later queries.
async fn start_job(
    inner: &Arc<Inner>,
    s: &mut Session,
    running: &mut Running,
    retry: &mut Vec<Job>,
    c: &Arc<Conn>,
    job: Job,
) -> Option<RunFuture> {
    let sink = inner.sink.clone();
    if inner.any_cancelled.load(Ordering::SeqCst) && take_cancel(inner, job.id) {
        // Cancelled before it was sent: it never runs (postgres.js's generic 57014).
        fail(
            &sink,
            job.id,
            &Error::Generic { code: "57014", message: "canceling statement due to user request".into() },
        );
        job_finished(inner, c);
        return None;
    }
    if c.copying.load(Ordering::SeqCst) != 0 {
        fail(
            &sink,
            job.id,
            &Error::Generic { code: "COPY_IN_PROGRESS", message: "You cannot execute queries during copy".into() },
        );
        job_finished(inner, c);
        return None;
    }
    // readable() / writable() of a statement that is not COPY ... FROM / TO run it as a plain query.
    if job.has(FLAG_COPY) {
        if let Some(direction) = copy::direction(&job.sql) {
            return start_copy(inner, s, running, retry, c, job, direction).await;
        }
    }
    let key = s.key;
    let text = job.has(FLAG_TEXT);
    if job.has(FLAG_SIMPLE) {
        let client = s.client.clone();
        let (owner, conn) = (inner.clone(), c.clone());
        let seq = s.track(c, job.id);
        let parameters_now = s.parameters_now.clone();
        let fut: RunFuture = Box::pin(async move {
            let id = job.id;
            run_simple(&client, &sink, &conn, job, key, &parameters_now).await;
            lock(&conn.outstanding).remove(&seq);
            after_cancellable(&owner, &conn, id);
            None
        });
        return launch(inner, c, fut, retry);
    }
    let stmt = if job.has(FLAG_PREPARE) || job.has(FLAG_DESCRIBE) {
        let same_types =
            |oids: &[u32]| oids.len() == job.params.len() && oids.iter().zip(&job.params).all(|(o, p)| *o == p.oid);
        // describe() always asks the server (a table dropped and made again has new column metadata).
        let cached = if job.has(FLAG_DESCRIBE) || job.has(FLAG_FRESH) {
            None
        } else {
            s.cache.get(job.sql.as_str()).and_then(|v| v.iter().find(|(o, _)| same_types(o))).map(|(_, p)| p.clone())
        };
        match cached {
            Some(st) => Some(st),
            None => {
                let oids: Vec<u32> = job.params.iter().map(|p| p.oid).collect();
                let types: Vec<Type> = oids.iter().map(|o| param_type(*o)).collect();
                let client = s.client.clone();
                let sql = job.sql.clone();
                // Keep finishing earlier queries while this statement is prepared.
                let mut prep = Box::pin(async move { client.prepare_typed(&sql, &types).await });
                let prepared = loop {
                    tokio::select! {
                        r = &mut prep => break r,
                        Some(back) = running.next(), if !running.is_empty() => {
                            retry.extend(back);
                            job_finished(inner, c);
                        }
                    }
                };
                match prepared {
                    Ok(st) => {
                        if s.cache.len() >= STATEMENT_CACHE_MAX {
                            s.cache.clear();
                        }
                        let prepared = Arc::new(Prepared::new(st, &job.sql, &inner.opts.text_oids));
                        let same = s.cache.entry(job.sql.clone()).or_default();
                        same.retain(|(o, _)| *o != oids);
                        same.push((oids, prepared.clone()));
                        Some(prepared)
                    }
                    Err(e) => {
                        let e = Error::from(e);
                        // A Parse has no effects: a pool query whose prepare died with the connection runs elsewhere.
                        if matches!(e, Error::Connection { code: "CONNECTION_CLOSED", .. }) && job.conn == 0 {
                            retry.push(job);
                        } else {
                            fail(&sink, job.id, &e);
                        }
                        job_finished(inner, c);
                        return None;
                    }
                }
            }
        }
    } else {
        None
    };
    let client = s.client.clone();
    let cursor = job.has(FLAG_CURSOR).then(|| {
        let sem = Arc::new(Semaphore::new(0));
        lock(&inner.cursors).insert(job.id, sem.clone());
        sem
    });
    let owner = inner.clone();
    let conn = c.clone();
    let seq = s.track(c, job.id);
    let outstanding = c.outstanding.clone();
    let ended_by_server = s.ended_by_server.clone();
    let parameters_now = may_change_parameters(&job.sql).then(|| s.parameters_now.clone());
    let fut: RunFuture = Box::pin(async move {
        let mut w = FrameWriter::new(job.id);
        w.state = key;
        let result =
            run_extended(&client, &sink, &mut w, &job, stmt, text, &owner.opts.text_oids, cursor.as_deref()).await;
        if result.is_ok() {
            lock(&outstanding).remove(&seq);
        }
        after_cancellable(&owner, &conn, job.id);
        if cursor.is_some() {
            lock(&owner.cursors).remove(&job.id);
        }
        if let Err(e) = result {
            // On a dead connection only the oldest unfinished query can have run; a pool query behind
            // it that delivered nothing yet is safe to run again elsewhere.
            if matches!(e, Error::Connection { code: "CONNECTION_CLOSED", .. }) {
                retire_if_dead(&conn, &e);
                // After a FATAL the server sent unasked (idle session closed), nothing sent ran.
                let unasked = !e.is_server_fatal() && ended_by_server.load(Ordering::SeqCst);
                let behind = unasked || lock(&outstanding).first_key_value().map(|(k, _)| *k) != Some(seq);
                if behind && job.conn == 0 && !w.flushed() && !job.has(FLAG_CURSOR) {
                    return Some(job);
                }
            } else {
                lock(&outstanding).remove(&seq);
            }
            w.error(&e);
        } else if let Some(read) = parameters_now {
            // Before DONE, so onparameter has run when the SET resolves (as in postgres.js).
            sink.push(&parameters_frame(read()));
        }
        sink.push(&w.take());
        None
    });
    launch(inner, c, fut, retry)
}

/// A COPY (see `core::copy`): holds the line until the server has entered copy mode (or failed the
/// statement), finishing earlier queries meanwhile; then the copy runs as this connection's running
/// work, and until it ends other queries sent here fail with COPY_IN_PROGRESS.
async fn start_copy(
    inner: &Arc<Inner>,
    s: &mut Session,
    running: &mut Running,
    retry: &mut Vec<Job>,
    c: &Arc<Conn>,
    job: Job,
    direction: copy::Direction,
) -> Option<RunFuture> {
    let sink = inner.sink.clone();
    c.copying.store(job.id, Ordering::SeqCst);
    let seq = s.track(c, job.id);
    let client = s.client.clone();
    let sql = job.sql.clone();
    let mut start = Box::pin(async move { copy::start(&client, &sql, direction).await });
    let started = loop {
        tokio::select! {
            r = &mut start => break r,
            Some(back) = running.next(), if !running.is_empty() => {
                retry.extend(back);
                job_finished(inner, c);
            }
        }
    };
    let mut w = FrameWriter::new(job.id);
    w.state = s.key;
    let started = match started {
        Ok(started) => started,
        Err(e) => {
            if direction == copy::Direction::In && e.sqlstate().is_some() {
                // A COPY FROM that the server failed at Execute (e.g. no such table): tokio-postgres
                // sent Sync right after the Execute and CopyFail + Sync when it gave up, so two
                // ReadyForQuery come and it closes the session at the second. Wait for that (bounded),
                // so that no later query is sent on this session and takes the stray answer: the
                // driver then hands queued pool queries to another connection.
                let deadline = Instant::now() + Duration::from_secs(2);
                while !s.client.is_closed() && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                c.retiring.store(true, Ordering::SeqCst);
            }
            let _ = c.copying.compare_exchange(job.id, 0, Ordering::SeqCst, Ordering::SeqCst);
            lock(&c.outstanding).remove(&seq);
            retire_if_dead(c, &e);
            w.error(&e);
            sink.push(&w.take());
            job_finished(inner, c);
            return None;
        }
    };
    let ops = inner.copies.open(job.id, c.copying.clone(), direction);
    sink.push(&copy::started_frame(job.id, direction));
    let outstanding = c.outstanding.clone();
    let fut: RunFuture = Box::pin(async move {
        copy::run(started, ops, &sink, &mut w).await;
        lock(&outstanding).remove(&seq);
        None
    });
    launch(inner, c, fut, retry)
}

/// Sends the query (see [`started`]), then a CancelRequest if it was cancelled while queued here.
fn launch(inner: &Arc<Inner>, c: &Arc<Conn>, fut: RunFuture, retry: &mut Vec<Job>) -> Option<RunFuture> {
    let fut = started(inner, c, fut, retry);
    cancel_if_running(inner, c);
    fut
}

/// After a query on `c` finished: forget a cancel that came too late, and cancel the next query
/// if it was cancelled while waiting behind this one.
fn after_cancellable(inner: &Arc<Inner>, c: &Arc<Conn>, id: u32) {
    if inner.any_cancelled.load(Ordering::SeqCst) {
        take_cancel(inner, id);
        cancel_if_running(inner, c);
    }
}

/// Removes `id` from the cancelled set; whether it was there.
fn take_cancel(inner: &Inner, id: u32) -> bool {
    let mut cancelled = lock(&inner.cancelled);
    let was = cancelled.remove(&id);
    if cancelled.is_empty() {
        inner.any_cancelled.store(false, Ordering::SeqCst);
    }
    was
}

/// Sends a CancelRequest when the query `c` is running now (its oldest outstanding one) was
/// cancelled. Returns the sending task. A query pipelined behind it waits until it runs: a
/// CancelRequest cancels whatever the backend runs at that moment.
fn cancel_if_running(inner: &Arc<Inner>, c: &Arc<Conn>) -> Option<tokio::task::JoinHandle<()>> {
    if !inner.any_cancelled.load(Ordering::SeqCst) {
        return None;
    }
    let first = lock(&c.outstanding).first_key_value().map(|(_, id)| *id)?;
    if !take_cancel(inner, first) {
        return None;
    }
    let token = c.cancel_token.get()?.clone();
    let inner = inner.clone();
    Some(tokio::spawn(async move {
        // Best effort, as in postgres.js: the query then fails with the server's 57014.
        let _ = transport::cancel(&inner.cfg, &inner.connector, &token).await;
    }))
}

/// Polls once, which sends the request now (in order); returns the future if it is still pending.
fn started(inner: &Arc<Inner>, c: &Arc<Conn>, mut fut: RunFuture, retry: &mut Vec<Job>) -> Option<RunFuture> {
    match fut.as_mut().now_or_never() {
        None => Some(fut),
        Some(back) => {
            retry.extend(back);
            job_finished(inner, c);
            None
        }
    }
}

/// Parameter types for Parse: 0 lets the server infer, as postgres.js does for most values.
fn param_type(oid: u32) -> Type {
    Type::from_oid(oid).unwrap_or_else(|| Type::new(format!("oid{oid}"), oid, Kind::Simple, "pg_catalog".into()))
}

/// A parameter already in its wire form (text, or binary for bytea).
#[derive(Debug)]
struct Wire<'a>(&'a Param);

impl ToSql for Wire<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        if let Some(x) = self.0.number {
            match Param::number_binary(x, ty.oid()) {
                Some(b) => b.write(out),
                None => Param::number_text(x, out),
            }
            return Ok(tokio_postgres::types::IsNull::No);
        }
        let value = match (&self.0.value, &self.0.alternatives) {
            (None, _) => return Ok(tokio_postgres::types::IsNull::Yes),
            // An untyped JS array, serialized by the type the server inferred (as postgres.js does).
            (Some(literal), Some(alt)) => match ty.kind() {
                Kind::Array(_) => literal,
                _ if *ty == Type::JSON || *ty == Type::JSONB => &alt[0],
                _ => &alt[1],
            },
            (Some(v), None) => v,
        };
        out.extend_from_slice(value);
        Ok(tokio_postgres::types::IsNull::No)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, ty: &Type) -> tokio_postgres::types::Format {
        if self.0.binary || self.0.number.is_some_and(|x| Param::number_binary(x, ty.oid()).is_some()) {
            tokio_postgres::types::Format::Binary
        } else {
            tokio_postgres::types::Format::Text
        }
    }
    tokio_postgres::types::to_sql_checked!();
}

/// Any value's raw bytes.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }
    fn from_sql_null(_: &Type) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

fn column_meta(cols: &[tokio_postgres::Column], text: bool, text_oids: &[u32]) -> Vec<ColumnMeta> {
    cols.iter()
        .map(|col| {
            let oid = col.type_().oid();
            let enc = encoding_for(oid, text || text_oids.contains(&oid));
            (col.name().to_string(), oid, col.table_oid().unwrap_or(0), col.column_id().unwrap_or(0), enc as u8)
        })
        .collect()
}

/// A prepared statement with what every run of it needs, computed once: column metadata (values
/// in their usual encodings), parameter types and the command tag.
struct Prepared {
    statement: Statement,
    /// The server-side name (`result.statement.name`, as in pg_prepared_statements).
    name: String,
    meta: Vec<ColumnMeta>,
    param_oids: Vec<u32>,
    command: (String, bool),
}

impl Prepared {
    fn new(statement: Statement, sql: &str, text_oids: &[u32]) -> Self {
        let meta = column_meta(statement.columns(), false, text_oids);
        let param_oids = statement.params().iter().map(Type::oid).collect();
        let name = statement_name(&statement);
        Prepared { statement, name, meta, param_oids, command: command_of(sql) }
    }
}

/// A prepared statement's server-side name. tokio-postgres keeps `Statement::name` crate-private and
/// shows it only in its `Debug` form (`Statement { name: "s12", .. }`); names are `s<n>`, so they need
/// no unescaping. Empty if that form ever changes (then `statement.name` is just blank).
fn statement_name(statement: &Statement) -> String {
    let debug = format!("{statement:?}");
    debug
        .split_once("name: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or_else(String::new, |(name, _)| name.to_string())
}

/// The command tag of a query: cached with its prepared statement, else derived from the text.
fn command_tag<'a>(prepared: Option<&'a Prepared>, sql: &str) -> std::borrow::Cow<'a, (String, bool)> {
    match prepared {
        Some(p) => std::borrow::Cow::Borrowed(&p.command),
        None => std::borrow::Cow::Owned(command_of(sql)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_extended(
    client: &Client,
    sink: &Sink,
    w: &mut FrameWriter,
    job: &Job,
    prepared: Option<Arc<Prepared>>,
    text: bool,
    text_oids: &[u32],
    cursor: Option<&Semaphore>,
) -> Result<()> {
    let params: Vec<Wire> = job.params.iter().map(Wire).collect();
    let as_sql = || params.iter().map(|p| p as &dyn ToSql);
    if job.has(FLAG_DESCRIBE) {
        let p = prepared.as_ref().ok_or_else(|| Error::Other("describe needs a prepared statement".into()))?;
        let meta = column_meta(p.statement.columns(), text, text_oids);
        w.columns(&meta, &p.param_oids, &p.name);
        w.done(None, true, &p.command.0);
        return Ok(());
    }
    // raw() asks for every column as text: then the cached metadata does not apply.
    let mut owned_meta: Option<Vec<ColumnMeta>>;
    let mut meta: Option<&[ColumnMeta]> = match &prepared {
        Some(p) if !text => Some(&p.meta),
        Some(p) => {
            owned_meta = Some(column_meta(p.statement.columns(), text, text_oids));
            owned_meta.as_deref()
        }
        None => None,
    };
    // A prepared statement's columns go first, also when Bind fails (PostgreSQL plans at Bind, so a
    // constant like 1/0 fails there): the parameter types then reach err.parameters.
    if let (Some(m), Some(p)) = (meta, &prepared) {
        w.columns(m, &p.param_oids, &p.name);
    }
    let stream = match &prepared {
        Some(p) => client.query_raw(&p.statement, as_sql()).await?,
        None => {
            let typed = params.iter().map(|p| (p as &dyn ToSql, param_type(p.0.oid)));
            client.query_typed_raw(&job.sql, typed).await?
        }
    };
    let unprepared_oids: Vec<u32>;
    let param_oids: &[u32] = match &prepared {
        Some(p) => &p.param_oids,
        None => {
            unprepared_oids = job.params.iter().map(|p| p.oid).collect();
            &unprepared_oids
        }
    };
    let mut stream = std::pin::pin!(stream);
    let mut in_batch = 0u32;
    let mut next_yield = YIELD_BYTES;
    while let Some(row) = stream.try_next().await? {
        if let Some(sem) = cursor {
            if in_batch == job.batch {
                // Hand over this batch and wait until the consumer asks for the next one.
                sink.push(&w.take());
                match sem.acquire().await {
                    Ok(p) => p.forget(),
                    Err(_) => {
                        // Closed early: the remaining rows are read and dropped with the stream.
                        w.done(None, true, &command_tag(prepared.as_deref(), &job.sql).0);
                        return Ok(());
                    }
                }
                in_batch = 0;
            }
            in_batch += 1;
        }
        if meta.is_none() {
            let m = column_meta(row.columns(), text, text_oids);
            w.columns(&m, param_oids, prepared.as_ref().map_or("", |p| p.name.as_str()));
            owned_meta = Some(m);
            meta = owned_meta.as_deref();
        }
        let m = meta.unwrap_or(&[]);
        w.row();
        for (i, (_, oid, _, _, enc)) in m.iter().enumerate() {
            let raw: Raw = row.try_get(i)?;
            match raw.0 {
                None => w.null(),
                Some(bytes) => {
                    w.value_with(|out| encode(*oid, encoding_of(*enc), bytes, out)).map_err(|e| Error::Other(e.0))?
                }
            }
        }
        if cursor.is_none() && w.buf.len() >= CHUNK_BYTES {
            // A large result's chunks go to JS as they are made, not when this task next yields.
            sink.push_now(&w.take());
            sink.room().await;
            std::thread::yield_now();
            next_yield = YIELD_BYTES;
        } else if w.buf.len() >= next_yield {
            std::thread::yield_now();
            next_yield += YIELD_BYTES;
        }
    }
    let tag = command_tag(prepared.as_deref(), &job.sql);
    w.done(if tag.1 { stream.rows_affected() } else { None }, true, &tag.0);
    Ok(())
}

fn encoding_of(e: u8) -> Encoding {
    match e {
        1 => Encoding::F64,
        2 => Encoding::Bool,
        3 => Encoding::Bytes,
        4 => Encoding::TimeMs,
        5 => Encoding::I32,
        _ => Encoding::Text,
    }
}

/// One statement's outcome in a simple-protocol script.
struct SimpleResult {
    columns: Option<Vec<String>>,
    rows: Vec<Vec<Option<String>>>,
    count: u64,
}

/// Several statements over the simple protocol (values in text). tokio-postgres does not expose the
/// RowDescription's types there, so once the script ran, each statement that returned rows is
/// described (Parse/Describe, never executed) for its column types; where that fails (e.g. a table
/// the script dropped) the columns stay `text`.
async fn run_simple(
    client: &Client,
    sink: &Sink,
    conn: &Conn,
    job: Job,
    key: (i32, i32),
    parameters_now: &transport::ParameterReader,
) {
    use tokio_postgres::SimpleQueryMessage as M;
    let mut w = FrameWriter::new(job.id);
    w.state = key;
    let result: Result<()> = async {
        let stream = client.simple_query_raw(&job.sql).await?;
        let mut stream = std::pin::pin!(stream);
        let mut results: Vec<SimpleResult> = Vec::new();
        let mut current = SimpleResult { columns: None, rows: Vec::new(), count: 0 };
        while let Some(m) = stream.try_next().await? {
            match m {
                M::RowDescription(cols) => current.columns = Some(cols.iter().map(|c| c.name().to_string()).collect()),
                M::Row(row) => current.rows.push(
                    (0..row.len())
                        .map(|i| row.try_get(i).map(|v| v.map(str::to_string)))
                        .collect::<std::result::Result<_, _>>()?,
                ),
                M::CommandComplete(n) => {
                    current.count = n;
                    results.push(std::mem::replace(
                        &mut current,
                        SimpleResult { columns: None, rows: Vec::new(), count: 0 },
                    ));
                }
                _ => {}
            }
        }
        let statements = split_statements(&job.sql);
        for (idx, r) in results.into_iter().enumerate() {
            let sql = statements.get(idx).map(String::as_str).unwrap_or("");
            let meta: Vec<ColumnMeta> = match &r.columns {
                None => Vec::new(),
                Some(names) => {
                    let described = client.prepare(sql).await.ok().filter(|s| s.columns().len() == names.len());
                    names
                        .iter()
                        .enumerate()
                        .map(|(i, name)| {
                            let (oid, table, number) = described.as_ref().map_or((25, 0, 0), |s| {
                                let c = &s.columns()[i];
                                (c.type_().oid(), c.table_oid().unwrap_or(0), c.column_id().unwrap_or(0))
                            });
                            (name.clone(), oid, table, number, Encoding::Text as u8)
                        })
                        .collect()
                }
            };
            w.columns(&meta, &[], "");
            for row in &r.rows {
                w.row();
                for v in row {
                    match v {
                        None => w.null(),
                        Some(v) => {
                            let _ = w.value_with::<()>(|out| {
                                out.extend_from_slice(v.as_bytes());
                                Ok(())
                            });
                        }
                    }
                }
                if w.buf.len() >= CHUNK_BYTES {
                    sink.push_now(&w.take());
                }
            }
            let (command, counted) = command_of(sql);
            w.done(if counted { Some(r.count) } else { None }, false, &command);
        }
        w.done(None, true, "");
        Ok(())
    }
    .await;
    match result {
        Err(e) => {
            retire_if_dead(conn, &e);
            w.error(&e)
        }
        Ok(()) => sink.push(&parameters_frame(parameters_now())),
    }
    sink.push(&w.take());
}

/// A query that failed with CONNECTION_CLOSED retires its connection before the error reaches the
/// user, so a `release()` + `reserve()` right after it never gets this connection again.
fn retire_if_dead(conn: &Conn, e: &Error) {
    if matches!(e, Error::Connection { code: "CONNECTION_CLOSED", .. }) {
        conn.retiring.store(true, Ordering::SeqCst);
    }
}

/// The reported parameters as a PARAMETERS frame (the facade calls `onparameter` for changes).
fn parameters_frame(params: Vec<(String, String)>) -> Vec<u8> {
    let map: serde_json::Map<String, serde_json::Value> = params.into_iter().map(|(k, v)| (k, v.into())).collect();
    FrameWriter::json_frame(KIND_PARAMETERS, &serde_json::Value::Object(map).to_string())
}

/// Whether a statement can change reported parameters (SET, RESET, DISCARD, or a transaction end
/// that reverts SET LOCAL). Only the first word is looked at, without allocating.
fn may_change_parameters(sql: &str) -> bool {
    let word: &str = sql.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    ["set", "reset", "discard", "commit", "rollback", "end", "abort"].iter().any(|k| word.eq_ignore_ascii_case(k))
}

/// Splits a script at top-level semicolons (quotes, comments and dollar quotes respected); used to
/// name each statement's command and to describe its columns.
fn split_statements(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'$' => {
                if let Some(end) = sql[i + 1..].find('$') {
                    let tag = &sql[i..i + end + 2];
                    if tag[1..tag.len() - 1].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                        if let Some(close) = sql[i + tag.len()..].find(tag) {
                            i += tag.len() + close + tag.len();
                            continue;
                        }
                    }
                }
            }
            b';' => {
                let s = sql[start..i].trim();
                if !s.is_empty() {
                    out.push(s.to_string());
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let s = sql[start.min(sql.len())..].trim();
    if !s.is_empty() {
        out.push(s.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split_statements;

    #[tokio::test(flavor = "current_thread")]
    async fn deliveries_are_requested_once_per_burst_of_pushes() {
        use super::Sink;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Weak};
        let calls = Arc::new(AtomicUsize::new(0));
        let count = calls.clone();
        let called = move || calls.load(Ordering::SeqCst);
        // Outside a runtime's signaller (a sink without one): each first push requests at once.
        let plain = Sink::default();
        let c = count.clone();
        plain.deliver_with(Some(Arc::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
        })));
        plain.push(&[1]);
        assert_eq!(called(), 1);
        plain.push(&[2]);
        assert_eq!(called(), 1, "a delivery is under way");
        assert_eq!(plain.take_delivery(), (vec![1, 2], false));
        // With the signaller: pushes made without yielding make one request, after the pusher yields.
        let sink = Arc::new(Sink::default());
        sink.signal_later();
        let c = count.clone();
        sink.deliver_with(Some(Arc::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
        })));
        for i in 0..3u8 {
            sink.push(&[i]);
        }
        assert_eq!(called(), 1, "not before the pusher yields");
        tokio::task::yield_now().await;
        assert_eq!(called(), 2, "one request for the burst");
        assert_eq!(sink.take_delivery(), (vec![0, 1, 2], false));
        // signal_now requests a pending delivery at once (before the I/O thread spins for a job).
        sink.push(&[9]);
        sink.signal_now();
        assert_eq!(called(), 3);
        tokio::task::yield_now().await;
        assert_eq!(called(), 3, "the signaller finds it requested");
        assert_eq!(sink.take_delivery(), (vec![9], false));
        // The signaller holds the sink weakly: it does not keep an ended pool's sink alive.
        let weak: Weak<Sink> = Arc::downgrade(&sink);
        drop(sink);
        tokio::task::yield_now().await;
        assert!(weak.upgrade().is_none());
    }

    #[tokio::test]
    async fn a_large_result_waits_for_room_while_the_taker_is_behind_or_stalled() {
        use super::{Sink, ROOM_BYTES, ROOM_MAX_BYTES, TAKER_STALLED};
        use std::sync::Arc;
        use std::time::Duration;
        let sink = Arc::new(Sink::default());
        let short = Duration::from_millis(50);
        let waiter = |sink: &Arc<Sink>| {
            let sink = sink.clone();
            tokio::spawn(async move { sink.room().await })
        };
        // Up to ROOM_BYTES there is always room; a taker that is keeping up gets up to ROOM_MAX_BYTES.
        sink.push(&vec![1u8; ROOM_BYTES]);
        tokio::time::timeout(short, sink.room()).await.expect("at the small bound there is room");
        sink.push(&vec![2u8; ROOM_MAX_BYTES - ROOM_BYTES]);
        tokio::time::timeout(short, sink.room()).await.expect("no take yet: up to the large bound");
        sink.push(&[3u8; 10]);
        let waiting = waiter(&sink);
        tokio::time::sleep(short).await;
        assert!(!waiting.is_finished(), "over the large bound: waits");
        assert_eq!(sink.take_delivery().0.len(), ROOM_BYTES);
        tokio::time::timeout(short, waiting).await.expect("a take wakes the waiter").unwrap();
        // Between the bounds, a taker that took nothing for TAKER_STALLED (a GC pause) holds the result back.
        assert_eq!(sink.try_take().len(), ROOM_MAX_BYTES - ROOM_BYTES + 10);
        sink.push(&vec![4u8; ROOM_BYTES + 1]);
        tokio::time::timeout(short, sink.room()).await.expect("the taker just took: room");
        tokio::time::sleep(TAKER_STALLED * 2).await;
        let waiting = waiter(&sink);
        tokio::time::sleep(short).await;
        assert!(!waiting.is_finished(), "the taker stalled: waits");
        sink.take_delivery();
        tokio::time::timeout(short, waiting).await.expect("the next take wakes the waiter").unwrap();
        // Closing the sink releases a waiter for good.
        sink.push(&vec![5u8; ROOM_MAX_BYTES + 1]);
        let waiting = waiter(&sink);
        tokio::time::sleep(short).await;
        assert!(!waiting.is_finished());
        sink.close();
        tokio::time::timeout(short, waiting).await.expect("closing wakes the waiter").unwrap();
    }

    #[test]
    fn a_recycled_chunk_makes_the_next_one_and_an_oversized_one_is_not_kept() {
        use super::{lock, Sink, POLL_BYTES};
        let sink = Sink::default();
        sink.push(&[1, 2, 3, 4]);
        let (chunk, more) = sink.take_delivery();
        assert_eq!((chunk.as_slice(), more), (&[1u8, 2, 3, 4][..], false));
        let at = chunk.as_ptr();
        sink.recycle(chunk);
        sink.push(&[9, 8]);
        let (next, _) = sink.take_delivery();
        assert_eq!(next, [9, 8], "the recycled chunk holds only the new frames");
        assert_eq!(next.as_ptr(), at, "the recycled allocation is reused");
        sink.recycle(Vec::with_capacity(2 * POLL_BYTES + 1));
        assert!(lock(&sink.buf).spare.is_none(), "an oversized chunk is not kept");
    }

    #[test]
    fn answer_spin_polls_for_a_lone_query_and_backs_off_when_the_answer_is_slow() {
        use super::{AnswerSpin, ANSWER_SPIN_FOR};
        if !super::several_cpus() {
            return; // it never spins on one CPU (checked by the assertion below being skipped)
        }
        let mut a = AnswerSpin::default();
        assert!(!a.active(0, || true), "nothing in flight: no spin");
        assert!(!a.active(1, || false), "other queries in the pool: no spin");
        assert!(!a.active(1, || true), "decided once per wait");
        a.finished();
        assert!(a.active(1, || true), "the pool's one query: spin");
        assert!(a.active(1, || unreachable!()), "still within the budget");
        a.finished(); // answered in time: no back-off
        assert!(a.active(1, || true));
        assert!(!a.active(2, || true), "a second query joined: stop");
        a.finished();
        // A slow answer: the spin ends after its budget, then 2 waits skip it, then 4.
        assert!(a.active(1, || true));
        std::thread::sleep(ANSWER_SPIN_FOR);
        assert!(!a.active(1, || true));
        let spun = |a: &mut AnswerSpin| {
            a.finished();
            a.active(1, || true)
        };
        assert_eq!((0..3).map(|_| spun(&mut a)).collect::<Vec<_>>(), [false, false, true]);
        std::thread::sleep(ANSWER_SPIN_FOR);
        assert!(!a.active(1, || true));
        assert_eq!((0..5).filter(|_| spun(&mut a)).count(), 1);
        a.finished(); // the answer came while spinning: back-off reset
        assert!(spun(&mut a));
    }

    #[test]
    fn spinner_catches_a_waiting_job_and_backs_off_when_none_comes() {
        use super::{Spinner, SPIN_FOR};
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut s = Spinner::default();
        let t0 = std::time::Instant::now();
        assert!(s.ready() && s.spin(&mut rx).is_none());
        assert!(t0.elapsed() >= SPIN_FOR, "a miss spins for the whole budget");
        // One miss: the next 2 idle moments skip spinning; two misses: the next 4.
        assert_eq!((0..3).map(|_| s.ready()).collect::<Vec<_>>(), [false, false, true]);
        assert!(s.spin(&mut rx).is_none());
        assert_eq!((0..5).filter(|_| s.ready()).count(), 1);
        let job = crate::core::wire::Job { id: 9, conn: 0, flags: 0, sql: "select 1".into(), params: vec![], batch: 0 };
        tx.send(job).unwrap();
        assert_eq!(s.spin(&mut rx).map(|j| j.id), Some(9));
        assert!(s.ready(), "a hit resets the back-off");
        drop(tx);
        let t0 = std::time::Instant::now();
        assert!(s.spin(&mut rx).is_none() && t0.elapsed() < SPIN_FOR, "a closed channel ends the spin at once");
    }

    #[tokio::test]
    async fn connect_gate_spaces_attempts_while_they_fail_and_a_success_releases_them() {
        use super::{ConnectGate, CONNECT_BACKOFF_CAP};
        use std::sync::Arc;
        use std::time::{Duration, Instant};
        let gate = Arc::new(ConnectGate::default());
        let t0 = Instant::now();
        gate.turn().await;
        gate.turn().await;
        assert!(t0.elapsed() < Duration::from_millis(5), "no failure streak: attempts start at once");
        for _ in 0..20 {
            gate.failed();
        }
        // At the cap: each attempt waits between half and all of it after the previous one.
        let t0 = Instant::now();
        gate.turn().await;
        let first = t0.elapsed();
        assert!(
            first >= CONNECT_BACKOFF_CAP / 2 - Duration::from_millis(5)
                && first <= CONNECT_BACKOFF_CAP + Duration::from_millis(50),
            "{first:?}"
        );
        let g = gate.clone();
        let waiter = tokio::spawn(async move {
            g.turn().await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "the next attempt waits its turn");
        let ok = Instant::now();
        gate.succeeded();
        let went = waiter.await.unwrap();
        assert!(went.duration_since(ok) < Duration::from_millis(20), "a success lets the waiting attempts go");
        // For a while after the streak, attempts go one base delay apart (no burst into a rate limit).
        let t0 = Instant::now();
        gate.turn().await;
        assert!(t0.elapsed() <= super::CONNECT_BACKOFF_BASE + Duration::from_millis(20), "{:?}", t0.elapsed());
        // Once failures have been quiet for the recovery time, attempts start at once again.
        tokio::time::sleep(super::CONNECT_RECOVERY).await;
        gate.succeeded();
        let t0 = Instant::now();
        gate.turn().await;
        gate.turn().await;
        assert!(t0.elapsed() < Duration::from_millis(5), "the streak is over");
    }

    #[test]
    fn splits_scripts() {
        assert_eq!(
            split_statements("select 1; select ';'; create function f() as $x$ a; b $x$;"),
            vec!["select 1", "select ';'", "create function f() as $x$ a; b $x$"]
        );
        assert_eq!(split_statements("  "), Vec::<String>::new());
    }
}
