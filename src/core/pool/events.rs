//! What the pool reports about itself: the counters behind `sql.stats()` and the EVENT frames
//! (`FrameKind::Event`, id 0, `u32 len + JSON`) the facade turns into diagnostics-channel events.
//!
//! Two events, both made only when a connection is being opened (never per query):
//! - `connect`, once per connection attempt that ended, successfully or not:
//!   `{"event":"connect","query":<id of the query whose placement opened this connection, or 0>,
//!     "connection":<id>,"attempt":<n within this opening, from 1>,"host","port","region",
//!     "transport":"tcp"|"websocket","ok":<bool>,"code":<error code or SQLSTATE, or null>,
//!     "message":<error message or null>,"ms":{"token","tcp","tls","auth","total"}}`.
//!   `ms` (milliseconds, fractional): `token` signing it (with the credentials' resolution when that
//!   happened), `tcp` from the end of signing to the socket connected (lookup included; through a
//!   proxy, until the tunnel is up), `tls` from there to the end of the handshake (over TCP, the
//!   SSLRequest exchange included), `auth` from the last of those to ReadyForQuery (startup and
//!   authentication; over WebSocket, the upgrade too), `total` the whole attempt. A phase the
//!   attempt did not reach, or that does not exist (`tls` without TLS), is null; `auth` is null when
//!   the attempt failed before the server answered the startup.
//! - `token`, once per token signed: `{"event":"token","query","connection","ms",
//!   "credentials":"cached"|"resolved"}` ("resolved": the credential provider or chain was called for
//!   this token).
//!
//! Secrets never enter an event: the JSON is built from the configuration's host, port and region,
//! timings, and an error's code and message (errors carry no credentials, see `core::credentials`).

use crate::core::config::{Config, Transport};
use crate::core::error::Error;
use crate::core::lock;
use crate::core::protocol::FrameKind;
use crate::core::transport::{ByteCounts, Marks};
use crate::core::wire::FrameWriter;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The pool's counters (relaxed atomics: statistics, ordered against nothing). Queries are counted
/// once per submitted batch, connects and tokens per attempt; errors lock a small map, once per
/// failed query.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) queries: AtomicU64,
    pub(crate) connect_attempts: AtomicU64,
    pub(crate) connect_failures: AtomicU64,
    pub(crate) tokens_signed: AtomicU64,
    /// Queries placed again because they never ran on the connection they were given to: still queued
    /// for it when it left the pool, found it dead before being sent, handed back by its session (known
    /// closed before they were sent, their statement's Parse died with it, or sent behind a query the
    /// session itself ended with a FATAL: see `exec::SessionEnd`).
    pub(crate) retried: AtomicU64,
    /// Socket bytes of every session, counted under TLS and WebSocket framing (`transport::Meter`).
    pub(crate) bytes: Arc<ByteCounts>,
    /// Failed queries by SQLSTATE class (the code's first two characters) for server errors and
    /// client-side errors with a SQLSTATE (57014), else by the error's code (`CONNECTION_CLOSED`,
    /// `ECONNREFUSED`, `CREDENTIALS_ERROR`, ...); `ERROR` for errors without a code.
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    /// A query failed with `e` (called where its ERROR frame is written).
    pub(crate) fn query_failed(&self, e: &Error) {
        let key = error_key(e);
        let mut errors = lock(&self.errors);
        match errors.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                errors.insert(key.to_string(), 1);
            }
        }
    }

    /// A copy of the error counts.
    pub(crate) fn errors(&self) -> BTreeMap<String, u64> {
        lock(&self.errors).clone()
    }

    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The code an error is reported under: a SQLSTATE, or the error's own code.
pub(crate) fn error_code(e: &Error) -> Option<&str> {
    match e {
        Error::Db(db) => Some(&db.code),
        Error::Connection { code, .. } | Error::Generic { code, .. } => Some(code),
        Error::System(s) => Some(s.code),
        Error::Credentials(_) => Some("CREDENTIALS_ERROR"),
        Error::Config { .. } | Error::Other(_) => None,
    }
}

