//! The N-API layer: thin `#[napi]` types that convert JS values and delegate to `crate::core`.
// `cargo test` builds no addon, so nothing calls the exported items there (the JS suite tests them).
#![cfg_attr(test, allow(dead_code))]
mod config;
mod credentials;
mod delivery;
mod local;
mod pool;
mod submit;
mod token;

/// Turns a core error into a JS `Error` whose message is the JSON shape the facade rethrows as
/// `TypeError`, `RangeError`, `PostgresError` or a connection error.
pub(crate) fn to_napi(e: crate::core::error::Error) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, e.to_json().to_string())
}

/// The tokio runtime behind every async call: one worker thread unless `TOKIO_WORKER_THREADS` says
/// otherwise (tokio reads it). One I/O thread beside the JS thread keeps a query's path to two
/// threads: a second worker adds cross-thread wake-ups to every query (figures in bench/NOTES.md).
#[napi_derive::module_init]
fn init() {
    // Runs once per env (each worker_threads Worker that loads the addon); napi keeps the first
    // runtime it was given, so later ones would only start and join a thread for nothing.
    static ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if ONCE.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(1);
    }
    // On failure napi's default runtime is used.
    if let Ok(rt) = builder.enable_all().thread_name("aurora-dsql-io").build() {
        napi::bindgen_prelude::create_custom_tokio_runtime(rt);
    }
}
