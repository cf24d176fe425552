//! Running queries on an open session: one module per way of running one.
//!
//! A connection's driver hands each query to [`start`] in submission order. `start` sends it (after
//! preparing its statement in order, when that is needed) and returns what remains of it as a
//! future that finishes concurrently with later queries. Modules: `statements` (the statement cache
//! and column metadata), `bind` (parameters and raw values for tokio-postgres), `extended` (a query
//! through Parse/Bind/Execute), `simple` (a script through the simple protocol), `copy` (starting a
//! COPY; the copy itself is `core::copy`).

mod bind;
mod copy;
mod extended;
mod simple;
mod statements;

use crate::core::error::Error;
use crate::core::lock;
use crate::core::pool::{cancel_if_running, fail, job_finished, Connection, Counters, Inner};
use crate::core::protocol::{Flag, FrameKind};
use crate::core::transport;
use crate::core::wire::{FrameWriter, Query};
use futures_util::stream::FuturesUnordered;
use futures_util::FutureExt;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::AbortHandle;
use tokio_postgres::Client;

pub use simple::split_statements;

/// Rows are handed to JS in chunks of about this many bytes, so a large result never blocks the
/// event loop in one piece.
const CHUNK_BYTES: usize = 64 * 1024;
/// While framing a large result, the I/O thread yields its CPU (`sched_yield`) after about this many
/// bytes of rows: a large fetch keeps more threads runnable than there are CPUs (the JS thread
/// decoding, this one, and a nearby server's), and the JS thread's event loop must not wait for one.
const YIELD_BYTES: usize = 16 * 1024;

/// A query sent and not finished; it yields its job back when the connection died before the
/// server could have started it (so it can run on another connection).
pub type RunFuture = Pin<Box<dyn Future<Output = Option<Query>> + Send>>;
/// A connection's queries sent and not finished.
pub type Running = FuturesUnordered<RunFuture>;

/// An open session as the executors use it: the client, the statement cache, and what results carry.
pub struct LiveSession {
    client: Arc<Client>,
    statements: statements::StatementCache,
    /// The backend's process id and secret key (`result.state`).
    key: (i32, i32),
    parameters_now: transport::ParameterReader,
    /// What this session's queries learnt of its end (shared by their futures).
    end: Arc<SessionEnd>,
    next_seq: u64,
}

/// What the queries of a session learnt of its end, for deciding what a query the connection closed
/// under means: run it elsewhere (it never reached a live session) or fail it as outcome-unknown.
pub(super) struct SessionEnd {
    /// Set when the server ended the session with a FATAL error it sent unasked (see `transport::Session`).
    ended_by_server: Arc<AtomicBool>,
    /// A query failed because the connection closed: nothing more is sent on this session.
    dead: AtomicBool,
    /// Set by the oldest unfinished query when the connection closed under it: whether the queries
    /// sent behind it did not run ([`IN_ORDER`]) or may have ([`CUT`]); 0 until known.
    verdict: AtomicU8,
}

/// The session itself ended with a FATAL answer to the oldest query (see
/// [`Error::ends_session_in_order`]): the queries sent behind it did not run.
const IN_ORDER: u8 = 1;
/// The connection closed under the oldest query otherwise (the service in front of the session closed
/// it, or the network): the queries written behind it may have run.
const CUT: u8 = 2;
/// How many times a query sent behind the oldest one yields for the oldest's verdict. The oldest query's
/// answer (the FATAL) arrived before the end of stream that failed the later ones, so its future is
/// ready and is polled within a round or two of the driver; past this bound the later query fails as
/// outcome-unknown, the safe default (e.g. when the oldest request was a COPY, which sets no verdict).
const VERDICT_YIELDS: u32 = 64;

