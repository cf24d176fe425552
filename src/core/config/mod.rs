//! Options + URL + environment → a validated, resolved connection configuration.
//!
//! Rules follow the official `@aws/aurora-dsql-postgresjs-connector` (host or cluster id, region
//! from options, host name or `AWS_REGION`/`AWS_DEFAULT_REGION`, username `admin` by default, no
//! multi-host) and postgres.js (option names, `PG*` variables, pool defaults). Validation happens
//! here, before any network work, with errors that name the option and what was expected.
//!
//! - [`defaults`]: every option's default, limits, environment variables and URL source.
//! - [`resolve`](resolve()): option > URL > environment > default, one function per group of options.
//! - `env`: where environment variables come from ([`ProcessEnv`], the JS runtime's [`EnvOverlay`]).

pub mod defaults;
mod env;
mod host;
mod identity;
mod read;
mod resolve;
mod tls;
mod url;

pub use env::{Env, EnvOverlay, ProcessEnv};
pub use host::region_from_host;
pub use resolve::{resolve, resolve_with};

use std::net::IpAddr;
use std::time::Duration;

pub const PACKAGE_NAME: &str = "aurora-dsql-postgres";
pub const PACKAGE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Static credentials given as `customCredentialsProvider: { accessKeyId, ... }`.
#[derive(Clone, PartialEq)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Seconds since the epoch.
    pub expiration: Option<u64>,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets, not even in debug output.
        f.debug_struct("StaticCredentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tls {
    /// Plain TCP: only for `ssl: false` / `sslmode=disable` (Aurora DSQL itself requires TLS).
    Disabled,
    Enabled {
        /// Certificate chain and host name are checked unless `ssl: { rejectUnauthorized: false }`.
        verify: bool,
        /// PEM CA bundles given as `ssl.ca`; when present they replace the WebPKI roots (as Node's `tls` does).
        ca: Vec<String>,
        /// `sslnegotiation: 'direct'`: TLS first with ALPN `postgresql`, no SSLRequest round trip.
        direct: bool,
    },
}

/// How sessions reach the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// PostgreSQL over TCP (TLS via SSLRequest or direct TLS), port 5432 by default.
    Tcp,
    /// PostgreSQL protocol in the binary messages of a WebSocket (`wss://<host>:443`); `tls`
    /// applies to the WebSocket's TLS, and `HTTPS_PROXY` is honoured.
    WebSocket {
        /// `connectionCheck`: a `select 1` heartbeat (5 s deadline) before work on an idle connection.
        connection_check: bool,
    },
}

/// A resolved configuration; [`defaults`] has each field's default.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub transport: Transport,
    pub host: String,
    pub hostaddr: Option<IpAddr>,
    pub port: u16,
    pub region: String,
    pub database: String,
    pub username: String,
    pub application_name: String,
    /// Extra startup parameters from `connection` (sent as `options=-c k=v`).
    pub startup: Vec<(String, String)>,
    pub token_duration_secs: u64,
    pub profile: Option<String>,
    pub static_credentials: Option<StaticCredentials>,
    pub tls: Tls,
    pub max: usize,
    pub idle_timeout: Option<Duration>,
    /// Connections retire at a random age between these bounds (equal bounds: a fixed age).
    pub max_lifetime: Option<(Duration, Duration)>,
    pub connect_timeout: Duration,
    pub keep_alive: Option<Duration>,
    pub prepare: bool,
    /// The JS runtime's values of the environment variables Rust reads (see [`EnvOverlay`]); the
    /// transport (proxy variables) and the AWS credential chain read through it.
    pub env: EnvOverlay,
}

impl Config {
    /// Whether the token is an admin token (`DbConnectAdmin`).
    pub fn is_admin(&self) -> bool {
        self.username == defaults::ADMIN
    }
}
