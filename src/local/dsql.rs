//! DSQL behaviour layered on the relay as a [`SessionPolicy`]: SQL restrictions, DSQL's
//! optimistic-concurrency errors, commit-conflict injection and the per-transaction row limit.
//!
//! How it stays correct with pipelining and the extended protocol:
//! - A rejected statement is never forwarded. It is *replaced* by a message that makes
//!   PostgreSQL fail on its own: a Query or Parse of the marker `__localdsql_reject_<n>` (a
//!   syntax error) or a Bind of the prepared statement `__localdsql_reject_<n>` (which does not
//!   exist). PostgreSQL then does everything the protocol requires (aborts the transaction, skips
//!   to Sync, answers ReadyForQuery) in the right order, and the endpoint rewrites that one
//!   ErrorResponse (recognised by its marker) into DSQL's error.
//! - Row limit: before each data-modifying statement the endpoint runs a helper statement
//!   (prepared once per session, `__localdsql_rowbase`) that records, once per transaction,
//!   `pg_stat_xact_user_tables`' row counters in a transaction-local setting; after the statement
//!   (simple Query) or before the Sync (extended protocol) a second helper fails when the
//!   transaction has since modified more rows than allowed. The failure happens inside the backend
//!   transaction, so PostgreSQL really rolls back (autocommit statements included); the endpoint
//!   hides the helpers' responses, holds the statement's CommandComplete until the check passed,
//!   and turns the failure into SQLSTATE 54000. (The baseline is needed because PostgreSQL folds a
//!   transaction's counts into those views' session totals and flushes them only now and then.)
//!   Cost: about 0.2 ms per data-modifying statement. `COPY ... FROM` counts as one: over the
//!   extended protocol the check runs after its CopyDone, before the Sync; in a simple Query the
//!   helpers surround it in the same string, and PostgreSQL runs the rest after the copy-in.
//! - Commit-conflict injection replaces the client's COMMIT by ROLLBACK and answers its
//!   CommandComplete with DSQL's 40001 error.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use bytes::BufMut;

use super::protocol::{self as p, Frame};
use super::relay::{SessionPolicy, Verdict};
use super::sql_checks::{analyze, Kind};
use super::stats::Counters;

/// How DSQL's SQL restrictions are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqlChecks {
    /// Reject with DSQL's error (SQLSTATE 0A000); the statement never reaches PostgreSQL.
    #[default]
    Enforce,
    /// Forward everything, with a NoticeResponse (SQLSTATE 01000) where DSQL would reject.
    WarnOnly,
    /// No checks (`CREATE INDEX ASYNC` is still rewritten for PostgreSQL).
    Off,
}

/// Makes successful COMMITs fail with DSQL's serialization error, to exercise retry logic.
/// A COMMIT is eligible when it ends an open, not failed, explicit transaction and is sent as a
/// simple Query (alone or last in the string) or as an unnamed extended-protocol statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OccInjection {
    /// Fail every n-th eligible COMMIT, counted across all sessions of the endpoint.
    pub every_nth: Option<u64>,
    /// Fail each eligible COMMIT with this probability (0.0 to 1.0).
    pub probability: Option<f64>,
    /// Report a schema conflict (OC001) instead of a data conflict (OC000).
    pub schema_conflict: bool,
}

pub(crate) const OC000: &str = "change conflicts with another transaction, please retry: (OC000)";
pub(crate) const OC001: &str = "schema has been updated by another transaction, please retry: (OC001)";
const MIXED: &str = "ddl and dml are not supported in the same transaction";
const MULTI_DDL: &str = "only one ddl statement is supported per transaction";
const ROW_LIMIT: &str = "transaction row limit exceeded";
const REJECT: &str = "__localdsql_reject_";
const ROWBASE: &str = "__localdsql_rowbase";
const ROWCHECK: &str = "__localdsql_rowcheck";
/// Bounds on per-session bookkeeping (a misbehaving client cannot grow them without limit).
const MAX_PREPARED: usize = 10_000;
const MAX_PENDING_REJECTS: usize = 256;

/// Endpoint-wide settings shared by all sessions.
pub(crate) struct Settings {
    pub checks: SqlChecks,
    pub max_rows: Option<u64>,
    /// Rewrite 40001/40P01 into DSQL's OC000 error (backend runs REPEATABLE READ).
    pub occ: bool,
    pub injection: Option<OccInjection>,
    pub counters: Arc<Counters>,
    commits: AtomicU64,
}

