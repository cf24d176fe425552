//! `resolve`: options + URL + environment → [`Config`], by one rule for every option:
//! **the option > the URL (its parts, or a query parameter) > the environment > the default**, with
//! the names, variables, defaults and limits from [`defaults`](super::defaults). Options are read in
//! a fixed order, so that of several mistakes the same one is reported first.

use super::defaults::{
    self, OptionSpec, CONNECTION_CHECK, CONNECT_TIMEOUT, HOSTADDR, IDLE_TIMEOUT, KEEP_ALIVE, MAX, MAX_LIFETIME, PORT,
    PREPARE, TRANSPORT, WEBSOCKET_PORT,
};
use super::env::{first_var, Env, EnvOverlay};
use super::read::{describe, number_value, Opts};
use super::url::{parse_url, UrlParts};
use super::{host, identity, tls, Config, Transport, PACKAGE_NAME, PACKAGE_VERSION};
use crate::core::error::{Error, Result};
use serde_json::{Map, Value};
use std::net::IpAddr;
use std::time::Duration;

/// [`resolve`] against the process environment with `env` over it; the configuration keeps `env`.
pub fn resolve_with(url: Option<&str>, options: &Value, env: EnvOverlay) -> Result<Config> {
    let mut cfg = resolve(url, options, &env)?;
    cfg.env = env;
    Ok(cfg)
}

/// Resolve `(url?, options)` against the environment.
pub fn resolve(url: Option<&str>, options: &Value, env: &dyn Env) -> Result<Config> {
    let empty = Map::new();
    let options = match options {
        Value::Object(m) => m,
        Value::Null => &empty,
        v => return Err(Error::type_error(format!("options must be an object, got {}", describe(v)))),
    };
    let url = url.map(parse_url).transpose()?.unwrap_or_default();
    let with_query = with_query_parameters(options, &url);
    // `given`: the options only (the URL's parts come in explicitly); `with_url`: the options with
    // the URL's query parameters under them.
    let (given, with_url) = (Opts(options), Opts(&with_query));

    let (host, region) = host::host_and_region(&given, &url, env)?;
    let transport = transport(&given)?;
    let port = port(&given, transport, &url, env)?;
    let hostaddr = hostaddr(&given)?;
    let identity::Identity { database, username, token_duration_secs, profile, static_credentials } =
        identity::identity(&given, &url, env)?;
    let (startup, application_name) = startup_parameters(options.get("connection"))?;
    let tls = tls::tls(&with_url, env)?;
    let pool = pool(&with_url, env)?;

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
        max: pool.max,
        idle_timeout: pool.idle_timeout,
        max_lifetime: pool.max_lifetime,
        connect_timeout: pool.connect_timeout,
        keep_alive: pool.keep_alive,
        prepare: pool.prepare,
        env: EnvOverlay::default(),
    })
}

/// The options with the URL's query parameters added under the names of the options they give
/// (`sslmode` gives `ssl`; the first in the URL wins); an option given (even as null) comes first,
/// as in postgres.js.
fn with_query_parameters(options: &Map<String, Value>, url: &UrlParts) -> Map<String, Value> {
    let mut merged = options.clone();
    for (parameter, value) in &url.params {
        let key = defaults::option_of_query_parameter(parameter).unwrap_or(parameter);
        merged.entry(key.to_string()).or_insert_with(|| Value::String(value.clone()));
    }
    merged
}

/// `transport: 'websocket'` is set by auroraDSQLWsPostgres, with its `connectionCheck`.
fn transport(given: &Opts) -> Result<Transport> {
    match given.string(TRANSPORT.names)?.as_deref().unwrap_or(TRANSPORT.default) {
        "tcp" => {
            if let Some((n, _)) = given.get(CONNECTION_CHECK.names) {
                return Err(Error::type_error(format!(
                    "{n} is an option of auroraDSQLWsPostgres (the WebSocket connector)"
                )));
            }
            Ok(Transport::Tcp)
        }
        "websocket" => Ok(Transport::WebSocket {
            connection_check: given.bool(CONNECTION_CHECK.names)?.unwrap_or(CONNECTION_CHECK.default),
        }),
        other => Err(Error::range_error(format!("transport must be 'tcp' or 'websocket', got '{other}'"))),
    }
}

