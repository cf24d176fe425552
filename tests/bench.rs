//! Connection setup time: direct to PostgreSQL vs through the local endpoint.
//! `cargo test --test bench -- --ignored --nocapture`

mod common;

use std::time::{Duration, Instant};

use aurora_dsql_postgres::local::{self, BackendConfig, LocalConfig};
use common::{creds, token, Conn, Pg};

const N: usize = 50;

async fn time_connects(c: &Conn) -> Duration {
    let t = Instant::now();
    for _ in 0..N {
        let (client, h) = c.connect().await.unwrap();
        drop(client);
        let _ = h.await;
    }
    t.elapsed() / N as u32
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, run explicitly"]
async fn connection_setup_time() {
    let pg = Pg::start_opts(true);
    let ep = local::start(LocalConfig {
        credentials: vec![creds()],
        backend: BackendConfig { port: pg.port, ..Default::default() },
        rate_limit: None,
        ..Default::default()
    })
    .await
    .unwrap();
    let base = Conn {
        host: "localhost".into(),
        port: pg.port,
        user: "admin".into(),
        password: String::new(),
        ca_pem: pg.ca_pem(),
        direct: false,
        tls: false,
    };
    let direct_plain = time_connects(&base).await;
    let direct_tls = time_connects(&Conn { tls: true, ..base.clone() }).await;
    let via = Conn {
        host: ep.endpoint().into(),
        port: ep.port(),
        password: token(&creds(), ep.endpoint(), "us-east-1", true, None, 900).await,
        ca_pem: ep.ca_pem().into(),
        tls: true,
        ..base.clone()
    };
    let via_ssl = time_connects(&via).await;
    let via_direct = time_connects(&Conn { direct: true, ..via.clone() }).await;
    println!("mean connect time over {N} connections (this build's profile):");
    println!("  direct to PostgreSQL, no TLS      {direct_plain:?}");
    println!("  direct to PostgreSQL, TLS         {direct_tls:?}");
    println!("  endpoint, SSLRequest + token      {via_ssl:?}");
    println!("  endpoint, direct TLS + token      {via_direct:?}");
    assert_eq!(ep.stats().authenticated, 2 * N as u64);
    ep.stop().await;
}

/// Cost of the row-limit helper statements: single-row autocommit inserts through the endpoint.
/// `cargo test --test bench dml_overhead -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, run explicitly"]
async fn dml_overhead() {
    let pg = Pg::start();
    pg.psql("create table b (a int)");
    for max_rows in [None, Some(3000)] {
        let ep = local::start(LocalConfig {
            credentials: vec![creds()],
            backend: BackendConfig { port: pg.port, ..Default::default() },
            max_rows_per_transaction: max_rows,
            ..Default::default()
        })
        .await
        .unwrap();
        let c = Conn {
            host: ep.endpoint().into(),
            port: ep.port(),
            user: "admin".into(),
            password: token(&creds(), ep.endpoint(), "us-east-1", true, None, 900).await,
            ca_pem: ep.ca_pem().into(),
            direct: false,
            tls: true,
        };
        let (client, _h) = c.connect().await.unwrap();
        let stmt = client.prepare("insert into b values ($1)").await.unwrap();
        let t = Instant::now();
        for i in 0..N * 10 {
            client.execute(&stmt, &[&(i as i32)]).await.unwrap();
        }
        let ext = t.elapsed() / (N as u32 * 10);
        let t = Instant::now();
        for i in 0..N * 10 {
            client.simple_query(&format!("insert into b values ({i})")).await.unwrap();
        }
        let simple = t.elapsed() / (N as u32 * 10);
        println!("max_rows {max_rows:?}: extended insert {ext:?}, simple insert {simple:?}");
        ep.stop().await;
    }
}
