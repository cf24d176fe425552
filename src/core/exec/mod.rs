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
use crate::core::pool::{cancel_if_running, fail, job_finished, Connection, Inner};
use crate::core::protocol::{Flag, FrameKind};
use crate::core::transport;
use crate::core::wire::{FrameWriter, Query};
use futures_util::stream::FuturesUnordered;
use futures_util::FutureExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
    ended_by_server: Arc<AtomicBool>,
    next_seq: u64,
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
            ended_by_server: s.ended_by_server,
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
            if e.is_closed() && job.conn == 0 {
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
