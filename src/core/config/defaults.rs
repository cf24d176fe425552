//! Every option's default, limits, environment variables and URL source, in one table.
//!
//! [`resolve`](super::resolve) takes each option by one rule, **option > URL > environment >
//! default**, and reads every default and limit from here (as postgres.js keeps its defaults in one
//! object, and tokio-postgres in `Config::new`). `js/defaults.js` is generated from this file, so the
//! facade shows the same defaults in `sql.options`.

use std::time::Duration;

/// Where a connection URL (`postgres://user@host:port/database?name=value`) can give an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FromUrl {
    /// Not from a URL.
    No,
    /// The URL's host name.
    Host,
    /// The URL's port.
    Port,
    /// The URL's user name.
    User,
    /// The URL's path.
    Path,
    /// A query parameter of one of these names (the first one in the URL wins).
    Query(&'static [&'static str]),
}

/// The bounds (inclusive) of a number option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub min: f64,
    pub max: f64,
    /// Whole numbers only.
    pub integer: bool,
}

/// One option: the names it is read under, where else it may come from, its default and bounds.
#[derive(Debug)]
pub struct OptionSpec<T> {
    /// The name `sql.options` and `js/defaults.js` show it under (the first of `names` unless set).
    pub name: &'static str,
    /// Every name the option is read under, in precedence order (`hostname` before `host`).
    pub names: &'static [&'static str],
    pub url: FromUrl,
    /// Environment variables, in precedence order.
    pub env: &'static [&'static str],
    /// `None` (for an `Option`): no default.
    pub default: T,
    /// Number options only.
    pub limits: Option<Limits>,
}

impl<T> OptionSpec<T> {
    /// An option read under `names` only (no URL, no environment variable).
    const fn new(names: &'static [&'static str], default: T) -> Self {
        OptionSpec { name: names[0], names, url: FromUrl::No, env: &[], default, limits: None }
    }

    const fn shown_as(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    const fn url(mut self, url: FromUrl) -> Self {
        self.url = url;
        self
    }

    const fn env(mut self, env: &'static [&'static str]) -> Self {
        self.env = env;
        self
    }

    const fn integer(mut self, min: u32, max: u32) -> Self {
        self.limits = Some(Limits { min: min as f64, max: max as f64, integer: true });
        self
    }

    /// Seconds, at least `min`, at most `max`.
    const fn seconds(mut self, min: f64, max: f64) -> Self {
        self.limits = Some(Limits { min, max, integer: false });
        self
    }

    /// The bounds of a number option.
    pub fn limits(&self) -> Limits {
        self.limits.unwrap_or_else(|| panic!("{} is not a number option", self.name))
    }
}

const fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

// ---- where and as whom --------------------------------------------------------------------------

/// The cluster endpoint or a cluster id. Defaults to `PGHOST`; required. One host only.
pub const HOST: OptionSpec<Option<&str>> =
    OptionSpec::new(&["hostname", "host"], None).shown_as("host").url(FromUrl::Host).env(&["PGHOST"]);

/// The AWS region. Defaults to the one in a DSQL host name, then `AWS_REGION`, `AWS_DEFAULT_REGION`.
pub const REGION: OptionSpec<Option<&str>> =
    OptionSpec::new(&["region"], None).env(&["AWS_REGION", "AWS_DEFAULT_REGION"]);

/// `'tcp'` or `'websocket'` (set by `auroraDSQLWsPostgres`). Defaults to `'tcp'`.
pub const TRANSPORT: OptionSpec<&str> = OptionSpec::new(&["transport"], "tcp");

/// WebSocket only: a `select 1` heartbeat before work on an idle connection. Defaults to `false`.
pub const CONNECTION_CHECK: OptionSpec<bool> = OptionSpec::new(&["connectionCheck"], false);

