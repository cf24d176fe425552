//! The host and the region. A cluster id becomes `<id>.dsql.<region>.on.aws`; one host only (the
//! official connector's rule and messages).

use super::defaults::{HOST, REGION};
use super::env::{first_var, Env};
use super::read::{describe, Opts};
use super::url::UrlParts;
use crate::core::error::{Error, Result};
use serde_json::Value;

/// The endpoint's host name and region.
pub(super) fn host_and_region(given: &Opts, url: &UrlParts, env: &dyn Env) -> Result<(String, String)> {
    let host = host(given, url, env)?;
    let region = given.string(REGION.names)?;
    if let Some(r) = &region {
        if r.is_empty() || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::type_error(format!("region must be an AWS region name like 'us-east-1', got '{r}'")));
        }
    }
    let env_region = || first_var(env, REGION.env).map(|(_, v)| v);
    if !host.contains('.') {
        // A cluster id: region option > environment.
        let region = region
            .or_else(env_region)
            .ok_or_else(|| Error::invalid(format!("Region is not specified for cluster '{host}'")))?;
        return Ok((format!("{host}.dsql.{region}.on.aws"), region));
    }
    // A host name: region option > the host name's region > environment.
    let region = region.or_else(|| region_from_host(&host)).or_else(env_region).ok_or_else(|| {
        Error::invalid(format!("Region is not specified and could not be parsed from hostname: '{host}'"))
    })?;
    Ok((host, region))
}

/// The host name or cluster id: option > URL > `PGHOST`; required. Arrays and commas are multi-host.
fn host(given: &Opts, url: &UrlParts, env: &dyn Env) -> Result<String> {
    let host = match given.get(HOST.names) {
        Some((_, Value::Array(_))) => {
            return Err(Error::invalid("Multi-host configurations are not supported for Aurora DSQL"))
        }
        Some((_, Value::String(s))) => Some(s.clone()),
        Some((n, v)) => return Err(Error::type_error(format!("{n} must be a string, got {}", describe(v)))),
        None => url.host.clone().or_else(|| first_var(env, HOST.env).map(|(_, v)| v)),
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
    Ok(host)
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

#[cfg(test)]
mod tests {
    use super::super::env::env_of;
    use super::super::{resolve, Tls, PACKAGE_VERSION};
    use crate::core::error::Error;
    use serde_json::{json, Value};
    use std::time::Duration;

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
}
