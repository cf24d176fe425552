//! `startLocalDsqlServer` / `generateCertificates`: the local DSQL endpoint for JS.
use super::to_napi;
use crate::core::credentials::{CredentialCache, Source};
use crate::core::error::Error;
use crate::local::{self, BackendConfig, LocalConfig, LocalDsql, OccInjection, Outage, SqlChecks, TlsMaterial};
use aws_credential_types::Credentials;
use napi_derive::napi;
use std::sync::Arc;
use std::time::Duration;

#[napi(object)]
pub struct LocalCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

#[napi(object)]
pub struct LocalBackend {
    pub host: String,
    pub port: u32,
    /// Log every session in as this role (default: the client's user).
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
}

#[napi(object)]
pub struct LocalTls {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
}

/// Make COMMITs fail as DSQL's optimistic concurrency conflicts do (the transaction is rolled back).
#[napi(object)]
pub struct LocalOccInjection {
    /// Fail every n-th COMMIT (counted across all sessions).
    pub every_nth: Option<u32>,
    /// Fail each COMMIT with this probability (0..1).
    pub probability: Option<f64>,
    /// OC001 (schema conflict) instead of OC000.
    pub schema_conflict: Option<bool>,
}

#[napi(object)]
pub struct LocalServerOptions {
    /// `'enforce'` (default: refuse what DSQL refuses, SQLSTATE 0A000), `'warn'` (run it, with a notice) or `'off'`.
    pub sql_checks: Option<String>,
    /// Rows a transaction may modify (default 3000, as DSQL; 0 = unlimited).
    pub max_rows_per_transaction: Option<u32>,
    /// REPEATABLE READ sessions whose write conflicts surface as DSQL's 40001 OC000 (default true).
    pub optimistic_concurrency: Option<bool>,
    pub occ_injection: Option<LocalOccInjection>,
    /// The WebSocket (wss) listener (default true) and its port (default 0 = any).
    pub websocket: Option<bool>,
    pub ws_port: Option<u32>,
    /// Default `us-east-1`.
    pub region: Option<String>,
    /// 26 characters `[a-z0-9]`; random by default.
    pub cluster_id: Option<String>,
    /// TCP port on 127.0.0.1; 0 (default) picks a free one.
    pub port: Option<u32>,
    /// Accepted signing credentials; default: the process's AWS default chain.
    pub credentials: Option<Vec<LocalCredentials>>,
    pub backend: LocalBackend,
    /// Sessions are closed at this age (default 3600 s, as DSQL).
    pub max_connection_age_secs: Option<f64>,
    /// New connections per second (default 100; 0 = unlimited) and burst (default 1000).
    pub rate_limit_per_second: Option<f64>,
    pub rate_limit_burst: Option<u32>,
    /// Open connections (default 10000).
    pub max_connections: Option<u32>,
    /// Tolerated clock skew for tokens dated in the future (default 900 s).
    pub max_clock_skew_secs: Option<f64>,
    /// Certificate to serve (default: a CA and server certificate generated at start).
    pub tls: Option<LocalTls>,
}

#[napi(object)]
pub struct LocalStats {
    pub accepted: f64,
    pub authenticated: f64,
    pub active: f64,
    pub closed_by_max_age: f64,
    pub rejected_no_sni: f64,
    pub rejected_bad_token: f64,
    pub rejected_expired: f64,
    pub rejected_rate_limited: f64,
    pub rejected_too_many_connections: f64,
    pub rejected_backend_error: f64,
    pub rejected_protocol_error: f64,
    /// 40001 conflicts sent to clients (real and injected), and the injected part.
    pub conflicts: f64,
    pub injected_conflicts: f64,
    pub statements_rejected: f64,
    pub ws_accepted: f64,
}

#[napi]
pub struct LocalDsqlServer {
    inner: Arc<LocalDsql>,
}