/// Defaults to the URL's port, then `PGPORT`, then 5432; over WebSocket to [`WEBSOCKET_PORT`] (the
/// URL's and `PGPORT`'s port is PostgreSQL's, not the HTTPS endpoint's).
pub const PORT: OptionSpec<u16> =
    OptionSpec::new(&["port"], 5432).url(FromUrl::Port).env(&["PGPORT"]).integer(1, 65_535);

/// The port of the WebSocket endpoint (`wss://<host>:443`) unless `port` is given.
pub const WEBSOCKET_PORT: u16 = 443;

/// An IP address to connect to while SNI, the certificate check and the token use the host name.
/// Defaults to none (the host name's addresses).
pub const HOSTADDR: OptionSpec<Option<&str>> = OptionSpec::new(&["hostaddr"], None);

/// Defaults to the URL's path, then `PGDATABASE`, then `postgres`.
pub const DATABASE: OptionSpec<&str> =
    OptionSpec::new(&["database", "db"], "postgres").url(FromUrl::Path).env(&["PGDATABASE"]);

/// Defaults to the URL's user, then `PGUSERNAME`, `PGUSER`, then [`ADMIN`].
pub const USERNAME: OptionSpec<&str> =
    OptionSpec::new(&["username", "user"], ADMIN).url(FromUrl::User).env(&["PGUSERNAME", "PGUSER"]);

/// The user whose tokens are admin tokens (`DbConnectAdmin`; other users sign `DbConnect`).
pub const ADMIN: &str = "admin";

/// The lifetime of each signed token in seconds (at most a week, SigV4's limit). Defaults to 900.
pub const TOKEN_DURATION_SECS: OptionSpec<u64> = OptionSpec::new(&["tokenDurationSecs"], 900).integer(1, 604_800);

/// The shared config/credentials profile of the default credential chain. Defaults to `AWS_PROFILE`.
pub const PROFILE: OptionSpec<Option<&str>> = OptionSpec::new(&["profile"], None).env(&["AWS_PROFILE"]);

// ---- TLS ----------------------------------------------------------------------------------------

/// `true`, `false`, `{ rejectUnauthorized, ca }` or a mode ([`SSL_VERIFIED_MODES`],
/// [`SSL_DISABLED_MODE`]); the URL's `sslmode` or `ssl`. Defaults to `'verify-full'` (DSQL
/// requires TLS).
pub const SSL: OptionSpec<&str> = OptionSpec::new(&["ssl"], "verify-full").url(FromUrl::Query(&["sslmode", "ssl"]));

/// The `ssl` modes that mean verified TLS. postgres.js turns `require`, `prefer` and `allow` into
/// unverified TLS; this connector verifies them (documented).
pub const SSL_VERIFIED_MODES: &[&str] = &["require", "verify-full", "verify-ca", "prefer", "allow"];

/// The `ssl` mode of plain TCP (for local endpoints only: DSQL itself requires TLS).
pub const SSL_DISABLED_MODE: &str = "disable";

/// `'postgres'` (SSLRequest first) or `'direct'` (TLS first with ALPN `postgresql`). Defaults to `'postgres'`.
pub const SSLNEGOTIATION: OptionSpec<&str> =
    OptionSpec::new(&["sslnegotiation"], "postgres").url(FromUrl::Query(&["sslnegotiation"]));

/// A PEM file of CA certificates, or `system`. Defaults to `PGSSLROOTCERT`, then `system` (the
/// WebPKI roots). An `ssl.ca` given in the options comes first.
pub const SSLROOTCERT: OptionSpec<Option<&str>> =
    OptionSpec::new(&["sslrootcert"], None).url(FromUrl::Query(&["sslrootcert"])).env(&["PGSSLROOTCERT"]);

// ---- the pool -----------------------------------------------------------------------------------

/// The pool size. Defaults to `PGMAX`, then 10.
pub const MAX: OptionSpec<usize> =
    OptionSpec::new(&["max"], 10).url(FromUrl::Query(&["max"])).env(&["PGMAX"]).integer(1, 10_000);