impl Settings {
    pub fn new(cfg: &super::LocalConfig, counters: Arc<Counters>) -> Self {
        Self {
            checks: cfg.sql_checks,
            max_rows: cfg.max_rows_per_transaction,
            occ: cfg.optimistic_concurrency,
            injection: cfg.occ_injection.clone(),
            counters,
            commits: AtomicU64::new(0),
        }
    }

    /// Decides whether this eligible COMMIT fails; returns the error to send.
    fn inject(&self) -> Option<Vec<u8>> {
        let inj = self.injection.as_ref()?;
        let n = self.commits.fetch_add(1, Relaxed) + 1;
        let nth = inj.every_nth.is_some_and(|k| k > 0 && n.is_multiple_of(k));
        let chance = inj.probability.is_some_and(|p| p > 0.0 && rand::random::<f64>() < p);
        (nth || chance).then(|| {
            let msg = if inj.schema_conflict { OC001 } else { OC000 };
            p::error_response("ERROR", "40001", msg)
        })
    }
}

/// The session's transaction as far as DSQL's DDL rules are concerned.
#[derive(Debug, Default, Clone, Copy)]
struct Tx {
    block: bool,
    ddl: u32,
    dml: bool,
}

impl Tx {
    /// Applies one statement; `implicit` when it shares a transaction with its neighbours
    /// (several statements in one Query, or one extended-protocol batch). Returns the rule broken.
    fn apply(&mut self, kind: Kind, implicit: bool) -> Option<&'static str> {
        let in_tx = self.block || implicit;
        match kind {
            Kind::Begin => {
                *self = Tx { block: true, ..Tx::default() };
                None
            }
            Kind::Commit | Kind::Rollback => {
                *self = Tx::default();
                None
            }
            Kind::Ddl if in_tx => {
                self.ddl += 1;
                if self.dml {
                    Some(MIXED)
                } else {
                    (self.ddl > 1).then_some(MULTI_DDL)
                }
            }
            Kind::Dml if in_tx => {
                self.dml = true;
                (self.ddl > 0).then_some(MIXED)
            }
            _ => None,
        }
    }

    fn end_implicit(&mut self) {
        if !self.block {
            *self = Tx::default();
        }
    }
}

/// One request awaiting its ReadyForQuery (a Query, a FunctionCall or an extended batch).
#[derive(Default)]
struct Batch {
    ext: bool,
    /// Our helper statements run in it: hold and filter their responses.
    helpers: bool,
    /// Extended batch ran a data-modifying statement: run the row check before Sync.
    needs_check: bool,
    /// Our own request: swallow every response, ReadyForQuery included.
    internal: bool,
    /// Our prepared helpers were dropped in it (DISCARD ALL, DEALLOCATE).
    reprepare: bool,
    /// Error to send in place of the CommandComplete of the injected ROLLBACK.
    conflict: Option<Vec<u8>>,
}

/// Inside the response of one of our helper statements (after its RowDescription).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Helper {
    Base,
    Check,
    /// Extended protocol: its CommandComplete came, its portal's CloseComplete is next.
    Closing,
}

pub(crate) struct DsqlPolicy {
    s: Arc<Settings>,
    started: bool,
    tx: Tx,
    /// The backend reported an aborted transaction.
    failed: bool,
    prepared: HashMap<String, Kind>,
    /// Prepared statements that are `COPY ... FROM` (bounded with `prepared`).
    copy_from: HashSet<String>,
    /// A `COPY ... FROM` was bound and its CopyDone / CopyFail has not come: the server ignores a
    /// Sync meanwhile (tokio-postgres sends one right after the Execute), so it neither closes the
    /// batch nor runs the row check, which goes before the Sync that follows the copy.
    copy_open: bool,
    batches: VecDeque<Batch>,
    /// The newest batch is an extended-protocol one not yet closed by Sync.
    ext_open: bool,
    rejects: VecDeque<(u64, Vec<u8>)>,
    next_id: u64,
    notices: Vec<u8>,
    /// Client-bound messages held until a row check passes (dropped if it fails).
    held: Vec<Vec<u8>>,
    helper: Option<Helper>,
}

