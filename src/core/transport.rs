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

use crate::core::close_wait::{CloseWait, MakeCloseWait};
use crate::core::config::{Config, Tls, Transport};
use crate::core::error::{with_causes, DbError, Error, Result, SystemError, SystemTarget};
use crate::core::ws::WsIo;
use futures_util::StreamExt;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::config::{SslMode, SslNegotiation};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{AsyncMessage, Client};
use tokio_postgres_rustls::MakeRustlsConnect;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What opens sessions for one configuration; TLS is set up once per pool.
#[derive(Clone)]
pub enum Connector {
    Tcp(Option<MakeRustlsConnect>),
    WebSocket(Option<tokio_rustls::TlsConnector>),
}

/// The connector for `cfg` (TLS configuration errors surface here, before any connection).
pub fn connector(cfg: &Config) -> Result<Connector> {
    let client = client_config(&cfg.tls)?;
    Ok(match cfg.transport {
        Transport::Tcp => Connector::Tcp(client.map(MakeRustlsConnect::new)),
        Transport::WebSocket { .. } => Connector::WebSocket(client.map(|mut c| {
            c.alpn_protocols = vec![b"http/1.1".to_vec()];
            tokio_rustls::TlsConnector::from(Arc::new(c))
        })),
    })
}

/// The rustls client configuration for `tls`, or `None` without TLS.
fn client_config(tls: &Tls) -> Result<Option<ClientConfig>> {
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
                    let cert = cert
                        .map_err(|e| Error::type_error(format!("ssl.ca could not be read as PEM certificates: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| Error::type_error(format!("ssl.ca holds a certificate rustls cannot use: {e}")))?;
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
    Ok(Some(config))
}

/// A notice (or an asynchronous error) from the server.
pub type NoticeHandler = Arc<dyn Fn(DbError) + Send + Sync>;

/// Server parameters reported at startup (postgres.js's `sql.parameters`).
const REPORTED: [&str; 11] = [
    "application_name",
    "client_encoding",
    "DateStyle",
    "integer_datetimes",
    "IntervalStyle",
    "is_superuser",
    "server_encoding",
    "server_version",
    "session_authorization",
    "standard_conforming_strings",
    "TimeZone",
];

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

/// What a CancelRequest for one session needs: its backend key (inside tokio-postgres's token,
/// which also knows whether the session negotiated TLS and how) and the address the session's
/// socket reached, so the request goes to that same server.
#[derive(Clone)]
pub struct CancelTarget {
    token: tokio_postgres::CancelToken,
    peer: Option<SocketAddr>,
}

impl Session {
    pub fn cancel_target(&self) -> CancelTarget {
        CancelTarget { token: self.client.cancel_token(), peer: self.peer }
    }
}

/// Reads the session's reported parameters. ParameterStatus arrives before the ReadyForQuery that
/// ends a query's response, so after a query finished this includes what it changed.
pub type ParameterReader = Arc<dyn Fn() -> Vec<(String, String)> + Send + Sync>;

type ClosedSender = tokio::sync::oneshot::Sender<Option<Error>>;

/// Spawns the connection task; the connection sits in a mutex so its parameters stay readable.
fn spawn_driver<S, T>(
    conn: tokio_postgres::Connection<S, T>,
    on_notice: Option<NoticeHandler>,
    closed: ClosedSender,
    ended_by_server: Arc<std::sync::atomic::AtomicBool>,
) -> (tokio::task::AbortHandle, ParameterReader)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = Arc::new(std::sync::Mutex::new(Some(conn)));
    // Weak: only the connection task owns the connection, so ending or aborting the task drops it
    // (and fails what is still queued on it).
    let shared = Arc::downgrade(&conn);
    let reader: ParameterReader = Arc::new(move || {
        let Some(conn) = shared.upgrade() else { return Vec::new() };
        let guard = conn.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(c) => REPORTED.iter().filter_map(|k| c.parameter(k).map(|v| (k.to_string(), v.to_string()))).collect(),
            None => Vec::new(),
        }
    });
    let task = tokio::spawn(drive(conn, on_notice, closed, ended_by_server)).abort_handle();
    (task, reader)
}

/// Opens one session with `password` (the IAM token). The connection task runs on tokio.
pub async fn connect(
    cfg: &Config,
    password: &str,
    connector: &Connector,
    on_notice: Option<NoticeHandler>,
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
            peer = Some(addr);
            let (client, conn) =
                pg.connect_raw(tcp, tls_for(&mut MakeCloseWait(tls.clone()), cfg)).await.map_err(connect_error)?;
            let (task, p) = spawn_driver(conn, on_notice, tx, ended_by_server.clone());
            let now = p();
            (client, (task, p), now)
        }
        Connector::Tcp(None) => {
            pg.ssl_mode(SslMode::Disable);
            let (tcp, addr) = open_tcp(cfg, None).await?;
            peer = Some(addr);
            let (client, conn) = pg.connect_raw(tcp, tokio_postgres::NoTls).await.map_err(connect_error)?;
            let (task, p) = spawn_driver(conn, on_notice, tx, ended_by_server.clone());
            let now = p();
            (client, (task, p), now)
        }
        Connector::WebSocket(tls) => {
            // The WebSocket's TLS is the session's TLS: no SSLRequest inside it.
            pg.ssl_mode(SslMode::Disable);
            // Its shutdown (a Close message) waits for the server's Close too, as over TLS.
            let (ws, addr) = open_websocket(cfg, tls.as_ref(), None).await?;
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

/// The TLS connector for one connection: SNI and the certificate's expected name are the cluster
/// host, whatever address the socket reached.
fn tls_for<M: MakeTlsConnect<TcpStream, Error = std::convert::Infallible>>(
    make: &mut M,
    cfg: &Config,
) -> M::TlsConnect {
    match make.make_tls_connect(&cfg.host) {
        Ok(t) => t,
        Err(never) => match never {},
    }
}

/// Node's `getaddrinfo` error for `host`: `ENOTFOUND`, or `EAI_AGAIN` when the resolver reported a
/// temporary failure (libuv's errno values, the same on every platform).
fn lookup_failed(host: &str, e: Option<&std::io::Error>) -> Error {
    // std keeps only gai_strerror's text; a temporary failure (EAI_AGAIN) says so on every libc.
    let temporary = e.is_some_and(|e| e.to_string().to_ascii_lowercase().contains("temporary failure"));
    let (code, errno) = if temporary { ("EAI_AGAIN", -3001) } else { ("ENOTFOUND", -3008) };
    Error::System(Box::new(SystemError {
        code,
        errno,
        syscall: "getaddrinfo",
        about: SystemTarget::Hostname(host.to_string()),
    }))
}

/// Node's `connect` error for `addr` (`connect ECONNREFUSED 10.0.0.1:5432`); errno is the OS's
/// number negated, as libuv reports it on Unix.
fn connect_failed(e: &std::io::Error, addr: SocketAddr) -> Error {
    use std::io::ErrorKind as K;
    let code = match e.kind() {
        K::ConnectionRefused => "ECONNREFUSED",
        K::ConnectionReset => "ECONNRESET",
        K::HostUnreachable => "EHOSTUNREACH",
        K::NetworkUnreachable => "ENETUNREACH",
        K::AddrNotAvailable => "EADDRNOTAVAIL",
        K::TimedOut => "ETIMEDOUT",
        K::PermissionDenied => "EACCES",
        _ => return Error::connection("CONNECTION_CLOSED", format!("connect {addr}: {e}")),
    };
    Error::System(Box::new(SystemError {
        code,
        errno: e.raw_os_error().map_or(0, |n| -n),
        syscall: "connect",
        about: SystemTarget::Address(addr),
    }))
}

/// TCP_NODELAY on; keepalive per `keep_alive`: a dead peer (no FIN) is found after idle + 3 probes
/// 10 s apart, so queries never hang forever.
fn tune(tcp: &TcpStream, cfg: &Config) {
    let _ = tcp.set_nodelay(true);
    if let Some(k) = cfg.keep_alive {
        let ka = socket2::TcpKeepalive::new().with_time(k).with_interval(Duration::from_secs(10));
        #[cfg(not(any(target_os = "openbsd", target_os = "redox", target_os = "solaris", target_os = "windows")))]
        let ka = ka.with_retries(3);
        let _ = socket2::SockRef::from(tcp).set_tcp_keepalive(&ka);
    }
}

/// A TCP socket to `to`, else `hostaddr`, else each address `cfg.host` resolves to in turn until
/// one accepts (the last failure is reported), tuned by [`tune`]. `connect_timeout` bounds the
/// caller's whole connect, this included.
async fn open_tcp(cfg: &Config, to: Option<SocketAddr>) -> Result<(TcpStream, SocketAddr)> {
    let addrs = match (to, cfg.hostaddr) {
        (Some(a), _) => vec![a],
        (None, Some(ip)) => vec![SocketAddr::new(ip, cfg.port)],
        (None, None) => tokio::net::lookup_host((cfg.host.as_str(), cfg.port))
            .await
            .map_err(|e| lookup_failed(&cfg.host, Some(&e)))?
            .collect(),
    };
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                tune(&tcp, cfg);
                return Ok((tcp, addr));
            }
            Err(e) => last = Some(connect_failed(&e, addr)),
        }
    }
    Err(last.unwrap_or_else(|| lookup_failed(&cfg.host, None)))
}