/// Seconds before an idle connection closes (0: never). Defaults to `PGIDLE_TIMEOUT`, then never.
pub const IDLE_TIMEOUT: OptionSpec<Option<Duration>> = OptionSpec::new(&["idle_timeout"], None)
    .url(FromUrl::Query(&["idle_timeout"]))
    .env(&["PGIDLE_TIMEOUT"])
    .seconds(0.0, 1e9);

/// Seconds a connection lives (0: for ever). Defaults to `PGMAX_LIFETIME`, then a random age
/// between 45 and 55 minutes for each connection (DSQL closes connections at 60 minutes; spreading
/// the ages keeps a pool from reconnecting all at once).
pub const MAX_LIFETIME: OptionSpec<Option<(Duration, Duration)>> =
    OptionSpec::new(&["max_lifetime"], Some((minutes(45), minutes(55))))
        .url(FromUrl::Query(&["max_lifetime"]))
        .env(&["PGMAX_LIFETIME"])
        .seconds(0.0, 1e9);

/// Seconds to connect, credential resolution and token signing included. Defaults to
/// `PGCONNECT_TIMEOUT`, then 30.
pub const CONNECT_TIMEOUT: OptionSpec<Duration> = OptionSpec::new(&["connect_timeout"], Duration::from_secs(30))
    .url(FromUrl::Query(&["connect_timeout"]))
    .env(&["PGCONNECT_TIMEOUT"])
    .seconds(0.001, 1e9);

/// The TCP keep-alive interval in seconds (`false`: off). Defaults to 60.
pub const KEEP_ALIVE: OptionSpec<Option<Duration>> = OptionSpec::new(&["keep_alive"], Some(Duration::from_secs(60)))
    .url(FromUrl::Query(&["keep_alive"]))
    .seconds(1.0, 1e6);

/// Named prepared statements, cached per connection. Defaults to `true`.
pub const PREPARE: OptionSpec<bool> = OptionSpec::new(&["prepare"], true).url(FromUrl::Query(&["prepare"]));

// ---- read by the JS facade only (postgres.js's options, shown in sql.options) ---------------------

/// Accepted for postgres.js compatibility, not used. Defaults to `false`.
pub const BACKOFF: OptionSpec<bool> = OptionSpec::new(&["backoff"], false);

/// Accepted for postgres.js compatibility (array and enum types need no fetching). Defaults to `true`.
pub const FETCH_TYPES: OptionSpec<bool> = OptionSpec::new(&["fetch_types"], true);

/// Accepted for postgres.js compatibility (no logical replication). Defaults to `'alltables'`.
pub const PUBLICATIONS: OptionSpec<&str> = OptionSpec::new(&["publications"], "alltables");

/// `true` or a function called with each query. Defaults to `false`.
pub const DEBUG: OptionSpec<bool> = OptionSpec::new(&["debug"], false);

/// Every option of the table, for `js/defaults.js` and the query parameter and variable lookups.
pub const ALL: &[&dyn Entry] = &[
    &HOST,
    &REGION,
    &TRANSPORT,
    &CONNECTION_CHECK,
    &PORT,
    &HOSTADDR,
    &DATABASE,
    &USERNAME,
    &TOKEN_DURATION_SECS,
    &PROFILE,
    &SSL,
    &SSLNEGOTIATION,
    &SSLROOTCERT,
    &MAX,
    &IDLE_TIMEOUT,
    &MAX_LIFETIME,
    &CONNECT_TIMEOUT,
    &KEEP_ALIVE,
    &PREPARE,
    &BACKOFF,
    &FETCH_TYPES,
    &PUBLICATIONS,
    &DEBUG,
];

/// An option of the table whatever the type of its default.
pub trait Entry: Sync {
    fn name(&self) -> &'static str;
    fn url(&self) -> FromUrl;
    fn env(&self) -> &'static [&'static str];
    /// The default as a JS literal (`null`: none; seconds for durations).
    fn default_js(&self) -> String;
}

