//! A local endpoint that behaves like Aurora DSQL in front of a real PostgreSQL.
//!
//! Clients connect with TLS (SSLRequest or direct TLS with ALPN `postgresql`, SNI required)
//! and authenticate with a DSQL IAM token as password; the endpoint verifies the token
//! against configured credentials, enforces DSQL's connection limits, then relays the
//! session (message by message) to the backend PostgreSQL. Nothing is logged.
//!
//! Behaviour worth knowing:
//! - Limits (rate, open connections) are decided at TCP accept but reported after TLS and the
//!   startup packet, so clients see the SQLSTATE (53400/53300). Each refused connection is
//!   counted once, under its first reason. `active` counts connections from accept to close.
//! - SNI must be present; its value is not compared with the endpoint (the token host is).
//! - A CancelRequest inside TLS with SNI (or inside the WebSocket) is forwarded verbatim to the
//!   backend, whose BackendKeyData the client received unchanged. A plain-text one is refused like
//!   any unencrypted connection (FATAL 28000 "ssl is required"), as DSQL accepts nothing without TLS.
//! - Protocol 3.x minor versions and `_pq_.` options are answered with NegotiateProtocolVersion
//!   (3.0, none supported).
//! - Rejections never echo the token, the secret or the session token.
//! - [`LocalDsql::down`] makes the endpoint unreachable until [`LocalDsql::up`]: listeners closed
//!   and sessions dropped ([`Outage::Refuse`]), or sessions (new ones too) not polled at all, so
//!   that their sockets stay open and silent ([`Outage::Silent`]). `up` binds the same ports again.
//!
//! DSQL behaviour on the relayed, authenticated session (a `SessionPolicy`; see `dsql.rs` for
//! the mechanics):
//! - SQL restrictions (SQLSTATE 0A000), `CREATE INDEX ASYNC` forwarded as `CREATE INDEX`,
//!   one DDL per transaction and no DDL with DML; or warnings only ([`SqlChecks`]).
//! - At most [`LocalConfig::max_rows_per_transaction`] modified rows per transaction (54000);
//!   the transaction is really rolled back.
//! - Backend sessions run REPEATABLE READ; serialization failures and deadlocks reach the
//!   client as DSQL's `40001 ... (OC000)`. COMMITs can be made to fail on purpose
//!   ([`OccInjection`]).
//! - A WebSocket listener (TLS, SNI required, then an HTTP upgrade on any path) whose binary
//!   messages carry the PostgreSQL protocol without SSLRequest.
//!
//! Where the emulation differs from DSQL: a real write conflict surfaces at the second writer's
//! statement (PostgreSQL makes it wait for the first writer's COMMIT), not at its COMMIT;
//! `CREATE INDEX ASYNC` builds the index synchronously and returns no job id; statements are
//! classified by keywords, and transaction state is tracked from the messages seen, so heavily
//! pipelined clients may see a rule applied one request late.

mod backend;
mod certs;
mod dsql;
mod limits;
pub mod protocol;
mod relay;
mod server;
mod sql_checks;
mod stats;
mod token;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use certs::generate_certificates;
pub use dsql::{OccInjection, SqlChecks};
pub use protocol::Frame;
pub use relay::{PassThrough, PolicyFactory, SessionInfo, SessionPolicy, Verdict};
pub use server::Outage;
pub use stats::{RejectReason, RejectStats, Stats};
pub use token::{TokenError, Verifier};

/// The PostgreSQL that sessions are relayed to (plain TCP, normally loopback).
#[derive(Debug, Clone)]
pub struct BackendConfig {
    /// A host name or address (TCP), or a directory holding the server's Unix socket (starts
    /// with '/', as with libpq).
    pub host: String,
    pub port: u16,
    /// Backend login role for every session; `None` passes the client's startup user through
    /// (the backend then needs roles such as `admin`).
    pub user_override: Option<String>,
    /// Password used if the backend asks for one (cleartext, MD5 or SCRAM-SHA-256).
    pub password: Option<String>,
    /// Backend database for every session; `None` passes the client's database through.
    pub database_override: Option<String>,
}

impl Default for BackendConfig {
    fn default() -> Self {
        Self { host: "127.0.0.1".into(), port: 5432, user_override: None, password: None, database_override: None }
    }
}

/// Server certificate material in PEM.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    pub cert_pem: String,
    pub key_pem: String,
    /// The CA that clients should trust (returned by [`LocalDsql::ca_pem`]).
    pub ca_pem: String,
}

