//! Sessions to the cluster, over TCP or WebSocket.
//!
//! TCP: verified TLS by default (WebPKI roots or `ssl.ca`), SNI and certificate name = the cluster
//! host even when `hostaddr` points the socket elsewhere, SSLRequest or direct TLS (ALPN
//! `postgresql`), TCP_NODELAY and keepalive. The socket is opened here (tokio-postgres runs over it
//! with `connect_raw`), so a failed lookup or connect carries Node's code, and a CancelRequest goes
//! to the address the session reached, inside the same TLS (DSQL accepts nothing without it).
//!
//! WebSocket: `wss://<host>:<port>/` (443 by default) with the same TLS rules (ALPN `http/1.1`),
//! optionally through an HTTP CONNECT proxy (`HTTPS_PROXY`, `NO_PROXY`); each binary message
//! carries PostgreSQL protocol bytes, and tokio-postgres runs over it with `connect_raw`.
//!
//! This file opens a session ([`connect`]); the parts it is made of:
//! - `tls`: the rustls client configuration and the per-connection TLS connector;
//! - `tcp`: opening and tuning sockets, and their failures in Node's shape;
//! - `websocket`: a WebSocket (through the proxy or not) as the session's byte stream;
//! - `proxy`: HTTP CONNECT proxies chosen from `HTTPS_PROXY` / `NO_PROXY`;
//! - `driver`: the connection task (notices, the reported parameters, the end of the session);
//! - `cancel`: CancelRequests and the backend key;
//! - `meter`: the socket's byte counts and the moments a connect reached (`sql.stats()`, connect events).

mod cancel;
mod driver;
mod meter;
mod proxy;
mod tcp;
mod tls;
mod websocket;

pub use cancel::{backend_key, cancel, CancelTarget};
pub use driver::ParameterReader;
pub use meter::{ByteCounts, Marks, Meter};
pub use proxy::{proxy_for, Proxy};

use crate::core::close_wait::{CloseWait, MakeCloseWait};
use crate::core::config::{Config, Tls, Transport};
use crate::core::error::{code, with_causes, DbError, Error, Result};
use driver::spawn_driver;
use meter::{Counted, MarkTls};
use std::net::SocketAddr;
use std::sync::Arc;
use tcp::open_tcp;
use tls::tls_for;
use tokio::net::TcpStream;
use tokio_postgres::config::{SslMode, SslNegotiation};
use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;
use websocket::open_websocket;

/// What opens sessions for one configuration; TLS is set up once per pool.
#[derive(Clone)]
pub enum Connector {
    Tcp(Option<MakeRustlsConnect>),
    WebSocket(Option<tokio_rustls::TlsConnector>),
}

/// The connector for `cfg` (TLS configuration errors surface here, before any connection).
pub fn connector(cfg: &Config) -> Result<Connector> {
    let client = tls::client_config(&cfg.tls)?;
    Ok(match cfg.transport {
        Transport::Tcp => Connector::Tcp(client.map(MakeRustlsConnect::new)),
        Transport::WebSocket { .. } => Connector::WebSocket(client.map(|mut c| {
            c.alpn_protocols = vec![b"http/1.1".to_vec()];
            tokio_rustls::TlsConnector::from(Arc::new(c))
        })),
    })
}

