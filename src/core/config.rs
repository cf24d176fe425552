//! Options + URL + environment → a validated, resolved connection configuration.
//!
//! Rules follow the official `@aws/aurora-dsql-postgresjs-connector` (host or cluster id, region
//! from options, host name or `AWS_REGION`/`AWS_DEFAULT_REGION`, username `admin` by default, no
//! multi-host) and postgres.js (option names, `PG*` variables, pool defaults). Validation happens
//! here, before any network work, with errors that name the option and what was expected.

use crate::core::error::{Error, Result};
use serde_json::{Map, Value};
use std::net::IpAddr;
use std::time::Duration;

pub const PACKAGE_NAME: &str = "aurora-dsql-postgres";
pub const PACKAGE_VERSION: &str = env!("CARGO_PKG_VERSION");
pub const DEFAULT_TOKEN_DURATION_SECS: u64 = 900;
pub const MAX_TOKEN_DURATION_SECS: u64 = 604_800;
/// Pool connections retire at a random age in this range (DSQL closes them at 60 minutes).
pub const DEFAULT_MAX_LIFETIME_SECS: (u64, u64) = (45 * 60, 55 * 60);

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
        self.username == "admin"
    }
}

/// Environment lookups are injected so that tests are hermetic.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnv;
impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// The values of environment variables as the JS runtime's `process.env` holds them, over the
/// process environment. Bun (and any runtime that does not write `process.env` through to the C
/// environment) keeps what is set at run time, `.env` files included, in `process.env` only, so the
/// facade passes the variables Rust reads (a fixed list of names) from `process.env` to the pool. A
/// name in the overlay takes its value from there (empty: unset); any other name comes from the
/// process environment. Values may be secrets: `Debug` shows the names only.
#[derive(Clone, Default, PartialEq)]
pub struct EnvOverlay(std::sync::Arc<std::collections::BTreeMap<String, String>>);