impl<T: Js + Sync> Entry for OptionSpec<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn url(&self) -> FromUrl {
        self.url
    }
    fn env(&self) -> &'static [&'static str] {
        self.env
    }
    fn default_js(&self) -> String {
        self.default.js()
    }
}

/// The option a URL query parameter gives (`sslmode` gives `ssl`), if the table names it.
pub fn option_of_query_parameter(parameter: &str) -> Option<&'static str> {
    ALL.iter().find(|e| matches!(e.url(), FromUrl::Query(names) if names.contains(&parameter))).map(|e| e.name())
}

/// Every environment variable an option is read from, in table order.
pub fn environment_variables() -> Vec<&'static str> {
    ALL.iter().flat_map(|e| e.env().iter().copied()).collect()
}

/// A default written as a JS literal.
pub trait Js {
    fn js(&self) -> String;
}

impl Js for bool {
    fn js(&self) -> String {
        self.to_string()
    }
}

impl Js for u16 {
    fn js(&self) -> String {
        self.to_string()
    }
}

impl Js for u64 {
    fn js(&self) -> String {
        self.to_string()
    }
}

impl Js for usize {
    fn js(&self) -> String {
        self.to_string()
    }
}

impl Js for &str {
    fn js(&self) -> String {
        format!("'{self}'")
    }
}

/// Seconds.
impl Js for Duration {
    fn js(&self) -> String {
        self.as_secs_f64().to_string()
    }
}

/// A range of seconds.
impl Js for (Duration, Duration) {
    fn js(&self) -> String {
        format!("[{}, {}]", self.0.js(), self.1.js())
    }
}

impl<T: Js> Js for Option<T> {
    fn js(&self) -> String {
        self.as_ref().map_or_else(|| "null".into(), Js::js)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `js/defaults.js`: the table as the facade reads it.
    fn render() -> String {
        let mut out = crate::core::generated::header("src/core/config/defaults.rs");
        out += "// Each option's default by the name sql.options shows it under (null: none; durations in\n";
        out += "// seconds; max_lifetime: each connection's age is drawn between the two).\n";
        out += "const DEFAULTS = Object.freeze({\n";
        let rows: Vec<String> = ALL.iter().map(|e| format!("  {}: {}", e.name(), e.default_js())).collect();
        out += &rows.join(",\n");
        out += &format!("\n}})\n\n// The WebSocket endpoint's port (unless `port` is given).\nconst WEBSOCKET_PORT = {WEBSOCKET_PORT}\n\n");
        out += "// The environment variables options are read from (the facade hands their process.env values\n";
        out += "// to the native side).\nconst OPTION_ENV = Object.freeze([\n";
        let names: Vec<String> = environment_variables().iter().map(|n| format!("  '{n}'")).collect();
        out += &names.join(",\n");
        out += "\n])\n\nmodule.exports = { DEFAULTS, WEBSOCKET_PORT, OPTION_ENV }\n";
        out
    }

    #[test]
    fn js_defaults_are_generated_from_the_table() {
        crate::core::generated::check_or_write("js/defaults.js", &render());
    }

    #[test]
    fn names_and_query_parameters_are_unique() {
        let mut names: Vec<&str> = ALL.iter().map(|e| e.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "an option appears twice");
        assert_eq!(option_of_query_parameter("sslmode"), Some("ssl"));
        assert_eq!(option_of_query_parameter("ssl"), Some("ssl"));
        assert_eq!(option_of_query_parameter("max"), Some("max"));
        assert_eq!(option_of_query_parameter("host"), None, "the host comes from the URL's authority");
        let env = environment_variables();
        assert!(env.contains(&"PGUSERNAME") && env.contains(&"AWS_DEFAULT_REGION"), "{env:?}");
    }
}
