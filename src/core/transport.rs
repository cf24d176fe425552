//! TCP + TLS to the cluster: verified TLS by default (WebPKI roots or `ssl.ca`), SNI and certificate
//! name = the cluster host even when `hostaddr` points the socket elsewhere, SSLRequest or direct TLS
//! (ALPN `postgresql`), TCP_NODELAY and keepalive (tokio-postgres sets both on its sockets).

use crate::core::config::{Config, Tls};
use crate::core::error::{DbError, Error, Result};
use futures_util::StreamExt;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::config::{SslMode, SslNegotiation};
use tokio_postgres::{AsyncMessage, Client};
use tokio_postgres_rustls::MakeRustlsConnect;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration for `tls`, or `None` for plain TCP.
pub fn tls_connector(tls: &Tls) -> Result<Option<MakeRustlsConnect>> {
    let (verify, ca, direct) = match tls {
        Tls::Disabled => return Ok(None),
        Tls::Enabled { verify, ca, direct } => (*verify, ca, *direct),
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Other(format!("TLS setup failed: {e}")))?;
    let mut config = if verify {
        let mut roots = RootCertStore::empty();
        if ca.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        } else {
            for pem in ca {
                for cert in rustls_pemfile::certs(&mut pem.as_bytes()) {
                    let cert = cert.map_err(|e| Error::type_error(format!("ssl.ca could not be read as PEM certificates: {e}")))?;
                    roots.add(cert).map_err(|e| Error::type_error(format!("ssl.ca holds a certificate rustls cannot use: {e}")))?;
                }
            }
            if roots.is_empty() {
                return Err(Error::type_error("ssl.ca contains no certificates"));
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider()))).with_no_client_auth()
    };
    if direct {
        config.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// A notice (or an asynchronous error) from the server.
pub type NoticeHandler = Arc<dyn Fn(DbError) + Send + Sync>;

/// Server parameters reported at startup (postgres.js's `sql.parameters`).
const REPORTED: [&str; 11] = ["application_name", "client_encoding", "DateStyle", "integer_datetimes", "IntervalStyle", "is_superuser", "server_encoding", "server_version", "session_authorization", "standard_conforming_strings", "TimeZone"];

pub struct Session {
    pub client: Client,
    /// Fires when the connection task ends, with the error that ended it.
    pub closed: tokio::sync::oneshot::Receiver<Option<Error>>,
    pub parameters: Vec<(String, String)>,
    /// Set when the server ended the session with a FATAL error it sent unasked (while idle):
    /// requests written after that never reached a live session.
    pub ended_by_server: Arc<std::sync::atomic::AtomicBool>,
}

/// Opens one session with `password` (the IAM token). The connection task runs on tokio.
pub async fn connect(cfg: &Config, password: &str, tls: Option<&MakeRustlsConnect>, on_notice: Option<NoticeHandler>) -> Result<Session> {
    let mut pg = tokio_postgres::Config::new();
    pg.host(&cfg.host)
        .port(cfg.port)
        .user(&cfg.username)
        .password(password)
        .dbname(&cfg.database)
        .application_name(&cfg.application_name)
        .connect_timeout(cfg.connect_timeout);
    if let Some(addr) = cfg.hostaddr {
        pg.hostaddr(addr);
    }
    if let Some(k) = cfg.keep_alive {
        // A dead peer (no FIN) is found after idle + 3 probes 10 s apart, so queries never hang forever.
        pg.keepalives(true).keepalives_idle(k).keepalives_interval(Duration::from_secs(10)).keepalives_retries(3);
    }
    if !cfg.startup.is_empty() {
        let opts: Vec<String> = cfg.startup.iter().map(|(k, v)| format!("-c {}={}", k, escape_option(v))).collect();
        pg.options(opts.join(" "));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let ended_by_server = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let params = |get: &dyn Fn(&str) -> Option<String>| REPORTED.iter().filter_map(|k| get(k).map(|v| (k.to_string(), v))).collect::<Vec<_>>();
    let (client, parameters) = match tls {
        Some(tls) => {
            let direct = matches!(cfg.tls, Tls::Enabled { direct: true, .. });
            pg.ssl_mode(SslMode::Require).ssl_negotiation(if direct { SslNegotiation::Direct } else { SslNegotiation::Postgres });
            let (client, conn) = pg.connect(tls.clone()).await.map_err(connect_error)?;
            let p = params(&|k| conn.parameter(k).map(str::to_string));
            tokio::spawn(drive(conn, on_notice, tx, ended_by_server.clone()));
            (client, p)
        }
        None => {
            pg.ssl_mode(SslMode::Disable);
            let (client, conn) = pg.connect(tokio_postgres::NoTls).await.map_err(connect_error)?;
            let p = params(&|k| conn.parameter(k).map(str::to_string));
            tokio::spawn(drive(conn, on_notice, tx, ended_by_server.clone()));
            (client, p)
        }
    };
    Ok(Session { client, closed: rx, parameters, ended_by_server })
}

/// Runs the connection, forwarding notices, until it closes.
async fn drive<S, T>(mut conn: tokio_postgres::Connection<S, T>, on_notice: Option<NoticeHandler>, closed: tokio::sync::oneshot::Sender<Option<Error>>, ended_by_server: Arc<std::sync::atomic::AtomicBool>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
    let mut end = None;
    while let Some(m) = messages.next().await {
        match m {
            Ok(AsyncMessage::Notice(n)) => {
                if let Some(f) = &on_notice {
                    f(DbError::from(&n));
                }
            }
            Ok(_) => {}
            Err(e) => {
                if e.as_db_error().is_some() {
                    ended_by_server.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                end = Some(Error::from(e));
                break;
            }
        }
    }
    let _ = closed.send(end);
}

/// Backslash-escapes spaces and backslashes, as libpq's `options` parser expects.
fn escape_option(v: &str) -> String {
    v.replace('\\', "\\\\").replace(' ', "\\ ")
}

/// A failed connect: server errors stay PostgresErrors (e.g. 28000 from a rejected token, 53300,
/// 53400); socket, TLS and timeout failures get postgres.js-style codes.
fn connect_error(e: tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        return Error::Db(Box::new(db.into()));
    }
    let mut text = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    let lower = text.to_lowercase();
    let code = if lower.contains("timed out") || lower.contains("timeout") {
        "CONNECT_TIMEOUT"
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        "TLS_ERROR"
    } else if lower.contains("refused") {
        "ECONNREFUSED"
    } else {
        "CONNECTION_CLOSED"
    };
    Error::connection(code, text)
}

/// `ssl: { rejectUnauthorized: false }`: any certificate is accepted, handshake signatures are
/// still checked with the presented key.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(&self, _: &CertificateDer<'_>, _: &[CertificateDer<'_>], _: &ServerName<'_>, _: &[u8], _: UnixTime) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
