//! `resolveConfig`: validation and resolution of options (also used by the facade to throw
//! TypeError/RangeError before any connection work).
use super::to_napi;
use crate::core::config::{self, Config, EnvOverlay, Tls, Transport};
use napi_derive::napi;

/// The resolved, secret-free view of a configuration (`sql.options`).
#[napi(object)]
pub struct ResolvedOptions {
    /// `'tcp'` or `'websocket'`.
    pub transport: String,
    /// WebSocket `connectionCheck` (always false over TCP).
    pub connection_check: bool,
    pub host: String,
    pub hostaddr: Option<String>,
    pub port: u32,
    pub region: String,
    pub database: String,
    pub username: String,
    pub application_name: String,
    pub token_duration_secs: f64,
    pub profile: Option<String>,
    /// `'verify-full'`, `'no-verify'` or `'disable'`.
    pub ssl: String,
    pub sslnegotiation: String,
    pub max: u32,
    pub idle_timeout: Option<f64>,
    pub max_lifetime: Option<Vec<f64>>,
    pub connect_timeout: f64,
    pub prepare: bool,
    pub credentials: String,
}

pub(crate) fn view(c: &Config) -> ResolvedOptions {
    let (ssl, direct) = match &c.tls {
        Tls::Disabled => ("disable", false),
        Tls::Enabled { verify: true, direct, .. } => ("verify-full", *direct),
        Tls::Enabled { verify: false, direct, .. } => ("no-verify", *direct),
    };
    let (transport, connection_check) = match c.transport {
        Transport::Tcp => ("tcp", false),
        Transport::WebSocket { connection_check } => ("websocket", connection_check),
    };
    ResolvedOptions {
        transport: transport.into(),
        connection_check,
        host: c.host.clone(),
        hostaddr: c.hostaddr.map(|a| a.to_string()),
        port: c.port as u32,
        region: c.region.clone(),
        database: c.database.clone(),
        username: c.username.clone(),
        application_name: c.application_name.clone(),
        token_duration_secs: c.token_duration_secs as f64,
        profile: c.profile.clone(),
        ssl: ssl.into(),
        sslnegotiation: if direct { "direct".into() } else { "postgres".into() },
        max: c.max as u32,
        idle_timeout: c.idle_timeout.map(|d| d.as_secs_f64()),
        max_lifetime: c.max_lifetime.map(|(a, b)| vec![a.as_secs_f64(), b.as_secs_f64()]),
        connect_timeout: c.connect_timeout.as_secs_f64(),
        prepare: c.prepare,
        credentials: if c.static_credentials.is_some() { "static".into() } else { "default-chain".into() },
    }
}

/// `env`: the facade's values of the variables Rust reads (see [`EnvOverlay`]).
pub(crate) fn resolve(url: Option<String>, options: serde_json::Value, env: EnvOverlay) -> napi::Result<Config> {
    config::resolve_with(url.as_deref(), &options, env).map_err(to_napi)
}

/// Validates and resolves connection options (url optional) against the environment.
#[napi(ts_args_type = "url: string | undefined | null, options: Record<string, unknown>")]
pub fn resolve_config(url: Option<String>, options: serde_json::Value) -> napi::Result<ResolvedOptions> {
    resolve(url, options, EnvOverlay::default()).map(|c| view(&c))
}
