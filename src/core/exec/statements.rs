//! Prepared statements: the per-session cache, and what every run of a statement needs (column
//! metadata with each column's value encoding, parameter types, the command tag), computed once.

use super::{while_finishing, LiveSession, Running};
use crate::core::command::command_of;
use crate::core::error::{Error, Result};
use crate::core::pg_text::encoding_for;
use crate::core::pool::{Connection, Inner};
use crate::core::protocol::Flag;
use crate::core::wire::{ColumnMeta, Param, Query};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_postgres::types::Type;
use tokio_postgres::Statement;

/// At most this many SQL texts are cached per session; past it the cache starts over.
const STATEMENT_CACHE_MAX: usize = 1000;

/// The statements prepared for one SQL text, one per list of parameter type OIDs.
type ByParameterTypes = Vec<(Vec<u32>, Arc<Prepared>)>;

/// Prepared statements by SQL text, then by parameter type OIDs (looked up without allocating).
#[derive(Default)]
pub(super) struct StatementCache(HashMap<String, ByParameterTypes>);

impl StatementCache {
    fn get(&self, sql: &str, params: &[Param]) -> Option<Arc<Prepared>> {
        let same_types = |oids: &[u32]| oids.len() == params.len() && oids.iter().zip(params).all(|(o, p)| *o == p.oid);
        self.0.get(sql).and_then(|v| v.iter().find(|(o, _)| same_types(o))).map(|(_, p)| p.clone())
    }

    fn insert(&mut self, sql: &str, oids: Vec<u32>, prepared: Arc<Prepared>) {
        if self.0.len() >= STATEMENT_CACHE_MAX {
            self.0.clear();
        }
        let same = self.0.entry(sql.to_string()).or_default();
        same.retain(|(o, _)| *o != oids);
        same.push((oids, prepared));
    }
}

/// The statement `job` runs: from the cache, or prepared now (holding the connection's line until
/// the Parse is answered, finishing earlier queries meanwhile); `None` for an unprepared query.
/// `describe()` always asks the server (a table dropped and made again has new column metadata), and
/// so does a query whose cached plan went stale (`Flag::Fresh`).
pub(super) async fn prepare_in_order(
    inner: &Arc<Inner>,
    s: &mut LiveSession,
    running: &mut Running,
    retry: &mut Vec<Query>,
    c: &Arc<Connection>,
    job: &Query,
) -> Result<Option<Arc<Prepared>>> {
    if !job.has(Flag::Prepare) && !job.has(Flag::Describe) {
        return Ok(None);
    }
    if !job.has(Flag::Describe) && !job.has(Flag::Fresh) {
        if let Some(p) = s.statements.get(&job.sql, &job.params) {
            return Ok(Some(p));
        }
    }
    let oids: Vec<u32> = job.params.iter().map(|p| p.oid).collect();
    let types: Vec<Type> = oids.iter().map(|o| super::bind::param_type(*o)).collect();
    let client = s.client.clone();
    let sql = job.sql.clone();
    let parse = async move { client.prepare_typed(&sql, &types).await };
    let statement = while_finishing(inner, c, running, retry, parse).await.map_err(Error::from)?;
    let prepared = Arc::new(Prepared::new(statement, &job.sql, &inner.opts.text_oids));
    s.statements.insert(&job.sql, oids, prepared.clone());
    Ok(Some(prepared))
}

/// Each column's metadata, with the encoding its values travel in (`text`: all as text, as `raw()` asks).
pub(super) fn column_meta(cols: &[tokio_postgres::Column], text: bool, text_oids: &[u32]) -> Vec<ColumnMeta> {
    cols.iter()
        .map(|col| {
            let oid = col.type_().oid();
            let enc = encoding_for(oid, text || text_oids.contains(&oid));
            (col.name().to_string(), oid, col.table_oid().unwrap_or(0), col.column_id().unwrap_or(0), enc as u8)
        })
        .collect()
}

/// A prepared statement with what every run of it needs, computed once: column metadata (values
/// in their usual encodings), parameter types and the command tag.
pub(super) struct Prepared {
    pub(super) statement: Statement,
    /// The server-side name (`result.statement.name`, as in pg_prepared_statements).
    pub(super) name: String,
    pub(super) meta: Vec<ColumnMeta>,
    pub(super) param_oids: Vec<u32>,
    pub(super) command: (String, bool),
}

impl Prepared {
    fn new(statement: Statement, sql: &str, text_oids: &[u32]) -> Self {
        let meta = column_meta(statement.columns(), false, text_oids);
        let param_oids = statement.params().iter().map(Type::oid).collect();
        let name = statement_name(&statement);
        Prepared { statement, name, meta, param_oids, command: command_of(sql) }
    }
}

/// A prepared statement's server-side name. tokio-postgres keeps `Statement::name` crate-private and
/// shows it only in its `Debug` form (`Statement { name: "s12", .. }`); names are `s<n>`, so they need
/// no unescaping. Empty if that form ever changes (then `statement.name` is just blank).
fn statement_name(statement: &Statement) -> String {
    let debug = format!("{statement:?}");
    debug
        .split_once("name: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or_else(String::new, |(name, _)| name.to_string())
}

/// The command tag of a query: cached with its prepared statement, else derived from the text.
pub(super) fn command_tag<'a>(prepared: Option<&'a Prepared>, sql: &str) -> std::borrow::Cow<'a, (String, bool)> {
    match prepared {
        Some(p) => std::borrow::Cow::Borrowed(&p.command),
        None => std::borrow::Cow::Owned(command_of(sql)),
    }
}
