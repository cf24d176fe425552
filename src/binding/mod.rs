//! The N-API layer: thin `#[napi]` types that convert JS values and delegate to `crate::core`.
mod config;
mod credentials;
mod local;
mod pool;
mod token;

/// Turns a core error into a JS `Error` whose message is the JSON shape the facade rethrows as
/// `TypeError`, `RangeError`, `PostgresError` or a connection error.
pub(crate) fn to_napi(e: crate::core::error::Error) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, e.to_json().to_string())
}
