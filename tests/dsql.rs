//! Phase 2 against a real PostgreSQL 15: SQL restrictions, row limit, optimistic concurrency,
//! commit-conflict injection and the WebSocket listener.

mod common;

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use aurora_dsql_postgres::local::{self, BackendConfig, LocalConfig, LocalDsql, OccInjection, SqlChecks};
use bytes::{Buf, Bytes};
use common::{code, creds, message, token, Conn, Pg};
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::{AsyncMessage, Client, Error, SimpleQueryMessage};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

fn config(pg: &Pg) -> LocalConfig {
    LocalConfig {
        credentials: vec![creds()],
        backend: BackendConfig { port: pg.port, user_override: Some("admin".into()), ..Default::default() },
        rate_limit: None,
        ..Default::default()
    }
}

async fn conn(ep: &LocalDsql) -> Conn {
    Conn {
        host: ep.endpoint().to_owned(),
        port: ep.port(),
        user: "admin".to_owned(),
        password: token(&creds(), ep.endpoint(), "us-east-1", true, None, 900).await,
        ca_pem: ep.ca_pem().to_owned(),
        direct: false,
        tls: true,
    }
}

async fn client(ep: &LocalDsql) -> Client {
    conn(ep).await.connect().await.expect("connect").0
}

fn failure<T: std::fmt::Debug>(r: Result<T, Error>) -> (String, String) {
    let e = r.expect_err("statement should fail");
    (code(&e), message(&e))
}