impl DsqlPolicy {
    pub fn new(s: Arc<Settings>) -> Self {
        Self {
            s,
            started: false,
            tx: Tx::default(),
            failed: false,
            prepared: HashMap::new(),
            copy_from: HashSet::new(),
            copy_open: false,
            batches: VecDeque::new(),
            ext_open: false,
            rejects: VecDeque::new(),
            next_id: 0,
            notices: Vec::new(),
            held: Vec::new(),
            helper: None,
        }
    }

    fn new_batch(&mut self, ext: bool) -> &mut Batch {
        self.ext_open = ext;
        self.batches.push_back(Batch { ext, ..Batch::default() });
        let n = self.batches.len();
        &mut self.batches[n - 1]
    }

    /// The extended-protocol batch being sent (opened by its first message, closed by Sync).
    fn ext_batch(&mut self) -> &mut Batch {
        if !self.ext_open || self.batches.is_empty() {
            return self.new_batch(true);
        }
        let n = self.batches.len();
        &mut self.batches[n - 1]
    }

    /// Prepares the helper statements used by extended-protocol batches, as an internal batch.
    fn prepare_helpers(&mut self) -> Vec<u8> {
        let Some(limit) = self.s.max_rows else {
            return Vec::new();
        };
        self.ext_open = false;
        self.batches.push_back(Batch { internal: true, ..Batch::default() });
        let mut v = Vec::new();
        for (name, sql) in [(ROWBASE, base_sql()), (ROWCHECK, check_sql(limit))] {
            v.extend(p::message(b'C', &[&b"S"[..], &p::cstrs(&[name])].concat()));
            v.extend(p::parse_msg(name, &sql, &[0, 0]));
        }
        v.extend(p::message(b'S', &[]));
        v
    }

    /// Rejects (or, in warn-only mode, flags) a statement. `replace` builds the failing
    /// substitute from the marker name.
    fn reject(&mut self, why: &str, replace: impl FnOnce(&str) -> Vec<u8>) -> Option<Verdict> {
        match self.s.checks {
            SqlChecks::Off => None,
            SqlChecks::WarnOnly => {
                let msg = format!("Aurora DSQL would reject this statement: {why}");
                self.notices.extend(p::notice_response("WARNING", "01000", &msg));
                None
            }
            SqlChecks::Enforce => {
                Counters::inc(&self.s.counters.statements_rejected);
                self.next_id += 1;
                let id = self.next_id;
                self.rejects.push_back((id, p::error_response("ERROR", "0A000", why)));
                if self.rejects.len() > MAX_PENDING_REJECTS {
                    self.rejects.pop_front();
                }
                Some(Verdict::Replace(replace(&format!("{REJECT}{id}"))))
            }
        }
    }

    fn query(&mut self, m: &Frame) -> Verdict {
        let body = m.body();
        let mut pos = 0;
        let Some(a) = p::cstr(body, &mut pos).and_then(analyze) else {
            return Verdict::Forward;
        };
        let implicit = a.statements.len() > 1;
        let mut tx = self.tx;
        let mut eligible_commit = false;
        for st in &a.statements {
            eligible_commit = st.kind == Kind::Commit && tx.block && !self.failed;
            let broken = tx.apply(st.kind, implicit);
            if let Some(why) = st.violation.as_deref().or(broken) {
                if let Some(v) = self.reject(why, p::query_msg) {
                    return v;
                }
            }
        }
        tx.end_implicit();
        self.tx = tx;
        let discard = self.s.max_rows.is_some() && a.statements.iter().any(|s| s.kind == Kind::Discard);
        let conflict = eligible_commit.then(|| self.s.inject()).flatten();
        let rows = self.s.max_rows.filter(|_| !self.failed);
        let dml = rows.is_some() && a.statements.iter().any(|s| s.kind == Kind::Dml);
        if !(a.stripped_async || dml || conflict.is_some() || discard) {
            return Verdict::Forward;
        }
        // the session's prepared helpers, unless this very string may drop them
        let (base, check) = match rows {
            Some(limit) if discard => (base_sql(), check_sql(limit)),
            _ => (format!("EXECUTE {ROWBASE}"), format!("EXECUTE {ROWCHECK}")),
        };
        let last = a.statements.len().saturating_sub(1);
        let mut parts: Vec<String> = Vec::new();
        for (i, st) in a.statements.iter().enumerate() {
            let helpers = rows.is_some() && st.kind == Kind::Dml;
            if helpers {
                parts.push(base.clone());
            }
            if i == last && conflict.is_some() {
                parts.push("ROLLBACK".into());
            } else {
                parts.push(st.text.clone());
            }
            if helpers {
                parts.push(check.clone());
            }
        }
        if let Some(b) = self.batches.back_mut() {
            b.helpers = dml;
            b.conflict = conflict;
        }
        let mut out = p::query_msg(&parts.join("\n;"));
        if discard {
            // DISCARD ALL / DEALLOCATE dropped our prepared helpers: prepare them again
            out.extend(self.prepare_helpers());
        }
        Verdict::Replace(out)
    }