#[napi]
impl LocalDsqlServer {
    /// The cluster host name clients sign for and verify (`<id>.dsql.<region>.on.aws`).
    #[napi(getter)]
    pub fn endpoint(&self) -> String {
        self.inner.endpoint().to_string()
    }
    #[napi(getter)]
    pub fn region(&self) -> String {
        self.inner.region().to_string()
    }
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        self.inner.port() as u32
    }
    /// The WebSocket listener's port, when enabled.
    #[napi(getter)]
    pub fn ws_port(&self) -> Option<u32> {
        self.inner.ws_port().map(u32::from)
    }
    /// PEM of the CA that signed the endpoint's certificate.
    #[napi(getter)]
    pub fn ca(&self) -> String {
        self.inner.ca_pem().to_string()
    }
    #[napi]
    pub fn stats(&self) -> LocalStats {
        let s = self.inner.stats();
        LocalStats {
            accepted: s.accepted as f64,
            authenticated: s.authenticated as f64,
            active: s.active as f64,
            closed_by_max_age: s.closed_by_max_age as f64,
            rejected_no_sni: s.rejected.no_sni as f64,
            rejected_bad_token: s.rejected.bad_token as f64,
            rejected_expired: s.rejected.expired as f64,
            rejected_rate_limited: s.rejected.rate_limited as f64,
            rejected_too_many_connections: s.rejected.too_many_connections as f64,
            rejected_backend_error: s.rejected.backend_error as f64,
            rejected_protocol_error: s.rejected.protocol_error as f64,
            conflicts: s.conflicts as f64,
            injected_conflicts: s.injected_conflicts as f64,
            statements_rejected: s.statements_rejected as f64,
            ws_accepted: s.ws_accepted as f64,
        }
    }
    /// Replaces the accepted credentials: new connections must sign with one of these.
    #[napi]
    pub fn set_credentials(&self, credentials: Vec<LocalCredentials>) -> napi::Result<()> {
        let list = credentials
            .into_iter()
            .map(|c| Credentials::new(c.access_key_id, c.secret_access_key, c.session_token, None, "localDsql"))
            .collect();
        self.inner.set_credentials(list).map_err(|e| to_napi(Error::type_error(format!("credentials: {e}"))))
    }

    /// Makes the endpoint unreachable: `'refuse'` (listeners closed, connections dropped) or
    /// `'silent'` (connections accepted but never answered, open ones frozen), until `up()`.
    #[napi]
    pub async fn down(&self, mode: String) -> napi::Result<()> {
        let outage = match mode.as_str() {
            "refuse" => Outage::Refuse,
            "silent" => Outage::Silent,
            other => {
                return Err(to_napi(Error::range_error(format!("mode must be 'refuse' or 'silent', got '{other}'"))))
            }
        };
        self.inner.down(outage).await.map_err(|e| to_napi(Error::Other(e.to_string())))
    }

    /// Listens again on the same ports and resumes frozen connections.
    #[napi]
    pub async fn up(&self) -> napi::Result<()> {
        self.inner.up().await.map_err(|e| to_napi(Error::Other(e.to_string())))
    }

    #[napi]
    pub async fn stop(&self) -> napi::Result<()> {
        self.inner.stop().await;
        Ok(())
    }
}

fn secs(x: Option<f64>, name: &str, default: Duration) -> napi::Result<Duration> {
    match x {
        None => Ok(default),
        Some(v) if v.is_finite() && v > 0.0 => Ok(Duration::from_secs_f64(v)),
        Some(v) => Err(to_napi(Error::range_error(format!("{name} must be a positive number of seconds, got {v}")))),
    }
}

