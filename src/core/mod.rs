//! The connector core: no N-API here. Config → credentials → token → transport → pool → pg_text.
//!
//! Platform-neutral (always built, also for wasm32): config, error, command, pg_text, wire, ws.
//! Native only (feature `native`): credentials, token, transport (TCP, TLS, proxy, close_wait), pool.
#[cfg(feature = "native")]
pub mod close_wait;
pub mod command;
pub mod config;
#[cfg(feature = "native")]
pub mod copy;
#[cfg(feature = "native")]
pub mod credentials;
pub mod error;
#[cfg(test)]
pub mod generated;
pub mod pg_text;
#[cfg(feature = "native")]
pub mod pool;
pub mod protocol;
#[cfg(feature = "native")]
pub mod token;
#[cfg(feature = "native")]
pub mod transport;
/// Old names of `pg_text` (see there).
pub mod values;
pub mod wire;
pub mod ws;