    fn parse(&mut self, m: &Frame) -> Verdict {
        let body = m.body();
        let mut pos = 0;
        let (Some(name), Some(sql)) = (p::cstr(body, &mut pos), p::cstr(body, &mut pos)) else {
            return Verdict::Forward;
        };
        let (name, rest) = (name.to_owned(), &body[pos..]);
        let Some(a) = analyze(sql) else {
            self.remember(name, Kind::Other);
            return Verdict::Forward;
        };
        let single = match a.statements.as_slice() {
            [one] => Some(one),
            _ => None,
        };
        let kind = single.map_or(Kind::Other, |s| s.kind);
        if let Some(why) = single.and_then(|s| s.violation.clone()) {
            self.prepared.remove(&name);
            if let Some(v) = self.reject(&why, |marker| p::parse_msg(&name, marker, &[0, 0])) {
                return v;
            }
        }
        self.remember(name.clone(), kind);
        if kind == Kind::Dml && crate::core::copy::direction(sql) == Some(crate::core::copy::Direction::In) {
            self.copy_from.insert(name.clone());
        }
        if name.is_empty() && kind == Kind::Commit && self.tx.block && !self.failed {
            if let Some(err) = self.s.inject() {
                self.ext_batch().conflict = Some(err);
                return Verdict::Replace(p::parse_msg(&name, "ROLLBACK", rest));
            }
        }
        match single {
            Some(s) if a.stripped_async => Verdict::Replace(p::parse_msg(&name, &s.text, rest)),
            _ => Verdict::Forward,
        }
    }

    fn remember(&mut self, name: String, kind: Kind) {
        if self.prepared.len() >= MAX_PREPARED && !self.prepared.contains_key(&name) {
            self.prepared.clear();
            self.copy_from.clear();
        }
        self.copy_from.remove(&name);
        self.prepared.insert(name, kind);
    }

    fn bind(&mut self, m: &Frame) -> Verdict {
        let body = m.body();
        let mut pos = 0;
        let (Some(portal), Some(stmt)) = (p::cstr(body, &mut pos), p::cstr(body, &mut pos)) else {
            return Verdict::Forward;
        };
        let (portal, rest) = (portal.to_owned(), &body[pos..]);
        let kind = self.prepared.get(stmt).copied().unwrap_or(Kind::Other);
        self.copy_open |= self.copy_from.contains(stmt);
        // an extended-protocol batch is one transaction
        if let Some(why) = self.tx.apply(kind, true) {
            if let Some(v) = self.reject(why, |marker| p::bind_msg(&portal, marker, rest)) {
                return v;
            }
        }
        let rows = self.s.max_rows.is_some() && !self.failed;
        let mut out = Vec::new();
        let batch = self.ext_batch();
        if kind == Kind::Commit && batch.needs_check {
            batch.needs_check = false;
            out.extend(helper_msgs(ROWCHECK));
        }
        if kind == Kind::Dml && rows {
            batch.helpers = true;
            batch.needs_check = true;
            out.extend(helper_msgs(ROWBASE));
        }
        if kind == Kind::Discard {
            // DISCARD ALL / DEALLOCATE drops our prepared helpers: prepare them again after Sync
            batch.needs_check = false;
            batch.reprepare = true;
        }
        if out.is_empty() {
            return Verdict::Forward;
        }
        out.extend_from_slice(m.raw());
        Verdict::Replace(out)
    }