/// The session's backend process id and secret key (postgres.js's `result.state`). tokio-postgres
/// keeps them private; its `CancelToken` writes them in a CancelRequest, so that request is written
/// into memory (through a pass-through "TLS" when the session negotiated TLS) and read back. Nothing
/// goes to the network.
pub async fn backend_key(client: &Client) -> Option<(i32, i32)> {
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let (ours, mut theirs) = tokio::io::duplex(64);
    let token = client.cancel_token();
    let write = token.cancel_query_raw(ours, PassThrough);
    let read = async {
        let mut head = [0u8; 8];
        theirs.read_exact(&mut head).await.ok()?;
        if head == SSL_REQUEST {
            theirs.write_all(b"S").await.ok()?;
            theirs.read_exact(&mut head).await.ok()?;
        }
        let mut key = [0u8; 8];
        theirs.read_exact(&mut key).await.ok()?;
        (head[..4] == [0, 0, 0, 16]).then(|| {
            (i32::from_be_bytes([key[0], key[1], key[2], key[3]]), i32::from_be_bytes([key[4], key[5], key[6], key[7]]))
        })
    };
    let (_, key) = tokio::join!(write, read);
    key
}

/// A "TLS" connector that returns the stream unchanged (only for [`backend_key`]'s in-memory stream).
struct PassThrough;
struct Plain<S>(S);

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsConnect<S> for PassThrough {
    type Stream = Plain<S>;
    type Error = std::io::Error;
    type Future = std::future::Ready<std::io::Result<Plain<S>>>;
    fn connect(self, stream: S) -> Self::Future {
        std::future::ready(Ok(Plain(stream)))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for Plain<S> {
    fn channel_binding(&self) -> tokio_postgres::tls::ChannelBinding {
        tokio_postgres::tls::ChannelBinding::none()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Plain<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Plain<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Sends a CancelRequest for a session on a new connection to the address it reached: over TCP
/// inside TLS negotiated as the session's was (SSLRequest or direct TLS, SNI and certificate name
/// = the cluster host, the same CA), or in a new WebSocket (whose TLS is the session's). The server
/// answers nothing; errors only mean it could not be sent. Bounded by `connect_timeout`.
pub async fn cancel(cfg: &Config, connector: &Connector, target: &CancelTarget) -> Result<()> {
    let token = &target.token;
    let send = async {
        match connector {
            Connector::Tcp(Some(tls)) => {
                let (tcp, _) = open_tcp(cfg, target.peer).await?;
                token.cancel_query_raw(tcp, tls_for(&mut tls.clone(), cfg)).await.map_err(connect_error)
            }
            Connector::Tcp(None) => {
                let (tcp, _) = open_tcp(cfg, target.peer).await?;
                token.cancel_query_raw(tcp, tokio_postgres::NoTls).await.map_err(connect_error)
            }
            Connector::WebSocket(tls) => {
                let (stream, _) = open_websocket(cfg, tls.as_ref(), target.peer).await?;
                token.cancel_query_raw(stream, tokio_postgres::NoTls).await.map_err(connect_error)
            }
        }
    };
    match tokio::time::timeout(cfg.connect_timeout, send).await {
        Ok(sent) => sent,
        Err(_) => Err(Error::connection(
            "CONNECT_TIMEOUT",
            format!(
                "write CONNECT_TIMEOUT {}:{} (connect_timeout {}s, sending a CancelRequest)",
                cfg.host,
                cfg.port,
                cfg.connect_timeout.as_secs_f64()
            ),
        )),
    }
}

/// Any byte stream the WebSocket can run over (TCP, or TLS over TCP).
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// TCP (to `to`, or as [`open_tcp`] chooses, or through the proxy), TLS with SNI = the cluster
/// host, then the WebSocket upgrade. Also returns the address reached (`None` through a proxy).
async fn open_websocket(
    cfg: &Config,
    tls: Option<&tokio_rustls::TlsConnector>,
    to: Option<SocketAddr>,
) -> Result<(WsIo<Box<dyn Io>>, Option<SocketAddr>)> {
    let target = || format!("{}:{}", cfg.host, cfg.port);
    let (tcp, peer) = match proxy_for(cfg, tls.is_some(), &cfg.env)? {
        Some(proxy) => {
            let tcp = proxy.connect(&cfg.host, cfg.port).await?;
            tune(&tcp, cfg);
            (tcp, None)
        }
        None => {
            let (tcp, addr) = open_tcp(cfg, to).await?;
            (tcp, Some(addr))
        }
    };
    let (stream, scheme): (Box<dyn Io>, &str) = match tls {
        Some(tls) => {
            let name = ServerName::try_from(cfg.host.clone())
                .map_err(|_| Error::type_error(format!("host '{}' is not a valid TLS server name", cfg.host)))?;
            let s = tls
                .connect(name, tcp)
                .await
                .map_err(|e| Error::connection("TLS_ERROR", format!("TLS handshake with {} failed: {e}", target())))?;
            (Box::new(s), "wss")
        }
        None => (Box::new(tcp), "ws"),
    };
    let url = format!("{scheme}://{}/", target());
    let (ws, _) = tokio_tungstenite::client_async(url.as_str(), stream).await.map_err(|e| {
        use tokio_tungstenite::tungstenite::Error as W;
        match e {
            W::Http(r) => Error::connection(
                "CONNECTION_CLOSED",
                format!("WebSocket upgrade to {url} refused: HTTP {}", r.status()),
            ),
            W::Io(e) => io_error(&e, &target()),
            e => Error::connection("CONNECTION_CLOSED", format!("WebSocket upgrade to {url} failed: {e}")),
        }
    })?;
    Ok((WsIo::new(ws), peer))
}

fn io_error(e: &std::io::Error, target: &str) -> Error {
    use std::io::ErrorKind as K;
    let code = match e.kind() {
        K::ConnectionRefused => "ECONNREFUSED",
        K::TimedOut => "CONNECT_TIMEOUT",
        K::ConnectionReset => "ECONNRESET",
        _ => "CONNECTION_CLOSED",
    };
    Error::connection(code, format!("{} {target}: {e}", code.to_lowercase()))
}

/// An HTTP proxy for CONNECT tunnels (`http://[user:password@]host:port`).
#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    host: String,
    port: u16,
    /// `user:password` for Basic authentication, percent-decoded.
    auth: Option<String>,
}

/// The proxy for a WebSocket to `cfg.host`: `HTTPS_PROXY` (wss) or `HTTP_PROXY` (ws), lower-case
/// names too, unless `NO_PROXY` matches the host (`*`, a host name, or a `.domain` suffix).
pub fn proxy_for(cfg: &Config, tls: bool, env: &dyn crate::core::config::Env) -> Result<Option<Proxy>> {
    let names: &[&str] = if tls {
        &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    };
    let Some((name, raw)) = names.iter().find_map(|n| env.var(n).map(|v| (*n, v))) else { return Ok(None) };
    let no_proxy = env.var("NO_PROXY").or_else(|| env.var("no_proxy")).unwrap_or_default();
    let host = cfg.host.to_ascii_lowercase();
    let addr = cfg.hostaddr.map(|a| a.to_string());
    for entry in no_proxy.split(',').map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty()) {
        let entry = entry
            .rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(entry.as_str(), |(h, _)| h)
            .to_string();
        let bare = entry.trim_start_matches("*.").trim_start_matches('.');
        if entry == "*" || host == bare || host.ends_with(&format!(".{bare}")) || addr.as_deref() == Some(bare) {
            return Ok(None);
        }
    }
    let with_scheme = if raw.contains("://") { raw.clone() } else { format!("http://{raw}") };
    let url = url::Url::parse(&with_scheme)
        .map_err(|_| Error::type_error(format!("{name} must be a proxy URL like http://proxy.example.com:3128")))?;
    if url.scheme() != "http" {
        return Err(Error::type_error(format!(
            "{name}: only http:// proxies are supported (HTTP CONNECT), got {}://",
            url.scheme()
        )));
    }
    let proxy_host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::type_error(format!("{name} must name a proxy host")))?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
    };
    let auth = (!url.username().is_empty())
        .then(|| format!("{}:{}", decode(url.username()), decode(url.password().unwrap_or(""))));
    Ok(Some(Proxy {
        host: proxy_host.trim_start_matches('[').trim_end_matches(']').to_string(),
        port: url.port().unwrap_or(80),
        auth,
    }))
}