/// Starts the endpoint in front of `backend`.
#[napi]
pub async fn start_local_dsql_server(options: LocalServerOptions) -> napi::Result<LocalDsqlServer> {
    let region = options.region.unwrap_or_else(|| "us-east-1".into());
    let credentials = match options.credentials {
        Some(list) if !list.is_empty() => list
            .into_iter()
            .map(|c| Credentials::new(c.access_key_id, c.secret_access_key, c.session_token, None, "localDsql"))
            .collect(),
        Some(_) => {
            return Err(to_napi(Error::type_error(
                "credentials must list at least one { accessKeyId, secretAccessKey }",
            )))
        }
        None => vec![CredentialCache::new(Source::DefaultChain {
            profile: None,
            region: region.clone(),
            env: Default::default(),
        })
        .get()
        .await
        .map_err(to_napi)?],
    };
    let port = u16::try_from(options.port.unwrap_or(0))
        .map_err(|_| to_napi(Error::range_error("port must be between 0 and 65535")))?;
    let backend_port = u16::try_from(options.backend.port)
        .map_err(|_| to_napi(Error::range_error("backend.port must be between 1 and 65535")))?;
    let defaults = LocalConfig::default();
    let rate_limit = match options.rate_limit_per_second {
        Some(0.0) => None,
        Some(r) if r.is_finite() && r > 0.0 => Some((r, options.rate_limit_burst.unwrap_or(1000))),
        Some(r) => return Err(to_napi(Error::range_error(format!("rateLimitPerSecond must be >= 0, got {r}")))),
        None => defaults.rate_limit.map(|(r, b)| (r, options.rate_limit_burst.unwrap_or(b))),
    };
    let sql_checks = match options.sql_checks.as_deref() {
        None | Some("enforce") => SqlChecks::Enforce,
        Some("warn") => SqlChecks::WarnOnly,
        Some("off") => SqlChecks::Off,
        Some(other) => {
            return Err(to_napi(Error::range_error(format!(
                "sqlChecks must be 'enforce', 'warn' or 'off', got '{other}'"
            ))))
        }
    };
    let ws_port = u16::try_from(options.ws_port.unwrap_or(0))
        .map_err(|_| to_napi(Error::range_error("wsPort must be between 0 and 65535")))?;
    let cfg = LocalConfig {
        sql_checks,
        max_rows_per_transaction: match options.max_rows_per_transaction {
            Some(0) => None,
            Some(n) => Some(n as u64),
            None => defaults.max_rows_per_transaction,
        },
        optimistic_concurrency: options.optimistic_concurrency.unwrap_or(defaults.optimistic_concurrency),
        occ_injection: options.occ_injection.map(|o| OccInjection {
            every_nth: o.every_nth.map(u64::from),
            probability: o.probability,
            schema_conflict: o.schema_conflict.unwrap_or(false),
        }),
        websocket: options.websocket.unwrap_or(defaults.websocket),
        ws_port,
        region,
        cluster_id: options.cluster_id,
        port,
        credentials,
        backend: BackendConfig {
            host: options.backend.host,
            port: backend_port,
            user_override: options.backend.user,
            password: options.backend.password,
            database_override: options.backend.database,
        },
        max_connection_age: secs(options.max_connection_age_secs, "maxConnectionAgeSecs", defaults.max_connection_age)?,
        rate_limit,
        max_connections: options.max_connections.map_or(defaults.max_connections, |m| m as usize),
        max_clock_skew: secs(options.max_clock_skew_secs, "maxClockSkewSecs", defaults.max_clock_skew)?,
        tls: options.tls.map(|t| TlsMaterial { cert_pem: t.cert_pem, key_pem: t.key_pem, ca_pem: t.ca_pem }),
        ..defaults
    };
    let inner = local::start(cfg)
        .await
        .map_err(|e| to_napi(Error::Other(format!("local DSQL endpoint failed to start: {e}"))))?;
    Ok(LocalDsqlServer { inner: Arc::new(inner) })
}

#[napi(object)]
pub struct CertificateBundle {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

/// A throwaway CA and a server certificate (and key) for `names` (DNS names or IP addresses).
#[napi]
pub fn generate_certificates(names: Vec<String>) -> napi::Result<CertificateBundle> {
    let (ca, cert, key) = local::generate_certificates(&names).map_err(|e| to_napi(Error::Other(e.to_string())))?;
    Ok(CertificateBundle { ca, cert, key })
}
