//! Cancelling a running query (a CancelRequest on a new connection, as the session was reached)
//! and reading the session's backend key.

use super::tcp::open_tcp;
use super::tls::tls_for;
use super::websocket::open_websocket;
use super::{connect_error, Connector};
use crate::core::config::Config;
use crate::core::error::{code, Error, Result};
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::Client;

/// What a CancelRequest for one session needs: its backend key (inside tokio-postgres's token,
/// which also knows whether the session negotiated TLS and how) and the address the session's
/// socket reached, so the request goes to that same server.
#[derive(Clone)]
pub struct CancelTarget {
    pub(super) token: tokio_postgres::CancelToken,
    pub(super) peer: Option<SocketAddr>,
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
                token.cancel_query_raw(tcp, tls_for::<TcpStream, _>(&mut tls.clone(), cfg)).await.map_err(connect_error)
            }
            Connector::Tcp(None) => {
                let (tcp, _) = open_tcp(cfg, target.peer).await?;
                token.cancel_query_raw(tcp, tokio_postgres::NoTls).await.map_err(connect_error)
            }
            Connector::WebSocket(tls) => {
                let (stream, _) = open_websocket(cfg, tls.as_ref(), target.peer, None).await?;
                token.cancel_query_raw(stream, tokio_postgres::NoTls).await.map_err(connect_error)
            }
        }
    };
    match tokio::time::timeout(cfg.connect_timeout, send).await {
        Ok(sent) => sent,
        Err(_) => Err(Error::connection(
            code::CONNECT_TIMEOUT,
            format!(
                "write CONNECT_TIMEOUT {}:{} (connect_timeout {}s, sending a CancelRequest)",
                cfg.host,
                cfg.port,
                cfg.connect_timeout.as_secs_f64()
            ),
        )),
    }
}
