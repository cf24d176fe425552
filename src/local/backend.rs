//! Connection and authentication to the backend PostgreSQL: plain TCP, or a Unix socket when the
//! host is a directory (starts with '/', as with libpq: the socket is `<host>/.s.PGSQL.<port>`).
//! Supports trust, cleartext password, MD5 and SCRAM-SHA-256 (without channel binding).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

use super::protocol::{self as p, ProtoError};
use super::BackendConfig;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages during backend startup are small; bound them.
const MAX_STARTUP_MESSAGE: usize = 1024 * 1024;

/// Why the backend session could not be established.
#[derive(Debug)]
pub enum BackendError {
    /// The connect failed or timed out.
    Connect(std::io::Error),
    /// The backend answered with this ErrorResponse (raw message, forwarded to the client).
    Refused(Vec<u8>),
    /// The backend asked for a password and none is configured, or an unsupported method.
    Auth(&'static str),
    Protocol(ProtoError),
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendError::Connect(e) => write!(f, "backend connect: {e}"),
            BackendError::Refused(_) => write!(f, "backend refused the session"),
            BackendError::Auth(m) => write!(f, "backend authentication: {m}"),
            BackendError::Protocol(e) => write!(f, "backend protocol: {e}"),
        }
    }
}

impl From<ProtoError> for BackendError {
    fn from(e: ProtoError) -> Self {
        BackendError::Protocol(e)
    }
}

impl From<std::io::Error> for BackendError {
    fn from(e: std::io::Error) -> Self {
        BackendError::Protocol(ProtoError::Io(e))
    }
}

/// Connects, authenticates and reads up to ReadyForQuery. Returns the stream and the
/// messages from AuthenticationOk through ReadyForQuery, to forward to the client.
pub async fn connect(
    cfg: &BackendConfig,
    params: &[(String, String)],
) -> Result<(BackendStream, Vec<u8>), BackendError> {
    let mut s = tokio::time::timeout(CONNECT_TIMEOUT, BackendStream::connect(cfg))
        .await
        .map_err(|_| BackendError::Connect(std::io::ErrorKind::TimedOut.into()))?
        .map_err(BackendError::Connect)?;
    s.write_all(&p::startup_message(params)).await?;
    let user = p::Startup::param(params, "user").unwrap_or_default().to_owned();
    let password = || cfg.password.as_deref().ok_or(BackendError::Auth("backend asked for a password"));
    let mut scram: Option<ScramSha256> = None;
    let mut greeting = Vec::new();
    loop {
        let (tag, body) = p::read_message(&mut s, MAX_STARTUP_MESSAGE).await?;
        match tag {
            b'E' => return Err(BackendError::Refused(p::message(b'E', &body))),
            b'R' => {
                let (code, rest) = p::parse_auth(&body).ok_or(ProtoError::Malformed("short auth message"))?;
                match code {
                    0 => greeting.extend_from_slice(&p::message(b'R', &body)),
                    3 => {
                        let pw = password()?;
                        send_password(&mut s, pw.as_bytes()).await?;
                    }
                    5 => {
                        let salt: [u8; 4] = rest.try_into().map_err(|_| ProtoError::Malformed("md5 salt"))?;
                        let h = md5_hash(user.as_bytes(), password()?.as_bytes(), salt);
                        send_password(&mut s, h.as_bytes()).await?;
                    }
                    10 => {
                        let mut pos = 0;
                        let mut mechs = Vec::new();
                        while let Some(m) = p::cstr(rest, &mut pos).filter(|m| !m.is_empty()) {
                            mechs.push(m);
                        }
                        if !mechs.contains(&SCRAM_SHA_256) {
                            return Err(BackendError::Auth("no supported SASL mechanism"));
                        }
                        let sc = ScramSha256::new(password()?.as_bytes(), ChannelBinding::unsupported());
                        let mut b = Vec::new();
                        b.extend_from_slice(SCRAM_SHA_256.as_bytes());
                        b.push(0);
                        b.extend_from_slice(&(sc.message().len() as i32).to_be_bytes());
                        b.extend_from_slice(sc.message());
                        s.write_all(&p::message(b'p', &b)).await?;
                        scram = Some(sc);
                    }
                    11 => {
                        let sc = scram.as_mut().ok_or(BackendError::Auth("unexpected SASL continue"))?;
                        sc.update(rest).map_err(|_| BackendError::Auth("SCRAM exchange failed"))?;
                        let m = p::message(b'p', sc.message());
                        s.write_all(&m).await?;
                    }
                    12 => {
                        let mut sc = scram.take().ok_or(BackendError::Auth("unexpected SASL final"))?;
                        sc.finish(rest).map_err(|_| BackendError::Auth("SCRAM server signature mismatch"))?;
                    }
                    _ => return Err(BackendError::Auth("unsupported authentication method")),
                }
            }
            b'S' | b'K' | b'N' | b'v' if !greeting.is_empty() => greeting.extend_from_slice(&p::message(tag, &body)),
            b'Z' if !greeting.is_empty() => {
                greeting.extend_from_slice(&p::message(tag, &body));
                return Ok((s, greeting));
            }
            _ => return Err(ProtoError::Malformed("unexpected message from backend during startup").into()),
        }
    }
}

