//! A connection's life: opening (with the pool's back-off), its deadlines and heartbeat, and its
//! retirement — the one place where a connection leaves the pool ([`leave`], through [`unlist`]).

use super::conn::{Conn, Driver, Phase};
use super::dispatch::{dispatch, fail, place};
use super::events::{self, Attempt, Counters, Subject};
use super::{Inner, State};
use crate::core::close_wait::CLOSE_WAIT;
use crate::core::config::Config;
use crate::core::error::{Error, Result};
use crate::core::exec;
use crate::core::lock;
use crate::core::runtime;
use crate::core::transport;
use crate::core::wire::Query;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_postgres::Client;

/// The WebSocket connector's `connectionCheck`: how long the `select 1` heartbeat may take.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a driver stopped serving.
pub(super) enum Exit {
    /// `end()` closed every connection (queries still running fail as their client goes).
    Destroyed,
    /// `close({ timeout })` ran out: queries still running fail with CONNECTION_DESTROYED.
    Killed,
    /// Retired (deadline, `close()`, found dead by a query) with no work left.
    Retired,
    /// The session ended (the server or the network closed it).
    SessionEnded,
    /// A query arrived on a session that had ended, or failed the connection check: it was never
    /// sent, so it goes back to the pool.
    FoundDead(Query),
    /// The pool dropped the connection's channel.
    ChannelClosed,
}

impl Exit {
    /// Not the pool's decision: the user's `onclose` hears of it.
    fn unexpected(&self) -> bool {
        matches!(self, Exit::SessionEnded | Exit::FoundDead(_))
    }
}

/// Adds a connection to the pool and starts its driver, which opens the session. `query`: the
/// query it is opened for (0 for a reservation), which its connect and token events name.
pub(super) fn open_conn(inner: &Arc<Inner>, st: &mut State, query: u32) -> Arc<Conn> {
    let (tx, rx) = mpsc::unbounded_channel();
    let id = st.next_id;
    st.next_id = st.next_id.wrapping_add(1).max(1);
    let c = Arc::new(Conn::new(id, query, tx));
    st.conns.push(c.clone());
    runtime::spawn(live(inner.clone(), c.clone(), rx));
    c
}

/// A connection's whole life: open, serve, leave.
async fn live(inner: Arc<Inner>, c: Arc<Conn>, mut rx: mpsc::UnboundedReceiver<Query>) {
    // Before opening: an `end()` while the session is being opened must still reach the driver, and one
    // that came before this connection existed too.
    let mut destroy = inner.destroy.subscribe();
    if *destroy.borrow() {
        destroy.mark_changed();
    }
    let mut s = match open(&inner, &c).await {
        Ok(s) => s,
        Err(e) => {
            unlist(&inner, &c, &mut rx, Some(&e));
            return c.enter(Phase::Closed);
        }
    };
    let _ = c.cancel_token.set(s.cancel_target());
    inner.completions.push(&exec::parameters_frame(std::mem::take(&mut s.parameters)));
    c.enter(Phase::Open);
    let mut driver = Driver::new(inner, c, rx, s, destroy).await;
    let exit = driver.run().await;
    leave(driver, exit).await;
}

/// Opens a session. Every attempt waits for its turn at the pool's connect gate and reports its
/// outcome there, and in a CONNECT event (with a TOKEN event once its token is signed; see
/// `events`). `connect_timeout` counts from the first attempt (postgres.js starts its timer after
/// the reconnect delay too).
async fn open(inner: &Inner, c: &Conn) -> Result<transport::Session> {
    let cfg = &inner.cfg;
    let who = Subject { query: c.opened_for, connection: c.id };
    let mut refreshed = false;
    inner.gate.turn().await;
    let deadline = runtime::Instant::now() + cfg.connect_timeout;
    let mut n = 0;
    loop {
        n += 1;
        Counters::add(&inner.counters.connect_attempts);
        let meter = transport::Meter::for_connect(&inner.counters.bytes);
        let started = Instant::now();
        let mut signed = None;
        let once = async {
            let (creds, resolved) = inner.creds.get_traced().await?;
            let token = inner.signer.token(creds, cfg.is_admin()).await?;
            let now = Instant::now();
            signed = Some(now);
            Counters::add(&inner.counters.tokens_signed);
            inner.completions.push(&events::token_event(who, now - started, resolved));
            transport::connect(cfg, &token, &inner.connector, inner.opts.on_notice.clone(), &meter).await
        };
        let outcome = match runtime::timeout_at(deadline, once).await {
            Err(_) => Err(Error::connect_timeout(&cfg.host, cfg.port)),
            Ok(done) => done,
        };
        let attempt = Attempt { who, n, started, signed, marks: meter.marks.clone() };
        inner.completions.push(&attempt.event(cfg, outcome.as_ref().map(|_| ())));
        let e = match outcome {
            Ok(session) => {
                inner.gate.succeeded();
                return Ok(session);
            }
            Err(e) => e,
        };
        Counters::add(&inner.counters.connect_failures);
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
        if !again || runtime::timeout_at(deadline, inner.gate.turn()).await.is_err() {
            return Err(e);
        }
    }
}

/// This connection's maximum age: drawn from `max_lifetime`'s range, so that connections opened
/// together do not all retire together.
pub(super) fn lifetime(cfg: &Config) -> Option<Duration> {
    cfg.max_lifetime.map(|(lo, hi)| if hi > lo { lo + (hi - lo).mul_f64(rand::random::<f64>()) } else { lo })
}

