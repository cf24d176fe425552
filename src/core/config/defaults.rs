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

const fn integer(min: f64, max: f64) -> Option<Limits> {
    Some(Limits { min, max, integer: true })
}

const fn seconds(min: f64) -> Option<Limits> {
    Some(Limits { min, max: 1e9, integer: false })
}

/// One option: the names it is read under, where else it may come from, its default and bounds.
#[derive(Debug)]
pub struct OptionSpec<T> {
    /// The name `sql.options` and `js/defaults.js` show it under.
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
    /// The bounds of a number option.
    pub fn limits(&self) -> Limits {
        self.limits.unwrap_or_else(|| panic!("{} is not a number option", self.name))
    }
}

// ---- where and as whom --------------------------------------------------------------------------

/// The cluster endpoint or a cluster id. Defaults to `PGHOST`; required. One host only.
pub const HOST: OptionSpec<Option<&str>> = OptionSpec {
    name: "host",
    names: &["hostname", "host"],
    url: FromUrl::Host,
    env: &["PGHOST"],
    default: None,
    limits: None,
};

/// The AWS region. Defaults to the one in a DSQL host name, then `AWS_REGION`, `AWS_DEFAULT_REGION`.
pub const REGION: OptionSpec<Option<&str>> = OptionSpec {
    name: "region",
    names: &["region"],
    url: FromUrl::No,
    env: &["AWS_REGION", "AWS_DEFAULT_REGION"],
    default: None,
    limits: None,
};

/// `'tcp'` or `'websocket'` (set by `auroraDSQLWsPostgres`). Defaults to `'tcp'`.
pub const TRANSPORT: OptionSpec<&str> =
    OptionSpec { name: "transport", names: &["transport"], url: FromUrl::No, env: &[], default: "tcp", limits: None };

/// WebSocket only: a `select 1` heartbeat before work on an idle connection. Defaults to `false`.
pub const CONNECTION_CHECK: OptionSpec<bool> = OptionSpec {
    name: "connectionCheck",
    names: &["connectionCheck"],
    url: FromUrl::No,
    env: &[],
    default: false,
    limits: None,
};

/// Defaults to the URL's port, then `PGPORT`, then 5432; over WebSocket to [`WEBSOCKET_PORT`] (the
/// URL's and `PGPORT`'s port is PostgreSQL's, not the HTTPS endpoint's).
pub const PORT: OptionSpec<u16> = OptionSpec {
    name: "port",
    names: &["port"],
    url: FromUrl::Port,
    env: &["PGPORT"],
    default: 5432,
    limits: integer(1.0, 65535.0),
};

/// The port of the WebSocket endpoint (`wss://<host>:443`) unless `port` is given.
pub const WEBSOCKET_PORT: u16 = 443;

/// An IP address to connect to while SNI, the certificate check and the token use the host name.
/// Defaults to none (the host name's addresses).
pub const HOSTADDR: OptionSpec<Option<&str>> =
    OptionSpec { name: "hostaddr", names: &["hostaddr"], url: FromUrl::No, env: &[], default: None, limits: None };

/// Defaults to the URL's path, then `PGDATABASE`, then `postgres`.
pub const DATABASE: OptionSpec<&str> = OptionSpec {
    name: "database",
    names: &["database", "db"],
    url: FromUrl::Path,
    env: &["PGDATABASE"],
    default: "postgres",
    limits: None,
};

/// Defaults to the URL's user, then `PGUSERNAME`, `PGUSER`, then `admin` (which signs
/// `DbConnectAdmin` tokens; other users sign `DbConnect`).
pub const USERNAME: OptionSpec<&str> = OptionSpec {
    name: "username",
    names: &["username", "user"],
    url: FromUrl::User,
    env: &["PGUSERNAME", "PGUSER"],
    default: "admin",
    limits: None,
};

/// The user name that signs admin tokens.
pub const ADMIN: &str = "admin";

/// The lifetime of each signed token in seconds. Defaults to 900 (1..=604800, SigV4's week).
pub const TOKEN_DURATION_SECS: OptionSpec<u64> = OptionSpec {
    name: "tokenDurationSecs",
    names: &["tokenDurationSecs"],
    url: FromUrl::No,
    env: &[],
    default: 900,
    limits: integer(1.0, 604_800.0),
};

/// The shared config/credentials profile of the default credential chain. Defaults to `AWS_PROFILE`.
pub const PROFILE: OptionSpec<Option<&str>> = OptionSpec {
    name: "profile",
    names: &["profile"],
    url: FromUrl::No,
    env: &["AWS_PROFILE"],
    default: None,
    limits: None,
};

// ---- TLS ----------------------------------------------------------------------------------------

/// `true`, `false`, `{ rejectUnauthorized, ca }` or a mode ([`SSL_VERIFIED_MODES`],
/// [`SSL_DISABLED_MODE`]); the URL's `sslmode` or `ssl`. Defaults to `'verify-full'` (DSQL
/// requires TLS).
pub const SSL: OptionSpec<&str> = OptionSpec {
    name: "ssl",
    names: &["ssl"],
    url: FromUrl::Query(&["sslmode", "ssl"]),
    env: &[],
    default: "verify-full",
    limits: None,
};

