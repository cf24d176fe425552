//! Starting a COPY on a connection (the copy itself, moving data between the server and a Node
//! stream, is `core::copy`).

use super::{while_finishing, LiveSession, RunFuture, Running};
use crate::core::copy;
use crate::core::lock;
use crate::core::pool::{job_finished, retire_if_dead, Connection, Inner};
use crate::core::runtime;
use crate::core::wire::{FrameWriter, Query};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A COPY (see `core::copy`): holds the line until the server has entered copy mode (or failed the
/// statement), finishing earlier queries meanwhile; then the copy runs as this connection's running
/// work, and until it ends other queries sent here fail with COPY_IN_PROGRESS.
pub(super) async fn start(
    inner: &Arc<Inner>,
    s: &mut LiveSession,
    running: &mut Running,
    retry: &mut Vec<Query>,
    c: &Arc<Connection>,
    job: Query,
    direction: copy::Direction,
) -> Option<RunFuture> {
    let completions = inner.completions.clone();
    c.copying.store(job.id, Ordering::SeqCst);
    let seq = s.track(c, job.id);
    let client = s.client.clone();
    let sql = job.sql.clone();
    let start = async move { copy::start(&client, &sql, direction).await };
    let started = while_finishing(inner, c, running, retry, start).await;
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
                    runtime::sleep(Duration::from_millis(5)).await;
                }
                c.retire();
            }
            let _ = c.copying.compare_exchange(job.id, 0, Ordering::SeqCst, Ordering::SeqCst);
            lock(&c.outstanding).remove(&seq);
            retire_if_dead(c, &e);
            inner.counters.query_failed(&e);
            w.error(&e);
            completions.push(&w.take());
            job_finished(inner, c);
            return None;
        }
    };
    let ops = inner.copies.open(job.id, c.copying.clone(), direction);
    completions.push(&copy::started_frame(job.id, direction));
    let outstanding = c.outstanding.clone();
    let owner = inner.clone();
    let fut: RunFuture = Box::pin(async move {
        if let Some(e) = copy::run(started, ops, &completions, &mut w).await {
            owner.counters.query_failed(&e);
        }
        lock(&outstanding).remove(&seq);
        None
    });
    super::launch(inner, c, fut, retry)
}
