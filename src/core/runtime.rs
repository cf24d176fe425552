//! The runtime seam: everything the pool and its connections need from an async runtime, in one place.
//!
//! The pool, the connection drivers and the query executors ask only for what is here: spawning a
//! task, a monotonic clock with timers, and yielding. `tokio::sync` (channels, `Notify`, semaphores)
//! needs no runtime and is used directly; the byte stream to the server is the transport's
//! (`core::transport` for TCP/TLS and WebSocket). The native build runs on tokio's multi-thread
//! runtime; a single-threaded executor (a browser's event loop through wasm-bindgen-futures) can
//! provide the same functions.

use std::future::Future;

pub use tokio::task::JoinHandle;
pub use tokio::time::error::Elapsed;
pub use tokio::time::Instant;

/// Runs `task` in the background.
pub fn spawn<F>(task: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(task)
}

/// Resolves at `at`, or never when there is no deadline.
pub async fn sleep_until(at: Option<impl Into<Instant>>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// Resolves after `d`.
pub async fn sleep(d: std::time::Duration) {
    tokio::time::sleep(d).await
}

/// `fut`'s output, unless `deadline` passes first.
pub async fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Result<F::Output, Elapsed> {
    tokio::time::timeout_at(deadline, fut).await
}

/// `fut`'s output, unless `d` passes first.
pub async fn timeout<F: Future>(d: std::time::Duration, fut: F) -> Result<F::Output, Elapsed> {
    tokio::time::timeout(d, fut).await
}

/// Lets the runtime run other tasks (and poll the sockets) before this one goes on.
pub async fn yield_now() {
    tokio::task::yield_now().await
}