impl EnvOverlay {
    pub fn new(vars: impl IntoIterator<Item = (String, String)>) -> EnvOverlay {
        EnvOverlay(std::sync::Arc::new(vars.into_iter().collect()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the overlay holds this name (set or explicitly empty).
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The process environment with the overlay applied (an empty value removes the variable).
    pub fn merged(&self) -> std::collections::HashMap<String, String> {
        let mut all: std::collections::HashMap<String, String> =
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
        for (k, v) in self.0.iter() {
            if v.is_empty() {
                all.remove(k);
            } else {
                all.insert(k.clone(), v.clone());
            }
        }
        all
    }
}

impl std::fmt::Debug for EnvOverlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Env for EnvOverlay {
    fn var(&self, name: &str) -> Option<String> {
        match self.0.get(name) {
            Some(v) => Some(v.clone()).filter(|v| !v.is_empty()),
            None => ProcessEnv.var(name),
        }
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// What a connection URL contributes.
#[derive(Default, Debug)]
struct UrlParts {
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    database: Option<String>,
    params: Vec<(String, String)>,
}

fn parse_url(raw: &str) -> Result<UrlParts> {
    let rest = raw.strip_prefix("postgres://").or_else(|| raw.strip_prefix("postgresql://")).ok_or_else(|| {
        Error::type_error(format!("url must start with postgres:// or postgresql://, got '{}'", redact_url(raw)))
    })?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_part = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_part.contains(',') {
        return Err(Error::invalid("Multi-host connection strings are not supported for Aurora DSQL"));
    }
    let url = url::Url::parse(raw)
        .map_err(|e| Error::type_error(format!("url is not a valid connection URL ({e}): '{}'", redact_url(raw))))?;
    let mut parts = UrlParts::default();
    if let Some(h) = url.host_str().filter(|h| !h.is_empty()) {
        parts.host = Some(h.trim_start_matches('[').trim_end_matches(']').to_string());
    }
    parts.port = url.port();
    if !url.username().is_empty() {
        parts.user = Some(pct_decode(url.username()));
    }
    let path = url.path().trim_start_matches('/');
    if !path.is_empty() {
        parts.database = Some(pct_decode(path));
    }
    parts.params = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    Ok(parts)
}

fn pct_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// A URL with any password removed, for error messages.
fn redact_url(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &raw[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}@{}", &raw[..s + 3], user, &raw[at + 1..])
        }
        _ => raw.to_string(),
    }
}

/// Typed option readers that name the option in their errors.
struct Opts<'a>(&'a Map<String, Value>);

impl<'a> Opts<'a> {
    /// The first present, non-null option among `names`, with the name it was given under.
    fn get(&self, names: &[&'static str]) -> Option<(&'static str, &'a Value)> {
        names.iter().find_map(|n| self.0.get(*n).filter(|v| !v.is_null()).map(|v| (*n, v)))
    }

    fn string(&self, names: &[&'static str]) -> Result<Option<String>> {
        match self.get(names) {
            None => Ok(None),
            Some((_, Value::String(s))) => Ok(Some(s.clone())),
            Some((n, v)) => Err(Error::type_error(format!("{n} must be a string, got {}", describe(v)))),
        }
    }

    fn bool(&self, name: &'static str) -> Result<Option<bool>> {
        match self.get(&[name]) {
            None => Ok(None),
            Some((_, Value::Bool(b))) => Ok(Some(*b)),
            Some((n, v)) => Err(Error::type_error(format!("{n} must be a boolean, got {}", describe(v)))),
        }
    }

    /// A number (or numeric string, as env vars and URLs give) within `[min, max]`.
    fn number(&self, name: &'static str, min: f64, max: f64, integer: bool) -> Result<Option<f64>> {
        match self.get(&[name]) {
            None => Ok(None),
            Some((n, v)) => number_value(n, v, min, max, integer).map(Some),
        }
    }
}

fn number_value(name: &str, v: &Value, min: f64, max: f64, integer: bool) -> Result<f64> {
    let what = if integer { "an integer" } else { "a number" };
    let x = match v {
        Value::Number(x) => x.as_f64().unwrap_or(f64::NAN),
        Value::String(s) if !s.trim().is_empty() => s
            .trim()
            .parse::<f64>()
            .map_err(|_| Error::type_error(format!("{name} must be {what}, got {}", describe(v))))?,
        _ => return Err(Error::type_error(format!("{name} must be {what}, got {}", describe(v)))),
    };
    if !x.is_finite() || (integer && x.fract() != 0.0) {
        return Err(Error::type_error(format!(
            "{name} must be a finite {}, got {x}",
            if integer { "integer" } else { "number" }
        )));
    }
    if x < min || x > max {
        return Err(Error::range_error(format!("{name} must be between {min} and {max}, got {x}")));
    }
    Ok(x)
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string '{}'", s.chars().take(40).collect::<String>()),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Host names and cluster ids: letters, digits, dots and hyphens only (this also rules out
/// anything that could be smuggled into a URL, a SigV4 canonical request or a log line).
fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !h.starts_with(['.', '-'])
        && !h.contains("..")
}

/// The region in a DSQL host name: `\.dsql[^.]*\.([^.]+)\.on\.aws$` (PrivateLink hosts carry a suffix on `dsql`).
pub fn region_from_host(host: &str) -> Option<String> {
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    if n >= 5
        && labels[n - 1].eq_ignore_ascii_case("aws")
        && labels[n - 2].eq_ignore_ascii_case("on")
        && labels[n - 4].to_ascii_lowercase().starts_with("dsql")
        && !labels[n - 3].is_empty()
    {
        return Some(labels[n - 3].to_string());
    }
    None
}

/// [`resolve`] against the process environment with `env` over it; the configuration keeps `env`.
pub fn resolve_with(url: Option<&str>, options: &Value, env: EnvOverlay) -> Result<Config> {
    let mut cfg = resolve(url, options, &env)?;
    cfg.env = env;
    Ok(cfg)
}

/// Resolve `(url?, options)` against the environment.
pub fn resolve(url: Option<&str>, options: &Value, env: &dyn Env) -> Result<Config> {
    let empty = Map::new();
    let map = match options {
        Value::Object(m) => m,
        Value::Null => &empty,
        v => return Err(Error::type_error(format!("options must be an object, got {}", describe(v)))),
    };
    let o = Opts(map);
    let url = url.map(parse_url).transpose()?.unwrap_or_default();
    // URL query parameters fill options that were not given directly (postgres.js does the same).
    let mut merged = map.clone();
    for (k, v) in &url.params {
        let key = match k.as_str() {
            "sslmode" => "ssl",
            other => other,
        };
        merged.entry(key.to_string()).or_insert_with(|| Value::String(v.clone()));
    }
    let o2 = Opts(&merged);

    // Host: options > URL > PGHOST. Arrays and commas are multi-host.
    let host = match o.get(&["hostname", "host"]) {
        Some((_, Value::Array(_))) => {
            return Err(Error::invalid("Multi-host configurations are not supported for Aurora DSQL"))
        }
        Some((_, Value::String(s))) => Some(s.clone()),
        Some((n, v)) => return Err(Error::type_error(format!("{n} must be a string, got {}", describe(v)))),
        None => url.host.clone().or_else(|| env.var("PGHOST")),
    }
    .map(|h| h.trim().to_string())
    .filter(|h| !h.is_empty())
    .ok_or_else(|| Error::invalid("Host is required"))?;
    if host.contains(',') {
        return Err(Error::invalid("Multi-host configurations are not supported for Aurora DSQL"));
    }
    if !valid_host(&host) {
        return Err(Error::type_error(format!(
            "host must be a DSQL host name or cluster id (letters, digits, '.' and '-'), got '{}'",
            host.chars().take(80).collect::<String>()
        )));
    }

    let region_opt = o.string(&["region"])?;
    if let Some(r) = &region_opt {
        if r.is_empty() || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::type_error(format!("region must be an AWS region name like 'us-east-1', got '{r}'")));
        }
    }
    let env_region = || env.var("AWS_REGION").or_else(|| env.var("AWS_DEFAULT_REGION"));
    let (host, region) = if !host.contains('.') {
        // A cluster id.
        let region = region_opt
            .or_else(env_region)
            .ok_or_else(|| Error::invalid(format!("Region is not specified for cluster '{host}'")))?;
        (format!("{host}.dsql.{region}.on.aws"), region)
    } else {
        let region = region_opt.or_else(|| region_from_host(&host)).or_else(env_region).ok_or_else(|| {
            Error::invalid(format!("Region is not specified and could not be parsed from hostname: '{host}'"))
        })?;
        (host, region)
    };

    // `transport: 'websocket'` is set by auroraDSQLWsPostgres.
    let transport = match o.string(&["transport"])?.as_deref() {
        None | Some("tcp") => {
            if let Some((n, _)) = o.get(&["connectionCheck"]) {
                return Err(Error::type_error(format!(
                    "{n} is an option of auroraDSQLWsPostgres (the WebSocket connector)"
                )));
            }
            Transport::Tcp
        }
        Some("websocket") => Transport::WebSocket { connection_check: o.bool("connectionCheck")?.unwrap_or(false) },
        Some(other) => {
            return Err(Error::range_error(format!("transport must be 'tcp' or 'websocket', got '{other}'")))
        }
    };

    let port = match o.get(&["port"]) {
        Some((n, v)) => number_value(n, v, 1.0, 65535.0, true)? as u16,
        // The WebSocket endpoint is HTTPS: a URL's or PGPORT's port is PostgreSQL's, not the one to use.
        None if transport != Transport::Tcp => 443,
        None => match url.port {
            Some(p) => p,
            None => match env.var("PGPORT") {
                Some(p) => number_value("PGPORT", &Value::String(p), 1.0, 65535.0, true)? as u16,
                None => 5432,
            },
        },
    };

    let hostaddr = match o.string(&["hostaddr"])? {
        None => None,
        Some(a) => Some(
            a.parse::<IpAddr>()
                .map_err(|_| Error::type_error(format!("hostaddr must be an IPv4 or IPv6 address, got '{a}'")))?,
        ),
    };

    let database = o
        .string(&["database", "db"])?
        .or(url.database.clone())
        .or_else(|| env.var("PGDATABASE"))
        .unwrap_or_else(|| "postgres".into());
    let username = o
        .string(&["username", "user"])?
        .or(url.user.clone())
        .or_else(|| env.var("PGUSERNAME"))
        .or_else(|| env.var("PGUSER"))
        .unwrap_or_else(|| "admin".into());
    if username.is_empty() {
        return Err(Error::type_error("username must not be empty"));
    }

    let token_duration_secs = o
        .number("tokenDurationSecs", 1.0, MAX_TOKEN_DURATION_SECS as f64, true)?
        .map_or(DEFAULT_TOKEN_DURATION_SECS, |x| x as u64);
    let profile = o.string(&["profile"])?.or_else(|| env.var("AWS_PROFILE"));
    let static_credentials = static_credentials(map.get("customCredentialsProvider"))?;

    // connection: startup parameters; application_name gets our name appended.
    let mut startup = Vec::new();
    let mut app_prefix = None;
    match map.get("connection") {
        None | Some(Value::Null) => {}
        Some(Value::Object(c)) => {
            for (k, v) in c {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => continue,
                    other => {
                        return Err(Error::type_error(format!(
                            "connection.{k} must be a string, number or boolean, got {}",
                            describe(other)
                        )))
                    }
                };
                if !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') || k.is_empty() {
                    return Err(Error::type_error(format!("connection keys must be parameter names, got '{k}'")));
                }
                if k == "application_name" {
                    app_prefix = Some(v.trim().to_string()).filter(|s| !s.is_empty());
                } else {
                    startup.push((k.clone(), v));
                }
            }
        }
        Some(v) => return Err(Error::type_error(format!("connection must be an object, got {}", describe(v)))),
    }
    let base_app = format!("{PACKAGE_NAME}/{PACKAGE_VERSION}");
    let application_name = match app_prefix {
        Some(p) => format!("{p}:{base_app}"),
        None => base_app,
    };

