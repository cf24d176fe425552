//! How values nested in a composite, a range or an array are quoted, as PostgreSQL's record_out,
//! range_out and array_out do.

/// C's isspace in the C locale.
fn is_pg_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C')
}

/// A record field or range bound: in double quotes (with `"` and `\` doubled) when it is empty or holds
/// whitespace, `"`, `\` or one of `special`.
pub(super) fn push_field(s: &mut String, v: &str, special: &[char]) {
    let quote = v.is_empty() || v.chars().any(|c| c == '"' || c == '\\' || special.contains(&c) || is_pg_space(c));
    if quote {
        s.push('"');
    }
    for c in v.chars() {
        if c == '"' || c == '\\' {
            s.push(c);
        }
        s.push(c);
    }
    if quote {
        s.push('"');
    }
}

/// An array element: in double quotes (with `"` and `\` backslash-escaped) when it is empty, reads
/// as NULL, or holds whitespace, `"`, `\`, `{`, `}` or the array's delimiter.
pub(super) fn push_array_element(s: &mut String, e: &str, delim: char) {
    let quote = e.is_empty()
        || e.eq_ignore_ascii_case("NULL")
        || e.chars().any(|c| matches!(c, '"' | '\\' | '{' | '}') || c == delim || is_pg_space(c));
    if quote {
        s.push('"');
        for c in e.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
    } else {
        s.push_str(e);
    }
}