/// The `ssl` modes that mean verified TLS. postgres.js turns `require`, `prefer` and `allow` into
/// unverified TLS; this connector verifies them (documented).
pub const SSL_VERIFIED_MODES: &[&str] = &["require", "verify-full", "verify-ca", "prefer", "allow"];

/// The `ssl` mode of plain TCP (for local endpoints only: DSQL itself requires TLS).
pub const SSL_DISABLED_MODE: &str = "disable";

/// `'postgres'` (SSLRequest first) or `'direct'` (TLS first with ALPN `postgresql`). Defaults to `'postgres'`.
pub const SSLNEGOTIATION: OptionSpec<&str> = OptionSpec {
    name: "sslnegotiation",
    names: &["sslnegotiation"],
    url: FromUrl::Query(&["sslnegotiation"]),
    env: &[],
    default: "postgres",
    limits: None,
};

/// A PEM file of CA certificates, or `system`. Defaults to `PGSSLROOTCERT`, then `system` (the
/// WebPKI roots). An `ssl.ca` given in the options comes first.
pub const SSLROOTCERT: OptionSpec<Option<&str>> = OptionSpec {
    name: "sslrootcert",
    names: &["sslrootcert"],
    url: FromUrl::Query(&["sslrootcert"]),
    env: &["PGSSLROOTCERT"],
    default: None,
    limits: None,
};

// ---- the pool -----------------------------------------------------------------------------------

/// The pool size. Defaults to `PGMAX`, then 10.
pub const MAX: OptionSpec<usize> = OptionSpec {
    name: "max",
    names: &["max"],
    url: FromUrl::Query(&["max"]),
    env: &["PGMAX"],
    default: 10,
    limits: integer(1.0, 10_000.0),
};

/// Seconds before an idle connection closes (0: never). Defaults to `PGIDLE_TIMEOUT`, then never.
pub const IDLE_TIMEOUT: OptionSpec<Option<Duration>> = OptionSpec {
    name: "idle_timeout",
    names: &["idle_timeout"],
    url: FromUrl::Query(&["idle_timeout"]),
    env: &["PGIDLE_TIMEOUT"],
    default: None,
    limits: seconds(0.0),
};

/// Seconds a connection lives (0: for ever). Defaults to `PGMAX_LIFETIME`, then a random age
/// between 45 and 55 minutes for each connection (DSQL closes connections at 60 minutes; spreading
/// the ages keeps a pool from reconnecting all at once).
pub const MAX_LIFETIME: OptionSpec<Option<(Duration, Duration)>> = OptionSpec {
    name: "max_lifetime",
    names: &["max_lifetime"],
    url: FromUrl::Query(&["max_lifetime"]),
    env: &["PGMAX_LIFETIME"],
    default: Some((Duration::from_secs(45 * 60), Duration::from_secs(55 * 60))),
    limits: seconds(0.0),
};

/// Seconds to connect, credential resolution and token signing included. Defaults to
/// `PGCONNECT_TIMEOUT`, then 30.
pub const CONNECT_TIMEOUT: OptionSpec<Duration> = OptionSpec {
    name: "connect_timeout",
    names: &["connect_timeout"],
    url: FromUrl::Query(&["connect_timeout"]),
    env: &["PGCONNECT_TIMEOUT"],
    default: Duration::from_secs(30),
    limits: seconds(0.001),
};

/// The TCP keep-alive interval in seconds (`false`: off). Defaults to 60.
pub const KEEP_ALIVE: OptionSpec<Option<Duration>> = OptionSpec {
    name: "keep_alive",
    names: &["keep_alive"],
    url: FromUrl::Query(&["keep_alive"]),
    env: &[],
    default: Some(Duration::from_secs(60)),
    limits: Some(Limits { min: 1.0, max: 1e6, integer: false }),
};

/// Named prepared statements, cached per connection. Defaults to `true`.
pub const PREPARE: OptionSpec<bool> = OptionSpec {
    name: "prepare",
    names: &["prepare"],
    url: FromUrl::Query(&["prepare"]),
    env: &[],
    default: true,
    limits: None,
};

// ---- read by the JS facade only (postgres.js's options, shown in sql.options) ---------------------

/// Accepted for postgres.js compatibility, not used. Defaults to `false`.
pub const BACKOFF: OptionSpec<bool> =
    OptionSpec { name: "backoff", names: &["backoff"], url: FromUrl::No, env: &[], default: false, limits: None };

/// Accepted for postgres.js compatibility (array and enum types need no fetching). Defaults to `true`.
pub const FETCH_TYPES: OptionSpec<bool> = OptionSpec {
    name: "fetch_types",
    names: &["fetch_types"],
    url: FromUrl::No,
    env: &[],
    default: true,
    limits: None,
};

/// Accepted for postgres.js compatibility (no logical replication). Defaults to `'alltables'`.
pub const PUBLICATIONS: OptionSpec<&str> = OptionSpec {
    name: "publications",
    names: &["publications"],
    url: FromUrl::No,
    env: &[],
    default: "alltables",
    limits: None,
};

/// `true` or a function called with each query. Defaults to `false`.
pub const DEBUG: OptionSpec<bool> =
    OptionSpec { name: "debug", names: &["debug"], url: FromUrl::No, env: &[], default: false, limits: None };

/// Every option of the table, for `js/defaults.js` and the checks below.
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
