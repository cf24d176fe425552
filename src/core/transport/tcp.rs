//! TCP sockets for sessions and CancelRequests: address choice, tuning, and failures reported with
//! Node's codes (`ENOTFOUND`, `ECONNREFUSED`, ...) so that retry logic written for postgres.js works.

use crate::core::config::Config;
use crate::core::error::{code, Error, Result, SystemError, SystemTarget};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

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
        _ => return Error::connection(code::CONNECTION_CLOSED, format!("connect {addr}: {e}")),
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
pub(super) fn tune(tcp: &TcpStream, cfg: &Config) {
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
pub(super) async fn open_tcp(cfg: &Config, to: Option<SocketAddr>) -> Result<(TcpStream, SocketAddr)> {
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
pub(super) fn io_error(e: &std::io::Error, target: &str) -> Error {
    use std::io::ErrorKind as K;
    let code = match e.kind() {
        K::ConnectionRefused => "ECONNREFUSED",
        K::TimedOut => code::CONNECT_TIMEOUT,
        K::ConnectionReset => "ECONNRESET",
        _ => code::CONNECTION_CLOSED,
    };
    Error::connection(code, format!("{} {target}: {e}", code.to_lowercase()))
}
