//! End-to-end tests against a real PostgreSQL 15 behind the local DSQL endpoint.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aurora_dsql_postgres::local::{self, BackendConfig, Frame, LocalConfig, LocalDsql, SessionPolicy, Verdict};
use common::{code, creds, message, token, Conn, Pg};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn config(pg: &Pg) -> LocalConfig {
    LocalConfig {
        credentials: vec![creds()],
        backend: BackendConfig { port: pg.port, ..Default::default() },
        ..Default::default()
    }
}

async fn conn(ep: &LocalDsql, user: &str) -> Conn {
    let admin = user == "admin";
    Conn {
        host: ep.endpoint().to_owned(),
        port: ep.port(),
        user: user.to_owned(),
        password: token(&creds(), ep.endpoint(), "us-east-1", admin, None, 900).await,
        ca_pem: ep.ca_pem().to_owned(),
        direct: false,
        tls: true,
    }
}

async fn one_row(c: &Conn) -> (String, i32) {
    let (client, _h) = c.connect().await.unwrap_or_else(|e| panic!("connect: {e:?}"));
    let r = client.query_one("select current_user::text, 1", &[]).await.unwrap();
    (r.get(0), r.get(1))
}

async fn refused(c: &Conn) -> tokio_postgres::Error {
    match c.connect().await {
        Ok(_) => panic!("connection unexpectedly accepted"),
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end() {
    let pg = Pg::start();
    basics(&pg).await;
    rejections(&pg).await;
    limits(&pg).await;
    max_age_and_stop(&pg).await;
    backend_auth(&pg).await;
    policy_hook(&pg).await;
}

async fn basics(pg: &Pg) {
    let ep = local::start(config(pg)).await.unwrap();
    assert!(ep.endpoint().ends_with(".dsql.us-east-1.on.aws") && ep.endpoint().len() == 26 + 22);
    // SSLRequest path, admin
    assert_eq!(one_row(&conn(&ep, "admin").await).await, ("admin".into(), 1));
    // direct TLS with ALPN, non-admin
    let mut c = conn(&ep, "app").await;
    c.direct = true;
    assert_eq!(one_row(&c).await, ("app".into(), 1));
    // libpq via psql, verify-full against the generated CA
    let ca = std::env::temp_dir().join(format!("localdsql-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, ep.ca_pem()).unwrap();
    let dsn = format!(
        "sslmode=verify-full sslrootcert={} host={} hostaddr=127.0.0.1 port={} user=admin dbname=postgres",
        ca.display(),
        ep.endpoint(),
        ep.port()
    );
    let tok = token(&creds(), ep.endpoint(), "us-east-1", true, None, 900).await;
    let out = std::process::Command::new("psql")
        .arg(&dsn)
        .args(["-tAc", "select 1"])
        .env("PGPASSWORD", &tok)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&ca);
    assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    // cancel requests are forwarded to the backend
    let (client, _h) = conn(&ep, "admin").await.connect().await.unwrap();
    let cancel = client.cancel_token();
    let ca_pem = ep.ca_pem().to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ =
            cancel.cancel_query(tokio_postgres_rustls::MakeRustlsConnect::new(common::client_tls(&ca_pem, &[]))).await;
    });
    let t = Instant::now();
    let e = client.simple_query("select pg_sleep(20)").await.unwrap_err();
    assert_eq!(code(&e), "57014");
    assert!(t.elapsed() < Duration::from_secs(10));
    drop(client);
    let s = ep.stats();
    assert_eq!((s.accepted, s.authenticated), (5, 4), "{s:?}"); // the cancel connection is accepted too
    ep.stop().await;
}

async fn rejections(pg: &Pg) {
    let ep = local::start(config(pg)).await.unwrap();
    let good = conn(&ep, "admin").await;
    let secrets = |e: &tokio_postgres::Error, tok: &str| {
        let text = format!("{e:?} {e}");
        let sig = tok.rsplit('=').next().unwrap();
        assert!(!text.contains(sig) && !text.contains("local-secret") && !text.contains("X-Amz"), "{text}");
    };
    // wrong secret
    let mut c = good.clone();
    let bad = aws_credential_types::Credentials::new("AKIDLOCALTEST", "wrong", None, None, "t");
    c.password = token(&bad, ep.endpoint(), "us-east-1", true, None, 900).await;
    let e = refused(&c).await;
    assert_eq!((code(&e), message(&e)), ("28000".into(), "unable to accept connection, access denied".into()));
    secrets(&e, &c.password);
    // admin with a DbConnect token
    c.password = token(&creds(), ep.endpoint(), "us-east-1", false, None, 900).await;
    assert_eq!(code(&refused(&c).await), "28000");
    // token for another host / region
    c.password = token(&creds(), "other.dsql.us-east-1.on.aws", "us-east-1", true, None, 900).await;
    assert_eq!(code(&refused(&c).await), "28000");
    c.password = token(&creds(), ep.endpoint(), "us-west-2", true, None, 900).await;
    assert_eq!(code(&refused(&c).await), "28000");
    // expired
    let past = SystemTime::now() - Duration::from_secs(1000);
    c.password = token(&creds(), ep.endpoint(), "us-east-1", true, Some(past), 900).await;
    let e = refused(&c).await;
    assert_eq!((code(&e), message(&e)), ("28000".into(), "unable to accept connection, token expired".into()));
    secrets(&e, &c.password);
    // no SNI: an IP address as server name
    let mut c = good.clone();
    c.host = "127.0.0.1".into();
    let e = refused(&c).await;
    assert_eq!((code(&e), message(&e)), ("08004".into(), "unable to accept connection, sni was not received".into()));
    // plain text
    let mut c = good.clone();
    c.tls = false;
    let e = refused(&c).await;
    assert_eq!((code(&e), message(&e)), ("28000".into(), "unable to accept connection, ssl is required".into()));
    // direct TLS without ALPN
    let e = raw_direct_tls(&ep, &[]).await.expect("handshake without ALPN completes");
    assert!(e.contains("alpn"), "{e}");
    // direct TLS offering only another protocol: the handshake fails
    assert!(raw_direct_tls(&ep, &[b"http/1.1"]).await.is_err());
    // garbage
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", ep.port())).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut sink)).await.unwrap();
    // good one still works
    assert_eq!(one_row(&good).await.1, 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let s = ep.stats();
    let r = s.rejected;
    assert_eq!((r.bad_token, r.expired, r.no_sni, r.protocol_error), (4, 1, 1, 4), "{s:?}");
    assert_eq!((s.accepted, s.authenticated, s.active), (11, 1, 0), "{s:?}");
    ep.stop().await;
}

/// Direct TLS with the given ALPN list; returns the text of what the server sent after
/// the startup packet, or Err if the handshake failed.
async fn raw_direct_tls(ep: &LocalDsql, alpn: &[&[u8]]) -> Result<String, String> {
    let cfg = common::client_tls(ep.ca_pem(), alpn);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", ep.port())).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from(ep.endpoint().to_owned()).unwrap();
    let mut tls =
        tokio_rustls::TlsConnector::from(Arc::new(cfg)).connect(name, tcp).await.map_err(|e| e.to_string())?;
    let mut startup = vec![0, 0, 0, 0, 0, 3, 0, 0];
    startup.extend_from_slice(b"user\0admin\0\0");
    startup[3] = startup.len() as u8;
    let _ = tls.write_all(&startup).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut buf)).await;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

async fn limits(pg: &Pg) {
    // rate: burst 2, then 1 per second
    let ep = local::start(LocalConfig { rate_limit: Some((1.0, 2)), ..config(pg) }).await.unwrap();
    let c = conn(&ep, "admin").await;
    let (_a, _h1) = c.connect().await.unwrap();
    let (_b, _h2) = c.connect().await.unwrap();
    let e = refused(&c).await;
    assert_eq!((code(&e), message(&e)), ("53400".into(), "unable to accept connection, rate exceeded.".into()));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(one_row(&c).await.1, 1);
    assert_eq!(ep.stats().rejected.rate_limited, 1);
    ep.stop().await;

    // open connections
    let ep = local::start(LocalConfig { max_connections: 2, rate_limit: None, ..config(pg) }).await.unwrap();
    let c = conn(&ep, "admin").await;
    let (a, _h1) = c.connect().await.unwrap();
    let (_b, _h2) = c.connect().await.unwrap();
    let e = refused(&c).await;
    assert_eq!(
        (code(&e), message(&e)),
        ("53300".into(), "unable to accept connection, too many open connections.".into())
    );
    assert_eq!(ep.stats().active, 2);
    drop(a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(one_row(&c).await.1, 1);
    let s = ep.stats();
    assert_eq!((s.rejected.too_many_connections, s.accepted), (1, 4), "{s:?}");
    ep.stop().await;
}

async fn max_age_and_stop(pg: &Pg) {
    let ep = local::start(LocalConfig { max_connection_age: Duration::from_millis(1500), ..config(pg) }).await.unwrap();
    let c = conn(&ep, "admin").await;
    let t = Instant::now();
    let (client, h) = c.connect().await.unwrap();
    client.simple_query("select 1").await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), h).await.expect("closed by max age").unwrap();
    let e = r.expect_err("connection ends with an error");
    assert_eq!(code(&e), "08006", "{e:?}");
    assert!(t.elapsed() >= Duration::from_millis(1400) && t.elapsed() < Duration::from_secs(3));
    assert!(client.simple_query("select 1").await.is_err());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let s = ep.stats();
    assert_eq!((s.closed_by_max_age, s.active), (1, 0), "{s:?}");
    ep.stop().await;

    // stop closes sessions with 57P01 and the listener
    let ep = local::start(config(pg)).await.unwrap();
    let c = conn(&ep, "admin").await;
    let (client, h) = c.connect().await.unwrap();
    client.simple_query("select 1").await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), ep.stop()).await.unwrap();
    let e = tokio::time::timeout(Duration::from_secs(2), h).await.unwrap().unwrap().unwrap_err();
    assert_eq!(code(&e), "57P01");
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", ep.port())).await.is_err());
    assert_eq!(ep.stats().active, 0);
}