    let tls = resolve_tls(&o2, env)?;

    let max = match o2.number("max", 1.0, 10_000.0, true)? {
        Some(x) => x as usize,
        None => env
            .var("PGMAX")
            .map(|v| number_value("PGMAX", &Value::String(v), 1.0, 10_000.0, true))
            .transpose()?
            .map_or(10, |x| x as usize),
    };
    let secs = |name: &'static str, env_name: &str, min: f64| -> Result<Option<f64>> {
        match o2.number(name, min, 1e9, false)? {
            Some(x) => Ok(Some(x)),
            None => env.var(env_name).map(|v| number_value(env_name, &Value::String(v), min, 1e9, false)).transpose(),
        }
    };
    let idle_timeout = secs("idle_timeout", "PGIDLE_TIMEOUT", 0.0)?.filter(|x| *x > 0.0).map(Duration::from_secs_f64);
    let max_lifetime = match secs("max_lifetime", "PGMAX_LIFETIME", 0.0)? {
        Some(x) if x > 0.0 => Some((Duration::from_secs_f64(x), Duration::from_secs_f64(x))),
        Some(_) => None,
        None => {
            Some((Duration::from_secs(DEFAULT_MAX_LIFETIME_SECS.0), Duration::from_secs(DEFAULT_MAX_LIFETIME_SECS.1)))
        }
    };
    let connect_timeout = Duration::from_secs_f64(secs("connect_timeout", "PGCONNECT_TIMEOUT", 0.001)?.unwrap_or(30.0));
    let keep_alive = match o2.get(&["keep_alive"]) {
        Some((_, Value::Bool(false))) => None,
        Some((n, v)) => Some(Duration::from_secs_f64(number_value(n, v, 1.0, 1e6, false)?)),
        None => Some(Duration::from_secs(60)),
    };
    let prepare = o2.bool("prepare")?.unwrap_or(true);

    Ok(Config {
        transport,
        host,
        hostaddr,
        port,
        region,
        database,
        username,
        application_name,
        startup,
        token_duration_secs,
        profile,
        static_credentials,
        tls,
        max,
        idle_timeout,
        max_lifetime,
        connect_timeout,
        keep_alive,
        prepare,
        env: EnvOverlay::default(),
    })
}

