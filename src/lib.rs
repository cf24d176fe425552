//! aurora-dsql-postgres: a native Node.js connector for Amazon Aurora DSQL.
//!
//! `core` is the connector (no N-API), `local` the local DSQL endpoint (server side, no N-API),
//! `binding` the thin `#[napi]` layer over both.
pub mod core;
#[cfg(feature = "native")]
pub mod local;
#[cfg(feature = "native")]
mod binding;

/// See the `mimalloc` feature in Cargo.toml.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
