//! Errors of the core, in the shapes postgres.js users know.
//!
//! Every error can be turned into a small JSON object (`to_json`) that the JS facade turns into
//! `TypeError`, `RangeError`, `PostgresError` or a connection error with a `code`. Messages never
//! contain a token, a secret key or a session token: no code path formats one into an error.

use serde_json::{json, Map, Value};
use std::fmt;

/// Which JS error class a configuration error becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// Wrong type of an option (`TypeError`).
    Type,
    /// Value out of range or not one of the accepted values (`RangeError`).
    Range,
    /// A missing or inconsistent setting (plain `Error`, as the official connector throws).
    Invalid,
}

/// A server error (ErrorResponse), field for field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DbError {
    /// `V`: the severity, never localized (`ERROR`, `NOTICE`, ...).
    pub severity: String,
    /// `S`: the severity in the server's language (postgres.js's `severity_local`).
    pub severity_local: String,
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub position: Option<String>,
    pub internal_position: Option<String>,
    pub internal_query: Option<String>,
    pub r#where: Option<String>,
    pub schema_name: Option<String>,
    pub table_name: Option<String>,
    pub column_name: Option<String>,
    pub data_type_name: Option<String>,
    pub constraint_name: Option<String>,
    pub file: Option<String>,
    pub line: Option<String>,
    pub routine: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    Config {
        kind: ConfigErrorKind,
        message: String,
    },
    Db(Box<DbError>),
    /// A connection-level failure with a postgres.js code: `CONNECTION_CLOSED`, `CONNECTION_ENDED`,
    /// `CONNECTION_DESTROYED`, `CONNECT_TIMEOUT`, `CONNECTION_REFUSED`, `TLS_ERROR`, ...
    Connection {
        code: &'static str,
        message: String,
        /// The query was written to the socket and no answer came: it may or may not have run (its
        /// JSON carries `"outcomeUnknown": true`, the JS error `err.outcomeUnknown`).
        outcome_unknown: bool,
    },
    /// A client-side error with a code, shaped like postgres.js's `Errors.generic`: the message is
    /// `'<code>: <text>'` (e.g. `57014` for a query cancelled before it was sent).
    Generic {
        code: &'static str,
        message: String,
    },
    /// A failed system call while connecting, in the shape of Node's own errors (postgres.js
    /// rejects with those): `getaddrinfo ENOTFOUND <host>`, `connect ECONNREFUSED <ip>:<port>`.
    System(Box<SystemError>),
    /// Credentials could not be resolved or a token could not be made.
    Credentials(String),
    /// Anything else (protocol violations, unsupported values, internal faults).
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error codes the core gives its errors, as the JS facade and users see them (`err.code`). The JS
/// side's copy (`js/codes.js`) is generated from this list.
pub mod code {
    /// The connection closed under the query (the server, the network, or a failed connection check).
    pub const CONNECTION_CLOSED: &str = "CONNECTION_CLOSED";
    /// The pool was ended (`sql.end()`) before the query could run.
    pub const CONNECTION_ENDED: &str = "CONNECTION_ENDED";
    /// The pool closed the connection at once (an `end`/`close` timeout ran out).
    pub const CONNECTION_DESTROYED: &str = "CONNECTION_DESTROYED";
    /// No session within `connect_timeout`.
    pub const CONNECT_TIMEOUT: &str = "CONNECT_TIMEOUT";
    /// The TLS handshake failed (certificate not trusted, wrong name, protocol error).
    pub const TLS_ERROR: &str = "TLS_ERROR";
    /// SQLSTATE 57014, for a query cancelled before it was sent.
    pub const QUERY_CANCELED: &str = "57014";
    /// A query sent to a connection while a COPY runs on it.
    pub const COPY_IN_PROGRESS: &str = "COPY_IN_PROGRESS";

    /// Every code above, for the generated JS copy.
    pub const ALL: [(&str, &str); 7] = [
        ("CONNECTION_CLOSED", CONNECTION_CLOSED),
        ("CONNECTION_ENDED", CONNECTION_ENDED),
        ("CONNECTION_DESTROYED", CONNECTION_DESTROYED),
        ("CONNECT_TIMEOUT", CONNECT_TIMEOUT),
        ("TLS_ERROR", TLS_ERROR),
        ("QUERY_CANCELED", QUERY_CANCELED),
        ("COPY_IN_PROGRESS", COPY_IN_PROGRESS),
    ];
}