/// When the connection retires unless something happens first: at its maximum age, or after
/// `idle_timeout` with nothing running (not while reserved).
pub(super) fn next_deadline(
    cfg: &Config,
    created: Instant,
    max_age: Option<Duration>,
    last_active: Instant,
    idle: bool,
    reserved: bool,
) -> Option<Instant> {
    // The age counts while reserved too: reaching it retires the connection, which closes once it is
    // released (a transaction is never cut), so that one reserved again and again (sql.begin after
    // sql.begin) still leaves before the server closes it for its age.
    let age = max_age.map(|a| created + a);
    let idle_at = if idle && !reserved { cfg.idle_timeout.map(|t| last_active + t) } else { None };
    match (age, idle_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `connectionCheck`: `select 1` answered within [`HEARTBEAT_TIMEOUT`]. A server error (e.g. a
/// failed transaction's 25P02) still proves the connection alive.
pub(super) async fn heartbeat(client: &Client) -> bool {
    match runtime::timeout(HEARTBEAT_TIMEOUT, client.simple_query("select 1")).await {
        Err(_) => false,
        Ok(Ok(_)) => true,
        Ok(Err(e)) => e.as_db_error().is_some(),
    }
}

/// The driver stopped serving: the connection leaves the pool, its queued jobs go back to the pool,
/// what still runs finishes (or fails, when destroyed), and the session closes.
async fn leave(mut d: Driver, exit: Exit) {
    let (inner, c) = (d.inner.clone(), d.conn.clone());
    let unexpected = exit.unexpected();
    let session_ended = matches!(exit, Exit::SessionEnded);
    d.unspin();
    if let Exit::FoundDead(job) = exit {
        // Never sent: it runs elsewhere. The socket is dropped at once (the peer may not answer).
        d.task.abort();
        c.sub_inflight();
        let mut st = lock(&inner.state);
        st.conns.retain(|x| x.id != c.id);
        Counters::add(&inner.counters.retried);
        dispatch(&inner, &mut st, job);
    }
    let killed = c.is_killed();
    let destroyed = *d.destroy.borrow() || killed;
    if killed {
        let ids: Vec<u32> = lock(&c.outstanding).values().copied().collect();
        for id in ids {
            fail(&inner, id, &Error::destroyed("write CONNECTION_DESTROYED"));
        }
    }
    if unexpected && !destroyed {
        if let Some(f) = &inner.opts.on_close {
            f(c.id);
        }
    }
    unlist(&inner, &c, &mut d.rx, None);
    // Nothing was cut short: the session can end gracefully (see below).
    let graceful = !killed && !unexpected && d.running.is_empty();
    if destroyed {
        d.running = exec::Running::new();
        c.clear_inflight();
    } else {
        d.finish_running().await;
    }
    if !d.retry.is_empty() {
        let mut st = lock(&inner.state);
        for job in d.retry.drain(..) {
            dispatch(&inner, &mut st, job);
        }
    }
    let Driver { session, mut closed, task, .. } = d;
    drop(session);
    // The client is gone, so the connection task sends Terminate and waits (bounded) for the
    // server to close (see close_wait): the connection counts as open until then, and `close()`
    // (sql.end()) resolves after, as postgres.js's end() does.
    if !session_ended
        && graceful
        && runtime::timeout(CLOSE_WAIT + Duration::from_millis(100), &mut closed).await.is_err()
    {
        task.abort();
    }
    c.enter(Phase::Closed);
    inner.idle.notify_waiters();
}

/// Removes the connection from the pool; jobs it had not started go back to the pool (or fail with
/// `err`, the reason it could not be opened).
pub(super) fn unlist(inner: &Arc<Inner>, c: &Arc<Conn>, rx: &mut mpsc::UnboundedReceiver<Query>, err: Option<&Error>) {
    let mut st = lock(&inner.state);
    st.conns.retain(|x| x.id != c.id);
    if let Some(e) = err.filter(|_| c.is_reserved()) {
        if st.open_failed.len() >= 1024 {
            st.open_failed.clear();
        }
        st.open_failed.insert(c.id, e.clone());
    }
    let mut pending = Vec::new();
    while let Ok(job) = rx.try_recv() {
        c.sub_inflight();
        pending.push(job);
    }
    for (i, job) in pending.into_iter().enumerate() {
        match err {
            // The connection could not be opened. As in postgres.js, the query it was opened for
            // fails with that error (the first one sent to it; every query of a reserved connection),
            // and the queries queued behind it wait for a connection of their own, whose attempt
            // comes after the pool's back-off (see `ConnectGate`).
            Some(e) if i == 0 || job.conn != 0 => fail(inner, job.id, e),
            Some(_) => place(inner, &mut st, job),
            None if job.conn != 0 => fail(inner, job.id, &Error::closed("the reserved connection was closed")),
            None => {
                Counters::add(&inner.counters.retried);
                place(inner, &mut st, job)
            }
        }
    }
    // A slot is free: queued reservations, then queued jobs, may now open a new connection (also
    // during a graceful end, which serves what was queued before it).
    while st.conns.len() < inner.cfg.max {
        let Some(w) = st.reserve_waiters.pop_front() else { break };
        let c = open_conn(inner, &mut st, 0);
        c.set_reserved(true);
        if w.send(Ok(c.id)).is_err() {
            c.set_reserved(false);
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

/// A query that failed with CONNECTION_CLOSED retires its connection before the error reaches the
/// user, so a `release()` + `reserve()` right after it never gets this connection again.
pub(crate) fn retire_if_dead(c: &Conn, e: &Error) {
    if e.is_closed() {
        c.retire();
    }
}
