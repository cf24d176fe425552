//! The connection pool: where each query goes, and the pool's public API.
//!
//! postgres.js's rule: a query goes to an idle connection, else a new one is opened (up to `max`),
//! else it is pipelined on the least busy connection (`dispatch`). Each connection has one driver
//! task (`conn`) that sends its queries strictly in submission order (a transaction's statements
//! must not overtake each other); `exec` runs each query on the connection's session; a connection
//! is opened, timed out and retired in `lifecycle`. Results are streamed as frames into the
//! [`CompletionQueue`], which the binding drains with one call for many completions.
//!
//! Modules: `dispatch` (placement, waiters), `conn` (a connection's state and its driver loop),
//! `lifecycle` (opening with back-off, deadlines, heartbeat, retirement), `connect_gate` (the
//! back-off), `cancel` (`query.cancel()`), `spin` (the driver's two short spins), `events` (the
//! counters of `sql.stats()` and the connect and token events).

mod cancel;
mod conn;
mod connect_gate;
mod dispatch;
mod events;
mod lifecycle;
mod spin;

use crate::core::close_wait::CLOSE_WAIT;
use crate::core::completions::CompletionQueue;
use crate::core::config::Config;
use crate::core::copy;
use crate::core::credentials::CredentialCache;
use crate::core::error::{Error, Result};
use crate::core::lock;
use crate::core::runtime;
use crate::core::token::TokenSigner;
use crate::core::transport::{self, NoticeHandler};
use crate::core::wire::Query;
use conn::{Conn, Stop};
use connect_gate::ConnectGate;
use dispatch::{dispatch, on_available};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, Notify, Semaphore};

pub(crate) use cancel::{after_cancellable, cancel_if_running};
pub(crate) use conn::Conn as Connection;
pub(crate) use dispatch::{fail, job_finished};
pub(crate) use events::Counters;
pub(crate) use lifecycle::retire_if_dead;
pub use lifecycle::HEARTBEAT_TIMEOUT;

/// What `Pool::reserve_start` got: a connection now, or a place in the queue of reservations.
pub enum Reservation {
    Granted(u32),
    Queued(oneshot::Receiver<Result<u32>>),
}

/// What the pool's lock guards: the connections and what waits for one.
#[derive(Default)]
struct State {
    conns: Vec<Arc<Conn>>,
    next_id: u32,
    ended: bool,
    /// Jobs for which no connection can take work now (all reserved or retiring at `max`).
    waiting: VecDeque<Query>,
    reserve_waiters: VecDeque<oneshot::Sender<Result<u32>>>,
    /// Reserved connections that could not be opened, with the error: `reserve()` hands out a
    /// connection before it is open, so jobs sent to it may arrive after it failed; they fail with
    /// that error (postgres.js's begin() rejects with the connect error). Dropped on release.
    open_failed: HashMap<u32, Error>,
}

/// What the binding gives the pool besides the configuration.
pub struct PoolOptions {
    /// Type OIDs whose columns must arrive as text (custom JS parsers).
    pub text_oids: Vec<u32>,
    pub on_notice: Option<NoticeHandler>,
    /// Called with the connection id when a connection closes unexpectedly (the server or the
    /// network ended it, or it failed its connection check), never for closes the pool decides.
    pub on_close: Option<Arc<dyn Fn(u32) + Send + Sync>>,
}

/// What the pool's connections share (the executors in `core::exec` read it too).
pub(crate) struct Inner {
    pub(crate) cfg: Config,
    creds: CredentialCache,
    signer: TokenSigner,
    pub(crate) connector: transport::Connector,
    pub(crate) completions: Arc<CompletionQueue>,
    state: Mutex<State>,
    pub(crate) opts: PoolOptions,
    /// Woken whenever a connection became idle, was released or closed (`end`/`close` wait on it).
    idle: Notify,
    destroy: tokio::sync::watch::Sender<bool>,
    /// Open cursors: a permit lets the next batch of rows through.
    pub(crate) cursors: Mutex<HashMap<u32, Arc<Semaphore>>>,
    /// Queries `cancel()`ed whose CancelRequest is not sent yet.
    pub(crate) cancelled: cancel::Cancellations,
    /// Running COPYs (see `core::copy`).
    pub(crate) copies: Arc<copy::Registry>,
    /// The back-off between connection attempts after failures (see [`ConnectGate`]).
    gate: ConnectGate,
    /// What `stats()` reports besides the connections' states (see `events`).
    pub(crate) counters: Counters,
}

