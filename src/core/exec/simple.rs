//! A script through the simple protocol (several statements, values in text, no parameters).

use super::{parameters_frame, LiveSession, RunFuture, SessionEnd, CHUNK_BYTES};
use crate::core::command::command_of;
use crate::core::completions::CompletionQueue;
use crate::core::error::Result;
use crate::core::lock;
use crate::core::pg_text::Encoding;
use crate::core::pool::{after_cancellable, retire_if_dead, Connection, Counters, Inner};
use crate::core::transport;
use crate::core::wire::{ColumnMeta, FrameWriter, Query};
use futures_util::TryStreamExt;
use std::sync::Arc;
use tokio_postgres::Client;

/// The script as a future to launch.
pub(super) fn run(inner: &Arc<Inner>, s: &mut LiveSession, c: &Arc<Connection>, job: Query) -> RunFuture {
    let client = s.client.clone();
    let completions = inner.completions.clone();
    let (owner, conn) = (inner.clone(), c.clone());
    let key = s.key;
    let seq = s.track(c, job.id);
    let parameters_now = s.parameters_now.clone();
    let end = (s.end.clone(), seq);
    Box::pin(async move {
        let id = job.id;
        run_script(&client, &completions, &owner.counters, &conn, job, key, &parameters_now, &end).await;
        lock(&conn.outstanding).remove(&seq);
        after_cancellable(&owner, &conn, id);
        None
    })
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
#[allow(clippy::too_many_arguments)]
async fn run_script(
    client: &Client,
    completions: &CompletionQueue,
    counters: &Counters,
    conn: &Connection,
    job: Query,
    key: (i32, i32),
    parameters_now: &transport::ParameterReader,
    end: &(Arc<SessionEnd>, u64),
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
                    completions.push_now(&w.take());
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
        Err(mut e) => {
            retire_if_dead(conn, &e);
            // A script is never run again (it may have several statements), but one the connection
            // closed under in flight is marked outcome-unknown (see `SessionEnd::never_ran`).
            if e.is_closed() && !end.0.never_ran(&e, end.1, &conn.outstanding).await {
                e = e.closed_in_flight();
            }
            counters.query_failed(&e);
            w.error(&e)
        }
        Ok(()) => completions.push(&parameters_frame(parameters_now())),
    }
    completions.push(&w.take());
}

/// Whether a statement can change reported parameters (SET, RESET, DISCARD, or a transaction end
/// that reverts SET LOCAL). Only the first word is looked at, without allocating.
pub(super) fn may_change_parameters(sql: &str) -> bool {
    let word: &str = sql.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    ["set", "reset", "discard", "commit", "rollback", "end", "abort"].iter().any(|k| word.eq_ignore_ascii_case(k))
}

/// Splits a script at top-level semicolons (quotes, comments and dollar quotes respected); used to
/// name each statement's command and to describe its columns.
pub fn split_statements(sql: &str) -> Vec<String> {
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

    #[test]
    fn splits_scripts() {
        assert_eq!(
            split_statements("select 1; select ';'; create function f() as $x$ a; b $x$;"),
            vec!["select 1", "select ';'", "create function f() as $x$ a; b $x$"]
        );
        assert_eq!(split_statements("  "), Vec::<String>::new());
    }
}