/// The CA bundle named by `sslrootcert` (option or URL parameter) or `PGSSLROOTCERT`, as libpq reads
/// them: a PEM file's path; `system` (or nothing) means the default roots.
fn root_certificates(o: &Opts, env: &dyn Env) -> Result<Vec<String>> {
    let path = match o.string(&["sslrootcert"])? {
        Some(p) => Some(p),
        None => env.var("PGSSLROOTCERT"),
    };
    match path.as_deref() {
        None | Some("") | Some("system") => Ok(vec![]),
        Some(p) => match std::fs::read_to_string(p) {
            Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => Ok(vec![pem]),
            Ok(_) => Err(Error::type_error(format!(
                "sslrootcert (or PGSSLROOTCERT) must name a PEM file of certificates: '{p}' holds none"
            ))),
            Err(e) => Err(Error::invalid(format!("sslrootcert (or PGSSLROOTCERT): cannot read '{p}': {e}"))),
        },
    }
}

fn resolve_tls(o: &Opts, env: &dyn Env) -> Result<Tls> {
    let direct = match o.string(&["sslnegotiation"])?.as_deref() {
        None | Some("postgres") => false,
        Some("direct") => true,
        Some(other) => {
            return Err(Error::range_error(format!("sslnegotiation must be 'postgres' or 'direct', got '{other}'")))
        }
    };
    let verified = |ca: Vec<String>| Tls::Enabled { verify: true, ca, direct };
    let roots = || root_certificates(o, env);
    match o.get(&["ssl"]) {
        None => Ok(verified(roots()?)),
        Some((_, Value::Bool(true))) => Ok(verified(roots()?)),
        Some((_, Value::Bool(false))) => Ok(Tls::Disabled),
        Some((_, Value::String(s))) => match s.as_str() {
            // postgres.js turns 'require'/'prefer'/'allow' into unverified TLS; we verify (documented).
            "require" | "verify-full" | "verify-ca" | "prefer" | "allow" => Ok(verified(roots()?)),
            "disable" => Ok(Tls::Disabled),
            other => Err(Error::range_error(format!(
                "ssl must be a boolean, an object or one of 'require', 'verify-full', 'disable', got '{other}'"
            ))),
        },
        Some((_, Value::Object(m))) => {
            let verify = match m.get("rejectUnauthorized") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(b)) => *b,
                Some(v) => {
                    return Err(Error::type_error(format!(
                        "ssl.rejectUnauthorized must be a boolean, got {}",
                        describe(v)
                    )))
                }
            };
            let ca = match m.get("ca") {
                None | Some(Value::Null) => roots()?,
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_string).ok_or_else(|| {
                            Error::type_error("ssl.ca must be a PEM string, a Buffer or an array of them")
                        })
                    })
                    .collect::<Result<_>>()?,
                Some(v) => {
                    return Err(Error::type_error(format!(
                        "ssl.ca must be a PEM string, a Buffer or an array of them, got {}",
                        describe(v)
                    )))
                }
            };
            for pem in &ca {
                if !pem.contains("-----BEGIN CERTIFICATE-----") {
                    return Err(Error::type_error(
                        "ssl.ca must contain PEM certificates (-----BEGIN CERTIFICATE-----)",
                    ));
                }
            }
            Ok(Tls::Enabled { verify, ca, direct })
        }
        Some((n, v)) => {
            Err(Error::type_error(format!("{n} must be a boolean, an object or a string, got {}", describe(v))))
        }
    }
}