/// Endpoint settings. `Default` gives DSQL's quotas and an empty credential list (set one).
#[derive(Clone)]
pub struct LocalConfig {
    pub region: String,
    /// 26 random `[a-z0-9]` characters when `None`.
    pub cluster_id: Option<String>,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Credentials whose tokens are accepted (at least one).
    pub credentials: Vec<Credentials>,
    pub backend: BackendConfig,
    /// Sessions are closed at this age (DSQL: 60 minutes).
    pub max_connection_age: Duration,
    /// New connections per second and burst (DSQL: 100/s, 1000); `None` = unlimited.
    pub rate_limit: Option<(f64, u32)>,
    /// Open connections (DSQL: 10,000).
    pub max_connections: usize,
    /// How far in the future a token's `X-Amz-Date` may be. Default 900 s, SigV4's usual
    /// 15-minute tolerance. Expiry itself is checked strictly.
    pub max_clock_skew: Duration,
    /// Certificate to serve; generated (CA + server cert) when `None`.
    pub tls: Option<TlsMaterial>,
    /// Time allowed from TCP accept to the password message.
    pub handshake_timeout: Duration,
    /// Per-session message policy; pass-through when `None`. It sees the client side of the
    /// DSQL emulation (what the client sends, what DSQL would answer).
    pub policy: Option<PolicyFactory>,
    /// DSQL's SQL restrictions (default: enforced).
    pub sql_checks: SqlChecks,
    /// Rows a transaction may insert, update or delete (DSQL: 3,000); `None` = unlimited.
    pub max_rows_per_transaction: Option<u64>,
    /// Run backend sessions REPEATABLE READ and report serialization failures and deadlocks
    /// as DSQL's `40001 ... (OC000)` (default: true).
    pub optimistic_concurrency: bool,
    /// Fail COMMITs on purpose with DSQL's 40001 (default: none).
    pub occ_injection: Option<OccInjection>,
    /// Also listen for PostgreSQL over WebSocket (default: true).
    pub websocket: bool,
    /// WebSocket port on 127.0.0.1; 0 picks a free one.
    pub ws_port: u16,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            cluster_id: None,
            port: 0,
            credentials: Vec::new(),
            backend: BackendConfig::default(),
            max_connection_age: Duration::from_secs(3600),
            rate_limit: Some((100.0, 1000)),
            max_connections: 10_000,
            max_clock_skew: Duration::from_secs(900),
            tls: None,
            handshake_timeout: Duration::from_secs(10),
            policy: None,
            sql_checks: SqlChecks::Enforce,
            max_rows_per_transaction: Some(3000),
            optimistic_concurrency: true,
            occ_injection: None,
            websocket: true,
            ws_port: 0,
        }
    }
}

impl fmt::Debug for LocalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalConfig")
            .field("region", &self.region)
            .field("cluster_id", &self.cluster_id)
            .field("port", &self.port)
            .field("credentials", &self.credentials.iter().map(|c| c.access_key_id()).collect::<Vec<_>>())
            .field("backend", &self.backend)
            .field("max_connection_age", &self.max_connection_age)
            .field("rate_limit", &self.rate_limit)
            .field("max_connections", &self.max_connections)
            .field("max_clock_skew", &self.max_clock_skew)
            .field("sql_checks", &self.sql_checks)
            .field("max_rows_per_transaction", &self.max_rows_per_transaction)
            .field("optimistic_concurrency", &self.optimistic_concurrency)
            .field("occ_injection", &self.occ_injection)
            .field("websocket", &self.websocket)
            .field("ws_port", &self.ws_port)
            .finish_non_exhaustive()
    }
}

/// Errors from [`start`] and [`generate_certificates`].
#[derive(Debug)]
pub enum LocalError {
    Config(String),
    Tls(String),
    Io(std::io::Error),
}

impl fmt::Display for LocalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalError::Config(m) => write!(f, "invalid local DSQL configuration: {m}"),
            LocalError::Tls(m) => write!(f, "local DSQL TLS setup: {m}"),
            LocalError::Io(e) => write!(f, "local DSQL listener: {e}"),
        }
    }
}

impl std::error::Error for LocalError {}

