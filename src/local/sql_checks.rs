//! DSQL's SQL restrictions, decided per statement from sqlparser's PostgreSQL tokens.
//!
//! Statements are recognised by their keywords (sqlparser's tokenizer handles quotes, comments
//! and dollar quoting) rather than by sqlparser's AST: DSQL rejects statements that sqlparser's
//! parser does not know (e.g. `ALTER SYSTEM`), and a statement the parser cannot read must not
//! slip through. Text that cannot be tokenized is not analysed at all (the backend decides).

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

/// What a statement does to the transaction, for DSQL's DDL/DML rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Begin,
    Commit,
    Rollback,
    Ddl,
    Dml,
    /// `DISCARD ALL` or `DEALLOCATE`: drops the session's prepared statements.
    Discard,
    Other,
}

/// One statement of a query string.
#[derive(Debug)]
pub(crate) struct Statement {
    /// Its text, without the terminating `;` and without DSQL's `ASYNC` keyword.
    pub text: String,
    pub kind: Kind,
    /// Why DSQL rejects it (SQLSTATE 0A000), if it does.
    pub violation: Option<String>,
}

/// A query string split into statements (empty ones dropped).
#[derive(Debug)]
pub(crate) struct Analysis {
    pub statements: Vec<Statement>,
    /// `CREATE INDEX ASYNC` was rewritten to a plain `CREATE INDEX` for PostgreSQL.
    pub stripped_async: bool,
}

/// `None` when the text cannot be tokenized.
pub(crate) fn analyze(sql: &str) -> Option<Analysis> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).with_unescape(false).tokenize_with_location().ok()?;
    let lines = LineIndex::new(sql);
    let mut statements = Vec::new();
    let mut stripped_async = false;
    let mut start = 0; // byte offset where the current statement's text begins
    let mut current: Vec<&TokenWithSpan> = Vec::new();
    let mut finish = |toks: &[&TokenWithSpan], end: usize, start: usize| -> Option<()> {
        let sig = significant(toks);
        if sig.is_empty() {
            return Some(());
        }
        // remove ASYNC from CREATE [UNIQUE] INDEX ASYNC
        let mut text = String::new();
        let mut from = start;
        if let Some(i) = async_index(&sig) {
            let a = lines.offset(sig[i].span.start)?;
            let b = lines.offset(sig[i].span.end)?;
            text.push_str(sql.get(from..a)?);
            from = b;
            stripped_async = true;
        }
        text.push_str(sql.get(from..end)?);
        statements.push(Statement { text, kind: kind(&sig), violation: violation(&sig) });
        Some(())
    };
    for t in &tokens {
        if t.token == Token::SemiColon {
            let end = lines.offset(t.span.start)?;
            finish(&current, end, start)?;
            start = lines.offset(t.span.end)?;
            current.clear();
        } else {
            current.push(t);
        }
    }
    finish(&current, sql.len(), start)?;
    Some(Analysis { statements, stripped_async })
}

/// A non-whitespace token with its parenthesis depth and, for unquoted words, the upper-cased word.
struct Sig<'a> {
    token: &'a Token,
    span: sqlparser::tokenizer::Span,
    word: Option<String>,
    depth: u32,
}

fn significant<'a>(toks: &[&'a TokenWithSpan]) -> Vec<Sig<'a>> {
    let mut depth = 0u32;
    let mut out = Vec::new();
    for t in toks {
        match &t.token {
            Token::Whitespace(_) => continue,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        let word = match &t.token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        };
        out.push(Sig { token: &t.token, span: t.span, word, depth });
        if t.token == Token::LParen {
            depth += 1;
        }
    }
    out
}

fn w<'a>(s: &'a [Sig], i: usize) -> &'a str {
    s.get(i).and_then(|t| t.word.as_deref()).unwrap_or("")
}

/// Index of the first word after `CREATE [OR REPLACE]`.
fn after_create(s: &[Sig]) -> usize {
    if w(s, 1) == "OR" && w(s, 2) == "REPLACE" {
        3
    } else {
        1
    }
}

