//! A query through the extended protocol (Bind/Execute on a prepared or unnamed statement): its
//! rows framed in chunks as they arrive, a cursor's rows in batches the consumer asks for.

use super::bind::{param_type, EncodedParam, RawValue};
use super::statements::{column_meta, command_tag, Prepared};
use super::{parameters_frame, LiveSession, RunFuture, CHUNK_BYTES, YIELD_BYTES};
use crate::core::completions::CompletionQueue;
use crate::core::error::{Error, Result};
use crate::core::lock;
use crate::core::pg_text::{binary_to_js, Encoding};
use crate::core::pool::{after_cancellable, retire_if_dead, Connection, Counters, Inner};
use crate::core::protocol::Flag;
use crate::core::wire::{ColumnMeta, FrameWriter, Query};
use futures_util::TryStreamExt;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

/// The query as a future to launch: sends it, frames its result, and settles what a failure means
/// (a pool query that cannot have run comes back to run elsewhere).
pub(super) fn run(
    inner: &Arc<Inner>,
    s: &mut LiveSession,
    c: &Arc<Connection>,
    job: Query,
    prepared: Option<Arc<Prepared>>,
    text: bool,
    cursor: Option<Arc<Semaphore>>,
) -> RunFuture {
    let client = s.client.clone();
    let completions = inner.completions.clone();
    let owner = inner.clone();
    let conn = c.clone();
    let key = s.key;
    let seq = s.track(c, job.id);
    let outstanding = c.outstanding.clone();
    let end = s.end.clone();
    let parameters_now = super::simple::may_change_parameters(&job.sql).then(|| s.parameters_now.clone());
    Box::pin(async move {
        let mut w = FrameWriter::new(job.id);
        w.state = key;
        let result =
            frame_result(&client, &completions, &mut w, &job, prepared, text, &owner.opts.text_oids, cursor.as_deref())
                .await;
        if result.is_ok() {
            lock(&outstanding).remove(&seq);
        }
        after_cancellable(&owner, &conn, job.id);
        if cursor.is_some() {
            lock(&owner.cursors).remove(&job.id);
        }
        if let Err(mut e) = result {
            // The connection closed under the query. It never ran when the server had ended the
            // session before it was written (a FATAL sent unasked, while idle), or when it was sent
            // behind a query the session itself answered with a FATAL (see `SessionEnd::never_ran`):
            // then a pool query runs elsewhere. Otherwise it was written and got no answer: it may
            // have run, and fails as outcome-unknown rather than being run twice.
            if e.is_closed() {
                retire_if_dead(&conn, &e);
                let never_ran = end.never_ran(&e, seq, &outstanding).await;
                if never_ran && job.conn == 0 && !w.flushed() && !job.has(Flag::Cursor) {
                    Counters::add(&owner.counters.retried);
                    return Some(job);
                }
                if !never_ran {
                    e = e.closed_in_flight();
                }
            } else {
                lock(&outstanding).remove(&seq);
            }
            owner.counters.query_failed(&e);
            w.error(&e);
        } else if let Some(read) = parameters_now {
            // Before DONE, so onparameter has run when the SET resolves (as in postgres.js).
            completions.push(&parameters_frame(read()));
        }
        completions.push(&w.take());
        None
    })
}

#[allow(clippy::too_many_arguments)]
/// Runs the query and frames its columns, rows and completion into `w` (pushing chunks as they fill).
async fn frame_result(
    client: &Client,
    completions: &CompletionQueue,
    w: &mut FrameWriter,
    job: &Query,
    prepared: Option<Arc<Prepared>>,
    text: bool,
    text_oids: &[u32],
    cursor: Option<&Semaphore>,
) -> Result<()> {
    let params: Vec<EncodedParam> = job.params.iter().map(EncodedParam).collect();
    let as_sql = || params.iter().map(|p| p as &dyn ToSql);
    if job.has(Flag::Describe) {
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
                completions.push(&w.take());
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
            let raw: RawValue = row.try_get(i)?;
            match raw.0 {
                None => w.null(),
                Some(bytes) => w
                    .value_with(|out| binary_to_js(*oid, Encoding::from_byte(*enc), bytes, out))
                    .map_err(|e| Error::Other(e.0))?,
            }
        }
        if cursor.is_none() && w.buf.len() >= CHUNK_BYTES {
            // A large result's chunks go to JS as they are made, not when this task next yields.
            completions.push_now(&w.take());
            completions.room().await;
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
