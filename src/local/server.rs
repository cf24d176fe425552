//! Listener and per-connection session: TLS negotiation, SNI, limits, token check, relay.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::backend::{self, BackendError};
use super::certs::ALPN_POSTGRESQL;
use super::dsql::{DsqlPolicy, Settings};
use super::limits::{Slot, TokenBucket, MAX_MESSAGE, MAX_PASSWORD};
use super::protocol::{self as p, Startup};
use super::relay::{pump, Chain, Dir, PolicyFactory, PumpEnd, SessionInfo, SessionPolicy, SharedPolicy};
use super::stats::{Counters, RejectReason};
use super::token::Verifier;
use super::{BackendConfig, LocalConfig};
use crate::core::ws::WsIo;

/// How long sessions get to say goodbye on stop, or to flush the max-age error.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Backend connect + authentication + startup must finish within this.
const BACKEND_TIMEOUT: Duration = Duration::from_secs(15);
/// Backend sessions run like DSQL's transactions (snapshot isolation).
const REPEATABLE_READ: &str = "-c default_transaction_isolation=repeatable\\ read";

pub(crate) struct Shared {
    pub counters: Arc<Counters>,
    /// Replaced whole by `LocalDsql::set_credentials` (rotation, revocation).
    verifier: std::sync::RwLock<Arc<Verifier>>,
    backend: BackendConfig,
    acceptor: TlsAcceptor,
    /// Same certificate, ALPN `http/1.1` (WebSocket clients may offer it).
    ws_acceptor: TlsAcceptor,
    bucket: Option<TokenBucket>,
    max_connections: usize,
    max_age: Duration,
    handshake_timeout: Duration,
    repeatable_read: bool,
    policy: PolicyFactory,
}

impl Shared {
    fn verifier(&self) -> Arc<Verifier> {
        self.verifier.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// New connections authenticate against `credentials` from now on; open sessions stay.
    pub fn set_credentials(&self, credentials: Vec<aws_credential_types::Credentials>) {
        let mut v = self.verifier.write().unwrap_or_else(|e| e.into_inner());
        *v = Arc::new(Verifier {
            credentials,
            endpoint: v.endpoint.clone(),
            region: v.region.clone(),
            max_skew: v.max_skew,
        });
    }

    pub fn new(cfg: &LocalConfig, endpoint: String, tls: Arc<rustls::ServerConfig>) -> Self {
        let counters = Arc::new(Counters::default());
        let dsql = Arc::new(Settings::new(cfg, counters.clone()));
        let user = cfg.policy.clone();
        let policy: PolicyFactory = Arc::new(move |info: &SessionInfo| {
            let inner: Box<dyn SessionPolicy> = Box::new(DsqlPolicy::new(dsql.clone()));
            match &user {
                Some(f) => Box::new(Chain { outer: f(info), inner }),
                None => inner,
            }
        });
        let mut ws_tls = (*tls).clone();
        ws_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            counters,
            verifier: std::sync::RwLock::new(Arc::new(Verifier {
                endpoint,
                region: cfg.region.clone(),
                credentials: cfg.credentials.clone(),
                max_skew: cfg.max_clock_skew,
            })),
            backend: cfg.backend.clone(),
            acceptor: TlsAcceptor::from(tls),
            ws_acceptor: TlsAcceptor::from(Arc::new(ws_tls)),
            bucket: cfg.rate_limit.map(|(r, b)| TokenBucket::new(r, b)),
            max_connections: cfg.max_connections,
            max_age: cfg.max_connection_age,
            handshake_timeout: cfg.handshake_timeout,
            repeatable_read: cfg.optimistic_concurrency,
            policy,
        }
    }
}

/// How a client reaches the endpoint.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// PostgreSQL over TCP: SSLRequest or direct TLS.
    Pg,
    /// TLS, HTTP upgrade, then PostgreSQL in WebSocket binary messages.
    Ws,
}

/// How an endpoint is made unreachable ([`super::LocalDsql::down`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// The listeners are closed (new connections are refused) and open connections are dropped.
    Refuse,
    /// Connections are still accepted but never answered, and open connections stop relaying in
    /// both directions without closing (a network partition, seen from the client).
    Silent,
}

