//! Test fixture: a throwaway PostgreSQL 15 on 127.0.0.1, and client helpers.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_dsql::auth_token::{AuthTokenGenerator, Config as TokenConfig};
use aws_smithy_async::time::StaticTimeSource;
use rustls::ClientConfig;
use tokio_postgres::config::{SslMode, SslNegotiation};
use tokio_postgres_rustls::MakeRustlsConnect;

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server run as the `postgres` user; stopped and removed on drop.
pub struct Pg {
    pub port: u16,
    dir: PathBuf,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn as_postgres(args: &[&str]) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).args(args);
    c
}

fn free_port() -> u16 {
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos() as u16;
    for i in 0..2000u16 {
        let port = 20_000 + (seed.wrapping_add(i.wrapping_mul(7919)) % 12_000);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

impl Pg {
    /// initdb + start. Roles: `admin` (superuser), `app`, `scram_user` (password `pw`, SCRAM).
    pub fn start() -> Pg {
        Self::start_opts(false)
    }

    /// Like [`Pg::start`]; with `tls`, the server also accepts SSL with a certificate made by
    /// `aurora_dsql_postgres::local::generate_certificates` (CA written to `<dir>/ca.pem`).
    pub fn start_opts(tls: bool) -> Pg {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("localdsql-pg-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        let d = dir.to_str().unwrap().to_owned();
        run(Command::new("chown").args(["-R", "postgres:postgres", &d]));
        let data = format!("{d}/data");
        run(&mut as_postgres(&[
            &format!("{BIN}/initdb"),
            "-D",
            &data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]));
        let hba =
            "local all all trust\nhost all scram_user 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n";
        std::fs::write(format!("{data}/pg_hba.conf"), hba).unwrap();
        let port = free_port();
        let mut opts = format!("-p {port} -k {d}/sock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 -c password_encryption=scram-sha-256");
        if tls {
            let names = ["localhost".to_owned(), "127.0.0.1".to_owned()];
            let (ca, cert, key) = aurora_dsql_postgres::local::generate_certificates(&names).unwrap();
            std::fs::write(format!("{d}/ca.pem"), ca).unwrap();
            std::fs::write(format!("{data}/server.crt"), cert).unwrap();
            std::fs::write(format!("{data}/server.key"), key).unwrap();
            run(Command::new("chown").args([
                "postgres:postgres",
                &format!("{data}/server.crt"),
                &format!("{data}/server.key"),
            ]));
            run(Command::new("chmod").args(["600", &format!("{data}/server.key")]));
            opts.push_str(" -c ssl=on");
        }
        run(&mut as_postgres(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            &data,
            "-l",
            &format!("{d}/log"),
            "-w",
            "-t",
            "30",
            "-o",
            &opts,
            "start",
        ]));
        let pg = Pg { port, dir };
        pg.psql(
            "create role admin login superuser; create role app login; create role scram_user login password 'pw';",
        );
        pg
    }

    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.dir.join("ca.pem")).unwrap()
    }

    pub fn psql(&self, sql: &str) {
        run(Command::new("psql").args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            sql,
        ]));
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ =
            as_postgres(&[&format!("{BIN}/pg_ctl"), "-D", data.to_str().unwrap(), "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn creds() -> Credentials {
    Credentials::new("AKIDLOCALTEST", "local-secret", None, None, "test")
}

/// A DSQL token made by the SDK signer, at `at` (now if `None`).
pub async fn token(
    cred: &Credentials,
    host: &str,
    region: &str,
    admin: bool,
    at: Option<SystemTime>,
    expires: u64,
) -> String {
    let sdk = SdkConfig::builder()
        .credentials_provider(SharedCredentialsProvider::new(cred.clone()))
        .time_source(StaticTimeSource::new(at.unwrap_or_else(SystemTime::now)))
        .build();
    let g = AuthTokenGenerator::new(
        TokenConfig::builder()
            .hostname(host)
            .region(Region::new(region.to_owned()))
            .expires_in(expires)
            .build()
            .unwrap(),
    );
    let t = if admin { g.db_connect_admin_auth_token(&sdk).await } else { g.db_connect_auth_token(&sdk).await };
    t.unwrap().to_string()
}

/// rustls client config trusting only `ca_pem`, with optional ALPN.
pub fn client_tls(ca_pem: &str, alpn: &[&[u8]]) -> ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let mut cfg = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    cfg
}

/// How a test client connects.
#[derive(Clone)]
pub struct Conn {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub ca_pem: String,
    pub direct: bool,
    pub tls: bool,
}

impl Conn {
    pub async fn connect(
        &self,
    ) -> Result<
        (tokio_postgres::Client, tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>),
        tokio_postgres::Error,
    > {
        let mut c = tokio_postgres::Config::new();
        c.host(&self.host)
            .hostaddr(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .port(self.port)
            .user(&self.user)
            .dbname("postgres")
            .password(&self.password)
            .connect_timeout(Duration::from_secs(10))
            .ssl_mode(if self.tls { SslMode::Require } else { SslMode::Disable });
        if self.direct {
            c.ssl_negotiation(SslNegotiation::Direct);
        }
        let alpn: &[&[u8]] = if self.direct { &[b"postgresql"] } else { &[] };
        let (client, conn) = c.connect(MakeRustlsConnect::new(client_tls(&self.ca_pem, alpn))).await?;
        Ok((client, tokio::spawn(conn)))
    }
}

/// SQLSTATE of a database error, or the error text.
pub fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| d.code().code().to_owned()).unwrap_or_else(|| format!("not a db error: {e}"))
}
pub fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| d.message().to_owned()).unwrap_or_default()
}