fn async_index(s: &[Sig]) -> Option<usize> {
    if w(s, 0) != "CREATE" {
        return None;
    }
    let i = if w(s, 1) == "UNIQUE" { 2 } else { 1 };
    (w(s, i) == "INDEX" && w(s, i + 1) == "ASYNC").then_some(i + 1)
}

fn kind(s: &[Sig]) -> Kind {
    match w(s, 0) {
        "BEGIN" => Kind::Begin,
        "START" if w(s, 1) == "TRANSACTION" => Kind::Begin,
        "COMMIT" | "END" if w(s, 1) != "PREPARED" => Kind::Commit,
        "ROLLBACK" | "ABORT" if w(s, 1) != "PREPARED" => Kind::Rollback,
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" => Kind::Dml,
        "WITH" if modifies(s) => Kind::Dml,
        // COPY ... FROM inserts rows: they count toward the transaction's row limit, as in DSQL.
        "COPY" if (1..s.len()).any(|i| s[i].depth == 0 && w(s, i) == "FROM") => Kind::Dml,
        "DEALLOCATE" => Kind::Discard,
        "DISCARD" if w(s, 1) == "ALL" => Kind::Discard,
        "CREATE" | "ALTER" | "DROP" | "COMMENT" | "GRANT" | "REVOKE" | "TRUNCATE" | "REINDEX" | "SECURITY" => Kind::Ddl,
        _ => Kind::Other,
    }
}

/// A data-modifying `WITH` query (ignores `FOR [NO KEY] UPDATE` locking clauses).
fn modifies(s: &[Sig]) -> bool {
    (0..s.len()).any(|i| match w(s, i) {
        "INSERT" | "DELETE" | "MERGE" => true,
        "UPDATE" => !matches!(w(s, i.wrapping_sub(1)), "FOR" | "KEY"),
        _ => false,
    })
}

fn unsupported(what: &str) -> Option<String> {
    Some(format!("unsupported statement: {what}"))
}