async fn backend_auth(pg: &Pg) {
    let scram = |pw: &str| BackendConfig {
        port: pg.port,
        user_override: Some("scram_user".into()),
        password: Some(pw.into()),
        database_override: Some("postgres".into()),
        ..Default::default()
    };
    let ep = local::start(LocalConfig { backend: scram("pw"), ..config(pg) }).await.unwrap();
    assert_eq!(one_row(&conn(&ep, "admin").await).await.0, "scram_user");
    ep.stop().await;

    let ep = local::start(LocalConfig { backend: scram("nope"), ..config(pg) }).await.unwrap();
    let e = refused(&conn(&ep, "admin").await).await;
    assert_eq!(code(&e), "28P01"); // the backend's own error is forwarded
    assert_eq!(ep.stats().rejected.backend_error, 1);
    ep.stop().await;

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let ep = local::start(LocalConfig { backend: BackendConfig { port, ..Default::default() }, ..config(pg) })
        .await
        .unwrap();
    let e = refused(&conn(&ep, "admin").await).await;
    assert_eq!(code(&e), "08001");
    let s = ep.stats();
    assert_eq!((s.rejected.backend_error, s.authenticated, s.active), (1, 1, 0), "{s:?}");
    ep.stop().await;
}

/// The phase-2 hook sees and can replace messages in both directions.
async fn policy_hook(pg: &Pg) {
    struct Rewrite;
    impl SessionPolicy for Rewrite {
        fn frontend(&mut self, m: &Frame) -> Verdict {
            if m.tag() == b'Q' && m.body() == b"select 'x'\0" {
                return Verdict::Replace(frame(b'Q', b"select 'y'\0"));
            }
            Verdict::Forward
        }
        fn backend(&mut self, m: &Frame) -> Verdict {
            if m.tag() == b'E' {
                let body = b"SERROR\0VERROR\0C0A000\0Mrewritten\0\0";
                return Verdict::Replace(frame(b'E', body));
            }
            Verdict::Forward
        }
    }
    fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        v.extend_from_slice(body);
        v
    }
    let policy: local::PolicyFactory = Arc::new(|_| Box::new(Rewrite));
    let ep = local::start(LocalConfig { policy: Some(policy), ..config(pg) }).await.unwrap();
    let (client, _h) = conn(&ep, "app").await.connect().await.unwrap();
    let rows = client.simple_query("select 'x'").await.unwrap();
    let v = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
        _ => None,
    });
    assert_eq!(v.as_deref(), Some("y"));
    let e = client.simple_query("select 1/0").await.unwrap_err();
    assert_eq!((code(&e), message(&e)), ("0A000".into(), "rewritten".into()));
    ep.stop().await;
}
