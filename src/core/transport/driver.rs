//! The connection task of one session: it drives tokio-postgres's `Connection`, forwards notices,
//! keeps the reported parameters readable, and reports how the session ended.

use super::NoticeHandler;
use crate::core::error::{DbError, Error};
use futures_util::StreamExt;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::AsyncMessage;

/// Server parameters reported at startup (postgres.js's `sql.parameters`).
const REPORTED: [&str; 11] = [
    "application_name",
    "client_encoding",
    "DateStyle",
    "integer_datetimes",
    "IntervalStyle",
    "is_superuser",
    "server_encoding",
    "server_version",
    "session_authorization",
    "standard_conforming_strings",
    "TimeZone",
];
/// Reads the session's reported parameters. ParameterStatus arrives before the ReadyForQuery that
/// ends a query's response, so after a query finished this includes what it changed.
pub type ParameterReader = Arc<dyn Fn() -> Vec<(String, String)> + Send + Sync>;

pub(super) type ClosedSender = tokio::sync::oneshot::Sender<Option<Error>>;

/// Spawns the connection task; the connection sits in a mutex so its parameters stay readable.
pub(super) fn spawn_driver<S, T>(
    conn: tokio_postgres::Connection<S, T>,
    on_notice: Option<NoticeHandler>,
    closed: ClosedSender,
    ended_by_server: Arc<std::sync::atomic::AtomicBool>,
) -> (tokio::task::AbortHandle, ParameterReader)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = Arc::new(std::sync::Mutex::new(Some(conn)));
    // Weak: only the connection task owns the connection, so ending or aborting the task drops it
    // (and fails what is still queued on it).
    let shared = Arc::downgrade(&conn);
    let reader: ParameterReader = Arc::new(move || {
        let Some(conn) = shared.upgrade() else { return Vec::new() };
        let guard = conn.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(c) => REPORTED.iter().filter_map(|k| c.parameter(k).map(|v| (k.to_string(), v.to_string()))).collect(),
            None => Vec::new(),
        }
    });
    let task = tokio::spawn(drive(conn, on_notice, closed, ended_by_server)).abort_handle();
    (task, reader)
}
/// Runs the connection, forwarding notices, until it closes.
async fn drive<S, T>(
    conn: Arc<std::sync::Mutex<Option<tokio_postgres::Connection<S, T>>>>,
    on_notice: Option<NoticeHandler>,
    closed: ClosedSender,
    ended_by_server: Arc<std::sync::atomic::AtomicBool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let slot = conn.clone();
    let mut messages =
        futures_util::stream::poll_fn(move |cx| match slot.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(c) => c.poll_message(cx),
            None => std::task::Poll::Ready(None),
        });
    let mut end = None;
    while let Some(m) = messages.next().await {
        match m {
            Ok(AsyncMessage::Notice(n)) => {
                if let Some(f) = &on_notice {
                    f(DbError::from(&n));
                }
            }
            Ok(_) => {}
            Err(e) => {
                if e.as_db_error().is_some() {
                    ended_by_server.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                end = Some(Error::from(e));
                break;
            }
        }
    }
    // Drop the connection now (the parameter reader shares it): requests still queued on it fail
    // at once instead of waiting for answers that cannot come.
    drop(messages);
    conn.lock().unwrap_or_else(|e| e.into_inner()).take();
    let _ = closed.send(end);
}