fn violation(s: &[Sig]) -> Option<String> {
    let has = |word: &str| (0..s.len()).any(|i| w(s, i) == word);
    // word at depth 0 followed by one of `next` (a word, or "(")
    let clause = |word: &str, next: &[&str]| {
        (0..s.len()).any(|i| {
            s[i].depth == 0
                && w(s, i) == word
                && s.get(i + 1).is_some_and(|n| {
                    next.iter().any(|x| (*x == "(" && *n.token == Token::LParen) || n.word.as_deref() == Some(*x))
                })
        })
    };
    match w(s, 0) {
        "LISTEN" | "NOTIFY" | "UNLISTEN" | "SAVEPOINT" | "TRUNCATE" | "VACUUM" | "DO" => return unsupported(w(s, 0)),
        "RELEASE" => return unsupported("RELEASE SAVEPOINT"),
        "ROLLBACK" | "ABORT" if has("TO") => return unsupported("ROLLBACK TO SAVEPOINT"),
        "REFRESH" if w(s, 1) == "MATERIALIZED" => return unsupported("REFRESH MATERIALIZED VIEW"),
        "SELECT" if (0..s.len()).any(|i| s[i].depth == 0 && w(s, i) == "INTO") => return unsupported("SELECT INTO"),
        "CREATE" => {
            let i = after_create(s);
            match w(s, i) {
                "TRIGGER" | "CONSTRAINT" | "EVENT" if has("TRIGGER") => return unsupported("CREATE TRIGGER"),
                "EXTENSION" => return unsupported("CREATE EXTENSION"),
                "MATERIALIZED" => return unsupported("CREATE MATERIALIZED VIEW"),
                "TABLESPACE" => return unsupported("CREATE TABLESPACE"),
                "DATABASE" => return unsupported("CREATE DATABASE"),
                "TEMP" | "TEMPORARY" | "GLOBAL" | "LOCAL" => return Some("temporary objects are not supported".into()),
                "INDEX" | "UNIQUE" if async_index(s).is_none() => {
                    return unsupported("CREATE INDEX (use CREATE INDEX ASYNC)")
                }
                "FUNCTION" | "PROCEDURE" => {
                    let lang = (0..s.len()).find_map(|k| {
                        (s[k].depth == 0 && w(s, k) == "LANGUAGE").then(|| match s.get(k + 1) {
                            Some(Sig { token: Token::Word(x), .. }) => x.value.to_ascii_lowercase(),
                            Some(Sig { token: Token::SingleQuotedString(x), .. }) => x.to_ascii_lowercase(),
                            _ => String::new(),
                        })
                    });
                    if let Some(l) = lang.filter(|l| l != "sql") {
                        return Some(format!("unsupported language: {l} (only LANGUAGE sql functions are supported)"));
                    }
                }
                _ => {}
            }
        }
        "ALTER" if w(s, 1) == "SYSTEM" => return unsupported("ALTER SYSTEM"),
        _ => {}
    }
    let table = match w(s, 0) {
        "CREATE" => {
            let i = after_create(s);
            let i = if w(s, i) == "UNLOGGED" { i + 1 } else { i };
            w(s, i) == "TABLE"
        }
        "ALTER" => w(s, 1) == "TABLE",
        _ => false,
    };
    if table {
        let create = w(s, 0) == "CREATE";
        if has("REFERENCES") {
            return Some("foreign key constraints are not supported".into());
        }
        if (0..s.len()).any(|i| {
            w(s, i) == "EXCLUDE" && s.get(i + 1).is_some_and(|n| *n.token == Token::LParen || w(s, i + 1) == "USING")
        }) {
            return Some("exclusion constraints are not supported".into());
        }
        let alter_inherit = (0..s.len()).any(|i| {
            !create
                && s[i].depth == 0
                && w(s, i) == "INHERIT"
                && !matches!(w(s, i.wrapping_sub(1)), "COLUMN" | "ADD" | "TO" | "RENAME" | "DROP" | "ALTER")
        });
        if clause("INHERITS", &["("]) || alter_inherit {
            return Some("table inheritance is not supported".into());
        }
        if clause("PARTITION", &["BY", "OF"]) || clause("ATTACH", &["PARTITION"]) || clause("DETACH", &["PARTITION"]) {
            return Some("partitioned tables are not supported".into());
        }
        if (0..s.len()).any(|i| {
            w(s, i) == "TABLESPACE"
                && ((create && s[i].depth == 0) || matches!(w(s, i.wrapping_sub(1)), "INDEX" | "SET"))
        }) {
            return Some("tablespaces are not supported".into());
        }
        if create && (0..s.len()).any(|i| s[i].depth == 0 && w(s, i) == "AS") {
            return unsupported("CREATE TABLE AS");
        }
    }
    let sequence_like =
        table || matches!((w(s, 0), w(s, after_create(s))), ("CREATE", "SEQUENCE") | ("ALTER", "SEQUENCE"));
    if sequence_like {
        for i in 0..s.len() {
            if w(s, i) != "CACHE" {
                continue;
            }
            if let Some(Token::Number(n, _)) = s.get(i + 1).map(|t| t.token) {
                if n.parse::<u64>().is_ok_and(|n| n != 1 && n < 65_536) {
                    return Some("sequence CACHE must be 1 or at least 65536".into());
                }
            }
        }
    }
    if w(s, 0) == "CREATE" && async_index(s).is_some() && has("TABLESPACE") {
        return Some("tablespaces are not supported".into());
    }
    None
}