/// A SQLSTATE: five digits or upper-case letters.
fn is_sqlstate(code: &str) -> bool {
    code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// Where a failed query counts in `errorsByClass` (see [`Counters::errors`]).
fn error_key(e: &Error) -> &str {
    match error_code(e) {
        Some(code) if is_sqlstate(code) => &code[..2],
        Some(code) => code,
        None => "ERROR",
    }
}

/// The message an event shows for `e`: the one the user's error has.
fn error_message(e: &Error) -> Value {
    match e.to_json().get("message") {
        Some(m) => m.clone(),
        None => Value::String(e.to_string()),
    }
}

/// Milliseconds as a JSON number (fractional, to the microsecond).
fn ms(d: Duration) -> Value {
    json!((d.as_micros() as f64) / 1000.0)
}

/// Who an event is about: the connection, and the query that made the pool open it (0 for none).
#[derive(Clone, Copy)]
pub(crate) struct Subject {
    pub(crate) query: u32,
    pub(crate) connection: u32,
}

/// A TOKEN event frame.
pub(crate) fn token_event(who: Subject, signing: Duration, resolved: bool) -> Vec<u8> {
    let v = json!({
        "event": "token",
        "query": who.query,
        "connection": who.connection,
        "ms": ms(signing),
        "credentials": if resolved { "resolved" } else { "cached" },
    });
    FrameWriter::json_frame(FrameKind::Event, &v.to_string())
}

/// One connection attempt, from its start: what a CONNECT event reports when it ends.
pub(crate) struct Attempt {
    pub(crate) who: Subject,
    pub(crate) n: u32,
    pub(crate) started: Instant,
    /// When signing ended (`None`: the attempt ended before a token was made).
    pub(crate) signed: Option<Instant>,
    pub(crate) marks: Arc<Marks>,
}

impl Attempt {
    /// The CONNECT event frame of the attempt, ending now with `outcome`.
    pub(crate) fn event(&self, cfg: &Config, outcome: Result<(), &Error>) -> Vec<u8> {
        let end = Instant::now();
        let tcp = self.marks.tcp.get().copied();
        let tls = self.marks.tls.get().copied();
        let since = |from: Option<Instant>, to: Option<Instant>| match (from, to) {
            (Some(a), Some(b)) => ms(b.saturating_duration_since(a)),
            _ => Value::Null,
        };
        // Authentication began when the secure channel (or the plain socket) was ready; it is
        // timed only when the server took part (a success, or the server's own error).
        let answered = outcome.is_ok() || matches!(outcome, Err(Error::Db(_)));
        let auth = if answered { since(tls.or(tcp), Some(end)) } else { Value::Null };
        let (code, message) = match outcome {
            Ok(()) => (Value::Null, Value::Null),
            Err(e) => (error_code(e).map_or(Value::Null, |c| Value::String(c.to_string())), error_message(e)),
        };
        let v = json!({
            "event": "connect",
            "query": self.who.query,
            "connection": self.who.connection,
            "attempt": self.n,
            "host": cfg.host,
            "port": cfg.port,
            "region": cfg.region,
            "transport": match cfg.transport { Transport::Tcp => "tcp", Transport::WebSocket { .. } => "websocket" },
            "ok": outcome.is_ok(),
            "code": code,
            "message": message,
            "ms": {
                "token": since(Some(self.started), self.signed),
                "tcp": since(self.signed, tcp),
                "tls": since(tcp, tls),
                "auth": auth,
                "total": ms(end.saturating_duration_since(self.started)),
            },
        });
        FrameWriter::json_frame(FrameKind::Event, &v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::resolve;
    use crate::core::credentials::{static_credentials, CredentialCache, Source};
    use crate::core::error::DbError;
    use crate::core::token::TokenSigner;
    use aws_credential_types::provider::SharedCredentialsProvider;

    /// The JSON of a frame made by `json_frame` (id 0, kind EVENT).
    fn payload(frame: &[u8]) -> Value {
        assert_eq!(&frame[..4], &0u32.to_le_bytes(), "id 0");
        assert_eq!(frame[4], FrameKind::Event as u8);
        let len = u32::from_le_bytes(frame[5..9].try_into().unwrap()) as usize;
        assert_eq!(frame.len(), 9 + len);
        serde_json::from_slice(&frame[13..]).unwrap()
    }

    fn config() -> Config {
        resolve(None, &json!({ "host": "abc.dsql.us-east-1.on.aws" }), &|_: &str| None).unwrap()
    }

    fn db_error(code: &str) -> Error {
        Error::Db(Box::new(DbError { code: code.into(), message: "no".into(), ..Default::default() }))
    }

    #[tokio::test]
    async fn events_never_hold_a_secret() {
        const KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        const SESSION: &str = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN";
        let creds = static_credentials(&crate::core::config::StaticCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: KEY.into(),
            session_token: Some(SESSION.into()),
            expiration: None,
        });
        let cache = CredentialCache::new(Source::Provider(SharedCredentialsProvider::new(creds)));
        let cfg = config();
        let signer = TokenSigner::new(&cfg.host, &cfg.region, 900);
        let who = Subject { query: 7, connection: 3 };
        let started = Instant::now();
        let (c, resolved) = cache.get_traced().await.unwrap();
        assert!(resolved);
        let token = signer.token(c, true).await.unwrap();
        assert!(token.contains(SESSION), "the token carries the session token (what must not leak)");
        let marks = Arc::new(Marks::default());
        let _ = marks.tcp.set(Instant::now());
        let attempt = Attempt { who, n: 1, started, signed: Some(Instant::now()), marks };
        let frames = [
            token_event(who, started.elapsed(), resolved),
            attempt.event(&cfg, Ok(())),
            attempt.event(&cfg, Err(&db_error("28000"))),
            attempt.event(&cfg, Err(&Error::Credentials("Could not resolve AWS credentials: x".into()))),
        ];
        let signature = token.split("X-Amz-Signature=").nth(1).unwrap();
        for f in &frames {
            let text = std::str::from_utf8(&f[13..]).unwrap();
            for secret in [KEY, SESSION, token.as_str(), signature, "wJalrXUtnFEMI"] {
                assert!(!text.contains(secret), "{text} holds a secret");
            }
        }
        let t = payload(&frames[0]);
        assert_eq!(
            (t["event"].as_str(), t["query"].as_u64(), t["connection"].as_u64()),
            (Some("token"), Some(7), Some(3))
        );
        assert_eq!(t["credentials"], "resolved");
        assert!(t["ms"].as_f64().unwrap() >= 0.0);
    }

    #[test]
    fn connect_event_fields() {
        let cfg = config();
        let who = Subject { query: 0, connection: 9 };
        let started = Instant::now();
        // Failed before signing: only the total is known.
        let a = Attempt { who, n: 2, started, signed: None, marks: Arc::default() };
        let e = payload(&a.event(&cfg, Err(&Error::connect_timeout(&cfg.host, cfg.port))));
        assert_eq!(e["event"], "connect");
        assert_eq!((e["attempt"].as_u64(), e["connection"].as_u64(), e["query"].as_u64()), (Some(2), Some(9), Some(0)));
        assert_eq!((e["host"].as_str(), e["port"].as_u64()), (Some("abc.dsql.us-east-1.on.aws"), Some(5432)));
        assert_eq!((e["region"].as_str(), e["transport"].as_str()), (Some("us-east-1"), Some("tcp")));
        assert_eq!((e["ok"].as_bool(), e["code"].as_str()), (Some(false), Some("CONNECT_TIMEOUT")));
        assert!(e["message"].as_str().unwrap().contains("CONNECT_TIMEOUT"));
        for k in ["token", "tcp", "tls", "auth"] {
            assert!(e["ms"][k].is_null(), "{k}: {e}");
        }
        assert!(e["ms"]["total"].as_f64().unwrap() >= 0.0);
        // Every phase reached.
        let marks = Arc::new(Marks::default());
        let signed = Instant::now();
        let _ = marks.tcp.set(signed + Duration::from_millis(2));
        let _ = marks.tls.set(signed + Duration::from_millis(5));
        let a = Attempt { who, n: 1, started, signed: Some(signed), marks: marks.clone() };
        let e = payload(&a.event(&cfg, Ok(())));
        assert_eq!((e["ok"].as_bool(), &e["code"], &e["message"]), (Some(true), &Value::Null, &Value::Null));
        assert_eq!((e["ms"]["tcp"].as_f64(), e["ms"]["tls"].as_f64()), (Some(2.0), Some(3.0)));
        assert!(e["ms"]["token"].as_f64().is_some() && e["ms"]["auth"].as_f64().is_some());
        // The server refused: its SQLSTATE is the code, and authentication is timed.
        let e = payload(&a.event(&cfg, Err(&db_error("53300"))));
        assert_eq!((e["code"].as_str(), e["message"].as_str()), (Some("53300"), Some("no")));
        assert!(e["ms"]["auth"].as_f64().is_some());
        // A socket failure: no authentication.
        let e = payload(&a.event(&cfg, Err(&Error::closed("gone"))));
        assert!(e["ms"]["auth"].is_null());
    }

    #[test]
    fn errors_count_by_class_or_code() {
        let c = Counters::default();
        c.query_failed(&db_error("40001"));
        c.query_failed(&db_error("40P01"));
        c.query_failed(&db_error("23505"));
        c.query_failed(&Error::cancelled_before_sent());
        c.query_failed(&Error::closed("gone"));
        c.query_failed(&Error::Other("x".into()));
        let got: Vec<(String, u64)> = c.errors().into_iter().collect();
        let want = [("23", 1), ("40", 2), ("57", 1), ("CONNECTION_CLOSED", 1), ("ERROR", 1)];
        assert_eq!(got, want.map(|(k, n)| (k.to_string(), n)));
    }
}