    fn sync(&mut self, m: &Frame) -> Verdict {
        if self.copy_open {
            return Verdict::Forward;
        }
        let batch = self.ext_batch();
        let check = std::mem::take(&mut batch.needs_check);
        let reprepare = std::mem::take(&mut batch.reprepare);
        self.ext_open = false;
        self.tx.end_implicit();
        if !check && !reprepare {
            return Verdict::Forward;
        }
        let mut out = if check { helper_msgs(ROWCHECK) } else { Vec::new() };
        out.extend_from_slice(m.raw());
        if reprepare {
            out.extend(self.prepare_helpers());
        }
        Verdict::Replace(out)
    }

    // ---- backend side ----

    /// What to send for a backend ErrorResponse.
    fn error(&mut self, body: &[u8]) -> ErrorAction {
        let Some(fields) = p::error_fields(body) else {
            return ErrorAction::Forward;
        };
        let field = |t: u8| fields.iter().find(|(k, _)| *k == t).map_or("", |(_, v)| v.as_str());
        let (code, msg) = (field(b'C'), field(b'M'));
        if msg.contains(ROWCHECK) && code == "22P02" {
            return ErrorAction::RowLimit;
        }
        if let Some(i) = msg.find(REJECT) {
            let digits: String = msg[i + REJECT.len()..].chars().take_while(char::is_ascii_digit).collect();
            if let Ok(id) = digits.parse::<u64>() {
                while let Some((k, err)) = self.rejects.pop_front() {
                    if k == id {
                        return ErrorAction::Replace(err);
                    }
                    if k > id {
                        self.rejects.push_front((k, err));
                        break;
                    }
                }
            }
        }
        if self.s.occ && (code == "40001" || code == "40P01") {
            Counters::inc(&self.s.counters.conflicts);
            return ErrorAction::Replace(p::error_response("ERROR", "40001", OC000));
        }
        ErrorAction::Forward
    }

    fn flush_held(&mut self, out: &mut Vec<u8>) {
        for m in self.held.drain(..) {
            out.extend(m);
        }
    }

    fn ready(&mut self, status: Option<u8>) {
        self.helper = None;
        self.batches.pop_front();
        if !self.batches.is_empty() {
            return; // more requests in flight: the frontend's view is newer
        }
        if let Some(st) = status {
            self.failed = st == b'E';
            if st == b'I' {
                self.tx = Tx::default();
            } else {
                self.tx.block = true;
            }
        }
    }
}

enum ErrorAction {
    Forward,
    Replace(Vec<u8>),
    RowLimit,
}

impl SessionPolicy for DsqlPolicy {
    fn frontend(&mut self, m: &Frame) -> Verdict {
        let prefix = if self.started {
            Vec::new()
        } else {
            self.started = true;
            self.prepare_helpers()
        };
        let v = match m.tag() {
            b'Q' => {
                self.new_batch(false);
                self.query(m)
            }
            b'F' => {
                self.new_batch(false);
                Verdict::Forward
            }
            b'P' => {
                self.ext_batch();
                self.parse(m)
            }
            b'B' => {
                self.ext_batch();
                self.bind(m)
            }
            b'S' => self.sync(m),
            b'c' | b'f' => {
                self.copy_open = false;
                Verdict::Forward
            }
            b'C' | b'D' | b'E' | b'H' => {
                if m.tag() == b'C' {
                    let mut pos = 1;
                    if let (Some(b'S'), Some(name)) = (m.body().first(), p::cstr(m.body(), &mut pos)) {
                        self.prepared.remove(name);
                        self.copy_from.remove(name);
                    }
                }
                self.ext_batch();
                Verdict::Forward
            }
            _ => Verdict::Forward,
        };
        if prefix.is_empty() {
            return v;
        }
        let mut out = prefix;
        match v {
            Verdict::Forward => out.extend_from_slice(m.raw()),
            Verdict::Replace(b) => out.extend(b),
        }
        Verdict::Replace(out)
    }