/// A notice (or an asynchronous error) from the server.
pub type NoticeHandler = Arc<dyn Fn(DbError) + Send + Sync>;
pub struct Session {
    pub client: Client,
    /// Fires when the connection task ends, with the error that ended it.
    pub closed: tokio::sync::oneshot::Receiver<Option<Error>>,
    pub parameters: Vec<(String, String)>,
    /// Set when the server ended the session with a FATAL error it sent unasked (while idle):
    /// requests written after that never reached a live session.
    pub ended_by_server: Arc<std::sync::atomic::AtomicBool>,
    /// The connection task: aborting it drops the socket at once (a peer that stopped answering).
    pub task: tokio::task::AbortHandle,
    /// The reported parameters now (they change with SET, RESET, ... through ParameterStatus).
    pub parameters_now: ParameterReader,
    /// The server address the socket reached (`None` through a proxy).
    pub peer: Option<SocketAddr>,
}
impl Session {
    pub fn cancel_target(&self) -> CancelTarget {
        CancelTarget { token: self.client.cancel_token(), peer: self.peer }
    }
}
/// Opens one session with `password` (the IAM token). The connection task runs on tokio. The
/// socket's bytes are counted into `meter.bytes` for the session's whole life, and the moments the
/// connect reached (TCP connected, TLS done) are marked in `meter.marks`.
pub async fn connect(
    cfg: &Config,
    password: &str,
    connector: &Connector,
    on_notice: Option<NoticeHandler>,
    meter: &Meter,
) -> Result<Session> {
    let mut pg = tokio_postgres::Config::new();
    pg.user(&cfg.username).password(password).dbname(&cfg.database).application_name(&cfg.application_name);
    if !cfg.startup.is_empty() {
        let opts: Vec<String> = cfg.startup.iter().map(|(k, v)| format!("-c {}={}", k, escape_option(v))).collect();
        pg.options(opts.join(" "));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let ended_by_server = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let peer;
    let (client, (task, parameters_now), parameters) = match connector {
        Connector::Tcp(Some(tls)) => {
            let direct = matches!(cfg.tls, Tls::Enabled { direct: true, .. });
            pg.ssl_mode(SslMode::Require).ssl_negotiation(if direct {
                SslNegotiation::Direct
            } else {
                SslNegotiation::Postgres
            });
            let (tcp, addr) = open_tcp(cfg, None).await?;
            meter.tcp_connected();
            peer = Some(addr);
            let mut make = MakeCloseWait(MarkTls { inner: tls.clone(), marks: meter.marks.clone() });
            let (client, conn) = pg
                .connect_raw(meter.count(tcp), tls_for::<Counted<TcpStream>, _>(&mut make, cfg))
                .await
                .map_err(connect_error)?;
            let (task, p) = spawn_driver(conn, on_notice, tx, ended_by_server.clone());
            let now = p();
            (client, (task, p), now)
        }
        Connector::Tcp(None) => {
            pg.ssl_mode(SslMode::Disable);
            let (tcp, addr) = open_tcp(cfg, None).await?;
            meter.tcp_connected();
            peer = Some(addr);
            let (client, conn) =
                pg.connect_raw(meter.count(tcp), tokio_postgres::NoTls).await.map_err(connect_error)?;
            let (task, p) = spawn_driver(conn, on_notice, tx, ended_by_server.clone());
            let now = p();
            (client, (task, p), now)
        }
        Connector::WebSocket(tls) => {
            // The WebSocket's TLS is the session's TLS: no SSLRequest inside it.
            pg.ssl_mode(SslMode::Disable);
            // Its shutdown (a Close message) waits for the server's Close too, as over TLS.
            let (ws, addr) = open_websocket(cfg, tls.as_ref(), None, Some(meter)).await?;
            peer = addr;
            let (client, conn) =
                pg.connect_raw(CloseWait::new(ws), tokio_postgres::NoTls).await.map_err(connect_error)?;
            let (task, p) = spawn_driver(conn, on_notice, tx, ended_by_server.clone());
            let now = p();
            (client, (task, p), now)
        }
    };
    Ok(Session { client, closed: rx, parameters, ended_by_server, task, parameters_now, peer })
}
/// Backslash-escapes spaces and backslashes, as libpq's `options` parser expects.
fn escape_option(v: &str) -> String {
    v.replace('\\', "\\\\").replace(' ', "\\ ")
}

/// A failed connect: server errors stay PostgresErrors (e.g. 28000 from a rejected token, 53300,
/// 53400); socket, TLS and timeout failures get postgres.js-style codes.
pub(super) fn connect_error(e: tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        return Error::Db(Box::new(db.into()));
    }
    let text = with_causes(&e);
    let lower = text.to_lowercase();
    let code = if lower.contains("timed out") || lower.contains("timeout") {
        code::CONNECT_TIMEOUT
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        code::TLS_ERROR
    } else if lower.contains("refused") {
        "ECONNREFUSED"
    } else {
        code::CONNECTION_CLOSED
    };
    Error::connection(code, text)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::resolve;
    use serde_json::json;

    pub(super) fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    pub(super) fn ws_config(extra: serde_json::Value) -> Config {
        let mut o = json!({ "host": "abc.dsql.us-east-1.on.aws", "transport": "websocket" });
        o.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        resolve(None, &o, &env_of(&[])).unwrap()
    }

    #[test]
    fn websocket_config() {
        let c = ws_config(json!({}));
        assert_eq!((c.transport, c.port), (Transport::WebSocket { connection_check: false }, 443));
        let c = resolve(
            Some("postgres://admin@abc.dsql.us-east-1.on.aws:5432/db"),
            &json!({ "transport": "websocket", "connectionCheck": true }),
            &env_of(&[("PGPORT", "6543")]),
        )
        .unwrap();
        assert_eq!(
            (c.transport, c.port, c.database.as_str()),
            (Transport::WebSocket { connection_check: true }, 443, "db")
        );
        assert_eq!(ws_config(json!({ "port": 8443 })).port, 8443);
        let err = |o: serde_json::Value| resolve(None, &o, &env_of(&[])).unwrap_err().to_string();
        assert!(err(json!({ "host": "abc.dsql.us-east-1.on.aws", "connectionCheck": true }))
            .contains("connectionCheck is an option of auroraDSQLWsPostgres"));
        assert!(err(json!({ "host": "abc.dsql.us-east-1.on.aws", "transport": "websocket", "connectionCheck": 1 }))
            .contains("connectionCheck must be a boolean"));
        assert!(err(json!({ "host": "abc.dsql.us-east-1.on.aws", "transport": "udp" }))
            .contains("transport must be 'tcp' or 'websocket'"));
        // The WebSocket's ALPN is HTTP/1.1 whatever sslnegotiation says.
        let Connector::WebSocket(Some(_)) = connector(&ws_config(json!({ "sslnegotiation": "direct" }))).unwrap()
        else {
            panic!("wss connector expected")
        };
        let Connector::WebSocket(None) = connector(&ws_config(json!({ "ssl": false }))).unwrap() else {
            panic!("ws connector expected")
        };
    }
}