/// option > (WebSocket: its HTTPS port) > URL > `PGPORT` > default.
fn port(given: &Opts, transport: Transport, url: &UrlParts, env: &dyn Env) -> Result<u16> {
    if let Some(p) = given.number(PORT.names, PORT.limits())? {
        return Ok(p as u16);
    }
    // The WebSocket endpoint is HTTPS: a URL's or PGPORT's port is PostgreSQL's, not the one to use.
    if transport != Transport::Tcp {
        return Ok(WEBSOCKET_PORT);
    }
    if let Some(p) = url.port {
        return Ok(p);
    }
    Ok(env_number(&PORT, env)?.map_or(PORT.default, |p| p as u16))
}

fn hostaddr(given: &Opts) -> Result<Option<IpAddr>> {
    match given.string(HOSTADDR.names)? {
        None => Ok(None), // no default: the host name's addresses
        Some(a) => a
            .parse::<IpAddr>()
            .map(Some)
            .map_err(|_| Error::type_error(format!("hostaddr must be an IPv4 or IPv6 address, got '{a}'"))),
    }
}

/// `connection`: startup parameters; `application_name` gets this connector's name appended
/// (`<given>:aurora-dsql-postgres/<version>`, else `aurora-dsql-postgres/<version>`).
fn startup_parameters(connection: Option<&Value>) -> Result<(Vec<(String, String)>, String)> {
    let mut startup = Vec::new();
    let mut app_prefix = None;
    match connection {
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
    Ok((startup, application_name))
}

struct Pool {
    max: usize,
    idle_timeout: Option<Duration>,
    max_lifetime: Option<(Duration, Duration)>,
    connect_timeout: Duration,
    keep_alive: Option<Duration>,
    prepare: bool,
}

/// The pool's size and timings. `with_url`: URL query parameters count as options.
fn pool(with_url: &Opts, env: &dyn Env) -> Result<Pool> {
    let max = number(with_url, &MAX, env)?.map_or(MAX.default, |x| x as usize);
    // Zero idle timeout or lifetime: none.
    let idle_timeout = match number(with_url, &IDLE_TIMEOUT, env)? {
        Some(x) => Some(x).filter(|x| *x > 0.0).map(Duration::from_secs_f64),
        None => IDLE_TIMEOUT.default,
    };
    let max_lifetime = match number(with_url, &MAX_LIFETIME, env)? {
        Some(x) if x > 0.0 => Some((Duration::from_secs_f64(x), Duration::from_secs_f64(x))),
        Some(_) => None,
        None => MAX_LIFETIME.default,
    };
    let connect_timeout =
        number(with_url, &CONNECT_TIMEOUT, env)?.map_or(CONNECT_TIMEOUT.default, Duration::from_secs_f64);
    let keep_alive = match with_url.get(KEEP_ALIVE.names) {
        Some((_, Value::Bool(false))) => None,
        Some((n, v)) => Some(Duration::from_secs_f64(number_value(n, v, KEEP_ALIVE.limits())?)),
        None => KEEP_ALIVE.default,
    };
    let prepare = with_url.bool(PREPARE.names)?.unwrap_or(PREPARE.default);
    Ok(Pool { max, idle_timeout, max_lifetime, connect_timeout, keep_alive, prepare })
}

/// A number option: the option > its environment variable; `None`: the caller's default.
fn number<T>(opts: &Opts, spec: &OptionSpec<T>, env: &dyn Env) -> Result<Option<f64>> {
    match opts.number(spec.names, spec.limits())? {
        Some(x) => Ok(Some(x)),
        None => env_number(spec, env),
    }
}

/// A number option's environment variable, within the option's limits (errors name the variable).
fn env_number<T>(spec: &OptionSpec<T>, env: &dyn Env) -> Result<Option<f64>> {
    first_var(env, spec.env).map(|(name, v)| number_value(&name, &Value::String(v), spec.limits())).transpose()
}

#[cfg(test)]
mod tests {
    use super::super::env::env_of;
    use super::super::{resolve, resolve_with, Env, EnvOverlay, Tls, PACKAGE_VERSION};
    use crate::core::error::Error;
    use serde_json::{json, Value};
    use std::time::Duration;

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
}
