//! The connector core: no N-API here. Config → credentials → token → transport → pool → pg_text.
//!
//! Platform-neutral (always built, also for wasm32): config, error, command, pg_text, protocol, wire, ws.
//! Native only (feature `native`): credentials, token, transport (TCP, TLS, proxy, close_wait), the
//! runtime seam (runtime), the pool and its connections (pool), running queries (exec), the
//! completion queue (completions), COPY (copy).
#[cfg(feature = "native")]
pub mod close_wait;
pub mod command;
#[cfg(feature = "native")]
pub mod completions;
pub mod config;
#[cfg(feature = "native")]
pub mod copy;
#[cfg(feature = "native")]
pub mod credentials;
pub mod error;
#[cfg(feature = "native")]
pub mod exec;
#[cfg(test)]
pub mod generated;
pub mod pg_text;
#[cfg(feature = "native")]
pub mod pool;
pub mod protocol;
#[cfg(feature = "native")]
pub mod runtime;
#[cfg(feature = "native")]
pub mod token;
#[cfg(feature = "native")]
pub mod transport;
pub mod wire;
pub mod ws;

/// Locks `m`. A poisoned lock means a panic elsewhere; the data is still usable for the simple states
/// guarded here (every critical section leaves them consistent).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