/// A Node-style system error: `code` (`ENOTFOUND`, `ECONNREFUSED`, ...), `errno` (negative, as
/// libuv reports it), the `syscall`, and what it was about.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemError {
    pub code: &'static str,
    pub errno: i32,
    pub syscall: &'static str,
    pub about: SystemTarget,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SystemTarget {
    /// The host name a lookup failed for (Node's `hostname`).
    Hostname(String),
    /// The address a connect failed for (Node's `address` and `port`).
    Address(std::net::SocketAddr),
}

impl SystemError {
    /// Node's message: `<syscall> <code> <hostname>` or `<syscall> <code> <address>:<port>`
    /// (an IPv6 address without brackets, as Node writes it).
    pub fn message(&self) -> String {
        match &self.about {
            SystemTarget::Hostname(h) => format!("{} {} {h}", self.syscall, self.code),
            SystemTarget::Address(a) => format!("{} {} {}:{}", self.syscall, self.code, a.ip(), a.port()),
        }
    }
}

impl Error {
    pub fn type_error(message: impl Into<String>) -> Self {
        Error::Config { kind: ConfigErrorKind::Type, message: message.into() }
    }
    pub fn range_error(message: impl Into<String>) -> Self {
        Error::Config { kind: ConfigErrorKind::Range, message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Config { kind: ConfigErrorKind::Invalid, message: message.into() }
    }
    pub fn connection(code: &'static str, message: impl Into<String>) -> Self {
        Error::Connection { code, message: message.into(), outcome_unknown: false }
    }
    /// This closed-connection error (`CONNECTION_CLOSED`) for a query that was written to the socket
    /// and got no answer: whether it ran is unknown, so it must not be run again blindly. The message
    /// says so; other errors are returned as they are.
    pub fn closed_in_flight(self) -> Self {
        match self {
            Error::Connection { code: code::CONNECTION_CLOSED, message, .. } => Error::Connection {
                code: code::CONNECTION_CLOSED,
                message: format!("{message}; the query was sent and its outcome is unknown (it may have run)"),
                outcome_unknown: true,
            },
            other => other,
        }
    }
    /// The connection a query was on closed under it (`CONNECTION_CLOSED`).
    pub fn closed(message: impl Into<String>) -> Self {
        Error::connection(code::CONNECTION_CLOSED, message)
    }
    /// The pool was ended before the query could run (`CONNECTION_ENDED`).
    pub fn ended(message: impl Into<String>) -> Self {
        Error::connection(code::CONNECTION_ENDED, message)
    }
    /// The pool closed the connection at once (`end`/`close` with a timeout that ran out):
    /// `CONNECTION_DESTROYED`.
    pub fn destroyed(message: impl Into<String>) -> Self {
        Error::connection(code::CONNECTION_DESTROYED, message)
    }
    /// No session within `connect_timeout` (`CONNECT_TIMEOUT`, postgres.js's message).
    pub fn connect_timeout(host: &str, port: u16) -> Self {
        Error::connection(code::CONNECT_TIMEOUT, format!("write {} {host}:{port}", code::CONNECT_TIMEOUT))
    }
    /// `query.cancel()` before the query was sent: it never runs (postgres.js's generic 57014).
    pub fn cancelled_before_sent() -> Self {
        Error::Generic { code: code::QUERY_CANCELED, message: "canceling statement due to user request".into() }
    }
    /// A query sent to a connection while a COPY runs on it (postgres.js's `COPY_IN_PROGRESS`).
    pub fn copy_in_progress() -> Self {
        Error::Generic { code: code::COPY_IN_PROGRESS, message: "You cannot execute queries during copy".into() }
    }

    /// Whether the connection closed under the query (`CONNECTION_CLOSED`): it may or may not have run.
    pub fn is_closed(&self) -> bool {
        matches!(self, Error::Connection { code: code::CONNECTION_CLOSED, .. })
    }

    /// Whether this is a closed-connection error of a query that may have run (see [`Error::closed_in_flight`]).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::Connection { outcome_unknown: true, .. })
    }

