//! `query.cancel()`: a query not sent yet never runs; a running one gets a CancelRequest; one
//! pipelined behind another is cancelled when its turn comes (a CancelRequest cancels whatever the
//! backend runs at that moment).

use super::conn::Conn;
use super::Inner;
use crate::core::lock;
use crate::core::runtime::{self, JoinHandle};
use crate::core::transport;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Queries `cancel()`ed whose CancelRequest is not sent yet (they wait to be the one running).
#[derive(Default)]
pub(crate) struct Cancellations {
    ids: Mutex<HashSet<u32>>,
    /// Whether there are any, so the hot path only reads an atomic.
    any: AtomicBool,
}

impl Cancellations {
    pub(super) fn insert(&self, id: u32) {
        lock(&self.ids).insert(id);
        self.any.store(true, Ordering::SeqCst);
    }

    /// Whether any query waits to be cancelled.
    pub(crate) fn any(&self) -> bool {
        self.any.load(Ordering::SeqCst)
    }

    /// Removes `id`; whether it was there.
    pub(crate) fn take(&self, id: u32) -> bool {
        let mut ids = lock(&self.ids);
        let was = ids.remove(&id);
        if ids.is_empty() {
            self.any.store(false, Ordering::SeqCst);
        }
        was
    }
}

/// After a query on `c` finished: forget a cancel that came too late, and cancel the next query
/// if it was cancelled while waiting behind this one.
pub(crate) fn after_cancellable(inner: &Arc<Inner>, c: &Arc<Conn>, id: u32) {
    if inner.cancelled.any() {
        inner.cancelled.take(id);
        cancel_if_running(inner, c);
    }
}

/// Sends a CancelRequest when the query `c` is running now (its oldest outstanding one) was
/// cancelled. Returns the sending task.
pub(crate) fn cancel_if_running(inner: &Arc<Inner>, c: &Arc<Conn>) -> Option<JoinHandle<()>> {
    if !inner.cancelled.any() {
        return None;
    }
    let first = lock(&c.outstanding).first_key_value().map(|(_, id)| *id)?;
    if !inner.cancelled.take(first) {
        return None;
    }
    let token = c.cancel_token.get()?.clone();
    let inner = inner.clone();
    Some(runtime::spawn(async move {
        // Best effort, as in postgres.js: the query then fails with the server's 57014.
        let _ = transport::cancel(&inner.cfg, &inner.connector, &token).await;
    }))
}