async fn send_password(s: &mut BackendStream, pw: &[u8]) -> Result<(), BackendError> {
    let mut b = pw.to_vec();
    b.push(0);
    s.write_all(&p::message(b'p', &b)).await?;
    Ok(())
}

/// Forwards a 16-byte CancelRequest to the backend and closes.
pub async fn forward_cancel(cfg: &BackendConfig, packet: &[u8]) {
    let go = async {
        let mut s = BackendStream::connect(cfg).await?;
        s.write_all(packet).await?;
        s.shutdown().await
    };
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, go).await;
}

/// A connection to the backend. Prefer the Unix socket when there is one: it spares both sides of
/// the hop the loopback TCP stack, a large share of a sequential query's cost on the endpoint.
pub enum BackendStream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

/// The two halves of a backend connection, for the relay's two pumps.
pub type BackendHalves = (Box<dyn AsyncRead + Send + Unpin>, Box<dyn AsyncWrite + Send + Unpin>);

impl BackendStream {
    async fn connect(cfg: &BackendConfig) -> std::io::Result<Self> {
        if cfg.host.starts_with('/') {
            #[cfg(unix)]
            return Ok(BackendStream::Unix(UnixStream::connect(socket_path(&cfg.host, cfg.port)).await?));
            #[cfg(not(unix))]
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "a Unix socket backend is not supported on this platform",
            ));
        }
        let s = TcpStream::connect((cfg.host.as_str(), cfg.port)).await?;
        s.set_nodelay(true).ok();
        Ok(BackendStream::Tcp(s))
    }

    pub fn into_split(self) -> BackendHalves {
        match self {
            BackendStream::Tcp(s) => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w))
            }
            #[cfg(unix)]
            BackendStream::Unix(s) => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w))
            }
        }
    }
}

/// The socket file of a server listening in directory `dir` on `port`, as libpq names it.
pub fn socket_path(dir: &str, port: u16) -> String {
    format!("{}/.s.PGSQL.{port}", dir.trim_end_matches('/'))
}

impl AsyncRead for BackendStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            BackendStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            BackendStream::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for BackendStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            BackendStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            BackendStream::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            BackendStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            BackendStream::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            BackendStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            BackendStream::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::socket_path;

    #[test]
    fn socket_path_as_libpq_names_it() {
        assert_eq!(socket_path("/tmp/pg", 5432), "/tmp/pg/.s.PGSQL.5432");
        assert_eq!(socket_path("/tmp/pg/", 17246), "/tmp/pg/.s.PGSQL.17246");
    }
}
