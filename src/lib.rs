//! aurora-dsql-postgres: a native Node.js connector for Amazon Aurora DSQL.
//!
//! `core` is the connector (no N-API), `local` the local DSQL endpoint (server side, no N-API),
//! `binding` the thin `#[napi]` layer over both.
#[cfg(feature = "native")]
mod binding;
pub mod core;
#[cfg(feature = "native")]
pub mod local;

/// See the `mimalloc` feature in Cargo.toml.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