/// One `sql` instance's pool (cheap to clone: the clones share it).
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    pub fn new(cfg: Config, creds: CredentialCache, opts: PoolOptions) -> Result<Pool> {
        let connector = transport::connector(&cfg)?;
        let signer = TokenSigner::new(&cfg.host, &cfg.region, cfg.token_duration_secs);
        let (destroy, _) = tokio::sync::watch::channel(false);
        let completions = Arc::new(CompletionQueue::default());
        completions.signal_later();
        Ok(Pool {
            inner: Arc::new(Inner {
                cfg,
                creds,
                signer,
                connector,
                completions,
                state: Mutex::new(State { next_id: 1, ..Default::default() }),
                opts,
                idle: Notify::new(),
                destroy,
                cursors: Mutex::new(HashMap::new()),
                cancelled: cancel::Cancellations::default(),
                copies: Arc::default(),
                gate: ConnectGate::default(),
                counters: Counters::default(),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// Where the results arrive.
    pub fn completions(&self) -> Arc<CompletionQueue> {
        self.inner.completions.clone()
    }

    /// Queues jobs; their results arrive in the completion queue.
    pub fn submit(&self, jobs: Vec<Query>) {
        // One add per batch, not per query.
        self.inner.counters.queries.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        let mut st = lock(&self.inner.state);
        for job in jobs {
            dispatch(&self.inner, &mut st, job);
        }
    }

    /// `query.cancel()`: a query not sent yet never runs (it fails with 57014); a running one gets a
    /// CancelRequest (resolves once it was sent); one pipelined behind another is cancelled when
    /// its turn comes.
    pub async fn cancel(&self, id: u32) {
        self.inner.cancelled.insert(id);
        let conns = lock(&self.inner.state).conns.clone();
        for c in conns {
            if let Some(sending) = cancel::cancel_if_running(&self.inner, &c) {
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
            return Err(Error::ended("the pool has been ended"));
        }
        let idle = st.conns.iter().find(|c| c.inflight() == 0 && !c.is_reserved() && !c.is_retiring()).cloned();
        if let Some(c) = idle {
            c.set_reserved(true);
            return Ok(Reservation::Granted(c.id));
        }
        if st.conns.len() < self.inner.cfg.max {
            let c = lifecycle::open_conn(&self.inner, &mut st, 0);
            c.set_reserved(true);
            return Ok(Reservation::Granted(c.id));
        }
        let (tx, rx) = oneshot::channel();
        st.reserve_waiters.push_back(tx);
        Ok(Reservation::Queued(rx))
    }

    /// The waiting half of `reserve` for a queued reservation.
    pub async fn reserve_wait(rx: oneshot::Receiver<Result<u32>>) -> Result<u32> {
        rx.await.unwrap_or_else(|_| Err(Error::ended("the pool has been ended")))
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
            c.set_reserved(false);
            on_available(&mut st, &c);
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
            c.request(Stop::Retire);
        }
        let Some(t) = timeout else { return self.until_closed(&conns).await };
        if runtime::timeout(t, self.until_closed(&conns)).await.is_err() {
            for c in &conns {
                c.request(Stop::Kill);
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
                conns.iter().all(|c| !st.conns.iter().any(|x| x.id == c.id) && !c.is_open())
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
                    let busy = st.conns.iter().any(|c| c.inflight() > 0 || c.is_reserved());
                    let queued = !st.waiting.is_empty() || !st.reserve_waiters.is_empty();
                    if !busy && !queued {
                        return;
                    }
                }
                notified.await;
            }
        };
        let in_time = match timeout {
            Some(t) => runtime::timeout(t, all_idle).await.is_ok(),
            None => {
                all_idle.await;
                true
            }
        };
        let (waiting, reservations): (Vec<Query>, Vec<_>) = {
            let mut st = lock(&self.inner.state);
            (st.waiting.drain(..).collect(), st.reserve_waiters.drain(..).collect())
        };
        let too_late = |message: &str| if in_time { Error::ended(message) } else { Error::destroyed(message) };
        for w in reservations {
            let _ = w.send(Err(too_late("the pool has been ended")));
        }
        let unsent = too_late(if in_time { "write CONNECTION_ENDED" } else { "write CONNECTION_DESTROYED" });
        for j in waiting {
            fail(&self.inner, j.id, &unsent);
        }
        let _ = self.inner.destroy.send(true);
        let conns: Vec<Arc<Conn>> = lock(&self.inner.state).conns.drain(..).collect();
        // As postgres.js's end(): resolves once the connections have closed (each waits a bounded
        // time for the server to let go, see close_wait).
        let _ = runtime::timeout(CLOSE_WAIT + Duration::from_millis(200), self.until_closed(&conns)).await;
        drop(conns);
        self.inner.completions.close();
    }

    /// Counts for `sql.stats()`: one pass over the connections under the pool's lock, then relaxed
    /// loads of the counters (no lock held while reading them; the error map is locked on its own).
    pub fn stats(&self) -> PoolStats {
        let mut s = PoolStats::default();
        {
            let st = lock(&self.inner.state);
            s.connections = st.conns.len();
            s.waiting = st.waiting.len();
            for c in &st.conns {
                let (inflight, reserved) = (c.inflight(), c.is_reserved());
                s.inflight += inflight;
                s.reserved += usize::from(reserved);
                match c.phase() {
                    p if p == conn::Phase::Opening as u8 => s.opening += 1,
                    p if p == conn::Phase::Open as u8 => {
                        s.open += 1;
                        if inflight > 0 || reserved {
                            s.busy += 1;
                        } else {
                            s.idle += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
        let n = &self.inner.counters;
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        s.queries = load(&n.queries);
        s.connect_attempts = load(&n.connect_attempts);
        s.connect_failures = load(&n.connect_failures);
        s.tokens_signed = load(&n.tokens_signed);
        s.credential_resolutions = self.inner.creds.resolutions();
        s.bytes_in = load(&n.bytes.read);
        s.bytes_out = load(&n.bytes.written);
        s.errors_by_class = n.errors();
        s.retried = load(&n.retried);
        s
    }
}

/// A snapshot of the pool's connections, queue and counters (`sql.stats()`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections in the pool (opening, open, or closing with work left).
    pub connections: usize,
    /// Connections whose session is open: `idle + busy`.
    pub open: usize,
    /// Connections whose session is being opened.
    pub opening: usize,
    /// Open, not reserved, nothing in flight.
    pub idle: usize,
    /// Open and running queries or reserved (a transaction, `sql.reserve()`).
    pub busy: usize,
    pub reserved: usize,
    /// Queries given to connections and not finished.
    pub inflight: usize,
    /// Queries waiting for a connection (all reserved or retiring at `max`).
    pub waiting: usize,
    /// Queries submitted since the pool was made.
    pub queries: u64,
    /// Connection attempts (each retry of an opening counts), and those that failed.
    pub connect_attempts: u64,
    pub connect_failures: u64,
    pub tokens_signed: u64,
    /// Calls of the credential provider or chain (the rest came from the cache).
    pub credential_resolutions: u64,
    /// Bytes read from and written to the sessions' sockets (TLS and WebSocket framing included).
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Failed queries by SQLSTATE class or error code (see `events::Counters`).
    pub errors_by_class: BTreeMap<String, u64>,
    /// Queries that never ran on the connection they were given to and ran on another (issue 20).
    pub retried: u64,
}