/// A running endpoint. Dropping it stops accepting and closes sessions (like [`LocalDsql::stop`]
/// without waiting).
pub struct LocalDsql {
    endpoint: String,
    cluster_id: String,
    region: String,
    port: u16,
    ws_port: Option<u16>,
    ca_pem: String,
    shared: Arc<server::Shared>,
    stop_tx: watch::Sender<bool>,
    control: mpsc::Sender<server::Control>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl LocalDsql {
    /// Replaces the accepted signing credentials (rotation; keys left out are revoked for new
    /// connections). An empty list is refused.
    pub fn set_credentials(&self, credentials: Vec<Credentials>) -> Result<(), LocalError> {
        if credentials.is_empty() {
            return Err(LocalError::Config("at least one credential is required".into()));
        }
        self.shared.set_credentials(credentials);
        Ok(())
    }

    /// `<cluster-id>.dsql.<region>.on.aws`: the TLS server name and token host to use.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The WebSocket port on 127.0.0.1 (`wss://<endpoint>:<port>/`), if enabled.
    pub fn ws_port(&self) -> Option<u16> {
        self.ws_port
    }
    /// PEM of the CA that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Makes the endpoint unreachable until [`LocalDsql::up`] (see [`Outage`]); resolves once
    /// the outage is in effect (with `Refuse`: listeners closed, sessions dropped).
    pub async fn down(&self, outage: Outage) -> Result<(), LocalError> {
        self.control(|ack| server::Control::Down(outage, ack)).await
    }

    /// Ends an outage: listens again on the same ports (TCP and WebSocket) and resumes paused
    /// sessions. Fails if a port was taken meanwhile. A no-op on a reachable endpoint.
    pub async fn up(&self) -> Result<(), LocalError> {
        self.control(server::Control::Up).await
    }

    async fn control(
        &self,
        msg: impl FnOnce(oneshot::Sender<std::io::Result<()>>) -> server::Control,
    ) -> Result<(), LocalError> {
        let (tx, rx) = oneshot::channel();
        let gone = || LocalError::Io(std::io::Error::other("the endpoint is stopped"));
        self.control.send(msg(tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?.map_err(LocalError::Io)
    }

    /// Closes the listener and every session (sessions get FATAL 57P01), waiting up to ~2 s.
    pub async fn stop(&self) {
        let _ = self.stop_tx.send(true);
        let task = match self.task.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}

impl Drop for LocalDsql {
    fn drop(&mut self) {
        let _ = self.stop_tx.send(true);
    }
}

fn valid_label(s: &str, extra: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
}

/// Starts the endpoint on 127.0.0.1 (must be called inside a tokio runtime).
pub async fn start(cfg: LocalConfig) -> Result<LocalDsql, LocalError> {
    let bad = |m: &str| Err(LocalError::Config(m.into()));
    if !valid_label(&cfg.region, b"-") {
        return bad("region must be lowercase letters, digits and '-'");
    }
    if cfg.credentials.is_empty() {
        return bad("at least one credential is required");
    }
    if cfg.max_connections == 0 {
        return bad("max_connections must be at least 1");
    }
    if let Some((rate, burst)) = cfg.rate_limit {
        if !(rate.is_finite() && rate > 0.0) || burst == 0 {
            return bad("rate_limit needs a positive rate and burst");
        }
    }
    if cfg.max_connection_age.is_zero() {
        return bad("max_connection_age must be positive");
    }
    if cfg.max_rows_per_transaction == Some(0) {
        return bad("max_rows_per_transaction must be at least 1");
    }
    if let Some(inj) = &cfg.occ_injection {
        if inj.every_nth == Some(0) {
            return bad("occ_injection.every_nth must be at least 1");
        }
        if inj.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            return bad("occ_injection.probability must be between 0 and 1");
        }
    }
    let cluster_id = match &cfg.cluster_id {
        Some(id) if valid_label(id, b"") => id.clone(),
        Some(_) => return bad("cluster_id must be 1-63 characters [a-z0-9]"),
        None => random_cluster_id(),
    };
    let endpoint = format!("{cluster_id}.dsql.{}.on.aws", cfg.region);
    let tls = match &cfg.tls {
        Some(t) => t.clone(),
        None => {
            let names = [endpoint.clone(), "localhost".into(), "127.0.0.1".into()];
            let (ca_pem, cert_pem, key_pem) = generate_certificates(&names)?;
            TlsMaterial { cert_pem, key_pem, ca_pem }
        }
    };
    let server_cfg = certs::server_config(&tls.cert_pem, &tls.key_pem)?;
    let listener = TcpListener::bind(("127.0.0.1", cfg.port)).await.map_err(LocalError::Io)?;
    let port = listener.local_addr().map_err(LocalError::Io)?.port();
    let ws_listener = match cfg.websocket {
        true => Some(TcpListener::bind(("127.0.0.1", cfg.ws_port)).await.map_err(LocalError::Io)?),
        false => None,
    };
    let ws_port = match &ws_listener {
        Some(l) => Some(l.local_addr().map_err(LocalError::Io)?.port()),
        None => None,
    };

    let shared = Arc::new(server::Shared::new(&cfg, endpoint.clone(), server_cfg));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (control, control_rx) = mpsc::channel(4);
    let ports = server::Ports { pg: port, ws: ws_port };
    let task = tokio::spawn(server::accept_loop(listener, ws_listener, ports, shared.clone(), stop_rx, control_rx));
    Ok(LocalDsql {
        endpoint,
        cluster_id,
        region: cfg.region,
        port,
        ws_port,
        ca_pem: tls.ca_pem,
        shared,
        stop_tx,
        control,
        task: Mutex::new(Some(task)),
    })
}

fn random_cluster_id() -> String {
    use rand::Rng;
    const CH: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..26).map(|_| CH[rng.random_range(0..CH.len())] as char).collect()
}
