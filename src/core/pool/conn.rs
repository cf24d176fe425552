//! One connection: the state the pool and its driver share, and the driver loop.
//!
//! The pool reads and changes a connection's [`Conn`] under its lock (placement, reservation); the
//! driver task (`Driver::run`) owns the session and is the only one that sends on it. What the
//! pool wants from a driver is a [`Stop`] request; where the connection is in its life is its
//! [`Phase`]. Both only move forward.

use super::lifecycle::{self, Exit};
use super::spin::{AnswerSpin, Spinner};
use super::{dispatch, Inner};
use crate::core::config::Transport;
use crate::core::error::Error;
use crate::core::exec::{self, LiveSession, Running};
use crate::core::lock;
use crate::core::runtime;
use crate::core::transport;
use crate::core::wire::Query;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::AbortHandle;

/// Where a connection is in its life (only moves forward).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Its session is being opened (or failed to open).
    Opening = 0,
    /// Its session is open.
    Open = 1,
    /// Its session has ended and the driver has finished.
    Closed = 2,
}

/// What the pool asks of a connection's driver (only escalates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Stop {
    /// Take and run queries.
    Serve = 0,
    /// Take no new work; close once the work taken is done and the connection is not reserved
    /// (idle or age deadline, `close()`, a connection found dead).
    Retire = 1,
    /// Close now; queries still running fail with CONNECTION_DESTROYED (`close({ timeout })` ran out).
    Kill = 2,
}

/// A connection as the pool sees it.
pub(crate) struct Conn {
    pub(crate) id: u32,
    /// The query whose placement opened this connection (0: opened for a reservation or a queued
    /// job); connect and token events name it, so they nest under that query's trace.
    pub(crate) opened_for: u32,
    pub(super) tx: mpsc::UnboundedSender<Query>,
    /// Queries given to the driver and not finished (placement reads it).
    inflight: AtomicUsize,
    /// Taken out of the pool by `reserve()` (a transaction, `sql.reserve()`).
    reserved: AtomicBool,
    phase: AtomicU8,
    stop: AtomicU8,
    /// Queries sent and not finished, in send order (seq → job id). One that failed because the
    /// connection died stays listed, so the oldest of them is the only one that may have run.
    pub(crate) outstanding: Arc<Mutex<BTreeMap<u64, u32>>>,
    /// For `query.cancel()`: the session's cancel token, once connected.
    pub(crate) cancel_token: OnceLock<transport::CancelTarget>,
    /// Wakes the driver to look at the stop request and the reservation again.
    pub(super) wake: Notify,
    /// The query id of the COPY in progress (0 when none): other queries sent to this connection
    /// meanwhile fail with COPY_IN_PROGRESS, as in postgres.js.
    pub(crate) copying: Arc<AtomicU32>,
}

impl Conn {
    pub(super) fn new(id: u32, opened_for: u32, tx: mpsc::UnboundedSender<Query>) -> Conn {
        Conn {
            id,
            opened_for,
            tx,
            inflight: AtomicUsize::new(0),
            reserved: AtomicBool::new(false),
            phase: AtomicU8::new(Phase::Opening as u8),
            stop: AtomicU8::new(Stop::Serve as u8),
            outstanding: Arc::default(),
            cancel_token: OnceLock::new(),
            wake: Notify::new(),
            copying: Arc::default(),
        }
    }

    pub(crate) fn inflight(&self) -> usize {
        self.inflight.load(Ordering::SeqCst)
    }
    pub(super) fn add_inflight(&self) {
        self.inflight.fetch_add(1, Ordering::SeqCst);
    }
    /// One query fewer; returns the count before.
    pub(super) fn sub_inflight(&self) -> usize {
        self.inflight.fetch_sub(1, Ordering::SeqCst)
    }
    /// Forgets every query given to the driver (they were failed together).
    pub(super) fn clear_inflight(&self) {
        self.inflight.store(0, Ordering::SeqCst);
    }

    pub(crate) fn is_reserved(&self) -> bool {
        self.reserved.load(Ordering::SeqCst)
    }
    pub(super) fn set_reserved(&self, reserved: bool) {
        self.reserved.store(reserved, Ordering::SeqCst);
    }

    pub(crate) fn is_open(&self) -> bool {
        self.phase() == Phase::Open as u8
    }
    pub(super) fn phase(&self) -> u8 {
        self.phase.load(Ordering::SeqCst)
    }
    pub(super) fn enter(&self, phase: Phase) {
        self.phase.fetch_max(phase as u8, Ordering::SeqCst);
    }

    fn stop(&self) -> Stop {
        match self.stop.load(Ordering::SeqCst) {
            0 => Stop::Serve,
            1 => Stop::Retire,
            _ => Stop::Kill,
        }
    }
    pub(crate) fn is_retiring(&self) -> bool {
        self.stop() >= Stop::Retire
    }
    pub(super) fn is_killed(&self) -> bool {
        self.stop() == Stop::Kill
    }
    /// Asks the driver to stop (see [`Stop`]) and wakes it to see the request.
    pub(super) fn request(&self, stop: Stop) {
        self.stop.fetch_max(stop as u8, Ordering::SeqCst);
        self.wake.notify_one();
    }
    /// Retires the connection from within its own work (the driver sees it on its next turn).
    pub(crate) fn retire(&self) {
        self.stop.fetch_max(Stop::Retire as u8, Ordering::SeqCst);
    }
}