    /// The SQLSTATE of a server error, if this is one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Error::Db(e) => Some(&e.code),
            _ => None,
        }
    }

    /// JSON shape handed to the JS facade.
    pub fn to_json(&self) -> Value {
        match self {
            Error::Config { kind, message } => json!({
                "type": match kind { ConfigErrorKind::Type => "TypeError", ConfigErrorKind::Range => "RangeError", ConfigErrorKind::Invalid => "Error" },
                "message": message,
            }),
            Error::Db(e) => {
                let mut m = Map::new();
                m.insert("type".into(), "PostgresError".into());
                m.insert("severity_local".into(), e.severity_local.clone().into());
                m.insert("severity".into(), e.severity.clone().into());
                m.insert("code".into(), e.code.clone().into());
                m.insert("message".into(), e.message.clone().into());
                let opt = [
                    ("detail", &e.detail),
                    ("hint", &e.hint),
                    ("position", &e.position),
                    ("internal_position", &e.internal_position),
                    ("internal_query", &e.internal_query),
                    ("where", &e.r#where),
                    ("schema_name", &e.schema_name),
                    ("table_name", &e.table_name),
                    ("column_name", &e.column_name),
                    ("data_type_name", &e.data_type_name),
                    ("constraint_name", &e.constraint_name),
                    ("file", &e.file),
                    ("line", &e.line),
                    ("routine", &e.routine),
                ];
                for (k, v) in opt {
                    if let Some(v) = v {
                        m.insert(k.into(), v.clone().into());
                    }
                }
                Value::Object(m)
            }
            Error::Connection { code, message, outcome_unknown: false } => {
                json!({ "type": "ConnectionError", "code": code, "message": message })
            }
            Error::Connection { code, message, outcome_unknown: true } => {
                json!({ "type": "ConnectionError", "code": code, "message": message, "outcomeUnknown": true })
            }
            Error::System(e) => {
                let mut m = json!({ "type": "SystemError", "code": e.code, "errno": e.errno, "syscall": e.syscall, "message": e.message() });
                match &e.about {
                    SystemTarget::Hostname(h) => m["hostname"] = h.as_str().into(),
                    SystemTarget::Address(a) => {
                        m["address"] = a.ip().to_string().into();
                        m["port"] = a.port().into();
                    }
                }
                m
            }
            Error::Credentials(message) => {
                json!({ "type": "CredentialsError", "code": "CREDENTIALS_ERROR", "message": message })
            }
            Error::Generic { code, message } => {
                json!({ "type": "Error", "code": code, "message": format!("{code}: {message}") })
            }
            Error::Other(message) => json!({ "type": "Error", "message": message }),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { message, .. } | Error::Credentials(message) | Error::Other(message) => f.write_str(message),
            Error::Db(e) => write!(f, "{} ({})", e.message, e.code),
            Error::Connection { code, message, .. } => write!(f, "{message} ({code})"),
            Error::Generic { code, message } => write!(f, "{code}: {message}"),
            Error::System(e) => f.write_str(&e.message()),
        }
    }
}

impl std::error::Error for Error {}

impl From<&tokio_postgres::error::DbError> for DbError {
    fn from(e: &tokio_postgres::error::DbError) -> Self {
        DbError {
            severity: e.parsed_severity().map_or_else(|| e.severity().to_string(), |s| s.to_string()),
            severity_local: e.severity().to_string(),
            code: e.code().code().to_string(),
            message: e.message().to_string(),
            detail: e.detail().map(str::to_string),
            hint: e.hint().map(str::to_string),
            position: e.position().map(|p| match p {
                tokio_postgres::error::ErrorPosition::Original(n) => n.to_string(),
                tokio_postgres::error::ErrorPosition::Internal { position, .. } => position.to_string(),
            }),
            internal_position: None,
            internal_query: e.position().and_then(|p| match p {
                tokio_postgres::error::ErrorPosition::Internal { query, .. } => Some(query.clone()),
                _ => None,
            }),
            r#where: e.where_().map(str::to_string),
            schema_name: e.schema().map(str::to_string),
            table_name: e.table().map(str::to_string),
            column_name: e.column().map(str::to_string),
            data_type_name: e.datatype().map(str::to_string),
            constraint_name: e.constraint().map(str::to_string),
            file: e.file().map(str::to_string),
            line: e.line().map(|l| l.to_string()),
            routine: e.routine().map(str::to_string),
        }
    }
}

/// An error and its causes on one line (`error: cause: cause`), each cause's text once: the error
/// types we wrap (tokio-postgres, rustls, the AWS SDK) keep the useful detail in their sources.
pub fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        src = s.source();
    }
    text
}

const SERVER_CLOSED: &str = "connection closed by the server: ";

impl Error {
    /// A FATAL error the server sent in answer to this query before closing the session.
    pub fn is_server_fatal(&self) -> bool {
        self.server_fatal_code().is_some()
    }

    /// The SQLSTATE of the FATAL error the server answered this query with (see `From` below, which
    /// writes it last in the message, in parentheses).
    pub fn server_fatal_code(&self) -> Option<&str> {
        match self {
            Error::Connection { message, .. } if message.starts_with(SERVER_CLOSED) => {
                let code = message.rsplit_once('(')?.1.split(')').next()?;
                (code.len() == 5).then_some(code)
            }
            _ => None,
        }
    }