async fn count(c: &Client, table: &str) -> i64 {
    c.query_one(&format!("select count(*) from {table}"), &[]).await.expect("count").get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dsql_behaviour() {
    let pg = Pg::start();
    pg.psql("create table t (id int primary key, v int); insert into t values (1, 0);");
    restrictions(&pg).await;
    transactions(&pg).await;
    warn_only(&pg).await;
    row_limit(&pg).await;
    conflicts(&pg).await;
    injection(&pg).await;
    websocket(&pg).await;
}

async fn restrictions(pg: &Pg) {
    let ep = local::start(config(pg)).await.unwrap();
    let c = client(&ep).await;
    let rejected = [
        ("listen ch", "unsupported statement: LISTEN"),
        ("notify ch", "unsupported statement: NOTIFY"),
        ("unlisten *", "unsupported statement: UNLISTEN"),
        ("savepoint s", "unsupported statement: SAVEPOINT"),
        ("release savepoint s", "unsupported statement: RELEASE SAVEPOINT"),
        ("rollback to savepoint s", "unsupported statement: ROLLBACK TO SAVEPOINT"),
        ("truncate t", "unsupported statement: TRUNCATE"),
        ("create temp table tt (a int)", "temporary objects are not supported"),
        ("create table c (id int references t (id))", "foreign key constraints are not supported"),
        ("create trigger tr after insert on t execute function f()", "unsupported statement: CREATE TRIGGER"),
        ("create extension pgcrypto", "unsupported statement: CREATE EXTENSION"),
        ("create index ti on t (v)", "unsupported statement: CREATE INDEX (use CREATE INDEX ASYNC)"),
        ("vacuum t", "unsupported statement: VACUUM"),
        ("alter system set work_mem = '8MB'", "unsupported statement: ALTER SYSTEM"),
        ("create materialized view mv as select 1", "unsupported statement: CREATE MATERIALIZED VIEW"),
        ("create table t2 as select * from t", "unsupported statement: CREATE TABLE AS"),
        ("create table c (a int) inherits (t)", "table inheritance is not supported"),
        ("create table p (a int) partition by range (a)", "partitioned tables are not supported"),
        ("create table x (a int) tablespace pg_default", "tablespaces are not supported"),
        (
            "create function f() returns int language plpgsql as $$ begin return 1; end $$",
            "unsupported language: plpgsql (only LANGUAGE sql functions are supported)",
        ),
        ("create sequence sq cache 100", "sequence CACHE must be 1 or at least 65536"),
    ];
    for (sql, msg) in rejected {
        let want = ("0A000".to_owned(), msg.to_owned());
        assert_eq!(failure(c.simple_query(sql).await), want, "simple: {sql}");
        assert_eq!(failure(c.query(sql, &[]).await), want, "extended: {sql}");
    }
    // nothing reached PostgreSQL, and the session goes on
    assert_eq!(count(&c, "t").await, 1);
    assert_eq!(ep.stats().statements_rejected, 2 * rejected.len() as u64);
    // a rejection aborts the transaction, as a PostgreSQL error does
    c.simple_query("begin").await.unwrap();
    assert_eq!(failure(c.simple_query("truncate t").await).0, "0A000");
    assert_eq!(failure(c.simple_query("select 1").await).0, "25P02");
    c.simple_query("rollback").await.unwrap();
    // allowed: supported sequences, SQL functions, CREATE INDEX ASYNC (forwarded without ASYNC)
    c.simple_query("create sequence sq cache 65536").await.unwrap();
    c.simple_query("create function one() returns int language sql as 'select 1'").await.unwrap();
    c.simple_query("create index async t_v on t (v)").await.unwrap();
    c.execute("create unique index async if not exists t_id on t (id)", &[]).await.unwrap();
    let n: i64 =
        c.query_one("select count(*) from pg_indexes where indexname in ('t_v', 't_id')", &[]).await.unwrap().get(0);
    assert_eq!(n, 2);
    for sql in ["drop index t_v", "drop index t_id", "drop sequence sq", "drop function one()"] {
        c.simple_query(sql).await.unwrap(); // one DDL per (implicit) transaction
    }
    ep.stop().await;
}

async fn transactions(pg: &Pg) {
    let ep = local::start(config(pg)).await.unwrap();
    let mut c = client(&ep).await;
    let mixed = ("0A000".to_owned(), "ddl and dml are not supported in the same transaction".to_owned());
    let two_ddl = ("0A000".to_owned(), "only one ddl statement is supported per transaction".to_owned());
    // simple protocol, explicit transaction
    c.simple_query("begin").await.unwrap();
    c.simple_query("create table m1 (a int)").await.unwrap();
    assert_eq!(failure(c.simple_query("insert into m1 values (1)").await), mixed);
    c.simple_query("rollback").await.unwrap();
    c.simple_query("begin").await.unwrap();
    c.simple_query("update t set v = v").await.unwrap();
    assert_eq!(failure(c.simple_query("create table m1 (a int)").await), mixed);
    c.simple_query("rollback").await.unwrap();
    c.simple_query("begin").await.unwrap();
    c.simple_query("create table m1 (a int)").await.unwrap();
    assert_eq!(failure(c.simple_query("create table m2 (a int)").await), two_ddl);
    c.simple_query("rollback").await.unwrap();
    // one query string is one transaction
    assert_eq!(failure(c.simple_query("create table m1 (a int); insert into m1 values (1)").await), mixed);
    assert_eq!(
        failure(c.simple_query("begin; create table m1 (a int); create table m2 (a int); commit").await),
        two_ddl
    );
    // extended protocol inside a transaction
    let tx = c.transaction().await.unwrap();
    tx.execute("create table m1 (a int)", &[]).await.unwrap();
    assert_eq!(failure(tx.execute("insert into m1 values (1)", &[]).await), mixed);
    drop(tx);
    // allowed: one DDL per transaction, DML after it commits, reads alongside DDL
    c.simple_query("begin; create table m1 (a int); select 1; commit; insert into m1 values (1)").await.unwrap();
    let tx = c.transaction().await.unwrap();
    tx.execute("insert into m1 values (2)", &[]).await.unwrap();
    tx.execute("update m1 set a = a + 10", &[]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&c, "m1").await, 2);
    c.simple_query("drop table m1").await.unwrap();
    ep.stop().await;
}

/// Connects and collects the session's notices.
async fn client_with_notices(ep: &LocalDsql) -> (Client, tokio::sync::mpsc::UnboundedReceiver<(String, String)>) {
    let c = conn(ep).await;
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&c.host)
        .hostaddr(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
        .port(c.port)
        .user(&c.user)
        .dbname("postgres")
        .password(&c.password)
        .ssl_mode(tokio_postgres::config::SslMode::Require);
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(common::client_tls(&c.ca_pem, &[]));
    let (client, mut connection) = cfg.connect(tls).await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(m)) = futures_util::StreamExt::next(&mut messages).await {
            if let AsyncMessage::Notice(n) = m {
                let _ = tx.send((n.code().code().to_owned(), n.message().to_owned()));
            }
        }
    });
    (client, rx)
}

