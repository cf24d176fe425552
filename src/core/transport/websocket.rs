//! The WebSocket transport: TCP (direct or through an HTTP CONNECT proxy), TLS with SNI = the
//! cluster host, then the upgrade; the result is a byte stream ([`WsIo`]) tokio-postgres runs over.

use super::meter::Meter;
use super::proxy::proxy_for;
use super::tcp::{io_error, open_tcp, tune};
use crate::core::config::Config;
use crate::core::error::{code, Error, Result};
use crate::core::ws::WsIo;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncWrite};

/// Any byte stream the WebSocket can run over (TCP, or TLS over TCP).
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// TCP (to `to`, or as [`open_tcp`] chooses, or through the proxy), TLS with SNI = the cluster
/// host, then the WebSocket upgrade. Also returns the address reached (`None` through a proxy).
/// A session's socket is counted and its connect marked in `meter` (a CancelRequest's is not).
pub(super) async fn open_websocket(
    cfg: &Config,
    tls: Option<&tokio_rustls::TlsConnector>,
    to: Option<SocketAddr>,
    meter: Option<&Meter>,
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
    let tcp: Box<dyn Io> = match meter {
        Some(m) => {
            m.tcp_connected();
            Box::new(m.count(tcp))
        }
        None => Box::new(tcp),
    };
    let (stream, scheme): (Box<dyn Io>, &str) = match tls {
        Some(tls) => {
            let name = ServerName::try_from(cfg.host.clone())
                .map_err(|_| Error::type_error(format!("host '{}' is not a valid TLS server name", cfg.host)))?;
            let s = tls.connect(name, tcp).await.map_err(|e| {
                Error::connection(code::TLS_ERROR, format!("TLS handshake with {} failed: {e}", target()))
            })?;
            if let Some(m) = meter {
                m.tls_done();
            }
            (Box::new(s), "wss")
        }
        None => (Box::new(tcp), "ws"),
    };
    let url = format!("{scheme}://{}/", target());
    let (ws, _) = tokio_tungstenite::client_async(url.as_str(), stream).await.map_err(|e| {
        use tokio_tungstenite::tungstenite::Error as W;
        match e {
            W::Http(r) => Error::connection(
                code::CONNECTION_CLOSED,
                format!("WebSocket upgrade to {url} refused: HTTP {}", r.status()),
            ),
            W::Io(e) => io_error(&e, &target()),
            e => Error::connection(code::CONNECTION_CLOSED, format!("WebSocket upgrade to {url} failed: {e}")),
        }
    })?;
    Ok((WsIo::new(ws), peer))
}