/// Requests to the accept loop; each is answered once it has taken effect.
pub(crate) enum Control {
    Down(Outage, oneshot::Sender<std::io::Result<()>>),
    /// Listen again on the same ports (if closed) and resume paused sessions.
    Up(oneshot::Sender<std::io::Result<()>>),
}

/// The listening ports, kept so that [`Control::Up`] can bind them again.
#[derive(Clone, Copy)]
pub(crate) struct Ports {
    pub pg: u16,
    pub ws: Option<u16>,
}

/// Accepts until stopped, then waits briefly for sessions to close. Every session runs under
/// [`pausable`], so that a silent outage freezes it in place.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    ws: Option<TcpListener>,
    ports: Ports,
    sh: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    mut control: mpsc::Receiver<Control>,
) {
    let session_stop = stop.clone();
    let mut sessions = JoinSet::new();
    let (mut listener, mut ws) = (Some(listener), ws);
    let (paused_tx, _) = watch::channel(false);
    loop {
        let (tcp, transport) = tokio::select! {
            _ = stopped(&mut stop) => break,
            r = accept_opt(&listener) => (r, Transport::Pg),
            r = accept_opt(&ws) => (r, Transport::Ws),
            Some(c) = control.recv() => {
                match c {
                    Control::Down(Outage::Refuse, ack) => {
                        (listener, ws) = (None, None);
                        sessions.abort_all();
                        while sessions.join_next().await.is_some() {}
                        paused_tx.send_replace(false);
                        let _ = ack.send(Ok(()));
                    }
                    Control::Down(Outage::Silent, ack) => {
                        // a refused endpoint that goes silent accepts again
                        let r = match listener.is_none() {
                            true => bind(ports).await.map(|l| (listener, ws) = l),
                            false => Ok(()),
                        };
                        if r.is_ok() {
                            paused_tx.send_replace(true);
                        }
                        let _ = ack.send(r);
                    }
                    Control::Up(ack) => {
                        let r = match listener.is_none() {
                            true => bind(ports).await.map(|l| (listener, ws) = l),
                            false => Ok(()),
                        };
                        if r.is_ok() {
                            paused_tx.send_replace(false);
                        }
                        let _ = ack.send(r);
                    }
                }
                continue;
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => continue,
        };
        match tcp {
            Ok(tcp) => {
                Counters::inc(&sh.counters.accepted);
                if transport == Transport::Ws {
                    Counters::inc(&sh.counters.ws_accepted);
                }
                let admission = admit(&sh);
                let s = session(tcp, transport, sh.clone(), admission, session_stop.clone());
                sessions.spawn(pausable(s, paused_tx.subscribe(), session_stop.clone()));
            }
            // e.g. out of file descriptors: back off instead of spinning
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    drop(listener);
    drop(ws);
    let _ = tokio::time::timeout(CLOSE_GRACE + Duration::from_millis(500), async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
}

/// Binds the endpoint's ports again (both or neither).
async fn bind(ports: Ports) -> std::io::Result<(Option<TcpListener>, Option<TcpListener>)> {
    let pg = TcpListener::bind(("127.0.0.1", ports.pg)).await?;
    let ws = match ports.ws {
        Some(p) => Some(TcpListener::bind(("127.0.0.1", p)).await?),
        None => None,
    };
    Ok((Some(pg), ws))
}

/// Runs `f`, but not while `paused` is true: a paused session is not polled at all, so it neither
/// reads nor writes (the socket stays open, its data waits in the kernel). A stop request ends a
/// paused session at once.
async fn pausable(f: impl Future<Output = ()>, mut paused: watch::Receiver<bool>, mut stop: watch::Receiver<bool>) {
    tokio::pin!(f);
    loop {
        if *paused.borrow_and_update() {
            tokio::select! {
                r = paused.wait_for(|p| !*p) => if r.is_err() { return },
                _ = stopped(&mut stop) => return,
            }
        }
        tokio::select! {
            biased;
            r = paused.changed() => {
                // the accept loop is gone: nothing can pause the session any more
                if r.is_err() {
                    return f.await;
                }
            }
            () = &mut f => return,
        }
    }
}

async fn accept_opt(l: &Option<TcpListener>) -> std::io::Result<TcpStream> {
    match l {
        Some(l) => l.accept().await.map(|(t, _)| t),
        None => std::future::pending().await,
    }
}

/// Limits are decided at accept time; the refusal is delivered after TLS + startup so the
/// client can read it (as DSQL does).
fn admit(sh: &Shared) -> Result<Slot, RejectReason> {
    if let Some(b) = &sh.bucket {
        if !b.try_acquire() {
            sh.counters.reject(RejectReason::RateLimited);
            return Err(RejectReason::RateLimited);
        }
    }
    Slot::try_take(&sh.counters, sh.max_connections).ok_or_else(|| {
        sh.counters.reject(RejectReason::TooManyConnections);
        RejectReason::TooManyConnections
    })
}

/// An authenticated client, ready to relay.
struct Authed<S> {
    client: S,
    info: SessionInfo,
    backend_params: Vec<(String, String)>,
}

async fn session(
    tcp: TcpStream,
    transport: Transport,
    sh: Arc<Shared>,
    admission: Result<Slot, RejectReason>,
    mut stop: watch::Receiver<bool>,
) {
    let started = Instant::now();
    tcp.set_nodelay(true).ok();
    // a rejected admission was counted already; later failures must not count twice
    let mut counted = admission.is_err();
    let (slot, rejection) = match admission {
        Ok(s) => (Some(s), None),
        Err(r) => (None, Some(r)),
    };
    let deadline = started + sh.handshake_timeout;
    let mut c = Conn { sh: &sh, counted: &mut counted, rejection, started, deadline };
    match transport {
        Transport::Pg => {
            let r = stage(deadline, &mut stop, tls_handshake(tcp, &mut c)).await;
            if let Some((tls, has_sni)) = c.finish(r) {
                serve(tls, has_sni, false, c, slot, stop).await;
            }
        }
        Transport::Ws => {
            let r = stage(deadline, &mut stop, ws_handshake(tcp, &mut c)).await;
            if let Some((ws, has_sni)) = c.finish(r) {
                serve(ws, has_sni, true, c, slot, stop).await;
            }
        }
    }
}

/// Per-connection handshake context.
struct Conn<'a> {
    sh: &'a Shared,
    /// The connection's rejection has been counted (each connection counts once).
    counted: &'a mut bool,
    rejection: Option<RejectReason>,
    started: Instant,
    deadline: Instant,
}

impl Conn<'_> {
    fn count(&mut self, reason: RejectReason) {
        count(self.sh, self.counted, reason);
    }

    async fn refuse<S: AsyncWrite + Unpin>(&mut self, s: &mut S, reason: RejectReason, code: &str, msg: &str) {
        refuse(s, self.sh, self.counted, reason, code, msg).await;
    }

    /// The result of a handshake stage; a timeout counts as a protocol error.
    fn finish<T>(&mut self, r: Stage<T>) -> Option<T> {
        match r {
            Stage::Done(x) => x,
            Stage::TimedOut => {
                self.count(RejectReason::ProtocolError);
                None
            }
            Stage::Stopped => None,
        }
    }
}

enum Stage<T> {
    Done(Option<T>),
    TimedOut,
    Stopped,
}

/// Runs one handshake stage until the handshake deadline or a stop request.
async fn stage<T>(deadline: Instant, stop: &mut watch::Receiver<bool>, f: impl Future<Output = Option<T>>) -> Stage<T> {
    tokio::select! {
        r = tokio::time::timeout_at(deadline, f) => match r {
            Ok(x) => Stage::Done(x),
            Err(_) => Stage::TimedOut,
        },
        _ = stopped(stop) => Stage::Stopped,
    }
}

/// PostgreSQL handshake and relay on an established client stream (TLS or WebSocket).
async fn serve<S>(
    client: S,
    has_sni: bool,
    ws: bool,
    mut c: Conn<'_>,
    slot: Option<Slot>,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let r = stage(c.deadline, &mut stop, pg_handshake(client, has_sni, ws, &mut c)).await;
    let Some(authed) = c.finish(r) else { return };
    let Some(slot) = slot else { return };
    relay(authed, c.sh, c.started, stop).await;
    drop(slot);
}

/// Writes a FATAL error, closes, and counts the reason once.
async fn refuse<S: AsyncWrite + Unpin>(
    s: &mut S,
    sh: &Shared,
    counted: &mut bool,
    reason: RejectReason,
    code: &str,
    msg: &str,
) {
    if !std::mem::replace(counted, true) {
        sh.counters.reject(reason);
    }
    let _ = s.write_all(&p::fatal(code, msg)).await;
    let _ = s.flush().await;
    let _ = s.shutdown().await;
}

fn count(sh: &Shared, counted: &mut bool, reason: RejectReason) {
    if !std::mem::replace(counted, true) {
        sh.counters.reject(reason);
    }
}

/// SSLRequest or direct TLS, then the TLS handshake; returns the stream and whether SNI was sent.
async fn tls_handshake(mut tcp: TcpStream, c: &mut Conn<'_>) -> Option<(TlsStream<TcpStream>, bool)> {
    use RejectReason::*;
    let mut first = [0u8; 1];
    if !matches!(tcp.peek(&mut first).await, Ok(1)) {
        c.count(ProtocolError);
        return None;
    }
    let direct = first[0] == 0x16;
    if !direct {
        loop {
            match p::read_startup(&mut tcp).await {
                Ok(Startup::Ssl) => break,
                Ok(Startup::GssEnc) => tcp.write_all(b"N").await.ok()?,
                // DSQL accepts nothing without TLS: a plain-text CancelRequest is refused, not
                // forwarded, as an unencrypted startup is (clients send theirs inside TLS).
                Ok(Startup::Cancel(_) | Startup::Startup { .. }) => {
                    let msg = "unable to accept connection, ssl is required";
                    c.refuse(&mut tcp, ProtocolError, "28000", msg).await;
                    return None;
                }
                Err(_) => {
                    c.count(ProtocolError);
                    return None;
                }
            }
        }
        if tcp.write_all(b"S").await.is_err() {
            c.count(ProtocolError);
            return None;
        }
    }
    let Ok(mut tls) = c.sh.acceptor.accept(tcp).await else {
        c.count(ProtocolError);
        return None;
    };
    let (has_sni, alpn_ok) = {
        let conn = tls.get_ref().1;
        (conn.server_name().is_some(), conn.alpn_protocol() == Some(ALPN_POSTGRESQL))
    };
    if direct && !alpn_ok {
        let msg = "unable to accept connection, direct ssl requires alpn postgresql";
        c.refuse(&mut tls, ProtocolError, "08P01", msg).await;
        return None;
    }
    Some((tls, has_sni))
}

/// TLS then the WebSocket upgrade (any path); returns the byte stream and whether SNI was sent.
async fn ws_handshake(tcp: TcpStream, c: &mut Conn<'_>) -> Option<(WsIo<TlsStream<TcpStream>>, bool)> {
    let Ok(tls) = c.sh.ws_acceptor.accept(tcp).await else {
        c.count(RejectReason::ProtocolError);
        return None;
    };
    let has_sni = tls.get_ref().1.server_name().is_some();
    let Ok(ws) = tokio_tungstenite::accept_async(tls).await else {
        c.count(RejectReason::ProtocolError);
        return None;
    };
    Some((WsIo::new(ws), has_sni))
}

/// From the startup packet to a verified token; `None` when the connection was refused.
/// `ws`: inside a WebSocket, where SSLRequest and GSSENCRequest are answered 'N'.
async fn pg_handshake<S>(mut s: S, has_sni: bool, ws: bool, c: &mut Conn<'_>) -> Option<Authed<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    use RejectReason::*;
    let sh = c.sh;
    let (minor, params) = loop {
        match p::read_startup(&mut s).await {
            Ok(Startup::Startup { minor, params }) => break (minor, params),
            Ok(Startup::Ssl | Startup::GssEnc) if ws => {
                if s.write_all(b"N").await.is_err() || s.flush().await.is_err() {
                    c.count(ProtocolError);
                    return None;
                }
            }
            // Inside TLS (or the WebSocket): forwarded to the backend verbatim, since the client
            // got the backend's own BackendKeyData. SNI is required here too.
            Ok(Startup::Cancel(pkt)) => {
                if has_sni {
                    backend::forward_cancel(&sh.backend, &pkt).await;
                } else {
                    let msg = "unable to accept connection, sni was not received";
                    c.refuse(&mut s, NoSni, "08004", msg).await;
                }
                return None;
            }
            Ok(_) | Err(_) => {
                c.refuse(&mut s, ProtocolError, "08P01", "invalid startup packet").await;
                return None;
            }
        }
    };
    if !has_sni {
        let msg = "unable to accept connection, sni was not received";
        c.refuse(&mut s, NoSni, "08004", msg).await;
        return None;
    }
    match c.rejection {
        Some(RateLimited) => {
            let msg = "unable to accept connection, rate exceeded.";
            c.refuse(&mut s, RateLimited, "53400", msg).await;
            return None;
        }
        Some(r) => {
            let msg = "unable to accept connection, too many open connections.";
            c.refuse(&mut s, r, "53300", msg).await;
            return None;
        }
        None => {}
    }
    let Some(user) = Startup::param(&params, "user").filter(|u| !u.is_empty()).map(str::to_owned) else {
        let msg = "no PostgreSQL user name specified in startup packet";
        c.refuse(&mut s, ProtocolError, "28000", msg).await;
        return None;
    };
    let database = Startup::param(&params, "database").filter(|d| !d.is_empty()).unwrap_or(&user).to_owned();
    // we speak 3.0 and no protocol extensions
    let unknown: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).filter(|k| k.starts_with("_pq_.")).collect();
    let mut out = Vec::new();
    if minor > 0 || !unknown.is_empty() {
        out.extend_from_slice(&p::negotiate_protocol_version(&unknown));
    }
    out.extend_from_slice(&p::auth_request(3, &[]));
    if s.write_all(&out).await.is_err() || s.flush().await.is_err() {
        c.count(ProtocolError);
        return None;
    }
    let password = match p::read_message(&mut s, MAX_PASSWORD).await {
        Ok((b'p', body)) => p::parse_password(&body).map(str::to_owned),
        _ => None,
    };
    let Some(password) = password else {
        c.refuse(&mut s, ProtocolError, "08P01", "expected password response").await;
        return None;
    };
    let verifier = sh.verifier();
    if let Err(e) = verifier.verify(&password, &user, SystemTime::now()).await {
        let (reason, msg) = match e {
            super::TokenError::Expired => (Expired, "unable to accept connection, token expired"),
            super::TokenError::NotYetValid => {
                (Expired, "unable to accept connection, token not yet valid (check the clock)")
            }
            _ => (BadToken, "unable to accept connection, access denied"),
        };
        c.refuse(&mut s, reason, "28000", msg).await;
        return None;
    }
    Counters::inc(&sh.counters.authenticated);
    *c.counted = true; // later failures are backend errors, counted by the relay
    let backend_user = sh.backend.user_override.clone().unwrap_or_else(|| user.clone());
    let backend_db = sh.backend.database_override.clone().unwrap_or_else(|| database.clone());
    let mut backend_params = vec![("user".to_owned(), backend_user), ("database".to_owned(), backend_db)];
    backend_params
        .extend(params.iter().filter(|(k, _)| k != "user" && k != "database" && !k.starts_with("_pq_.")).cloned());
    if sh.repeatable_read {
        // appended last, so it wins over a client's own setting
        match backend_params.iter_mut().find(|(k, _)| k == "options") {
            Some((_, v)) => {
                v.push(' ');
                v.push_str(REPEATABLE_READ);
            }
            None => backend_params.push(("options".into(), REPEATABLE_READ.into())),
        }
    }
    Some(Authed { client: s, info: SessionInfo { user, database, params }, backend_params })
}

/// Connects the backend and relays until either side closes, max age, or stop.
async fn relay<S>(a: Authed<S>, sh: &Shared, started: Instant, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let Authed { client: mut tls, info, backend_params } = a;
    let connect = tokio::time::timeout(BACKEND_TIMEOUT, backend::connect(&sh.backend, &backend_params));
    let (backend, greeting) = match connect.await.unwrap_or(Err(BackendError::Auth("timed out"))) {
        Ok(x) => x,
        Err(e) => {
            let msg = match e {
                BackendError::Refused(raw) => raw,
                _ => p::fatal("08001", "unable to accept connection, backend database unavailable"),
            };
            sh.counters.reject(RejectReason::BackendError);
            let _ = tls.write_all(&msg).await;
            let _ = tls.flush().await;
            let _ = tls.shutdown().await;
            return;
        }
    };
    if tls.write_all(&greeting).await.is_err() || tls.flush().await.is_err() {
        return;
    }
    let policy: SharedPolicy = Arc::new(Mutex::new((sh.policy)(&info)));
    let (cr, mut cw) = tokio::io::split(tls);
    let (br, mut bw) = backend.into_split();
    let (close_tx, close_rx) = watch::channel(None);
    let b2c = pump(br, &mut cw, Dir::ToClient, policy.clone(), MAX_MESSAGE, Some(close_rx));
    let c2b = pump(cr, &mut bw, Dir::ToBackend, policy, MAX_MESSAGE, None);
    tokio::pin!(b2c, c2b);
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let deadline = tokio::time::sleep_until(started.checked_add(sh.max_age).unwrap_or(far));
    let grace = tokio::time::sleep_until(far);
    tokio::pin!(deadline, grace);
    let (mut c2b_done, mut closing) = (false, false);
    loop {
        let close_with = tokio::select! {
            _ = &mut b2c => break,
            r = &mut c2b, if !c2b_done => {
                c2b_done = true;
                match r {
                    PumpEnd::Protocol => p::fatal("08P01", "invalid frontend message"),
                    // The client is done (Terminate, then its end of stream, passed on): the session
                    // ends when the backend has let it go, so that the client's end of stream comes
                    // after the backend session is gone, as with PostgreSQL itself (bounded).
                    _ => {
                        grace.as_mut().reset(Instant::now() + CLOSE_GRACE);
                        continue;
                    }
                }
            }
            _ = &mut deadline, if !closing => {
                Counters::inc(&sh.counters.closed_by_max_age);
                let secs = sh.max_age.as_secs();
                p::fatal("08006", &format!("connection closed: exceeded maximum connection duration of {secs} seconds"))
            }
            _ = stopped(&mut stop), if !closing => p::fatal("57P01", "terminating connection due to administrator command"),
            _ = &mut grace => break,
        };
        if !closing {
            closing = true;
            let _ = close_tx.send(Some(close_with));
            grace.as_mut().reset(Instant::now() + CLOSE_GRACE);
        }
    }
}

/// Resolves once stop is requested (or the endpoint is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::super::{start, LocalConfig, Outage};
    use aws_credential_types::Credentials;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f];

    /// Sends an SSLRequest and returns the first byte of the answer, if one comes within 300 ms.
    async fn answer(port: u16) -> std::io::Result<Option<u8>> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(&SSL_REQUEST).await?;
        let mut b = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(300), s.read_exact(&mut b)).await {
            Ok(r) => r.map(|_| Some(b[0])),
            Err(_) => Ok(None),
        }
    }

    #[tokio::test]
    async fn down_refuse_silent_and_up() {
        let cfg = LocalConfig {
            credentials: vec![Credentials::new("AKIDTEST", "secret", None, None, "test")],
            ..Default::default()
        };
        let ep = start(cfg).await.expect("start");
        let (port, ws) = (ep.port(), ep.ws_port().expect("ws port"));
        assert_eq!(answer(port).await.expect("up"), Some(b'S'));

        ep.down(Outage::Refuse).await.expect("down");
        for p in [port, ws] {
            let e = TcpStream::connect(("127.0.0.1", p)).await.expect_err("refused");
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        ep.up().await.expect("up");
        assert_eq!(answer(port).await.expect("up again"), Some(b'S'));
        TcpStream::connect(("127.0.0.1", ws)).await.expect("ws listens again");

        ep.down(Outage::Silent).await.expect("silent");
        // accepted (the connect succeeds) but never answered
        assert_eq!(answer(port).await.expect("accepted"), None);
        let mut held = TcpStream::connect(("127.0.0.1", port)).await.expect("accepted");
        held.write_all(&SSL_REQUEST).await.expect("write");
        ep.up().await.expect("up");
        // the held connection is served once the endpoint is back
        let mut b = [0u8; 1];
        tokio::time::timeout(Duration::from_secs(2), held.read_exact(&mut b)).await.expect("answered").expect("read");
        assert_eq!(b[0], b'S');
        assert_eq!(ep.stats().accepted, 5);

        ep.stop().await;
        assert!(ep.up().await.is_err(), "a stopped endpoint cannot come back");
    }
}