async fn warn_only(pg: &Pg) {
    let ep = local::start(LocalConfig { sql_checks: SqlChecks::WarnOnly, ..config(pg) }).await.unwrap();
    let (c, mut notices) = client_with_notices(&ep).await;
    c.simple_query("create table w (a int); insert into w values (1)").await.unwrap();
    c.simple_query("truncate w").await.unwrap();
    assert_eq!(count(&c, "w").await, 0); // it really ran
    c.query("create index w_a on w (a)", &[]).await.unwrap();
    c.simple_query("drop table w").await.unwrap();
    let mut got = Vec::new();
    while let Ok(Some(n)) = tokio::time::timeout(Duration::from_millis(300), notices.recv()).await {
        got.push(n);
    }
    let w = |m: &str| ("01000".to_owned(), format!("Aurora DSQL would reject this statement: {m}"));
    assert_eq!(
        got,
        [
            w("ddl and dml are not supported in the same transaction"),
            w("unsupported statement: TRUNCATE"),
            w("unsupported statement: CREATE INDEX (use CREATE INDEX ASYNC)"),
        ]
    );
    assert_eq!(ep.stats().statements_rejected, 0);
    ep.stop().await;
}

async fn row_limit(pg: &Pg) {
    let ep = local::start(config(pg)).await.unwrap();
    let mut c = client(&ep).await;
    c.simple_query("create table r (a int)").await.unwrap();
    let limit = ("54000".to_owned(), "transaction row limit exceeded".to_owned());
    // autocommit statements are rolled back too, in both protocols
    assert_eq!(failure(c.simple_query("insert into r select generate_series(1, 3001)").await), limit);
    assert_eq!(failure(c.execute("insert into r select generate_series(1, $1)", &[&3001i32]).await), limit);
    assert_eq!(count(&c, "r").await, 0);
    // the client sees the error alone, not the statement's CommandComplete first
    let mut stream = Box::pin(c.simple_query_raw("insert into r select generate_series(1, 3001)").await.unwrap());
    let first = futures_util::StreamExt::next(&mut stream).await.expect("a message");
    assert_eq!(failure(first), limit);
    drop(stream);
    // 3,000 is fine; earlier transactions do not count (even right after each other)
    for _ in 0..2 {
        let n = c.execute("insert into r select generate_series(1, 3000)", &[]).await.unwrap();
        assert_eq!(n, 3000);
        let rows = c.simple_query("delete from r").await.unwrap();
        assert!(matches!(rows.last(), Some(SimpleQueryMessage::CommandComplete(3000))));
    }
    // explicit transactions: updates and deletes count, the error aborts the transaction
    c.simple_query("insert into r select generate_series(1, 2000)").await.unwrap();
    let tx = c.transaction().await.unwrap();
    tx.execute("update r set a = a + 1", &[]).await.unwrap();
    assert_eq!(failure(tx.execute("delete from r where a > 1000", &[]).await), limit);
    assert_eq!(failure(tx.execute("select 1", &[]).await).0, "25P02");
    tx.commit().await.unwrap(); // PostgreSQL answers ROLLBACK
    let max: i32 = c.query_one("select max(a) from r", &[]).await.unwrap().get(0);
    assert_eq!((count(&c, "r").await, max), (2000, 2000));
    // several statements in one query string
    assert_eq!(failure(c.simple_query("begin; update r set a = 0; update r set a = 1; commit").await), limit);
    c.simple_query("rollback").await.unwrap();
    let sum: i64 = c.query_one("select sum(a) from r", &[]).await.unwrap().get(0);
    assert_eq!(sum, 2000 * 2001 / 2);
    // returning rows and the session's prepared statements still work afterwards
    let rows = c.query("insert into r values (-1), (-2) returning a", &[]).await.unwrap();
    assert_eq!(rows.len(), 2);
    // unnamed statements (Parse, Bind, Describe, Execute, Sync in one go) and pipelining
    let int4 = tokio_postgres::types::Type::INT4;
    let rows = c.query_typed("insert into r values ($1) returning a", &[(&-3i32, int4.clone())]).await.unwrap();
    assert_eq!(rows[0].get::<_, i32>(0), -3);
    let big = "insert into r select generate_series(1, $1)";
    assert_eq!(failure(c.query_typed(big, &[(&3001i32, int4)]).await), limit);
    let values: Vec<i32> = (100..110).collect();
    let c2 = &c;
    let inserts = values.iter().map(|v| async move { c2.execute("insert into r values ($1)", &[v]).await });
    let reads = (0..5).map(|_| c.query("select count(*) from r", &[]));
    let (ins, rd) = tokio::join!(futures_util::future::join_all(inserts), futures_util::future::join_all(reads));
    assert!(ins.iter().all(|r| matches!(r, Ok(1))), "{ins:?}");
    assert!(rd.iter().all(|r| r.is_ok()), "{rd:?}");
    assert_eq!(count(&c, "r").await, 2013);
    c.simple_query("discard all").await.unwrap();
    assert_eq!(failure(c.execute("insert into r select generate_series(1, 3001)", &[]).await), limit);
    c.simple_query("drop table r").await.unwrap();
    ep.stop().await;
}