    /// Whether a FATAL answer came from the database session itself, which runs requests strictly
    /// in order and stopped at the one it answered, so that nothing sent behind it ran: class 57
    /// (operator intervention: 57P01 terminated, 57P02 crash, 57P05 idle-session timeout) and 25P03
    /// (idle-in-transaction timeout). Any other FATAL (class 08, connection exception, such as DSQL's
    /// maximum connection age) may come from the service in front of the session, which can have
    /// passed requests written behind it on to the session before closing the client's side.
    pub fn ends_session_in_order(&self) -> bool {
        self.server_fatal_code().is_some_and(|c| c.starts_with("57") || c == "25P03")
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            // A FATAL error ends the session (e.g. 57P01 after pg_terminate_backend, DSQL's maximum
            // connection age): for the query that was running, the connection closed under it.
            if matches!(db.severity(), "FATAL" | "PANIC") {
                return Error::closed(format!("{SERVER_CLOSED}{} ({})", db.message(), db.code().code()));
            }
            return Error::Db(Box::new(db.into()));
        }
        if e.is_closed() {
            return Error::closed("connection closed");
        }
        // The I/O and TLS causes: tokio-postgres' own text is generic.
        Error::closed(with_causes(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::with_causes;

    #[test]
    fn js_codes_are_generated_from_the_rust_list() {
        use crate::core::generated::{check_or_write, header};
        let mut js = header("src/core/error.rs (mod code)");
        js.push_str("// The error codes the core gives its errors (`err.code`).\nconst CODE = Object.freeze({\n");
        for (name, value) in super::code::ALL {
            js.push_str(&format!("  {name}: '{value}',\n"));
        }
        js.push_str("})\n\nmodule.exports = { CODE }\n");
        check_or_write("js/codes.js", &js);
    }
    use std::fmt;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);
    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn a_query_cut_off_in_flight_is_marked_outcome_unknown() {
        use super::Error;
        let age = Error::closed(
            "connection closed by the server: connection closed: exceeded maximum connection duration of 2 seconds (08006)",
        );
        assert_eq!(age.server_fatal_code(), Some("08006"));
        assert!(!age.ends_session_in_order(), "a front end's close may have passed later requests on");
        let killed = Error::closed("connection closed by the server: terminating connection (57P01)");
        assert!(killed.ends_session_in_order());
        assert_eq!(Error::closed("connection closed").server_fatal_code(), None);

        let cut = age.clone().closed_in_flight();
        assert!(cut.is_closed() && cut.is_outcome_unknown() && !age.is_outcome_unknown());
        let json = cut.to_json();
        assert_eq!(json["code"], "CONNECTION_CLOSED");
        assert_eq!(json["outcomeUnknown"], true);
        assert!(json["message"].as_str().unwrap_or("").contains("outcome is unknown"), "{json}");
        assert_eq!(cut.server_fatal_code(), None, "the marker's text follows the code");
        assert!(age.to_json().get("outcomeUnknown").is_none());
        // Only a closed connection can be cut off in flight.
        assert!(!Error::ended("x").closed_in_flight().is_outcome_unknown());
    }

    #[test]
    fn system_errors_read_like_nodes() {
        use super::{Error, SystemError, SystemTarget};
        let e = Error::System(Box::new(SystemError {
            code: "ENOTFOUND",
            errno: -3008,
            syscall: "getaddrinfo",
            about: SystemTarget::Hostname("x.invalid".into()),
        }));
        assert_eq!(
            e.to_json(),
            serde_json::json!({ "type": "SystemError", "code": "ENOTFOUND", "errno": -3008, "syscall": "getaddrinfo", "hostname": "x.invalid", "message": "getaddrinfo ENOTFOUND x.invalid" })
        );
        let e = Error::System(Box::new(SystemError {
            code: "ECONNREFUSED",
            errno: -111,
            syscall: "connect",
            about: SystemTarget::Address("[::1]:5432".parse().unwrap()),
        }));
        assert_eq!(
            e.to_json(),
            serde_json::json!({ "type": "SystemError", "code": "ECONNREFUSED", "errno": -111, "syscall": "connect", "address": "::1", "port": 5432, "message": "connect ECONNREFUSED ::1:5432" })
        );
    }

    #[test]
    fn causes_follow_the_error_each_once() {
        let e = Layer(
            "error connecting",
            Some(Box::new(Layer(
                "tls: invalid peer certificate",
                Some(Box::new(Layer("invalid peer certificate", None))),
            ))),
        );
        assert_eq!(with_causes(&e), "error connecting: tls: invalid peer certificate");
        assert_eq!(with_causes(&Layer("alone", None)), "alone");
    }
}
