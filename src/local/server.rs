//! Listener and per-connection session: TLS negotiation, SNI, limits, token check, relay.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::backend::{self, BackendError};
use super::certs::ALPN_POSTGRESQL;
use super::limits::{Slot, TokenBucket, MAX_MESSAGE, MAX_PASSWORD};
use super::protocol::{self as p, Startup};
use super::relay::{pump, Dir, PassThrough, PolicyFactory, PumpEnd, SessionInfo, SharedPolicy};
use super::stats::{Counters, RejectReason};
use super::token::Verifier;
use super::{BackendConfig, LocalConfig};

/// How long sessions get to say goodbye on stop, or to flush the max-age error.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Backend connect + authentication + startup must finish within this.
const BACKEND_TIMEOUT: Duration = Duration::from_secs(15);

pub(crate) struct Shared {
    pub counters: Arc<Counters>,
    verifier: Verifier,
    backend: BackendConfig,
    acceptor: TlsAcceptor,
    bucket: Option<TokenBucket>,
    max_connections: usize,
    max_age: Duration,
    handshake_timeout: Duration,
    policy: PolicyFactory,
}

impl Shared {
    pub fn new(cfg: &LocalConfig, endpoint: String, tls: Arc<rustls::ServerConfig>) -> Self {
        Self {
            counters: Arc::new(Counters::default()),
            verifier: Verifier {
                endpoint,
                region: cfg.region.clone(),
                credentials: cfg.credentials.clone(),
                max_skew: cfg.max_clock_skew,
            },
            backend: cfg.backend.clone(),
            acceptor: TlsAcceptor::from(tls),
            bucket: cfg.rate_limit.map(|(r, b)| TokenBucket::new(r, b)),
            max_connections: cfg.max_connections,
            max_age: cfg.max_connection_age,
            handshake_timeout: cfg.handshake_timeout,
            policy: cfg
                .policy
                .clone()
                .unwrap_or_else(|| Arc::new(|_: &SessionInfo| Box::new(PassThrough) as _)),
        }
    }
}