async fn conflicts(pg: &Pg) {
    let ep = local::start(config(pg)).await.unwrap();
    let a = client(&ep).await;
    let b = client(&ep).await;
    let iso = a.query_one("show default_transaction_isolation", &[]).await.unwrap();
    assert_eq!(iso.get::<_, String>(0), "repeatable read");
    a.simple_query("begin").await.unwrap();
    b.simple_query("begin").await.unwrap();
    b.simple_query("select v from t where id = 1").await.unwrap(); // snapshot
    a.execute("update t set v = v + 1 where id = 1", &[]).await.unwrap();
    // b's update waits for a's row lock, then fails when a commits
    let waiting = tokio::spawn(async move {
        let r = b.execute("update t set v = v + 10 where id = 1", &[]).await;
        (b, r)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished());
    a.simple_query("commit").await.unwrap();
    let (b, r) = waiting.await.unwrap();
    assert_eq!(
        failure(r),
        ("40001".to_owned(), "change conflicts with another transaction, please retry: (OC000)".to_owned())
    );
    b.simple_query("rollback").await.unwrap();
    let v: i32 = a.query_one("select v from t where id = 1", &[]).await.unwrap().get(0);
    assert_eq!(v, 1);
    let s = ep.stats();
    assert_eq!((s.conflicts, s.injected_conflicts), (1, 0), "{s:?}");
    ep.stop().await;
}

async fn injection(pg: &Pg) {
    let ep = local::start(LocalConfig {
        occ_injection: Some(OccInjection { every_nth: Some(2), ..Default::default() }),
        ..config(pg)
    })
    .await
    .unwrap();
    let mut c = client(&ep).await;
    c.simple_query("create table inj (a int)").await.unwrap();
    let oc000 = ("40001".to_owned(), "change conflicts with another transaction, please retry: (OC000)".to_owned());
    for i in 1..=4 {
        let tx = c.transaction().await.unwrap();
        tx.execute("insert into inj values ($1)", &[&i]).await.unwrap();
        let r = tx.commit().await;
        if i % 2 == 0 {
            assert_eq!(failure(r), oc000, "commit {i}");
        } else {
            r.unwrap();
        }
    }
    // one query string, and an unnamed extended-protocol COMMIT
    c.simple_query("begin; insert into inj values (5); commit").await.unwrap();
    assert_eq!(failure(c.simple_query("begin; insert into inj values (6); commit").await), oc000);
    c.simple_query("begin").await.unwrap();
    c.execute("insert into inj values (7)", &[]).await.unwrap();
    c.query_typed("commit", &[]).await.unwrap();
    c.simple_query("begin").await.unwrap();
    c.execute("insert into inj values (8)", &[]).await.unwrap();
    assert_eq!(failure(c.query_typed("commit", &[]).await), oc000);
    // the failed commits really rolled back, and the session is idle again
    let rows = c.query("select a from inj order by a", &[]).await.unwrap();
    let got: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(got, [1, 3, 5, 7]);
    let s = ep.stats();
    assert_eq!((s.conflicts, s.injected_conflicts), (4, 4), "{s:?}");
    c.simple_query("drop table inj").await.unwrap();
    ep.stop().await;

    // schema conflicts, every commit
    let ep = local::start(LocalConfig {
        occ_injection: Some(OccInjection { every_nth: Some(1), schema_conflict: true, ..Default::default() }),
        ..config(pg)
    })
    .await
    .unwrap();
    let c = client(&ep).await;
    c.simple_query("begin").await.unwrap();
    c.simple_query("update t set v = 100").await.unwrap();
    assert_eq!(
        failure(c.simple_query("commit").await),
        ("40001".to_owned(), "schema has been updated by another transaction, please retry: (OC001)".to_owned())
    );
    let v: i32 = c.query_one("select v from t", &[]).await.unwrap().get(0);
    assert_eq!(v, 1);
    // autocommit statements and failed transactions are not eligible
    c.simple_query("select 1").await.unwrap();
    c.simple_query("begin").await.unwrap();
    assert!(c.simple_query("select 1/0").await.is_err());
    // tokio-postgres reports an error before its ReadyForQuery; the next statement's error (25P02)
    // comes after it, so the endpoint has seen the transaction fail before the commit arrives.
    assert!(c.simple_query("select 1").await.is_err());
    c.simple_query("commit").await.unwrap();
    ep.stop().await;
}

/// A WebSocket as a byte stream for `connect_raw` (the client side of the transport).
struct WsBytes<S> {
    ws: WebSocketStream<S>,
    pending: Bytes,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsBytes<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        while self.pending.is_empty() {
            match ready!(Pin::new(&mut self.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(b))) => self.pending = b,
                Some(Ok(Message::Close(_))) | None => return Poll::Ready(Ok(())),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(io::Error::other(e))),
            }
        }
        let n = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending[..n]);
        self.pending.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsBytes<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(Pin::new(&mut self.ws).poll_ready(cx)).map_err(io::Error::other)?;
        // split writes in two messages: the server must treat messages as a byte stream
        let n = buf.len().div_ceil(2).max(1).min(buf.len());
        let msg = Message::Binary(Bytes::copy_from_slice(&buf[..n]));
        Pin::new(&mut self.ws).start_send(msg).map_err(io::Error::other)?;
        Poll::Ready(Ok(n))
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_flush(cx).map_err(io::Error::other)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_close(cx).map_err(io::Error::other)
    }
}

