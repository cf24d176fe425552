//! The connector core: no N-API here. Config → credentials → token → transport → pool → values.
pub mod command;
pub mod config;
pub mod credentials;
pub mod error;
pub mod pool;
pub mod token;
pub mod transport;
pub mod values;
pub mod wire;
pub mod ws;