fn static_credentials(v: Option<&Value>) -> Result<Option<StaticCredentials>> {
    let m = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(v) => {
            return Err(Error::type_error(format!(
            "customCredentialsProvider must be a function or an object with accessKeyId and secretAccessKey, got {}",
            describe(v)
        )))
        }
    };
    let s = |k: &str, required: bool| -> Result<Option<String>> {
        match m.get(k) {
            None | Some(Value::Null) if !required => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            _ => Err(Error::type_error(format!("customCredentialsProvider.{k} must be a non-empty string"))),
        }
    };
    let expiration = match m.get("expiration") {
        None | Some(Value::Null) => None,
        Some(v) => Some(number_value("customCredentialsProvider.expiration", v, 0.0, 1e13, false)? as u64),
    };
    Ok(Some(StaticCredentials {
        access_key_id: s("accessKeyId", true)?.unwrap_or_default(),
        secret_access_key: s("secretAccessKey", true)?.unwrap_or_default(),
        session_token: s("sessionToken", false)?,
        expiration,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    const CLUSTER: &str = "abcdefghijklmnopqrstuvwxyz";

    #[test]
    fn host_region_and_defaults() {
        let none = env_of(&[]);
        // (url, options, env, expected host, region, user, database) — one row per rule.
        type Row = (
            Option<&'static str>,
            Value,
            &'static [(&'static str, &'static str)],
            &'static str,
            &'static str,
            &'static str,
            &'static str,
        );
        let rows: Vec<Row> = vec![
            (
                None,
                json!({"host": "c1.dsql.us-east-1.on.aws"}),
                &[],
                "c1.dsql.us-east-1.on.aws",
                "us-east-1",
                "admin",
                "postgres",
            ),
            (
                None,
                json!({"hostname": "c1.dsql.eu-west-1.on.aws", "host": "ignored.dsql.us-east-1.on.aws"}),
                &[],
                "c1.dsql.eu-west-1.on.aws",
                "eu-west-1",
                "admin",
                "postgres",
            ),
            (
                None,
                json!({"host": "c1.dsql-fnh4.ap-south-1.on.aws"}),
                &[],
                "c1.dsql-fnh4.ap-south-1.on.aws",
                "ap-south-1",
                "admin",
                "postgres",
            ),
            (
                None,
                json!({"host": CLUSTER, "region": "us-west-2"}),
                &[],
                "abcdefghijklmnopqrstuvwxyz.dsql.us-west-2.on.aws",
                "us-west-2",
                "admin",
                "postgres",
            ),
            (
                None,
                json!({"host": CLUSTER}),
                &[("AWS_REGION", "eu-central-1")],
                "abcdefghijklmnopqrstuvwxyz.dsql.eu-central-1.on.aws",
                "eu-central-1",
                "admin",
                "postgres",
            ),
            (
                None,
                json!({"host": CLUSTER}),
                &[("AWS_DEFAULT_REGION", "sa-east-1")],
                "abcdefghijklmnopqrstuvwxyz.dsql.sa-east-1.on.aws",
                "sa-east-1",
                "admin",
                "postgres",
            ),
            (
                None,
                json!({"host": CLUSTER}),
                &[("AWS_REGION", "r1"), ("AWS_DEFAULT_REGION", "r2")],
                "abcdefghijklmnopqrstuvwxyz.dsql.r1.on.aws",
                "r1",
                "admin",
                "postgres",
            ),
            (
                None,
                json!({"host": "c1.dsql.us-east-1.on.aws", "region": "us-east-2"}),
                &[],
                "c1.dsql.us-east-1.on.aws",
                "us-east-2",
                "admin",
                "postgres",
            ),
            (
                None,
                json!({"host": "db.example.com"}),
                &[("AWS_REGION", "us-east-1")],
                "db.example.com",
                "us-east-1",
                "admin",
                "postgres",
            ),
            (
                None,
                json!({}),
                &[("PGHOST", "c2.dsql.us-east-1.on.aws"), ("PGUSERNAME", "bob"), ("PGDATABASE", "d")],
                "c2.dsql.us-east-1.on.aws",
                "us-east-1",
                "bob",
                "d",
            ),
            (
                None,
                json!({}),
                &[("PGHOST", "c2.dsql.us-east-1.on.aws"), ("PGUSER", "carol")],
                "c2.dsql.us-east-1.on.aws",
                "us-east-1",
                "carol",
                "postgres",
            ),
            (
                None,
                json!({"host": "c1.dsql.us-east-1.on.aws", "user": "u1", "db": "d1"}),
                &[("PGUSERNAME", "x")],
                "c1.dsql.us-east-1.on.aws",
                "us-east-1",
                "u1",
                "d1",
            ),
            (
                None,
                json!({"host": "c1.dsql.us-east-1.on.aws", "username": "u2", "user": "u1", "database": "d2"}),
                &[],
                "c1.dsql.us-east-1.on.aws",
                "us-east-1",
                "u2",
                "d2",
            ),
            (
                Some("postgres://alice@c3.dsql.us-east-2.on.aws/mydb"),
                json!({}),
                &[],
                "c3.dsql.us-east-2.on.aws",
                "us-east-2",
                "alice",
                "mydb",
            ),
            (
                Some("postgresql://c3.dsql.us-east-2.on.aws"),
                json!({"username": "bob"}),
                &[("PGHOST", "other")],
                "c3.dsql.us-east-2.on.aws",
                "us-east-2",
                "bob",
                "postgres",
            ),
            (
                Some("postgres://alice:pw@c3.dsql.us-east-2.on.aws:5433/db"),
                json!({"host": "c4.dsql.us-west-1.on.aws", "database": "o"}),
                &[],
                "c4.dsql.us-west-1.on.aws",
                "us-west-1",
                "alice",
                "o",
            ),
        ];
        for (url, opts, env, host, region, user, db) in rows {
            let e = env_of(env);
            let c = resolve(url, &opts, &e).unwrap_or_else(|e| panic!("{opts} {url:?}: {e}"));
            assert_eq!(
                (c.host.as_str(), c.region.as_str(), c.username.as_str(), c.database.as_str()),
                (host, region, user, db),
                "{opts} {url:?}"
            );
        }
        let c = resolve(None, &json!({"host": "c1.dsql.us-east-1.on.aws"}), &none).unwrap();
        assert_eq!(c.port, 5432);
        assert_eq!(c.max, 10);
        assert_eq!(c.token_duration_secs, 900);
        assert_eq!(c.connect_timeout, Duration::from_secs(30));
        assert!(c.prepare);
        assert_eq!(c.tls, Tls::Enabled { verify: true, ca: vec![], direct: false });
        assert_eq!(c.application_name, format!("aurora-dsql-postgres/{PACKAGE_VERSION}"));
        let (lo, hi) = c.max_lifetime.unwrap();
        assert!(lo >= Duration::from_secs(30 * 60) && hi < Duration::from_secs(3600));
    }

    #[test]
    fn errors_match_the_official_connector() {
        let none = env_of(&[]);
        let rows: Vec<(Option<&str>, Value, &str)> = vec![
            (None, json!({}), "Host is required"),
            (
                None,
                json!({"host": ["a.dsql.us-east-1.on.aws", "b.dsql.us-east-1.on.aws"]}),
                "Multi-host configurations are not supported for Aurora DSQL",
            ),
            (
                None,
                json!({"host": "a.dsql.us-east-1.on.aws,b.dsql.us-east-1.on.aws"}),
                "Multi-host configurations are not supported for Aurora DSQL",
            ),
            (
                Some("postgres://admin@a.dsql.us-east-1.on.aws,b.dsql.us-east-1.on.aws/postgres"),
                json!({}),
                "Multi-host connection strings are not supported for Aurora DSQL",
            ),
            (None, json!({"host": CLUSTER}), "Region is not specified for cluster 'abcdefghijklmnopqrstuvwxyz'"),
            (
                None,
                json!({"host": "db.example.com"}),
                "Region is not specified and could not be parsed from hostname: 'db.example.com'",
            ),
        ];
        for (url, opts, msg) in rows {
            let err = resolve(url, &opts, &none).unwrap_err();
            assert_eq!(err.to_string(), msg, "{opts}");
            assert!(matches!(err, Error::Config { kind: crate::core::error::ConfigErrorKind::Invalid, .. }));
        }
    }

    #[test]
    fn bad_types_and_ranges_name_the_option() {
        let none = env_of(&[]);
        let base = |extra: Value| {
            let mut m = json!({"host": "c1.dsql.us-east-1.on.aws"});
            for (k, v) in extra.as_object().unwrap() {
                m[k] = v.clone();
            }
            m
        };
        use crate::core::error::ConfigErrorKind::{Range, Type};
        let rows: Vec<(Value, crate::core::error::ConfigErrorKind, &str)> = vec![
            (json!({"port": "abc"}), Type, "port"),
            (json!({"port": 70000}), Range, "port"),
            (json!({"port": 1.5}), Type, "port"),
            (json!({"max": 0}), Range, "max"),
            (json!({"max": "x"}), Type, "max"),
            (json!({"tokenDurationSecs": 0}), Range, "tokenDurationSecs"),
            (json!({"tokenDurationSecs": 604801}), Range, "tokenDurationSecs"),
            (json!({"tokenDurationSecs": "1h"}), Type, "tokenDurationSecs"),
            (json!({"username": 5}), Type, "username"),
            (json!({"database": true}), Type, "database"),
            (json!({"region": "us east"}), Type, "region"),
            (json!({"ssl": "sometimes"}), Range, "ssl"),
            (json!({"ssl": 3}), Type, "ssl"),
            (json!({"ssl": {"rejectUnauthorized": "no"}}), Type, "ssl.rejectUnauthorized"),
            (json!({"ssl": {"ca": "not a pem"}}), Type, "ssl.ca"),
            (json!({"sslnegotiation": "tls"}), Range, "sslnegotiation"),
            (json!({"hostaddr": "localhost"}), Type, "hostaddr"),
            (json!({"connect_timeout": -1}), Range, "connect_timeout"),
            (json!({"idle_timeout": "soon"}), Type, "idle_timeout"),
            (json!({"prepare": "yes"}), Type, "prepare"),
            (json!({"connection": "x"}), Type, "connection"),
            (
                json!({"customCredentialsProvider": {"accessKeyId": "a"}}),
                Type,
                "customCredentialsProvider.secretAccessKey",
            ),
            (json!({"customCredentialsProvider": 7}), Type, "customCredentialsProvider"),
            (json!({"host": "evil.com/?x=1"}), Type, "host"),
            (json!({"host": "a b.dsql.us-east-1.on.aws"}), Type, "host"),
            (json!({"host": 42}), Type, "host"),
        ];
        for (extra, kind, name) in rows {
            let opts = base(extra.clone());
            match resolve(None, &opts, &none) {
                Err(Error::Config { kind: k, message }) => {
                    assert_eq!(k, kind, "{extra}: {message}");
                    assert!(message.starts_with(name), "{extra}: '{message}' should name {name}");
                }
                other => panic!("{extra}: expected a config error, got {other:?}"),
            }
        }
        assert!(matches!(resolve(None, &json!("x"), &none), Err(Error::Config { .. })));
    }

    #[test]
    fn tls_application_name_and_pool_options() {
        let none = env_of(&[]);
        let c = resolve(None, &json!({"host": "c1.dsql.us-east-1.on.aws", "ssl": {"rejectUnauthorized": false}, "sslnegotiation": "direct", "connection": {"application_name": " prisma ", "search_path": "s"}, "max": 3, "idle_timeout": 5, "max_lifetime": 60, "connect_timeout": 2, "hostaddr": "127.0.0.1", "prepare": false}), &none).unwrap();
        assert_eq!(c.tls, Tls::Enabled { verify: false, ca: vec![], direct: true });
        assert_eq!(c.application_name, format!("prisma:aurora-dsql-postgres/{PACKAGE_VERSION}"));
        assert_eq!(c.startup, vec![("search_path".to_string(), "s".to_string())]);
        assert_eq!(
            (c.max, c.idle_timeout, c.connect_timeout),
            (3, Some(Duration::from_secs(5)), Duration::from_secs(2))
        );
        assert_eq!(c.max_lifetime, Some((Duration::from_secs(60), Duration::from_secs(60))));
        assert_eq!(c.hostaddr, Some("127.0.0.1".parse().unwrap()));
        assert!(!c.prepare);
        let c = resolve(
            None,
            &json!({"host": "c1.dsql.us-east-1.on.aws", "connection": {"application_name": "  "}, "ssl": "require"}),
            &none,
        )
        .unwrap();
        assert_eq!(c.application_name, format!("aurora-dsql-postgres/{PACKAGE_VERSION}"));
        assert_eq!(c.tls, Tls::Enabled { verify: true, ca: vec![], direct: false }, "'require' stays verified");
        let c = resolve(Some("postgres://c1.dsql.us-east-1.on.aws/?sslmode=disable&max=4"), &json!({}), &none).unwrap();
        assert_eq!((c.tls.clone(), c.max), (Tls::Disabled, 4));
        let env = env_of(&[
            ("PGMAX", "7"),
            ("PGIDLE_TIMEOUT", "9"),
            ("PGCONNECT_TIMEOUT", "3"),
            ("PGPORT", "6543"),
            ("AWS_PROFILE", "p1"),
        ]);
        let c = resolve(None, &json!({"host": "c1.dsql.us-east-1.on.aws"}), &env).unwrap();
        assert_eq!(
            (c.max, c.idle_timeout, c.connect_timeout, c.port, c.profile.as_deref()),
            (7, Some(Duration::from_secs(9)), Duration::from_secs(3), 6543, Some("p1"))
        );
        let c = resolve(None, &json!({"host": "c1.dsql.us-east-1.on.aws", "profile": "p2", "customCredentialsProvider": {"accessKeyId": "AK", "secretAccessKey": "SK", "sessionToken": "ST"}}), &env).unwrap();
        assert_eq!(c.profile.as_deref(), Some("p2"));
        let creds = c.static_credentials.unwrap();
        assert_eq!(creds.session_token.as_deref(), Some("ST"));
        assert!(!format!("{creds:?}").contains("SK"), "debug output must not show the secret");
    }

    #[test]
    fn root_certificates_from_sslrootcert_or_pgsslrootcert() {
        let dir = std::env::temp_dir().join(format!("adp-rootcert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = dir.join("ca.pem");
        std::fs::write(&pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").unwrap();
        let junk = dir.join("junk.txt");
        std::fs::write(&junk, "not a certificate").unwrap();
        let path = pem.to_str().unwrap().to_string();
        let ca_of = |c: Config| match c.tls {
            Tls::Enabled { ca, .. } => ca,
            Tls::Disabled => panic!("TLS expected"),
        };
        let host = "c1.dsql.us-east-1.on.aws";
        let env_path: &'static str = Box::leak(path.clone().into_boxed_str());
        let env = env_of(Box::leak(Box::new([("PGSSLROOTCERT", env_path)])));
        // PGSSLROOTCERT applies to verified TLS without an explicit ca, in every form of `ssl`.
        for ssl in [json!(null), json!(true), json!("require"), json!("prefer"), json!({"rejectUnauthorized": true})] {
            let mut o = json!({"host": host});
            if !ssl.is_null() {
                o["ssl"] = ssl;
            }
            assert_eq!(ca_of(resolve(None, &o, &env).unwrap()).len(), 1);
        }
        // An explicit ca wins; `sslrootcert` (option or URL) wins over the environment; `system` means none.
        let given =
            ca_of(resolve(None, &json!({"host": host, "ssl": {"ca": "-----BEGIN CERTIFICATE-----x"}}), &env).unwrap());
        assert_eq!(given, vec!["-----BEGIN CERTIFICATE-----x".to_string()]);
        assert!(ca_of(resolve(None, &json!({"host": host, "sslrootcert": "system"}), &env).unwrap()).is_empty());
        assert_eq!(
            ca_of(resolve(Some(&format!("postgres://{host}/?sslrootcert={path}")), &json!({}), &env_of(&[])).unwrap())
                .len(),
            1
        );
        // A file that is not PEM, or is missing, is an error naming the option.
        let err =
            resolve(None, &json!({"host": host, "sslrootcert": junk.to_str().unwrap()}), &env_of(&[])).unwrap_err();
        assert!(err.to_string().contains("sslrootcert"), "{err}");
        let err =
            resolve(None, &json!({"host": host, "sslrootcert": "/nonexistent/ca.pem"}), &env_of(&[])).unwrap_err();
        assert!(err.to_string().contains("sslrootcert"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn an_overlay_of_runtime_variables_comes_before_the_process_environment() {
        let overlay = EnvOverlay::new(
            [
                ("PGHOST", "c9.dsql.eu-west-1.on.aws"),
                ("PGUSER", "app"),
                ("PGPORT", ""),
                ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let c = resolve_with(None, &json!({}), overlay.clone()).unwrap();
        assert_eq!(
            (c.host.as_str(), c.region.as_str(), c.username.as_str(), c.port),
            ("c9.dsql.eu-west-1.on.aws", "eu-west-1", "app", 5432),
            "an empty value is unset"
        );
        assert_eq!(c.env, overlay, "the configuration keeps the overlay for the transport and the credential chain");
        assert_eq!(overlay.var("AWS_SECRET_ACCESS_KEY").as_deref(), Some("s3cr3t"));
        assert!(!format!("{c:?}").contains("s3cr3t"), "debug output shows the names only");
        assert!(!overlay.merged().contains_key("PGPORT"), "an empty value removes the variable");
    }

    #[test]
    fn url_errors_do_not_echo_passwords() {
        let none = env_of(&[]);
        let err = resolve(Some("mysql://u:hunter2@h/db"), &json!({}), &none).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
