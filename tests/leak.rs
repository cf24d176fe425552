//! Leak check of the Rust side (issue 6, scenario 11): a short run of the core pool against a
//! real PostgreSQL 15 through the local DSQL endpoint (both in this process), with queries of
//! every kind, errors, notices, cursors and killed connections; then the pools are ended, every
//! object is dropped and the runtime is shut down, so what valgrind reports at exit is a leak.
//!
//! Run under valgrind with `npm run leakcheck` (scripts/leakcheck.sh); plain
//! `cargo test --test leak -- --ignored` runs it without valgrind (a functional check only).

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aurora_dsql_postgres::core::completions::CompletionQueue;
use aurora_dsql_postgres::core::config::{resolve, Config};
use aurora_dsql_postgres::core::credentials::{static_credentials, CredentialCache, Source};
use aurora_dsql_postgres::core::error::Error;
use aurora_dsql_postgres::core::pool::{Pool, PoolOptions};
use aurora_dsql_postgres::core::protocol::{Flag, FrameKind};
use aurora_dsql_postgres::core::transport::NoticeHandler;
use aurora_dsql_postgres::core::wire::{parse_batch, FrameWriter, Query};
use aurora_dsql_postgres::local::{self, BackendConfig, LocalConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use common::{creds, Pg};
use serde_json::json;

// The submission flags as the facade writes them (a byte, ORed).
const PREPARE: u8 = Flag::Prepare as u8;
const TEXT: u8 = Flag::Text as u8;
const SIMPLE: u8 = Flag::Simple as u8;
const CURSOR: u8 = Flag::Cursor as u8;

/// Generous: everything runs 20-50 times slower under valgrind.
const WAIT: Duration = Duration::from_secs(120);

/// What one query ended with.
#[derive(Debug, Default, Clone)]
struct Outcome {
    /// Rows, each as its values (text; `None` = NULL).
    rows: Vec<Vec<Option<String>>>,
    /// `code` of the error JSON, if the query failed.
    error: Option<String>,
    /// Result sets completed (several for a simple-protocol script).
    done: usize,
}

/// A pool with the binding's wiring (static credentials, notices into the sink) and a decoder of
/// its completion frames.
struct Client {
    pool: Pool,
    next: u32,
    /// Columns per result of a query in progress, and the outcomes.
    ncols: HashMap<u32, usize>,
    out: HashMap<u32, Outcome>,
    notices: usize,
    /// Connections the pool reported as closed unexpectedly (`on_close`).
    closes: Arc<AtomicUsize>,
}

fn pool(cfg: Config) -> (Pool, Arc<AtomicUsize>) {
    let source = Source::Provider(SharedCredentialsProvider::new(static_credentials(
        cfg.static_credentials.as_ref().expect("static credentials"),
    )));
    let slot: Arc<OnceLock<Arc<CompletionQueue>>> = Arc::new(OnceLock::new());
    let s2 = slot.clone();
    let on_notice: NoticeHandler = Arc::new(move |n| {
        if let Some(sink) = s2.get() {
            sink.push(&FrameWriter::notice(&Error::Db(Box::new(n)).to_json().to_string()));
        }
    });
    let closes = Arc::new(AtomicUsize::new(0));
    let counter = closes.clone();
    let on_close: Arc<dyn Fn(u32) + Send + Sync> = Arc::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let pool = Pool::new(
        cfg,
        CredentialCache::new(source),
        PoolOptions { text_oids: vec![], on_notice: Some(on_notice), on_close: Some(on_close) },
    )
    .expect("pool");
    let _ = slot.set(pool.completions());
    (pool, closes)
}

/// One query in the binding's submission format (see core::protocol), parsed as the binding does, so
/// the run goes through `parse_batch` too. Parameters are text, their types left to the server.
fn job(id: u32, conn: u32, flags: u8, sql: &str, params: &[&str], batch: u32) -> Query {
    let mut b = Vec::new();
    b.extend_from_slice(&id.to_le_bytes());
    b.extend_from_slice(&conn.to_le_bytes());
    b.push(flags);
    b.extend_from_slice(&(sql.len() as u32).to_le_bytes());
    b.extend_from_slice(sql.as_bytes());
    b.extend_from_slice(&(params.len() as u16).to_le_bytes());
    for p in params {
        b.extend_from_slice(&0u32.to_le_bytes());
        b.push(0);
        b.extend_from_slice(&(p.len() as u32).to_le_bytes());
        b.extend_from_slice(p.as_bytes());
    }
    if flags & CURSOR != 0 {
        b.extend_from_slice(&batch.to_le_bytes());
    }
    parse_batch(&b).expect("a valid submission").remove(0)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

impl Client {
    fn new(cfg: Config) -> Client {
        let (pool, closes) = pool(cfg);
        Client { pool, next: 1, ncols: HashMap::new(), out: HashMap::new(), notices: 0, closes }
    }

    fn id(&mut self) -> u32 {
        self.next += 1;
        self.next
    }

    /// Submits (sql, params, flags, conn) queries at once; returns their ids.
    fn submit(&mut self, queries: &[(&str, &[&str], u8, u32)]) -> Vec<u32> {
        let jobs: Vec<Query> =
            queries.iter().map(|(sql, params, flags, conn)| job(self.id(), *conn, *flags, sql, params, 0)).collect();
        let ids = jobs.iter().map(|j| j.id).collect();
        self.pool.submit(jobs);
        ids
    }

    /// Decodes frames until every id in `ids` has finished; `on_rows` sees each ROWS frame's id.
    async fn wait(&mut self, ids: &[u32], mut on_rows: impl FnMut(&Pool, u32, &Outcome)) -> Vec<Outcome> {
        let finished =
            |out: &HashMap<u32, Outcome>, id: &u32| out.get(id).is_some_and(|o| o.error.is_some() || o.done > 0);
        while !ids.iter().all(|id| finished(&self.out, id)) {
            let buf = tokio::time::timeout(WAIT, self.pool.completions().take())
                .await
                .expect("completions within the deadline");
            assert!(!buf.is_empty(), "the pool ended with queries unfinished");
            let mut at = 0;
            while at < buf.len() {
                let (id, kind, len) = (u32_at(&buf, at), buf[at + 4], u32_at(&buf, at + 5) as usize);
                let p = &buf[at + 9..at + 9 + len];
                at += 9 + len;
                match FrameKind::from_value(kind) {
                    Some(FrameKind::Notice) => self.notices += 1,
                    Some(FrameKind::Columns) => {
                        self.ncols.insert(id, u16::from_le_bytes([p[0], p[1]]) as usize);
                    }
                    Some(FrameKind::Rows) => {
                        let n = self.ncols.get(&id).copied().unwrap_or(0);
                        let o = self.out.entry(id).or_default();
                        let mut q = 4;
                        for _ in 0..u32_at(p, 0) {
                            let mut row = Vec::with_capacity(n);
                            for _ in 0..n {
                                let l = i32::from_le_bytes(p[q..q + 4].try_into().unwrap());
                                q += 4;
                                row.push((l >= 0).then(|| {
                                    let v = String::from_utf8_lossy(&p[q..q + l as usize]).into_owned();
                                    q += l as usize;
                                    v
                                }));
                            }
                            o.rows.push(row);
                        }
                        on_rows(&self.pool, id, o);
                    }
                    // f64 count, u8 last: a script's last result set ends the query.
                    Some(FrameKind::Done) if p[8] == 1 => self.out.entry(id).or_default().done += 1,
                    Some(FrameKind::Done) => {}
                    Some(FrameKind::Error) => {
                        let v: serde_json::Value = serde_json::from_slice(&p[4..]).expect("error JSON");
                        self.out.entry(id).or_default().error = Some(v["code"].as_str().unwrap_or("?").to_owned());
                        if std::env::var_os("LEAK_DEBUG").is_some() {
                            eprintln!("query {id}: {v}");
                        }
                    }
                    _ => {} // PARAMETERS of a new connection
                }
            }
        }
        ids.iter().map(|id| self.out.remove(id).unwrap_or_default()).collect()
    }

    async fn run(&mut self, queries: &[(&str, &[&str], u8, u32)]) -> Vec<Outcome> {
        let ids = self.submit(queries);
        self.wait(&ids, |_, _, _| {}).await
    }

    async fn one(&mut self, sql: &str, params: &[&str], conn: u32) -> Outcome {
        self.run(&[(sql, params, PREPARE, conn)]).await.remove(0)
    }
}

fn value(o: &Outcome) -> String {
    assert_eq!(o.error, None, "{o:?}");
    o.rows[0][0].clone().expect("a value")
}

async fn workload(cfg: Config) {
    let mut c = Client::new(cfg.clone());

    // Prepared and unprepared statements, pipelined 25 at a time over 4 connections: 200 queries.
    for round in 0..8 {
        let n: Vec<String> = (0..25).map(|i| (round * 25 + i).to_string()).collect();
        let refs: Vec<&str> = n.iter().map(String::as_str).collect();
        let mut qs: Vec<(&str, &[&str], u8, u32)> = Vec::new();
        for (i, v) in refs.iter().enumerate() {
            let sql = match i % 3 {
                0 => "select ($1::int + 1)::text as n",
                1 => "select $1::text || repeat('x', 100) as s, null::text as nothing",
                _ => "select string_agg(g::text, ',') from generate_series(1, $1::int % 50 + 1) g",
            };
            let flags = if i % 5 == 4 { 0 } else { PREPARE };
            qs.push((sql, std::slice::from_ref(v), flags, 0));
        }
        for (i, o) in c.run(&qs).await.iter().enumerate() {
            let v: i64 = n[i].parse().unwrap();
            match i % 3 {
                0 => assert_eq!(value(o), (v + 1).to_string()),
                1 => assert_eq!((value(o).len(), o.rows[0][1].clone()), (n[i].len() + 100, None)),
                _ => assert_eq!(value(o).split(',').count() as i64, v % 50 + 1),
            }
        }
    }

    // Errors: server errors of several kinds, a DSQL restriction, a type error on a parameter.
    let bad: [(&str, &[&str], &str); 5] = [
        ("select 1/0", &[], "22012"),
        ("select * from no_such_table", &[], "42P01"),
        ("selec 1", &[], "42601"),
        ("select $1::int", &["not a number"], "22P02"),
        ("truncate no_such_table", &[], "0A000"),
    ];
    for _ in 0..6 {
        let qs: Vec<(&str, &[&str], u8, u32)> = bad.iter().map(|(s, p, _)| (*s, *p, PREPARE, 0)).collect();
        let out = c.run(&qs).await;
        for (o, (_, _, code)) in out.iter().zip(bad) {
            assert_eq!(o.error.as_deref(), Some(code), "{o:?}");
        }
    }

    // Simple-protocol scripts, DDL and DML, text results, and a server notice.
    assert_eq!(c.run(&[("create table if not exists leak_t (id int, v text)", &[], SIMPLE, 0)]).await[0].error, None);
    let before = c.notices;
    for i in 0..10 {
        let id = i.to_string();
        let out = c
            .run(&[
                ("insert into leak_t values ($1::int, repeat('v', 50))", &[id.as_str()], PREPARE | TEXT, 0),
                ("select 1; select 2, 3", &[], SIMPLE, 0),
                ("create table if not exists leak_t (id int)", &[], SIMPLE, 0),
            ])
            .await;
        assert!(out.iter().all(|o| o.error.is_none()), "{out:?}");
        assert_eq!(out[1].rows, vec![vec![Some("1".to_owned())], vec![Some("2".to_owned()), Some("3".to_owned())]]);
    }
    assert!(c.notices >= before + 10, "notices: {}", c.notices - before);

    // Cursors: one read to the end in batches of 7, one closed after its first batch.
    for close_early in [false, true] {
        let id = c.id();
        c.pool.submit(vec![job(id, 0, PREPARE | CURSOR, "select g::text from generate_series(1, 100) g", &[], 7)]);
        let out =
            c.wait(&[id], |pool, id, _| if close_early { pool.cursor_close(id) } else { pool.cursor_next(id) }).await;
        assert_eq!(out[0].error, None);
        assert_eq!(out[0].rows.len(), if close_early { 7 } else { 100 });
    }

    // A reserved connection killed (from another reserved one) while a query runs on it: that
    // query fails with CONNECTION_CLOSED, and so does later work on it.
    for _ in 0..3 {
        let (conn, other) = (c.pool.reserve().await.expect("reserve"), c.pool.reserve().await.expect("reserve"));
        let open = c.pool.stats().connections;
        let pid = value(&c.one("select pg_backend_pid()::text", &[], conn).await);
        let ids = c.submit(&[("select pg_sleep(60)", &[], PREPARE, conn)]);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(value(&c.one("select pg_terminate_backend($1::int)::text", &[&pid], other).await), "true");
        let out = c.wait(&ids, |_, _, _| {}).await;
        assert_eq!(out[0].error.as_deref(), Some("CONNECTION_CLOSED"), "{out:?}");
        c.pool.release(conn);
        c.pool.release(other);
        assert_eq!(c.one("select 1", &[], conn).await.error.as_deref(), Some("CONNECTION_CLOSED"));
        // Until its driver has removed it, the dead connection can be handed out by the next
        // reserve() (a race in the pool: Pool::reserve may pick it after its failed query reported
        // CONNECTION_CLOSED and before run_conn has removed it): wait for it to leave.
        tokio::time::timeout(WAIT, async {
            while c.pool.stats().connections >= open {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the killed connection leaves the pool");
    }

    // Idle pool connections killed: the next queries run on fresh connections.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let kill = "select count(pg_terminate_backend(pid))::text from pg_stat_activity where pid <> pg_backend_pid() and backend_type = 'client backend' and application_name like 'aurora-dsql-postgres%'";
        value(&c.one(kill, &[], 0).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let qs: Vec<(&str, &[&str], u8, u32)> =
            (0..8).map(|_| ("select pg_backend_pid()::text", &[] as &[&str], PREPARE, 0)).collect();
        for o in c.run(&qs).await {
            seen.insert(value(&o));
        }
    }
    assert!(seen.len() >= 3, "fresh connections: {seen:?}");
    assert!(c.closes.load(Ordering::SeqCst) >= 6, "unexpected closes reported: {}", c.closes.load(Ordering::SeqCst));
    assert_eq!(value(&c.one("select count(*)::text from leak_t", &[], 0).await), "10");

    // end() with a query still running: it is destroyed after the timeout; later work is refused.
    let _sleeping = c.submit(&[("select pg_sleep(60)", &[], PREPARE, 0)]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.pool.end(Some(Duration::from_millis(300))).await;
    let ids = c.submit(&[("select 1", &[], PREPARE, 0)]);
    assert_eq!(c.wait(&ids, |_, _, _| {}).await[0].error.as_deref(), Some("CONNECTION_ENDED"));
    assert!(c.pool.reserve().await.is_err());
    drop(c);

    // A second pool that ends cleanly, with nothing running.
    let mut c = Client::new(cfg);
    let qs: Vec<(&str, &[&str], u8, u32)> =
        (0..20).map(|_| ("select 'ok'::text", &[] as &[&str], PREPARE, 0)).collect();
    assert!(c.run(&qs).await.iter().all(|o| value(o) == "ok"));
    c.pool.end(None).await;
    assert_eq!(c.pool.stats().connections, 0);
}

#[test]
#[ignore = "leak check: run under valgrind by scripts/leakcheck.sh (npm run leakcheck)"]
fn short_run_then_everything_dropped() {
    let pg = Pg::start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let ep = local::start(LocalConfig {
            credentials: vec![creds()],
            backend: BackendConfig { port: pg.port, ..Default::default() },
            rate_limit: None,
            ..Default::default()
        })
        .await
        .expect("local endpoint");
        let options = json!({
            "host": ep.endpoint(),
            "hostaddr": "127.0.0.1",
            "port": ep.port(),
            "ssl": { "ca": ep.ca_pem() },
            "customCredentialsProvider": { "accessKeyId": creds().access_key_id(), "secretAccessKey": creds().secret_access_key() },
            "max": 4,
            "connect_timeout": 60,
        });
        let cfg = resolve(None, &options, &|_: &str| None::<String>).expect("config");
        workload(cfg).await;
        ep.stop().await;
    });
    rt.shutdown_timeout(Duration::from_secs(30));
    drop(pg);
}