impl Proxy {
    /// Opens a tunnel to `host:port` with HTTP CONNECT. Errors name the proxy, never its credentials.
    pub async fn connect(&self, host: &str, port: u16) -> Result<TcpStream> {
        use base64::Engine;
        let at = format!("proxy {}:{}", self.host, self.port);
        let mut tcp = TcpStream::connect((self.host.as_str(), self.port)).await.map_err(|e| io_error(&e, &at))?;
        let mut req = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
        if let Some(auth) = &self.auth {
            req.push_str(&format!(
                "Proxy-Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(auth)
            ));
        }
        req.push_str("\r\n");
        tcp.write_all(req.as_bytes()).await.map_err(|e| io_error(&e, &at))?;
        // Read the response head byte by byte, so nothing of the tunnel is consumed.
        let mut head = Vec::with_capacity(256);
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > 16 * 1024 {
                return Err(Error::connection(
                    "CONNECTION_CLOSED",
                    format!("{at} sent an oversized response to CONNECT"),
                ));
            }
            let b = tcp.read_u8().await.map_err(|e| io_error(&e, &at))?;
            head.push(b);
        }
        let status_line =
            String::from_utf8_lossy(&head[..head.iter().position(|&b| b == b'\r').unwrap_or(head.len())]).into_owned();
        let status = status_line.split_whitespace().nth(1).unwrap_or("");
        if !status_line.starts_with("HTTP/1.") || !status.starts_with('2') {
            let shown: String = status_line.chars().filter(|c| !c.is_control()).take(120).collect();
            return Err(Error::connection("ECONNREFUSED", format!("{at} refused CONNECT {host}:{port}: {shown}")));
        }
        Ok(tcp)
    }
}