/// Maps tokenizer locations (1-based line and character column) to byte offsets.
struct LineIndex<'a> {
    sql: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(sql: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
        Self { sql, starts }
    }

    fn offset(&self, loc: Location) -> Option<usize> {
        let line_start = *self.starts.get(usize::try_from(loc.line).ok()?.checked_sub(1)?)?;
        let col = usize::try_from(loc.column).ok()?.checked_sub(1)?;
        let line = self.sql.get(line_start..)?;
        match line.char_indices().nth(col) {
            Some((b, _)) => Some(line_start + b),
            None if line.chars().count() == col => Some(self.sql.len()),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Statement {
        let mut a = analyze(sql).expect("tokenizes");
        assert_eq!(a.statements.len(), 1, "{sql}");
        a.statements.remove(0)
    }

    fn rejected(sql: &str) -> String {
        one(sql).violation.unwrap_or_else(|| panic!("accepted: {sql}"))
    }

    #[test]
    fn rejects_unsupported() {
        for sql in [
            "listen x",
            "NOTIFY x, 'y'",
            "unlisten *",
            "savepoint a",
            "release savepoint a",
            "rollback to savepoint a",
            "ROLLBACK TRANSACTION TO a",
            "truncate t",
            "vacuum",
            "alter system set work_mem = '1MB'",
            "create temp table t (a int)",
            "create global temporary table t (a int)",
            "create table c (id int references p(id))",
            "create table c (id int, foreign key (id) references p (id))",
            "alter table c add constraint f foreign key (id) references p (id)",
            "create trigger tr after insert on t for each row execute function f()",
            "create or replace trigger tr after insert on t execute function f()",
            "create extension pgcrypto",
            "create index i on t (a)",
            "create unique index i on t (a)",
            "create index concurrently i on t (a)",
            "create materialized view v as select 1",
            "create table t2 as select * from t",
            "create table t2 (a, b) as select 1, 2",
            "select * into t2 from t",
            "create table c (a int) inherits (p)",
            "create table p (a int) partition by range (a)",
            "create table p1 partition of p for values from (1) to (2)",
            "create table t (a int) tablespace x",
            "create tablespace x location '/tmp'",
            "create function f() returns int language plpgsql as $$ begin return 1; end $$",
            "create function f() returns int as 'select 1' language 'plpgsql'",
            "do $$ begin perform 1; end $$",
            "create sequence s cache 10",
            "create table t (id bigint generated always as identity (cache 100))",
            "create table t (a int, exclude using gist (a with =))",
            "create database d",
            "alter table t inherit p",
            "alter table t attach partition p1 for values in (1)",
            "alter table t set tablespace x",
            "create table t (a int, unique (a) using index tablespace x)",
        ] {
            rejected(sql);
        }
        assert_eq!(rejected("TRUNCATE t"), "unsupported statement: TRUNCATE");
    }

    #[test]
    fn accepts_supported() {
        for sql in [
            "select 1",
            "insert into t values (1)",
            "create table t (id uuid primary key default gen_random_uuid(), v text unique)",
            "create table t (\"references\" int, exclude int, inherits int, tablespace text)",
            "create table t (id bigint generated always as identity (cache 65536))",
            "create sequence s cache 1",
            "create function f(language text) returns int language sql as 'select 1'",
            "create index async i on t (a)",
            "CREATE UNIQUE INDEX ASYNC IF NOT EXISTS i ON t (a)",
            "select 'truncate t; listen x'",
            "select $$vacuum$$ -- savepoint",
            "with x as (select 1) select * from x for update",
            "alter table t add column tablespace text",
            "alter table t add column inherit int",
            "alter table t rename partition to p",
            "begin",
            "rollback",
            "commit",
        ] {
            assert_eq!(one(sql).violation, None, "{sql}");
        }
    }

    #[test]
    fn kinds_and_splitting() {
        let a = analyze("begin; create table t(a int);\ninsert into t values (1) ; commit;  -- end").unwrap();
        let kinds: Vec<Kind> = a.statements.iter().map(|s| s.kind).collect();
        use Kind::*;
        assert_eq!(kinds, [Begin, Ddl, Dml, Commit]);
        assert_eq!(a.statements[2].text, "\ninsert into t values (1) ");
        assert_eq!(one("with d as (delete from t returning *) select * from d").kind, Dml);
        assert_eq!(one("select * from t for update").kind, Other);
        assert_eq!(one("grant select on t to app").kind, Ddl);
        assert_eq!(one("copy t (a, b) from stdin with (format csv)").kind, Dml);
        assert_eq!(one("copy t to stdout").kind, Other);
        assert_eq!(one("copy (select * from t) to stdout").kind, Other);
        assert!(analyze("select 'unterminated").is_none());
    }

    #[test]
    fn strips_async() {
        let a = analyze("/* é */ CREATE UNIQUE INDEX ASYNC i ON t (a); select 'ASYNC'").unwrap();
        assert!(a.stripped_async);
        assert_eq!(a.statements[0].text, "/* é */ CREATE UNIQUE INDEX  i ON t (a)");
        assert_eq!(a.statements[1].text, " select 'ASYNC'");
        assert_eq!(a.statements[0].kind, Kind::Ddl);
    }
}