impl SessionEnd {
    /// Settles what the connection closing under query `seq` (with `e`) means for it. Returns `true` when
    /// it never ran (it can run elsewhere); `false` when it was written and got no answer (it may have
    /// run: the error is to be marked outcome-unknown).
    async fn never_ran(&self, e: &Error, seq: u64, outstanding: &Mutex<BTreeMap<u64, u32>>) -> bool {
        self.dead.store(true, Ordering::SeqCst);
        // After a FATAL the server sent unasked (an idle session closed), nothing written after it ran.
        if !e.is_server_fatal() && self.ended_by_server.load(Ordering::SeqCst) {
            return true;
        }
        let mut yields = 0;
        loop {
            if lock(outstanding).first_key_value().map(|(k, _)| *k) == Some(seq) {
                // The oldest unfinished query: it was in flight when the connection closed.
                let verdict = if e.ends_session_in_order() { IN_ORDER } else { CUT };
                let _ = self.verdict.compare_exchange(0, verdict, Ordering::SeqCst, Ordering::SeqCst);
                return false;
            }
            match self.verdict.load(Ordering::SeqCst) {
                IN_ORDER => return true,
                CUT => return false,
                _ if yields >= VERDICT_YIELDS => return false,
                _ => {
                    yields += 1;
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    /// Whether the session is known to have ended (nothing more may be sent on it).
    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst) || self.ended_by_server.load(Ordering::SeqCst)
    }
}

impl LiveSession {
    /// Takes over a session: the executors' part, the connection task's end, and the task.
    pub async fn open(s: transport::Session) -> (LiveSession, oneshot::Receiver<Option<Error>>, AbortHandle) {
        let key = transport::backend_key(&s.client).await.unwrap_or((0, 0));
        let live = LiveSession {
            client: Arc::new(s.client),
            statements: statements::StatementCache::default(),
            key,
            parameters_now: s.parameters_now,
            end: Arc::new(SessionEnd {
                ended_by_server: s.ended_by_server,
                dead: AtomicBool::new(false),
                verdict: AtomicU8::new(0),
            }),
            next_seq: 0,
        };
        (live, s.closed, s.task)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Numbers a query about to be sent and lists it as outstanding on `c`.
    fn track(&mut self, c: &Connection, id: u32) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        lock(&c.outstanding).insert(seq, id);
        seq
    }
}

/// Sends `job` on the session (preparing its statement first when needed, finishing earlier
/// queries meanwhile); returns what remains of it to run concurrently with later queries.
pub(crate) async fn start(
    inner: &Arc<Inner>,
    s: &mut LiveSession,
    running: &mut Running,
    retry: &mut Vec<Query>,
    c: &Arc<Connection>,
    job: Query,
) -> Option<RunFuture> {
    if inner.cancelled.any() && inner.cancelled.take(job.id) {
        // Cancelled before it was sent: it never runs.
        fail(inner, job.id, &Error::cancelled_before_sent());
        job_finished(inner, c);
        return None;
    }
    if s.end.is_dead() || s.client.is_closed() {
        // The session is known to have ended: the query is not sent, so it never ran. A pool query runs
        // elsewhere; a reserved connection's fails as its connection closed.
        if job.conn == 0 {
            Counters::add(&inner.counters.retried);
            retry.push(job);
        } else {
            fail(inner, job.id, &Error::closed("connection closed"));
        }
        job_finished(inner, c);
        return None;
    }
    if c.copying.load(Ordering::SeqCst) != 0 {
        fail(inner, job.id, &Error::copy_in_progress());
        job_finished(inner, c);
        return None;
    }
    // readable() / writable() of a statement that is not COPY ... FROM / TO run it as a plain query.
    if job.has(Flag::Copy) {
        if let Some(direction) = crate::core::copy::direction(&job.sql) {
            return copy::start(inner, s, running, retry, c, job, direction).await;
        }
    }
    if job.has(Flag::Simple) {
        return launch(inner, c, simple::run(inner, s, c, job), retry);
    }
    let prepared = match statements::prepare_in_order(inner, s, running, retry, c, &job).await {
        Ok(p) => p,
        Err(e) => {
            // A Parse has no effects: a pool query whose prepare died with the connection runs elsewhere.
            if e.is_closed() {
                s.end.dead.store(true, Ordering::SeqCst);
            }
            if e.is_closed() && job.conn == 0 {
                Counters::add(&inner.counters.retried);
                retry.push(job);
            } else {
                fail(inner, job.id, &e);
            }
            job_finished(inner, c);
            return None;
        }
    };
    let cursor = job.has(Flag::Cursor).then(|| {
        let sem = Arc::new(Semaphore::new(0));
        lock(&inner.cursors).insert(job.id, sem.clone());
        sem
    });
    let text = job.has(Flag::Text);
    launch(inner, c, extended::run(inner, s, c, job, prepared, text, cursor), retry)
}

/// Sends the query (see [`started`]), then a CancelRequest if it was cancelled while queued here.
fn launch(inner: &Arc<Inner>, c: &Arc<Connection>, fut: RunFuture, retry: &mut Vec<Query>) -> Option<RunFuture> {
    let fut = started(inner, c, fut, retry);
    cancel_if_running(inner, c);
    fut
}

/// Polls once, which sends the request now (in order); returns the future if it is still pending.
fn started(inner: &Arc<Inner>, c: &Arc<Connection>, mut fut: RunFuture, retry: &mut Vec<Query>) -> Option<RunFuture> {
    match fut.as_mut().now_or_never() {
        None => Some(fut),
        Some(back) => {
            retry.extend(back);
            job_finished(inner, c);
            None
        }
    }
}

/// Finishes earlier queries of the connection while `fut` (a Parse, a COPY's start) is answered:
/// the line is held for it, but what was sent before must not wait.
async fn while_finishing<T>(
    inner: &Arc<Inner>,
    c: &Arc<Connection>,
    running: &mut Running,
    retry: &mut Vec<Query>,
    fut: impl Future<Output = T>,
) -> T {
    use futures_util::StreamExt;
    let mut fut = std::pin::pin!(fut);
    loop {
        tokio::select! {
            r = &mut fut => return r,
            Some(back) = running.next(), if !running.is_empty() => {
                retry.extend(back);
                job_finished(inner, c);
            }
        }
    }
}

/// The reported parameters as a PARAMETERS frame (the facade calls `onparameter` for changes).
pub fn parameters_frame(params: Vec<(String, String)>) -> Vec<u8> {
    let map: serde_json::Map<String, serde_json::Value> = params.into_iter().map(|(k, v)| (k, v.into())).collect();
    FrameWriter::json_frame(FrameKind::Parameters, &serde_json::Value::Object(map).to_string())
}

#[cfg(test)]
mod tests {
    use super::{SessionEnd, CUT, IN_ORDER};
    use crate::core::error::Error;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, AtomicU8};
    use std::sync::{Arc, Mutex};

    fn session(ended_by_server: bool) -> SessionEnd {
        SessionEnd {
            ended_by_server: Arc::new(AtomicBool::new(ended_by_server)),
            dead: AtomicBool::new(false),
            verdict: AtomicU8::new(0),
        }
    }

    /// Queries 0 (the oldest) and 1 (sent behind it) on a connection that closed under both: the oldest's
    /// FATAL decides for the one behind, whichever of them settles first.
    async fn behind_ran(fatal: &str, oldest_first: bool) -> (bool, bool, u8) {
        let end = session(false);
        let outstanding = Mutex::new(BTreeMap::from([(0u64, 10u32), (1, 11)]));
        let oldest = Error::closed(format!("connection closed by the server: bye ({fatal})"));
        let behind = Error::closed("connection closed");
        let (a, b) = if oldest_first {
            let a = end.never_ran(&oldest, 0, &outstanding).await;
            (a, end.never_ran(&behind, 1, &outstanding).await)
        } else {
            tokio::join!(end.never_ran(&oldest, 0, &outstanding), end.never_ran(&behind, 1, &outstanding))
        };
        assert!(end.is_dead(), "nothing more is sent on the session");
        (a, b, end.verdict.load(std::sync::atomic::Ordering::SeqCst))
    }

    #[tokio::test]
    async fn what_a_closed_connection_means_for_each_query() {
        for oldest_first in [true, false] {
            // The oldest was in flight: it may have run, whatever the FATAL.
            // Behind a FATAL of the session itself (57P01): it did not run.
            assert_eq!(behind_ran("57P01", oldest_first).await, (false, true, IN_ORDER));
            // Behind a close by the service in front (08006, the maximum connection age): it may have run.
            assert_eq!(behind_ran("08006", oldest_first).await, (false, false, CUT));
        }
        // A FATAL sent unasked (the session was idle): what was written after it never ran.
        let end = session(true);
        let outstanding = Mutex::new(BTreeMap::from([(0u64, 10u32)]));
        assert!(end.never_ran(&Error::closed("connection closed"), 0, &outstanding).await);
        // Without the oldest's verdict (e.g. it was a COPY), a query behind it fails as outcome-unknown.
        let end = session(false);
        let outstanding = Mutex::new(BTreeMap::from([(0u64, 10u32), (1, 11)]));
        assert!(!end.never_ran(&Error::closed("connection closed"), 1, &outstanding).await);
    }
}