/// A connection's driver: owns its session and sends its queries in order.
pub(super) struct Driver {
    pub(super) inner: Arc<Inner>,
    pub(super) conn: Arc<Conn>,
    pub(super) rx: mpsc::UnboundedReceiver<Query>,
    pub(super) session: LiveSession,
    /// Queries sent and not finished; each yields its job back if it can run elsewhere.
    pub(super) running: Running,
    /// Jobs handed back by queries that could not have run (to be placed again).
    pub(super) retry: Vec<Query>,
    /// Fires when the connection task ends (the session closed).
    pub(super) closed: oneshot::Receiver<Option<Error>>,
    /// The connection task: aborting it drops the socket at once.
    pub(super) task: AbortHandle,
    pub(super) destroy: tokio::sync::watch::Receiver<bool>,
    /// When the session opened, and the age at which it retires (`max_lifetime`).
    created: Instant,
    max_age: Option<Duration>,
    last_active: Instant,
    /// `connectionCheck` (WebSocket): a heartbeat before a query on a connection that was idle.
    check: bool,
    spinner: Spinner,
    answer: AnswerSpin,
    /// A job taken while spinning (see `Spinner`), handled like one from the channel.
    spun: Option<Query>,
}

impl Driver {
    /// Takes over an open session.
    pub(super) async fn new(
        inner: Arc<Inner>,
        conn: Arc<Conn>,
        rx: mpsc::UnboundedReceiver<Query>,
        s: transport::Session,
        destroy: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        let check = matches!(inner.cfg.transport, Transport::WebSocket { connection_check: true });
        let max_age = lifecycle::lifetime(&inner.cfg);
        let (session, closed, task) = LiveSession::open(s).await;
        Driver {
            inner,
            conn,
            rx,
            session,
            running: Running::new(),
            retry: Vec::new(),
            closed,
            task,
            destroy,
            created: Instant::now(),
            max_age,
            last_active: Instant::now(),
            check,
            spinner: Spinner::default(),
            answer: AnswerSpin::default(),
            spun: None,
        }
    }

    /// Serves queries until the connection must close, and says why.
    pub(super) async fn run(&mut self) -> Exit {
        let (inner, c) = (self.inner.clone(), self.conn.clone());
        loop {
            if c.is_killed() {
                return Exit::Killed;
            }
            let idle = self.running.is_empty();
            let reserved = c.is_reserved();
            // A retiring connection gets no new work; it closes once its work is done (and it is released).
            let retiring = c.is_retiring();
            if retiring && idle && !reserved && c.inflight() == 0 {
                return Exit::Retired;
            }
            if idle
                && !retiring
                && self.spun.is_none()
                && self.spinner.ready()
                && c.inflight() == 0
                && pool_idle(&inner)
            {
                inner.completions.signal_now();
                self.spun = self.spinner.spin(&mut self.rx);
            }
            let deadline = if retiring {
                None
            } else {
                lifecycle::next_deadline(&inner.cfg, self.created, self.max_age, self.last_active, idle, reserved)
            };
            let poll_answer =
                self.answer.active(self.running.len(), || c.inflight() == 1 && pool_inflight(&inner) == 1);
            tokio::select! {
                biased;
                _ = self.destroy.changed() => return Exit::Destroyed,
                _ = &mut self.closed => return Exit::SessionEnded,
                Some(back) = self.running.next(), if !self.running.is_empty() => {
                    self.answer.finished();
                    self.last_active = Instant::now();
                    self.retry.extend(back);
                    dispatch::job_finished(&inner, &c);
                }
                job = next_job(&mut self.spun, &mut self.rx) => match job {
                    Some(job) if !alive(&self.session, self.check && self.running.is_empty()).await => return Exit::FoundDead(job),
                    Some(job) => {
                        self.last_active = Instant::now();
                        if let Some(fut) = exec::start(&inner, &mut self.session, &mut self.running, &mut self.retry, &c, job).await {
                            self.running.push(fut);
                        }
                    }
                    None => return Exit::ChannelClosed,
                },
                _ = c.wake.notified() => {}
                // Idle past idle_timeout, or older than max_lifetime: retire when no work is left.
                _ = runtime::sleep_until(deadline) => c.retire(),
                // Last, so that any real event wins: the worker polls the sockets without parking. The
                // thread yields its CPU too: a thread woken onto it (the server's, the JS thread) runs at
                // once instead of waiting for the spin's time slice to end.
                _ = runtime::yield_now(), if poll_answer => std::thread::yield_now(),
            }
        }
    }

    /// Puts back a job taken while spinning and not started (the channel's jobs are handled on leaving).
    pub(super) fn unspin(&mut self) {
        if let Some(job) = self.spun.take() {
            let _ = self.conn.tx.send(job);
        }
    }

    /// Lets the queries still running finish (their connection is gone from the pool).
    pub(super) async fn finish_running(&mut self) {
        while let Some(back) = self.running.next().await {
            self.retry.extend(back);
            dispatch::job_finished(&self.inner, &self.conn);
        }
    }
}

/// Whether the session can take a query: not closed, and answering a heartbeat when `check` asks
/// for one (`connectionCheck`, with nothing running on it).
async fn alive(session: &LiveSession, check: bool) -> bool {
    !session.client().is_closed() && (!check || lifecycle::heartbeat(session.client()).await)
}

/// The next job: one taken while spinning, else from the channel.
async fn next_job(spun: &mut Option<Query>, rx: &mut mpsc::UnboundedReceiver<Query>) -> Option<Query> {
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
    lock(&inner.state).conns.iter().map(|c| c.inflight()).sum()
}
