//! Where a query goes: its reserved connection, an idle one, a new one, the least busy one, or the
//! pool's queue until a connection can take it; and how a connection that became free takes queued
//! reservations and queries.

use super::conn::Conn;
use super::{lifecycle, Inner, State};
use crate::core::error::Error;
use crate::core::lock;
use crate::core::wire::{FrameWriter, Query};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Completes query `id` with an error (counted in the pool's errors).
pub(crate) fn fail(inner: &Inner, id: u32, e: &Error) {
    inner.counters.query_failed(e);
    let mut w = FrameWriter::new(id);
    w.error(e);
    inner.completions.push(&w.take());
}

/// Takes a new query (or one handed back by a connection that could not send it).
pub(super) fn dispatch(inner: &Arc<Inner>, st: &mut State, job: Query) {
    // After end() the pool takes no new work; a reserved connection still answers for itself while
    // it is open (a transaction finishing during a graceful end, as in postgres.js).
    if st.ended && job.conn == 0 {
        return fail(inner, job.id, &Error::ended("write CONNECTION_ENDED"));
    }
    place(inner, st, job)
}

/// Gives a job taken before any end() to its connection, an idle one, a new one, or the queue.
pub(super) fn place(inner: &Arc<Inner>, st: &mut State, job: Query) {
    // Once end() has destroyed the pool (its timeout ran out), nothing opens a connection again: what a
    // closing connection hands back fails as the rest of its work did. (`ended` comes first: it is set
    // before the destroy signal, and reading it costs nothing on the per-query path.)
    if st.ended && *inner.destroy.borrow() {
        return fail(inner, job.id, &Error::destroyed("write CONNECTION_DESTROYED"));
    }
    if job.conn != 0 {
        match st.conns.iter().find(|c| c.id == job.conn && c.is_reserved()) {
            Some(c) => send(c, job),
            None => match st.open_failed.get(&job.conn) {
                Some(e) => fail(inner, job.id, e),
                None => fail(inner, job.id, &Error::closed("the reserved connection is closed or was released")),
            },
        }
        return;
    }
    let usable = |c: &&Arc<Conn>| !c.is_reserved() && !c.is_retiring();
    if let Some(c) = st.conns.iter().filter(usable).find(|c| c.inflight() == 0) {
        return send(c, job);
    }
    if st.conns.len() < inner.cfg.max {
        let c = lifecycle::open_conn(inner, st, job.id);
        return send(&c, job);
    }
    match st.conns.iter().filter(usable).min_by_key(|c| c.inflight()) {
        Some(c) => send(c, job),
        None => st.waiting.push_back(job),
    }
}

/// Hands a query to a connection's driver.
pub(super) fn send(c: &Arc<Conn>, job: Query) {
    c.add_inflight();
    // The driver owns the receiver until it has left the pool's list, so this cannot fail while
    // the connection is listed; a failure would mean a bug, and the job's error is reported then.
    if let Err(mpsc::error::SendError(job)) = c.tx.send(job) {
        c.sub_inflight();
        let _ = job;
    }
}

/// Hands a connection that has become free to waiting reservations and queued jobs.
pub(super) fn on_available(st: &mut State, c: &Arc<Conn>) {
    if c.is_reserved() || c.is_retiring() {
        return;
    }
    if c.inflight() == 0 {
        while let Some(w) = st.reserve_waiters.pop_front() {
            c.set_reserved(true);
            if w.send(Ok(c.id)).is_ok() {
                return;
            }
            c.set_reserved(false);
        }
    }
    while let Some(job) = st.waiting.pop_front() {
        send(c, job);
    }
}

/// A query on `c` finished: when that left it idle, it takes queued work, and `end`/`close` look again.
pub(crate) fn job_finished(inner: &Arc<Inner>, c: &Arc<Conn>) {
    if c.sub_inflight() == 1 {
        let mut st = lock(&inner.state);
        on_available(&mut st, c);
        drop(st);
        inner.idle.notify_waiters();
    }
}
