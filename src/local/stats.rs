//! Connection counters, readable at any time as a [`Stats`] snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a connection was refused before its session started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// TLS handshake without a server name indication.
    NoSni,
    /// Malformed token, unknown key, bad signature, wrong host/region/action/expiry.
    BadToken,
    /// Token expired (or dated in the future beyond the allowed clock skew).
    Expired,
    /// New-connection rate above the token bucket.
    RateLimited,
    /// Active connection count at its maximum.
    TooManyConnections,
    /// The backend PostgreSQL could not be reached or refused the session.
    BackendError,
    /// Not PostgreSQL, plain text, bad framing, TLS failure, timeout before auth.
    ProtocolError,
}

/// Counts of rejected connections by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RejectStats {
    pub no_sni: u64,
    pub bad_token: u64,
    pub expired: u64,
    pub rate_limited: u64,
    pub too_many_connections: u64,
    pub backend_error: u64,
    pub protocol_error: u64,
}

/// A snapshot of the endpoint's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// TCP connections accepted (every connection, including rejected ones).
    pub accepted: u64,
    /// Connections whose token verified.
    pub authenticated: u64,
    pub rejected: RejectStats,
    /// Sessions closed because they reached the maximum connection age.
    pub closed_by_max_age: u64,
    /// Connections currently holding a slot (from accept until close).
    pub active: u64,
    /// Serialization failures sent to clients as DSQL's 40001 (real and injected).
    pub conflicts: u64,
    /// The part of `conflicts` injected by [`OccInjection`](super::OccInjection).
    pub injected_conflicts: u64,
    /// Statements rejected by DSQL's SQL restrictions (enforce mode).
    pub statements_rejected: u64,
    /// TCP connections accepted on the WebSocket listener (also counted in `accepted`).
    pub ws_accepted: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub accepted: AtomicU64,
    pub authenticated: AtomicU64,
    pub closed_by_max_age: AtomicU64,
    pub active: AtomicU64,
    pub conflicts: AtomicU64,
    pub injected_conflicts: AtomicU64,
    pub statements_rejected: AtomicU64,
    pub ws_accepted: AtomicU64,
    rejected: [AtomicU64; 7],
}

impl Counters {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    pub fn reject(&self, r: RejectReason) {
        Self::inc(&self.rejected[r as usize]);
    }

    pub fn snapshot(&self) -> Stats {
        let r = |x: RejectReason| self.rejected[x as usize].load(Relaxed);
        Stats {
            accepted: self.accepted.load(Relaxed),
            authenticated: self.authenticated.load(Relaxed),
            closed_by_max_age: self.closed_by_max_age.load(Relaxed),
            active: self.active.load(Relaxed),
            conflicts: self.conflicts.load(Relaxed),
            injected_conflicts: self.injected_conflicts.load(Relaxed),
            statements_rejected: self.statements_rejected.load(Relaxed),
            ws_accepted: self.ws_accepted.load(Relaxed),
            rejected: RejectStats {
                no_sni: r(RejectReason::NoSni),
                bad_token: r(RejectReason::BadToken),
                expired: r(RejectReason::Expired),
                rate_limited: r(RejectReason::RateLimited),
                too_many_connections: r(RejectReason::TooManyConnections),
                backend_error: r(RejectReason::BackendError),
                protocol_error: r(RejectReason::ProtocolError),
            },
        }
    }
}