/// PostgreSQL over `wss://<server_name>:<ws_port>/`.
async fn ws_connect(ep: &LocalDsql, server_name: &str) -> Result<Client, Error> {
    let port = ep.ws_port().expect("websocket enabled");
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let cfg = common::client_tls(ep.ca_pem(), &[b"http/1.1"]);
    let name = rustls::pki_types::ServerName::try_from(server_name.to_owned()).unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg)).connect(name, tcp).await.unwrap();
    let url = format!("wss://{}:{port}/", ep.endpoint());
    let (ws, _) = tokio_tungstenite::client_async(url, tls).await.unwrap();
    let stream = WsBytes { ws, pending: Bytes::new() };
    let password = token(&creds(), ep.endpoint(), "us-east-1", true, None, 900).await;
    let mut pg = tokio_postgres::Config::new();
    pg.user("admin").dbname("postgres").password(password);
    let (client, connection) = pg.connect_raw(stream, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn websocket(pg: &Pg) {
    let ep = local::start(config(pg)).await.unwrap();
    let c = ws_connect(&ep, ep.endpoint()).await.expect("websocket session");
    let rows = c.simple_query("select 1").await.unwrap();
    assert!(matches!(&rows[1], SimpleQueryMessage::Row(r) if r.get(0) == Some("1")));
    let one: i32 = c.query_one("select $1::int + 1", &[&41i32]).await.unwrap().get(0);
    assert_eq!(one, 42);
    assert_eq!(failure(c.simple_query("truncate t").await).0, "0A000"); // same session code
                                                                        // without SNI (an IP address as server name) the PostgreSQL handshake is refused
    let Err(e) = ws_connect(&ep, "127.0.0.1").await else { panic!("a WebSocket session without SNI was accepted") };
    assert_eq!((code(&e), message(&e)), ("08004".into(), "unable to accept connection, sni was not received".into()));
    let s = ep.stats();
    assert_eq!((s.ws_accepted, s.authenticated, s.rejected.no_sni), (2, 1, 1), "{s:?}");
    // disabled
    let off = local::start(LocalConfig { websocket: false, ..config(pg) }).await.unwrap();
    assert_eq!(off.ws_port(), None);
    off.stop().await;
    ep.stop().await;
}