    fn backend(&mut self, m: &Frame) -> Verdict {
        let (tag, raw) = (m.tag(), m.raw());
        let front = self.batches.front();
        let (helpers, ext, internal) = front.map_or((false, false, false), |b| (b.helpers, b.ext, b.internal));
        let quiet = self.notices.is_empty() && self.held.is_empty() && self.helper.is_none();
        if quiet && !helpers && !internal && !matches!(tag, b'E' | b'Z' | b'C') {
            return Verdict::Forward;
        }
        let mut out = std::mem::take(&mut self.notices);
        match tag {
            b'Z' if internal => self.ready(None),
            _ if internal => {}
            b'Z' => {
                self.flush_held(&mut out);
                out.extend_from_slice(raw);
                self.ready(m.body().first().copied());
            }
            b'T' if helpers && helper_kind(m.body()).is_some() => {
                if ext {
                    self.held.pop(); // our BindComplete
                }
                self.helper = helper_kind(m.body());
            }
            b'D' if self.helper.is_some() => {}
            b'C' if matches!(self.helper, Some(Helper::Base | Helper::Check)) => {
                if ext {
                    self.helper = Some(Helper::Closing);
                } else {
                    self.helper = None;
                    self.flush_held(&mut out);
                }
            }
            b'3' if self.helper == Some(Helper::Closing) => {
                self.helper = None;
                self.flush_held(&mut out);
            }
            b'E' => {
                self.helper = None;
                match self.error(m.body()) {
                    ErrorAction::RowLimit => {
                        self.held.clear(); // the statement's success is void
                        out.extend(p::error_response("ERROR", "54000", ROW_LIMIT));
                    }
                    ErrorAction::Replace(e) => {
                        self.flush_held(&mut out);
                        out.extend(e);
                    }
                    ErrorAction::Forward => {
                        self.flush_held(&mut out);
                        out.extend_from_slice(raw);
                    }
                }
            }
            b'C' if command_tag(m.body()) == Some("ROLLBACK")
                && self.batches.front().is_some_and(|b| b.conflict.is_some()) =>
            {
                self.flush_held(&mut out);
                if let Some(err) = self.batches.front_mut().and_then(|b| b.conflict.take()) {
                    Counters::inc(&self.s.counters.conflicts);
                    Counters::inc(&self.s.counters.injected_conflicts);
                    out.extend(err);
                }
            }
            b'C' if helpers => {
                self.flush_held(&mut out);
                self.held.push(raw.to_vec());
            }
            b'1' | b'2' | b'3' if helpers && ext => self.held.push(raw.to_vec()),
            // asynchronous messages may overtake held ones
            b'N' | b'S' | b'A' => out.extend_from_slice(raw),
            _ => {
                self.flush_held(&mut out);
                out.extend_from_slice(raw);
            }
        }
        Verdict::Replace(out)
    }
}

fn helper_kind(row_description: &[u8]) -> Option<Helper> {
    if row_description.get(..2)? != [0, 1] {
        return None;
    }
    let mut pos = 2;
    match p::cstr(row_description, &mut pos)? {
        ROWBASE => Some(Helper::Base),
        ROWCHECK => Some(Helper::Check),
        _ => None,
    }
}

fn command_tag(body: &[u8]) -> Option<&str> {
    let mut pos = 0;
    p::cstr(body, &mut pos)
}

/// Records, once per transaction, the session's row counters (which may still hold earlier
/// transactions' counts: PostgreSQL flushes them to shared statistics only now and then).
fn base_sql() -> String {
    format!(
        "SELECT pg_catalog.set_config('localdsql.rowbase', coalesce(nullif(pg_catalog.current_setting('localdsql.rowbase', true), ''), \
         (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_catalog.pg_stat_xact_user_tables)::text), true) AS {ROWBASE}"
    )
}

/// Fails (22P02 with the marker in the message) when the transaction modified more than `limit` rows.
fn check_sql(limit: u64) -> String {
    format!(
        "SELECT CASE WHEN n - b > {limit} THEN (n - b || ' rows {ROWCHECK}')::int END AS {ROWCHECK} \
         FROM (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) AS n, \
         coalesce(nullif(pg_catalog.current_setting('localdsql.rowbase', true), ''), '0')::bigint AS b \
         FROM pg_catalog.pg_stat_xact_user_tables) s"
    )
}

/// Runs our prepared helper `name` in a portal of the same name: Bind, Describe, Execute, Close.
/// Answers: BindComplete, RowDescription, DataRow, CommandComplete, CloseComplete.
fn helper_msgs(name: &str) -> Vec<u8> {
    let mut v = p::bind_msg(name, name, &[0, 0, 0, 0, 0, 0]);
    v.extend(p::message(b'D', &[&b"P"[..], &p::cstrs(&[name])].concat()));
    let mut exec = p::cstrs(&[name]);
    exec.put_u32(0);
    v.extend(p::message(b'E', &exec));
    v.extend(p::message(b'C', &[&b"P"[..], &p::cstrs(&[name])].concat()));
    v
}
