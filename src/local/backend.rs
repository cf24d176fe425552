//! Connection and authentication to the backend PostgreSQL (plain TCP on loopback).
//! Supports trust, cleartext password, MD5 and SCRAM-SHA-256 (without channel binding).

use std::time::Duration;

use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::protocol::{self as p, ProtoError};
use super::BackendConfig;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages during backend startup are small; bound them.
const MAX_STARTUP_MESSAGE: usize = 1024 * 1024;

/// Why the backend session could not be established.
#[derive(Debug)]
pub enum BackendError {
    /// TCP connect failed or timed out.
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
) -> Result<(TcpStream, Vec<u8>), BackendError> {
    let mut s = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((cfg.host.as_str(), cfg.port)),
    )
    .await
    .map_err(|_| BackendError::Connect(std::io::ErrorKind::TimedOut.into()))?
    .map_err(BackendError::Connect)?;
    s.set_nodelay(true).ok();
    s.write_all(&p::startup_message(params)).await?;
    let user = p::Startup::param(params, "user")
        .unwrap_or_default()
        .to_owned();
    let password = || {
        cfg.password
            .as_deref()
            .ok_or(BackendError::Auth("backend asked for a password"))
    };
    let mut scram: Option<ScramSha256> = None;
    let mut greeting = Vec::new();
    loop {
        let (tag, body) = p::read_message(&mut s, MAX_STARTUP_MESSAGE).await?;
        match tag {
            b'E' => return Err(BackendError::Refused(p::message(b'E', &body))),
            b'R' => {
                let (code, rest) =
                    p::parse_auth(&body).ok_or(ProtoError::Malformed("short auth message"))?;
                match code {
                    0 => greeting.extend_from_slice(&p::message(b'R', &body)),
                    3 => {
                        let pw = password()?;
                        send_password(&mut s, pw.as_bytes()).await?;
                    }
                    5 => {
                        let salt: [u8; 4] = rest
                            .try_into()
                            .map_err(|_| ProtoError::Malformed("md5 salt"))?;
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
                        let sc =
                            ScramSha256::new(password()?.as_bytes(), ChannelBinding::unsupported());
                        let mut b = Vec::new();
                        b.extend_from_slice(SCRAM_SHA_256.as_bytes());
                        b.push(0);
                        b.extend_from_slice(&(sc.message().len() as i32).to_be_bytes());
                        b.extend_from_slice(sc.message());
                        s.write_all(&p::message(b'p', &b)).await?;
                        scram = Some(sc);
                    }
                    11 => {
                        let sc = scram
                            .as_mut()
                            .ok_or(BackendError::Auth("unexpected SASL continue"))?;
                        sc.update(rest)
                            .map_err(|_| BackendError::Auth("SCRAM exchange failed"))?;
                        let m = p::message(b'p', sc.message());
                        s.write_all(&m).await?;
                    }
                    12 => {
                        let mut sc = scram
                            .take()
                            .ok_or(BackendError::Auth("unexpected SASL final"))?;
                        sc.finish(rest)
                            .map_err(|_| BackendError::Auth("SCRAM server signature mismatch"))?;
                    }
                    _ => return Err(BackendError::Auth("unsupported authentication method")),
                }
            }
            b'S' | b'K' | b'N' | b'v' if !greeting.is_empty() => {
                greeting.extend_from_slice(&p::message(tag, &body))
            }
            b'Z' if !greeting.is_empty() => {
                greeting.extend_from_slice(&p::message(tag, &body));
                return Ok((s, greeting));
            }
            _ => {
                return Err(
                    ProtoError::Malformed("unexpected message from backend during startup").into(),
                )
            }
        }
    }
}

async fn send_password(s: &mut TcpStream, pw: &[u8]) -> Result<(), BackendError> {
    let mut b = pw.to_vec();
    b.push(0);
    s.write_all(&p::message(b'p', &b)).await?;
    Ok(())
}

/// Forwards a 16-byte CancelRequest to the backend and closes.
pub async fn forward_cancel(cfg: &BackendConfig, packet: &[u8]) {
    let go = async {
        let mut s = TcpStream::connect((cfg.host.as_str(), cfg.port)).await?;
        s.write_all(packet).await?;
        s.shutdown().await
    };
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, go).await;
}