/// Runs the connection, forwarding notices, until it closes.
async fn drive<S, T>(
    conn: Arc<std::sync::Mutex<Option<tokio_postgres::Connection<S, T>>>>,
    on_notice: Option<NoticeHandler>,
    closed: ClosedSender,
    ended_by_server: Arc<std::sync::atomic::AtomicBool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let slot = conn.clone();
    let mut messages =
        futures_util::stream::poll_fn(move |cx| match slot.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(c) => c.poll_message(cx),
            None => std::task::Poll::Ready(None),
        });
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
    // Drop the connection now (the parameter reader shares it): requests still queued on it fail
    // at once instead of waiting for answers that cannot come.
    drop(messages);
    conn.lock().unwrap_or_else(|e| e.into_inner()).take();
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
    let text = with_causes(&e);
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
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::resolve;
    use serde_json::json;

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    fn ws_config(extra: serde_json::Value) -> Config {
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

    #[test]
    fn proxy_selection() {
        let c = ws_config(json!({}));
        let p = |vars: &'static [(&'static str, &'static str)], tls: bool| proxy_for(&c, tls, &env_of(vars));
        assert_eq!(p(&[], true).unwrap(), None);
        assert_eq!(
            p(&[("HTTPS_PROXY", "http://proxy.corp:3128")], true).unwrap(),
            Some(Proxy { host: "proxy.corp".into(), port: 3128, auth: None })
        );
        assert_eq!(
            p(&[("https_proxy", "proxy.corp")], true).unwrap(),
            Some(Proxy { host: "proxy.corp".into(), port: 80, auth: None })
        );
        assert_eq!(
            p(&[("HTTPS_PROXY", "http://u%40x:p%3Aw@10.0.0.1:8080")], true).unwrap().unwrap().auth.as_deref(),
            Some("u@x:p:w")
        );
        // ws:// uses HTTP_PROXY, wss:// HTTPS_PROXY.
        assert_eq!(p(&[("HTTPS_PROXY", "http://a:1")], false).unwrap(), None);
        assert_eq!(p(&[("HTTP_PROXY", "http://a:1")], false).unwrap().unwrap().host, "a");
        for no in [
            "*",
            "abc.dsql.us-east-1.on.aws",
            ".on.aws",
            "on.aws",
            "*.on.aws",
            "x.com, .aws",
            "abc.dsql.us-east-1.on.aws:443",
        ] {
            let vars: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([("HTTPS_PROXY", "http://a:1"), ("NO_PROXY", no)]));
            assert_eq!(p(vars, true).unwrap(), None, "NO_PROXY={no}");
        }
        for no in ["x.com", "bc.dsql.us-east-1.on.aws", "aws.other"] {
            let vars: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([("HTTPS_PROXY", "http://a:1"), ("no_proxy", no)]));
            assert!(p(vars, true).unwrap().is_some(), "NO_PROXY={no}");
        }
        let e = p(&[("HTTPS_PROXY", "https://secure.proxy:443")], true).unwrap_err().to_string();
        assert!(e.contains("only http:// proxies are supported"), "{e}");
        let e = p(&[("HTTPS_PROXY", "http://user:s3cret@:99")], true).unwrap_err().to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