/// Accepts until stopped, then waits briefly for sessions to close.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    sh: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let session_stop = stop.clone();
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => break,
            r = listener.accept() => match r {
                Ok((tcp, _)) => {
                    Counters::inc(&sh.counters.accepted);
                    let admission = admit(&sh);
                    sessions.spawn(session(tcp, sh.clone(), admission, session_stop.clone()));
                }
                // e.g. out of file descriptors: back off instead of spinning
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(CLOSE_GRACE + Duration::from_millis(500), async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
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
struct Authed {
    tls: TlsStream<TcpStream>,
    info: SessionInfo,
    backend_params: Vec<(String, String)>,
}

async fn session(
    tcp: TcpStream,
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
    let hs = handshake(tcp, &sh, rejection, &mut counted);
    let authed = tokio::select! {
        r = tokio::time::timeout(sh.handshake_timeout, hs) => match r {
            Ok(Some(a)) => a,
            Ok(None) => return,
            Err(_) => {
                if !counted {
                    sh.counters.reject(RejectReason::ProtocolError);
                }
                return;
            }
        },
        _ = stopped(&mut stop) => return,
    };
    let Some(slot) = slot else { return };
    relay(authed, &sh, started, stop).await;
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

/// Everything from the first byte to a verified token; `None` when the connection was refused.
async fn handshake(
    mut tcp: TcpStream,
    sh: &Shared,
    rejection: Option<RejectReason>,
    counted: &mut bool,
) -> Option<Authed> {
    use RejectReason::*;
    let mut first = [0u8; 1];
    if !matches!(tcp.peek(&mut first).await, Ok(1)) {
        count(sh, counted, ProtocolError);
        return None;
    }
    let direct = first[0] == 0x16;
    if !direct {
        loop {
            match p::read_startup(&mut tcp).await {
                Ok(Startup::Ssl) => break,
                Ok(Startup::GssEnc) => tcp.write_all(b"N").await.ok()?,
                Ok(Startup::Cancel(pkt)) => {
                    backend::forward_cancel(&sh.backend, &pkt).await;
                    return None;
                }
                Ok(Startup::Startup { .. }) => {
                    refuse(
                        &mut tcp,
                        sh,
                        counted,
                        ProtocolError,
                        "28000",
                        "unable to accept connection, ssl is required",
                    )
                    .await;
                    return None;
                }
                Err(_) => {
                    count(sh, counted, ProtocolError);
                    return None;
                }
            }
        }
        if tcp.write_all(b"S").await.is_err() {
            count(sh, counted, ProtocolError);
            return None;
        }
    }
    let Ok(mut tls) = sh.acceptor.accept(tcp).await else {
        count(sh, counted, ProtocolError);
        return None;
    };
    let (has_sni, alpn_ok) = {
        let c = tls.get_ref().1;
        (
            c.server_name().is_some(),
            c.alpn_protocol() == Some(ALPN_POSTGRESQL),
        )
    };
    if direct && !alpn_ok {
        let msg = "unable to accept connection, direct ssl requires alpn postgresql";
        refuse(&mut tls, sh, counted, ProtocolError, "08P01", msg).await;
        return None;
    }
    let (minor, params) = match p::read_startup(&mut tls).await {
        Ok(Startup::Startup { minor, params }) => (minor, params),
        Ok(Startup::Cancel(pkt)) => {
            backend::forward_cancel(&sh.backend, &pkt).await;
            return None;
        }
        Ok(_) | Err(_) => {
            refuse(
                &mut tls,
                sh,
                counted,
                ProtocolError,
                "08P01",
                "invalid startup packet",
            )
            .await;
            return None;
        }
    };
    if !has_sni {
        refuse(
            &mut tls,
            sh,
            counted,
            NoSni,
            "08004",
            "unable to accept connection, sni was not received",
        )
        .await;
        return None;
    }
    match rejection {
        Some(RateLimited) => {
            refuse(
                &mut tls,
                sh,
                counted,
                RateLimited,
                "53400",
                "unable to accept connection, rate exceeded.",
            )
            .await;
            return None;
        }
        Some(r) => {
            let msg = "unable to accept connection, too many open connections.";
            refuse(&mut tls, sh, counted, r, "53300", msg).await;
            return None;
        }
        None => {}
    }
    let Some(user) = Startup::param(&params, "user")
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
    else {
        let msg = "no PostgreSQL user name specified in startup packet";
        refuse(&mut tls, sh, counted, ProtocolError, "28000", msg).await;
        return None;
    };
    let database = Startup::param(&params, "database")
        .filter(|d| !d.is_empty())
        .unwrap_or(&user)
        .to_owned();
    // we speak 3.0 and no protocol extensions
    let unknown: Vec<&str> = params
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| k.starts_with("_pq_."))
        .collect();
    let mut out = Vec::new();
    if minor > 0 || !unknown.is_empty() {
        out.extend_from_slice(&p::negotiate_protocol_version(&unknown));
    }
    out.extend_from_slice(&p::auth_request(3, &[]));
    if tls.write_all(&out).await.is_err() || tls.flush().await.is_err() {
        count(sh, counted, ProtocolError);
        return None;
    }
    let password = match p::read_message(&mut tls, MAX_PASSWORD).await {
        Ok((b'p', body)) => p::parse_password(&body).map(str::to_owned),
        _ => None,
    };
    let Some(password) = password else {
        refuse(
            &mut tls,
            sh,
            counted,
            ProtocolError,
            "08P01",
            "expected password response",
        )
        .await;
        return None;
    };
    if let Err(e) = sh
        .verifier
        .verify(&password, &user, SystemTime::now())
        .await
    {
        let (reason, msg) = match e {
            super::TokenError::Expired => (Expired, "unable to accept connection, token expired"),
            super::TokenError::NotYetValid => (
                Expired,
                "unable to accept connection, token not yet valid (check the clock)",
            ),
            _ => (BadToken, "unable to accept connection, access denied"),
        };
        refuse(&mut tls, sh, counted, reason, "28000", msg).await;
        return None;
    }
    Counters::inc(&sh.counters.authenticated);
    *counted = true; // later failures are backend errors, counted by the relay
    let backend_user = sh
        .backend
        .user_override
        .clone()
        .unwrap_or_else(|| user.clone());
    let backend_db = sh
        .backend
        .database_override
        .clone()
        .unwrap_or_else(|| database.clone());
    let mut backend_params = vec![
        ("user".to_owned(), backend_user),
        ("database".to_owned(), backend_db),
    ];
    backend_params.extend(
        params
            .iter()
            .filter(|(k, _)| k != "user" && k != "database" && !k.starts_with("_pq_."))
            .cloned(),
    );
    Some(Authed {
        tls,
        info: SessionInfo {
            user,
            database,
            params,
        },
        backend_params,
    })
}

/// Connects the backend and relays until either side closes, max age, or stop.
async fn relay(a: Authed, sh: &Shared, started: Instant, mut stop: watch::Receiver<bool>) {
    let Authed {
        mut tls,
        info,
        backend_params,
    } = a;
    let connect = tokio::time::timeout(
        BACKEND_TIMEOUT,
        backend::connect(&sh.backend, &backend_params),
    );
    let (backend, greeting) = match connect
        .await
        .unwrap_or(Err(BackendError::Auth("timed out")))
    {
        Ok(x) => x,
        Err(e) => {
            let msg = match e {
                BackendError::Refused(raw) => raw,
                _ => p::fatal(
                    "08001",
                    "unable to accept connection, backend database unavailable",
                ),
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
    let b2c = pump(
        br,
        &mut cw,
        Dir::ToClient,
        policy.clone(),
        MAX_MESSAGE,
        Some(close_rx),
    );
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
                    _ => break,
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
