//! The command name postgres.js reports (`result.command`), derived from the statement text.
//!
//! postgres.js takes it from the CommandComplete tag; tokio-postgres keeps only the row count, so
//! the tag's words are rebuilt here from the statement's leading keywords (PostgreSQL's tags are a
//! fixed function of the statement kind). Whether the tag carries a row count decides `count`.

/// (command, whether the tag has a row count).
pub fn command_of(sql: &str) -> (String, bool) {
    let words = leading_words(sql, 6);
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let first = w(0);
    let counted = |c: &str| (c.to_string(), true);
    match first {
        "SELECT" | "VALUES" | "TABLE" => counted("SELECT"),
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "FETCH" | "MOVE" | "COPY" => counted(first),
        "WITH" => counted(&main_verb_after_with(sql)),
        "START" => ("START TRANSACTION".into(), false),
        "BEGIN" | "COMMIT" | "ROLLBACK" | "SET" | "SHOW" | "RESET" | "DISCARD" | "GRANT" | "REVOKE" | "EXPLAIN"
        | "ANALYZE" | "DO" | "CALL" | "PREPARE" | "EXECUTE" | "DEALLOCATE" | "LOCK" | "CHECKPOINT" | "CLUSTER"
        | "NOTIFY" | "LISTEN" | "UNLISTEN" | "VACUUM" | "REINDEX" => {
            let c = match first {
                "END" => "COMMIT",
                "ABORT" => "ROLLBACK",
                other => other,
            };
            (c.to_string(), false)
        }
        "END" => ("COMMIT".into(), false),
        "ABORT" => ("ROLLBACK".into(), false),
        "TRUNCATE" => ("TRUNCATE TABLE".into(), false),
        "COMMENT" => ("COMMENT".into(), false),
        "CREATE" | "DROP" | "ALTER" => {
            // Skip modifiers to reach the object kind: CREATE OR REPLACE, UNIQUE, TEMP, ...
            let mut i = 1;
            while matches!(
                w(i),
                "OR" | "REPLACE"
                    | "UNIQUE"
                    | "TEMP"
                    | "TEMPORARY"
                    | "UNLOGGED"
                    | "GLOBAL"
                    | "LOCAL"
                    | "TRUSTED"
                    | "PROCEDURAL"
                    | "RECURSIVE"
                    | "DEFAULT"
            ) {
                i += 1;
            }
            let obj = match (w(i), w(i + 1)) {
                ("MATERIALIZED", "VIEW") => "MATERIALIZED VIEW".to_string(),
                ("FOREIGN", "TABLE") => "FOREIGN TABLE".to_string(),
                ("EVENT", "TRIGGER") => "EVENT TRIGGER".to_string(),
                ("ACCESS", "METHOD") => "ACCESS METHOD".to_string(),
                ("TEXT", "SEARCH") => format!("TEXT SEARCH {}", w(i + 2)),
                ("USER", "MAPPING") => "USER MAPPING".to_string(),
                ("", _) => String::new(),
                (o, _) => o.to_string(),
            };
            let obj = if obj == "USER" || obj == "GROUP" { "ROLE".to_string() } else { obj };
            (if obj.is_empty() { first.to_string() } else { format!("{first} {obj}") }, false)
        }
        "" => (String::new(), false),
        other => (other.to_string(), false),
    }
}

/// When a SQL comment (`-- ...` to the line's end, or `/* ... */`) starts at `i`: the index just past it.
pub(crate) fn comment_end(b: &[u8], i: usize) -> Option<usize> {
    match (b.get(i), b.get(i + 1)) {
        (Some(b'-'), Some(b'-')) => Some(b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n)),
        (Some(b'/'), Some(b'*')) => {
            Some(b[i + 2..].windows(2).position(|w| w == b"*/").map_or(b.len(), |n| i + 2 + n + 2))
        }
        _ => None,
    }
}

/// Upper-cased leading keywords, skipping whitespace, comments and opening parentheses.
fn leading_words(sql: &str, n: usize) -> Vec<String> {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() && out.len() < n {
        if let Some(end) = comment_end(b, i) {
            i = end;
            continue;
        }
        match b[i] {
            c if c.is_ascii_whitespace() || c == b'(' => i += 1,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(sql[start..i].to_ascii_uppercase());
            }
            _ => break,
        }
    }
    out
}

/// For `WITH ... <verb>`: the first top-level SELECT/INSERT/UPDATE/DELETE/MERGE after the CTEs.
fn main_verb_after_with(sql: &str) -> String {
    let b = sql.as_bytes();
    let (mut depth, mut i) = (0i32, 0usize);
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' => quote = Some(c),
            b'(' => depth += 1,
            b')' => depth -= 1,
            c if depth == 0 && c.is_ascii_alphabetic() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let word = sql[start..i].to_ascii_uppercase();
                if matches!(word.as_str(), "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "VALUES") {
                    return if word == "VALUES" { "SELECT".into() } else { word };
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    "SELECT".into()
}

#[cfg(test)]
mod tests {
    use super::command_of;

    #[test]
    fn commands() {
        let rows = [
            ("select 1", "SELECT", true),
            ("  -- c\n /* x */ (SELECT 1)", "SELECT", true),
            ("insert into t values (1)", "INSERT", true),
            ("with x as (select 1) insert into t select * from x", "INSERT", true),
            ("WITH a AS (UPDATE t SET x = 1 RETURNING *) SELECT * FROM a", "SELECT", true),
            ("values (1)", "SELECT", true),
            ("create table t (x int)", "CREATE TABLE", false),
            ("CREATE UNIQUE INDEX ASYNC i ON t (x)", "CREATE INDEX", false),
            ("create or replace view v as select 1", "CREATE VIEW", false),
            ("drop table if exists t", "DROP TABLE", false),
            ("alter table t add column y int", "ALTER TABLE", false),
            ("create user bob", "CREATE ROLE", false),
            ("begin", "BEGIN", false),
            ("start transaction isolation level serializable", "START TRANSACTION", false),
            ("commit", "COMMIT", false),
            ("end", "COMMIT", false),
            ("set search_path = x", "SET", false),
            ("truncate t", "TRUNCATE TABLE", false),
        ];
        for (sql, cmd, counted) in rows {
            assert_eq!(command_of(sql), (cmd.to_string(), counted), "{sql}");
        }
    }
}
