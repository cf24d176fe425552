//! HTTP CONNECT proxies for the WebSocket transport (the TCP transport never uses one).

use super::tcp::io_error;
use crate::core::config::Config;
use crate::core::error::{code, Error, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
                    code::CONNECTION_CLOSED,
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::transport::tests::{env_of, ws_config};
    use serde_json::json;

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
