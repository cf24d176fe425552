//! PostgreSQL binary values → what JS needs, with the text forms PostgreSQL itself would print.
//!
//! tokio-postgres reads results in binary. postgres.js users expect text-derived values (int8,
//! numeric, uuid, interval... as strings; dates as `Date`s), so each column gets an [`Encoding`]:
//! numbers and instants travel as f64 (no string is built in JS), everything else as PostgreSQL's
//! text output, which the JS side parses exactly as postgres.js does. Nothing here panics on
//! malformed input: a value that does not decode becomes an error for its query.

use std::fmt::Write;

/// How one column's values are written for the JS decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Encoding {
    /// UTF-8 text (PostgreSQL's text output form).
    Text = 0,
    /// f64 little-endian.
    F64 = 1,
    /// One byte, 0 or 1.
    Bool = 2,
    /// Raw bytes (bytea; unknown binary types).
    Bytes = 3,
    /// f64 little-endian milliseconds since the Unix epoch (NaN for ±infinity), for `Date`s.
    TimeMs = 4,
    /// i32 little-endian (int2, int4): read in JS as a small integer, which needs no heap number.
    I32 = 5,
}

pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const MONEY: u32 = 790;
    pub const INET: u32 = 869;
    pub const CIDR: u32 = 650;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
    pub const INT2VECTOR: u32 = 22;
    pub const REGPROC: u32 = 24;
    pub const TID: u32 = 27;
    pub const XID: u32 = 28;
    pub const CID: u32 = 29;
    pub const OIDVECTOR: u32 = 30;
    pub const POINT: u32 = 600;
    pub const LSEG: u32 = 601;
    pub const PATH: u32 = 602;
    pub const BOX: u32 = 603;
    pub const POLYGON: u32 = 604;
    pub const LINE: u32 = 628;
    pub const CIRCLE: u32 = 718;
    pub const MACADDR8: u32 = 774;
    pub const MACADDR: u32 = 829;
    pub const BIT: u32 = 1560;
    pub const VARBIT: u32 = 1562;
    pub const REGPROCEDURE: u32 = 2202;
    pub const REGOPER: u32 = 2203;
    pub const REGOPERATOR: u32 = 2204;
    pub const REGCLASS: u32 = 2205;
    pub const REGTYPE: u32 = 2206;
    pub const RECORD: u32 = 2249;
    pub const TXID_SNAPSHOT: u32 = 2970;
    pub const PG_LSN: u32 = 3220;
    pub const TSVECTOR: u32 = 3614;
    pub const REGCONFIG: u32 = 3734;
    pub const REGDICTIONARY: u32 = 3769;
    pub const JSONPATH: u32 = 4072;
    pub const REGNAMESPACE: u32 = 4089;
    pub const REGROLE: u32 = 4096;
    pub const REGCOLLATION: u32 = 4191;
    pub const PG_SNAPSHOT: u32 = 5038;
    pub const XID8: u32 = 5069;
}

/// The encoding of a column of type `oid`; `text` forces the text form (`.raw()`, custom parsers).
pub fn encoding_for(type_oid: u32, text: bool) -> Encoding {
    use oid::*;
    match type_oid {
        _ if text => Encoding::Text,
        BYTEA => Encoding::Bytes,
        BOOL => Encoding::Bool,
        INT2 | INT4 => Encoding::I32,
        OID | FLOAT4 | FLOAT8 => Encoding::F64,
        DATE | TIMESTAMPTZ => Encoding::TimeMs,
        _ => Encoding::Text,
    }
}

#[derive(Debug, PartialEq)]
pub struct DecodeError(pub String);

type R<T> = Result<T, DecodeError>;

fn bad(what: &str) -> DecodeError {
    DecodeError(format!("could not decode a {what} value from the server"))
}

fn be_i16(b: &[u8], at: usize) -> R<i16> {
    b.get(at..at + 2).map(|s| i16::from_be_bytes([s[0], s[1]])).ok_or_else(|| bad("binary"))
}
fn be_i32(b: &[u8], at: usize) -> R<i32> {
    b.get(at..at + 4).map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]])).ok_or_else(|| bad("binary"))
}
fn be_i64(b: &[u8], at: usize) -> R<i64> {
    b.get(at..at + 8).and_then(|s| s.try_into().ok()).map(i64::from_be_bytes).ok_or_else(|| bad("binary"))
}
fn exact<const N: usize>(b: &[u8], what: &str) -> R<[u8; N]> {
    b.try_into().map_err(|_| bad(what))
}

/// Appends the value in `enc` to `out`. Numbers for `F64`, instants for `TimeMs`.
pub fn encode(type_oid: u32, enc: Encoding, raw: &[u8], out: &mut Vec<u8>) -> R<()> {
    use oid::*;
    match enc {
        Encoding::Bytes => out.extend_from_slice(raw),
        Encoding::Bool => out.push(u8::from(exact::<1>(raw, "bool")?[0] != 0)),
        Encoding::I32 => {
            let x = match type_oid {
                INT2 => i32::from(i16::from_be_bytes(exact(raw, "int2")?)),
                INT4 => i32::from_be_bytes(exact(raw, "int4")?),
                _ => return Err(bad("integer")),
            };
            out.extend_from_slice(&x.to_le_bytes());
        }
        Encoding::F64 => {
            let x = match type_oid {
                INT2 => f64::from(i16::from_be_bytes(exact(raw, "int2")?)),
                INT4 => f64::from(i32::from_be_bytes(exact(raw, "int4")?)),
                OID => u32::from_be_bytes(exact(raw, "oid")?) as f64,
                // float4's text form is the shortest decimal that round-trips the f32; JS reads that.
                FLOAT4 => shortest_f32(f32::from_be_bytes(exact(raw, "float4")?)),
                FLOAT8 => f64::from_be_bytes(exact(raw, "float8")?),
                _ => return Err(bad("number")),
            };
            out.extend_from_slice(&x.to_le_bytes());
        }
        Encoding::TimeMs => {
            let ms = match type_oid {
                DATE => {
                    let d = i32::from_be_bytes(exact(raw, "date")?);
                    if d == i32::MAX || d == i32::MIN {
                        f64::NAN
                    } else {
                        (d as f64 + 10957.0) * 86_400_000.0
                    }
                }
                _ => {
                    let us = i64::from_be_bytes(exact(raw, "timestamptz")?);
                    if us == i64::MAX || us == i64::MIN {
                        f64::NAN
                    } else {
                        (us.div_euclid(1000) + 946_684_800_000) as f64
                    }
                }
            };
            out.extend_from_slice(&ms.to_le_bytes());
        }
        Encoding::Text => {
            // Text-like types are sent as-is; others are converted to PostgreSQL's text output.
            match type_oid {
                TEXT | VARCHAR | BPCHAR | NAME | UNKNOWN | CHAR | JSON => out.extend_from_slice(raw),
                JSONB => match raw.split_first() {
                    Some((1, rest)) => out.extend_from_slice(rest),
                    _ => return Err(bad("jsonb")),
                },
                _ => {
                    let mut s = String::new();
                    any_text(type_oid, raw, &mut s, 0)?;
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
    }
    Ok(())
}

fn shortest_f32(x: f32) -> f64 {
    if !x.is_finite() {
        return x as f64;
    }
    format!("{x}").parse::<f64>().unwrap_or(x as f64)
}

/// PostgreSQL's text output of a binary value; `Ok(false)` when the type is not known here.
pub fn to_text(type_oid: u32, raw: &[u8], s: &mut String) -> R<bool> {
    known_text(type_oid, raw, s, 0)
}

/// How deep arrays, records and ranges may nest inside each other (the server's bytes decide).
const MAX_DEPTH: u32 = 64;

fn nested(depth: u32) -> R<()> {
    if depth >= MAX_DEPTH {
        return Err(DecodeError("a value from the server is nested too deeply".into()));
    }
    Ok(())
}

/// `to_text`, at a nesting depth.
fn known_text(type_oid: u32, raw: &[u8], s: &mut String, depth: u32) -> R<bool> {
    use oid::*;
    match type_oid {
        TEXT | VARCHAR | BPCHAR | NAME | UNKNOWN | CHAR | JSON => {
            s.push_str(std::str::from_utf8(raw).map_err(|_| bad("text"))?)
        }
        JSONB => match raw.split_first() {
            Some((1, rest)) => s.push_str(std::str::from_utf8(rest).map_err(|_| bad("jsonb"))?),
            _ => return Err(bad("jsonb")),
        },
        BOOL => s.push(if exact::<1>(raw, "bool")?[0] != 0 { 't' } else { 'f' }),
        INT2 => write_num(s, i16::from_be_bytes(exact(raw, "int2")?)),
        INT4 => write_num(s, i32::from_be_bytes(exact(raw, "int4")?)),
        INT8 => write_num(s, i64::from_be_bytes(exact(raw, "int8")?)),
        OID => write_num(s, u32::from_be_bytes(exact(raw, "oid")?)),
        FLOAT4 => write_float4(s, f32::from_be_bytes(exact(raw, "float4")?)),
        FLOAT8 => write_float(s, f64::from_be_bytes(exact(raw, "float8")?)),
        BYTEA => {
            s.push_str("\\x");
            for b in raw {
                let _ = write!(s, "{b:02x}");
            }
        }
        NUMERIC => numeric_text(raw, s)?,
        UUID => {
            let b = exact::<16>(raw, "uuid")?;
            for (i, x) in b.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    s.push('-');
                }
                let _ = write!(s, "{x:02x}");
            }
        }
        DATE => {
            let d = i32::from_be_bytes(exact(raw, "date")?);
            match d {
                i32::MAX => s.push_str("infinity"),
                i32::MIN => s.push_str("-infinity"),
                _ => write_date(s, d as i64),
            }
        }
        TIMESTAMP | TIMESTAMPTZ => {
            let us = i64::from_be_bytes(exact(raw, "timestamp")?);
            match us {
                i64::MAX => s.push_str("infinity"),
                i64::MIN => s.push_str("-infinity"),
                _ => {
                    let days = us.div_euclid(86_400_000_000);
                    let bc = write_date_ad(s, days);
                    s.push(' ');
                    write_time(s, us.rem_euclid(86_400_000_000));
                    if type_oid == TIMESTAMPTZ {
                        s.push_str("+00");
                    }
                    if bc {
                        s.push_str(" BC");
                    }
                }
            }
        }
        TIME => write_time(s, i64::from_be_bytes(exact(raw, "time")?)),
        TIMETZ => {
            let us = be_i64(raw, 0)?;
            let zone = be_i32(raw, 8)?;
            if raw.len() != 12 {
                return Err(bad("timetz"));
            }
            write_time(s, us);
            // PostgreSQL stores seconds west of UTC; it prints the east offset.
            let east = -(zone as i64);
            let a = east.abs();
            let _ = write!(s, "{}{:02}", if east < 0 { '-' } else { '+' }, a / 3600);
            if a % 3600 != 0 {
                let _ = write!(s, ":{:02}", (a % 3600) / 60);
                if a % 60 != 0 {
                    let _ = write!(s, ":{:02}", a % 60);
                }
            }
        }
        INTERVAL => {
            if raw.len() != 16 {
                return Err(bad("interval"));
            }
            interval_text(be_i64(raw, 0)?, be_i32(raw, 8)?, be_i32(raw, 12)?, s);
        }
        MONEY => {
            let c = i64::from_be_bytes(exact(raw, "money")?);
            let neg = c < 0;
            let a = c.unsigned_abs();
            let whole = (a / 100).to_string();
            if neg {
                s.push('-');
            }
            s.push('$');
            for (i, ch) in whole.chars().enumerate() {
                if i > 0 && (whole.len() - i) % 3 == 0 {
                    s.push(',');
                }
                s.push(ch);
            }
            let _ = write!(s, ".{:02}", a % 100);
        }
        INET | CIDR => inet_text(raw, type_oid == CIDR, s)?,
        MACADDR => write_hex_colons(s, &exact::<6>(raw, "macaddr")?),
        MACADDR8 => write_hex_colons(s, &exact::<8>(raw, "macaddr8")?),
        BIT | VARBIT => bit_text(raw, s)?,
        POINT => {
            exact::<16>(raw, "point")?;
            write_point(s, raw, 0)?;
        }
        LINE => {
            exact::<24>(raw, "line")?;
            s.push('{');
            write_floats(s, raw, 0, 3)?;
            s.push('}');
        }
        LSEG => {
            exact::<32>(raw, "lseg")?;
            s.push('[');
            write_points(s, raw, 0, 2)?;
            s.push(']');
        }
        BOX => {
            // The high corner, then the low one.
            exact::<32>(raw, "box")?;
            write_points(s, raw, 0, 2)?;
        }
        PATH => {
            let closed = *raw.first().ok_or_else(|| bad("path"))? != 0;
            let n = point_count(raw, 1, "path")?;
            s.push(if closed { '(' } else { '[' });
            write_points(s, raw, 5, n)?;
            s.push(if closed { ')' } else { ']' });
        }
        POLYGON => {
            let n = point_count(raw, 0, "polygon")?;
            s.push('(');
            write_points(s, raw, 4, n)?;
            s.push(')');
        }
        CIRCLE => {
            exact::<24>(raw, "circle")?;
            s.push('<');
            write_point(s, raw, 0)?;
            s.push(',');
            write_float(s, be_f64(raw, 16)?);
            s.push('>');
        }
        TSVECTOR => tsvector_text(raw, s)?,
        RECORD => record_text(raw, s, depth)?,
        // The binary form is the OID; the name needs a catalog lookup, so this is what PostgreSQL prints
        // for an OID it does not know (and `-` for 0).
        REGPROC | REGPROCEDURE | REGOPER | REGOPERATOR | REGCLASS | REGTYPE | REGCONFIG | REGDICTIONARY
        | REGNAMESPACE | REGROLE | REGCOLLATION => match u32::from_be_bytes(exact(raw, "reg*")?) {
            0 => s.push('-'),
            o => write_num(s, o),
        },
        XID | CID => write_num(s, u32::from_be_bytes(exact(raw, "xid")?)),
        XID8 => write_num(s, u64::from_be_bytes(exact(raw, "xid8")?)),
        TID => {
            exact::<6>(raw, "tid")?;
            let _ = write!(s, "({},{})", be_i32(raw, 0)? as u32, be_i16(raw, 4)? as u16);
        }
        PG_LSN => {
            let x = u64::from_be_bytes(exact(raw, "pg_lsn")?);
            let _ = write!(s, "{:X}/{:X}", x >> 32, x & 0xFFFF_FFFF);
        }
        INT2VECTOR | OIDVECTOR => vector_text(raw, s, depth)?,
        JSONPATH => match raw.split_first() {
            Some((1, rest)) => s.push_str(std::str::from_utf8(rest).map_err(|_| bad("jsonpath"))?),
            _ => return Err(bad("jsonpath")),
        },
        TXID_SNAPSHOT | PG_SNAPSHOT => snapshot_text(raw, s)?,
        t if range_subtype(t).is_some() => range_text(raw, range_subtype(t).unwrap_or(0), s, depth)?,
        t if multirange_range(t).is_some() => multirange_text(raw, multirange_range(t).unwrap_or(0), s, depth)?,
        t if array_element(t).is_some() => array_text(raw, s, depth)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// The text form of any value: `known_text`, else what an unknown type's binary value shows.
fn any_text(type_oid: u32, raw: &[u8], s: &mut String, depth: u32) -> R<()> {
    if known_text(type_oid, raw, s, depth)? {
        return Ok(());
    }
    // Enums, citext, domains over text...: the binary form is the text (which never holds a NUL byte).
    if !raw.contains(&0) {
        if let Ok(t) = std::str::from_utf8(raw) {
            s.push_str(t);
            return Ok(());
        }
    }
    // Arrays of such types and composite types: both start with a big-endian count (so a NUL byte) and
    // name their element or field types. An array has flags 0 or 1 next; a record a field type OID.
    if raw.first() == Some(&0) {
        let mark = s.len();
        let r =
            if matches!(be_i32(raw, 4), Ok(0 | 1)) { array_text(raw, s, depth) } else { record_text(raw, s, depth) };
        if r.is_ok() {
            return Ok(());
        }
        s.truncate(mark);
    }
    Err(DecodeError(format!("type {type_oid} has no text conversion and its binary value is not UTF-8")))
}

fn write_num<T: std::fmt::Display>(s: &mut String, x: T) {
    let _ = write!(s, "{x}");
}

/// float8out with extra_float_digits = 1: the shortest decimal that reads back as the same double.
fn write_float(s: &mut String, x: f64) {
    if x.is_nan() {
        s.push_str("NaN");
    } else if x.is_infinite() {
        s.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        write_shortest(s, &format!("{x:e}"), 15);
    }
}

/// float4out with extra_float_digits = 1.
fn write_float4(s: &mut String, x: f32) {
    if x.is_nan() {
        s.push_str("NaN");
    } else if x.is_infinite() {
        s.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        write_shortest(s, &format!("{x:e}"), 6);
    }
}

/// Lays out Rust's shortest round-trip exponent form (`-1.25e-7`) the way PostgreSQL's Ryu output does:
/// plain digits while the decimal exponent is in -4..`max_fixed` (`0.0001`, `100000000000000`),
/// otherwise `d.ddde±XX` with at least two exponent digits (`1e-05`, `1.5e+20`).
fn write_shortest(s: &mut String, e: &str, max_fixed: i32) {
    let (neg, e) = match e.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, e),
    };
    let (mantissa, exp) = e.split_once('e').unwrap_or((e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = if digits.is_empty() { "0" } else { digits.as_str() };
    if neg {
        s.push('-');
    }
    if exp < -4 || exp >= max_fixed {
        let (first, rest) = digits.split_at(1);
        s.push_str(first);
        if !rest.is_empty() {
            s.push('.');
            s.push_str(rest);
        }
        let _ = write!(s, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp < 0 {
        s.push_str("0.");
        for _ in 0..(-exp - 1) {
            s.push('0');
        }
        s.push_str(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            s.push_str(digits);
            for _ in digits.len()..int_len {
                s.push('0');
            }
        } else {
            let (int, frac) = digits.split_at(int_len);
            s.push_str(int);
            s.push('.');
            s.push_str(frac);
        }
    }
}

fn be_f64(b: &[u8], at: usize) -> R<f64> {
    be_i64(b, at).map(|x| f64::from_bits(x as u64))
}

/// `raw[at..at + len]`, or the decode error.
fn slice<'a>(raw: &'a [u8], at: usize, len: usize, what: &str) -> R<&'a [u8]> {
    at.checked_add(len).and_then(|end| raw.get(at..end)).ok_or_else(|| bad(what))
}

fn write_hex_colons(s: &mut String, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02x}");
    }
}

/// bit and varbit: an int32 bit count, then the bits from the most significant one.
fn bit_text(raw: &[u8], s: &mut String) -> R<()> {
    let n = be_i32(raw, 0)?;
    let bytes = raw.get(4..).unwrap_or_default();
    if n < 0 || bytes.len() != (n as usize).div_ceil(8) {
        return Err(bad("bit"));
    }
    for i in 0..n as usize {
        let byte = bytes.get(i / 8).copied().unwrap_or(0);
        s.push(if byte & (0x80 >> (i % 8)) != 0 { '1' } else { '0' });
    }
    Ok(())
}

/// `count` float8s from `at`, comma-separated.
fn write_floats(s: &mut String, raw: &[u8], at: usize, count: usize) -> R<()> {
    for i in 0..count {
        if i > 0 {
            s.push(',');
        }
        write_float(s, be_f64(raw, at + 8 * i)?);
    }
    Ok(())
}

/// `(x,y)` from two float8s at `at`.
fn write_point(s: &mut String, raw: &[u8], at: usize) -> R<()> {
    s.push('(');
    write_floats(s, raw, at, 2)?;
    s.push(')');
    Ok(())
}

fn write_points(s: &mut String, raw: &[u8], at: usize, count: usize) -> R<()> {
    for i in 0..count {
        if i > 0 {
            s.push(',');
        }
        write_point(s, raw, at + 16 * i)?;
    }
    Ok(())
}

/// The int32 point count at `at`, checked against the length of the points that follow it.
fn point_count(raw: &[u8], at: usize, what: &str) -> R<usize> {
    let n = be_i32(raw, at)?;
    let size = usize::try_from(n).ok().and_then(|n| n.checked_mul(16)).and_then(|b| b.checked_add(at + 4));
    match size {
        Some(size) if size == raw.len() => Ok(n as usize),
        _ => Err(bad(what)),
    }
}

/// tsvector: an int32 lexeme count; per lexeme its NUL-terminated text, an int16 position count and
/// the positions (weight in the top two bits: 3 = A ... 0 = D, which is not printed).
fn tsvector_text(raw: &[u8], s: &mut String) -> R<()> {
    let n = be_i32(raw, 0)?;
    if n < 0 {
        return Err(bad("tsvector"));
    }
    let mut pos = 4;
    for i in 0..n {
        let rest = raw.get(pos..).unwrap_or_default();
        let end = rest.iter().position(|&b| b == 0).ok_or_else(|| bad("tsvector"))?;
        let lexeme = std::str::from_utf8(&rest[..end]).map_err(|_| bad("tsvector"))?;
        pos += end + 1;
        let npos = be_i16(raw, pos)? as u16;
        pos += 2;
        if i > 0 {
            s.push(' ');
        }
        s.push('\'');
        for c in lexeme.chars() {
            if c == '\'' || c == '\\' {
                s.push(c);
            }
            s.push(c);
        }
        s.push('\'');
        for j in 0..npos {
            let p = be_i16(raw, pos)? as u16;
            pos += 2;
            s.push(if j == 0 { ':' } else { ',' });
            write_num(s, p & 0x3FFF);
            match p >> 14 {
                3 => s.push('A'),
                2 => s.push('B'),
                1 => s.push('C'),
                _ => {}
            }
        }
    }
    if pos != raw.len() {
        return Err(bad("tsvector"));
    }
    Ok(())
}

/// C's isspace in the C locale.
fn is_pg_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C')
}

/// A record field or range bound: in double quotes (with `"` and `\` doubled) when it is empty or holds
/// whitespace, `"`, `\` or one of `special`.
fn push_field(s: &mut String, v: &str, special: &[char]) {
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

/// Anonymous and named composites: an int32 field count, then per field its type OID and an int32
/// length (-1: NULL, printed as nothing) with the value.
fn record_text(raw: &[u8], s: &mut String, depth: u32) -> R<()> {
    nested(depth)?;
    let n = be_i32(raw, 0)?;
    if n < 0 {
        return Err(bad("record"));
    }
    let mut pos = 4;
    s.push('(');
    for i in 0..n {
        let field_oid = be_i32(raw, pos)? as u32;
        let len = be_i32(raw, pos + 4)?;
        pos += 8;
        if i > 0 {
            s.push(',');
        }
        if len < 0 {
            continue;
        }
        let v = slice(raw, pos, len as usize, "record")?;
        pos += len as usize;
        let mut t = String::new();
        any_text(field_oid, v, &mut t, depth + 1)?;
        push_field(s, &t, &['(', ')', ',']);
    }
    s.push(')');
    if pos != raw.len() {
        return Err(bad("record"));
    }
    Ok(())
}

/// Element type of the built-in range types.
fn range_subtype(range_oid: u32) -> Option<u32> {
    use oid::*;
    Some(match range_oid {
        3904 => INT4,
        3906 => NUMERIC,
        3908 => TIMESTAMP,
        3910 => TIMESTAMPTZ,
        3912 => DATE,
        3926 => INT8,
        _ => return None,
    })
}

/// Range type of the built-in multirange types.
fn multirange_range(multirange_oid: u32) -> Option<u32> {
    Some(match multirange_oid {
        4451 => 3904,
        4532 => 3906,
        4533 => 3908,
        4534 => 3910,
        4535 => 3912,
        4536 => 3926,
        _ => return None,
    })
}

/// A range: a flags byte, then the bounds it has (int32 length and value each): `[1,5)`, `(,5]`, `empty`.
fn range_text(raw: &[u8], subtype: u32, s: &mut String, depth: u32) -> R<()> {
    const EMPTY: u8 = 0x01;
    const LB_INC: u8 = 0x02;
    const UB_INC: u8 = 0x04;
    const LB_NONE: u8 = 0x08 | 0x20; // infinite or NULL
    const UB_NONE: u8 = 0x10 | 0x40;
    nested(depth)?;
    let flags = *raw.first().ok_or_else(|| bad("range"))?;
    if flags & EMPTY != 0 {
        if raw.len() != 1 {
            return Err(bad("range"));
        }
        s.push_str("empty");
        return Ok(());
    }
    let mut pos = 1;
    let mut bound = |s: &mut String| -> R<()> {
        let len = usize::try_from(be_i32(raw, pos)?).map_err(|_| bad("range"))?;
        let v = slice(raw, pos + 4, len, "range")?;
        pos += 4 + len;
        let mut t = String::new();
        any_text(subtype, v, &mut t, depth + 1)?;
        push_field(s, &t, &['(', ')', '[', ']', ',']);
        Ok(())
    };
    s.push(if flags & LB_INC != 0 { '[' } else { '(' });
    if flags & LB_NONE == 0 {
        bound(s)?;
    }
    s.push(',');
    if flags & UB_NONE == 0 {
        bound(s)?;
    }
    s.push(if flags & UB_INC != 0 { ']' } else { ')' });
    if pos != raw.len() {
        return Err(bad("range"));
    }
    Ok(())
}

/// A multirange: an int32 count, then each range with an int32 length: `{[1,3),[5,7)}`.
fn multirange_text(raw: &[u8], range_oid: u32, s: &mut String, depth: u32) -> R<()> {
    nested(depth)?;
    let n = be_i32(raw, 0)?;
    if n < 0 {
        return Err(bad("multirange"));
    }
    let subtype = range_subtype(range_oid).ok_or_else(|| bad("multirange"))?;
    let mut pos = 4;
    s.push('{');
    for i in 0..n {
        let len = usize::try_from(be_i32(raw, pos)?).map_err(|_| bad("multirange"))?;
        let v = slice(raw, pos + 4, len, "multirange")?;
        pos += 4 + len;
        if i > 0 {
            s.push(',');
        }
        range_text(v, subtype, s, depth + 1)?;
    }
    s.push('}');
    if pos != raw.len() {
        return Err(bad("multirange"));
    }
    Ok(())
}

/// txid_snapshot and pg_snapshot: an int32 count of in-progress ids, xmin, xmax, the ids: `10:20:10,14`.
fn snapshot_text(raw: &[u8], s: &mut String) -> R<()> {
    let n = usize::try_from(be_i32(raw, 0)?).map_err(|_| bad("snapshot"))?;
    if n.checked_mul(8).and_then(|b| b.checked_add(20)) != Some(raw.len()) {
        return Err(bad("snapshot"));
    }
    let _ = write!(s, "{}:{}:", be_i64(raw, 4)? as u64, be_i64(raw, 12)? as u64);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        write_num(s, be_i64(raw, 20 + 8 * i)? as u64);
    }
    Ok(())
}

/// Days since 2000-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil(days_since_2000: i64) -> (i64, u32, u32) {
    let z = days_since_2000 + 10957 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Writes `YYYY-MM-DD`; returns whether the year is BC (written as PostgreSQL does, `0001 ... BC`).
fn write_date_ad(s: &mut String, days: i64) -> bool {
    let (y, m, d) = civil(days);
    let (year, bc) = if y <= 0 { (1 - y, true) } else { (y, false) };
    let _ = write!(s, "{year:04}-{m:02}-{d:02}");
    bc
}

fn write_date(s: &mut String, days: i64) {
    if write_date_ad(s, days) {
        s.push_str(" BC");
    }
}

/// `HH:MM:SS[.ffffff]` with trailing fraction zeros removed.
fn write_time(s: &mut String, us: i64) {
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    let _ = write!(s, "{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
    write_fraction(s, frac);
}

fn write_fraction(s: &mut String, frac: i64) {
    if frac != 0 {
        let f = format!("{:06}", frac.abs());
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
}

/// PostgreSQL's default `IntervalStyle = postgres` output.
fn interval_text(us: i64, days: i32, months: i32, s: &mut String) {
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |s: &mut String, value: i64, unit: &str| {
        if value == 0 {
            return;
        }
        let _ = write!(
            s,
            "{}{}{} {}{}",
            if is_zero { "" } else { " " },
            if is_before && value > 0 { "+" } else { "" },
            value,
            unit,
            if value != 1 { "s" } else { "" }
        );
        is_before = value < 0;
        is_zero = false;
    };
    part(s, (months / 12) as i64, "year");
    part(s, (months % 12) as i64, "mon");
    part(s, days as i64, "day");
    let hour = us / 3_600_000_000;
    let min = (us / 60_000_000) % 60;
    let sec = (us / 1_000_000) % 60;
    let fsec = us % 1_000_000;
    if is_zero || us != 0 {
        let minus = us < 0;
        let _ = write!(
            s,
            "{}{}{:02}:{:02}:{:02}",
            if is_zero { "" } else { " " },
            if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            },
            hour.abs(),
            min.abs(),
            sec.abs()
        );
        write_fraction(s, fsec);
    }
}

fn numeric_text(raw: &[u8], s: &mut String) -> R<()> {
    let ndigits = be_i16(raw, 0)?;
    let weight = be_i16(raw, 2)? as i32;
    let sign = be_i16(raw, 4)? as u16;
    let dscale = be_i16(raw, 6)?;
    if ndigits < 0 || dscale < 0 || raw.len() != 8 + 2 * ndigits as usize {
        return Err(bad("numeric"));
    }
    match sign {
        0xC000 => {
            s.push_str("NaN");
            return Ok(());
        }
        0xD000 => {
            s.push_str("Infinity");
            return Ok(());
        }
        0xF000 => {
            s.push_str("-Infinity");
            return Ok(());
        }
        0x0000 | 0x4000 => {}
        _ => return Err(bad("numeric")),
    }
    let digits: Vec<i32> = (0..ndigits as usize).map(|i| be_i16(raw, 8 + 2 * i).map(i32::from)).collect::<R<_>>()?;
    if digits.iter().any(|d| !(0..10000).contains(d)) {
        return Err(bad("numeric"));
    }
    if sign == 0x4000 {
        s.push('-');
    }
    // Integer part: base-10000 digits at positions weight..=0.
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight {
            let d = digits.get(i as usize).copied().unwrap_or(0);
            if i == 0 {
                let _ = write!(s, "{d}");
            } else {
                let _ = write!(s, "{d:04}");
            }
        }
    }
    if dscale > 0 {
        s.push('.');
        let mut frac = String::new();
        let mut i = weight + 1;
        while (frac.len() as i32) < dscale as i32 {
            let d = if i < 0 { 0 } else { digits.get(i as usize).copied().unwrap_or(0) };
            let _ = write!(frac, "{d:04}");
            i += 1;
        }
        frac.truncate(dscale as usize);
        s.push_str(&frac);
    }
    Ok(())
}

fn inet_text(raw: &[u8], cidr: bool, s: &mut String) -> R<()> {
    let (family, bits, nb) = match raw {
        [f, b, _, n, ..] => (*f, *b, *n as usize),
        _ => return Err(bad("inet")),
    };
    let addr = raw.get(4..4 + nb).ok_or_else(|| bad("inet"))?;
    let max = match (family, nb) {
        (2, 4) => {
            let _ = write!(s, "{}", std::net::Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]));
            32
        }
        (3, 16) => {
            let a: [u8; 16] = addr.try_into().map_err(|_| bad("inet"))?;
            let _ = write!(s, "{}", std::net::Ipv6Addr::from(a));
            128
        }
        _ => return Err(bad("inet")),
    };
    if cidr || bits != max {
        let _ = write!(s, "/{bits}");
    }
    Ok(())
}

/// Element type of the built-in array types this module converts.
pub fn array_element(array_oid: u32) -> Option<u32> {
    use oid::*;
    Some(match array_oid {
        1000 => BOOL,
        1001 => BYTEA,
        1002 => CHAR,
        1003 => NAME,
        1016 => INT8,
        1005 => INT2,
        1006 => INT2VECTOR,
        1007 => INT4,
        1008 => REGPROC,
        1009 => TEXT,
        1010 => TID,
        1011 => XID,
        1012 => CID,
        1013 => OIDVECTOR,
        1028 => OID,
        199 => JSON,
        1021 => FLOAT4,
        1022 => FLOAT8,
        791 => MONEY,
        1041 => INET,
        651 => CIDR,
        1040 => MACADDR,
        775 => MACADDR8,
        1014 => BPCHAR,
        1015 => VARCHAR,
        1182 => DATE,
        1183 => TIME,
        1115 => TIMESTAMP,
        1185 => TIMESTAMPTZ,
        1187 => INTERVAL,
        1270 => TIMETZ,
        1231 => NUMERIC,
        2951 => UUID,
        3807 => JSONB,
        1561 => BIT,
        1563 => VARBIT,
        1017 => POINT,
        1018 => LSEG,
        1019 => PATH,
        1020 => BOX,
        1027 => POLYGON,
        629 => LINE,
        719 => CIRCLE,
        3643 => TSVECTOR,
        2287 => RECORD,
        2207 => REGPROCEDURE,
        2208 => REGOPER,
        2209 => REGOPERATOR,
        2210 => REGCLASS,
        2211 => REGTYPE,
        3735 => REGCONFIG,
        3770 => REGDICTIONARY,
        4090 => REGNAMESPACE,
        4097 => REGROLE,
        4192 => REGCOLLATION,
        271 => XID8,
        3221 => PG_LSN,
        4073 => JSONPATH,
        2949 => TXID_SNAPSHOT,
        5039 => PG_SNAPSHOT,
        3905 => 3904,
        3907 => 3906,
        3909 => 3908,
        3911 => 3910,
        3913 => 3912,
        3927 => 3926,
        6150 => 4451,
        6151 => 4532,
        6152 => 4533,
        6153 => 4534,
        6155 => 4535,
        6157 => 4536,
        _ => return None,
    })
}

/// A binary array: its dimensions (length, lower bound), element type and elements (`None`: NULL).
struct BinaryArray<'a> {
    dims: Vec<(usize, i32)>,
    elem: u32,
    items: Vec<Option<&'a [u8]>>,
}

/// Reads a whole binary array: int32 ndim, int32 flags (0/1: has NULLs), element OID, per dimension
/// int32 length and lower bound, then every element as an int32 length (-1: NULL) and the value.
fn parse_array(raw: &[u8]) -> R<BinaryArray<'_>> {
    let ndim = be_i32(raw, 0)?;
    let flags = be_i32(raw, 4)?;
    let elem = be_i32(raw, 8)? as u32;
    if !(0..=6).contains(&ndim) || !(0..=1).contains(&flags) {
        return Err(bad("array"));
    }
    let mut dims = Vec::with_capacity(ndim as usize);
    let mut pos = 12;
    for _ in 0..ndim {
        let len = be_i32(raw, pos)?;
        let lb = be_i32(raw, pos + 4)?;
        if len < 0 {
            return Err(bad("array"));
        }
        dims.push((len as usize, lb));
        pos += 8;
    }
    let total = if dims.is_empty() {
        0
    } else {
        dims.iter().try_fold(1usize, |acc, (l, _)| acc.checked_mul(*l)).ok_or_else(|| bad("array"))?
    };
    // Every element takes at least its 4-byte length.
    if total > raw.len() / 4 {
        return Err(bad("array"));
    }
    let mut items = Vec::with_capacity(total);
    for _ in 0..total {
        let len = be_i32(raw, pos)?;
        pos += 4;
        if len < 0 {
            items.push(None);
            continue;
        }
        items.push(Some(slice(raw, pos, len as usize, "array")?));
        pos += len as usize;
    }
    if pos != raw.len() {
        return Err(bad("array"));
    }
    Ok(BinaryArray { dims, elem, items })
}

/// Binary array → PostgreSQL's array literal (`{1,NULL,"a b"}`, `[0:1]={...}` for other bounds). The
/// element type comes from the value itself, so arrays of types unknown here (enums) work too.
fn array_text(raw: &[u8], s: &mut String, depth: u32) -> R<()> {
    nested(depth)?;
    let a = parse_array(raw)?;
    if a.items.is_empty() {
        s.push_str("{}");
        return Ok(());
    }
    if a.dims.iter().any(|(_, lb)| *lb != 1) {
        for (len, lb) in &a.dims {
            let _ = write!(s, "[{}:{}]", lb, *lb as i64 + *len as i64 - 1);
        }
        s.push('=');
    }
    // box is the one built-in type whose array delimiter is not a comma.
    let delim = if a.elem == oid::BOX { ';' } else { ',' };
    let mut elements = Vec::with_capacity(a.items.len());
    for item in &a.items {
        elements.push(match item {
            None => None,
            Some(v) => {
                let mut t = String::new();
                any_text(a.elem, v, &mut t, depth + 1)?;
                Some(t)
            }
        });
    }
    let mut idx = 0;
    write_array_level(s, &a.dims, 0, &elements, &mut idx, delim);
    Ok(())
}

/// int2vector and oidvector: one-dimensional arrays printed as space-separated numbers (`1 2 3`).
fn vector_text(raw: &[u8], s: &mut String, depth: u32) -> R<()> {
    nested(depth)?;
    let a = parse_array(raw)?;
    if a.dims.len() > 1 {
        return Err(bad("vector"));
    }
    for (i, item) in a.items.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        any_text(a.elem, item.ok_or_else(|| bad("vector"))?, s, depth + 1)?;
    }
    Ok(())
}

fn write_array_level(
    s: &mut String,
    dims: &[(usize, i32)],
    level: usize,
    elements: &[Option<String>],
    idx: &mut usize,
    delim: char,
) {
    s.push('{');
    for i in 0..dims[level].0 {
        if i > 0 {
            s.push(delim);
        }
        if level + 1 < dims.len() {
            write_array_level(s, dims, level + 1, elements, idx, delim);
        } else {
            match elements.get(*idx).and_then(|e| e.as_deref()) {
                None => s.push_str("NULL"),
                Some(e) => {
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
            }
            *idx += 1;
        }
    }
    s.push('}');
}
#[cfg(test)]
mod tests {
    use super::*;

    fn text(oid: u32, raw: &[u8]) -> String {
        let mut s = String::new();
        assert!(to_text(oid, raw, &mut s).unwrap());
        s
    }

    fn numeric(ndigits: &[i16], weight: i16, sign: u16, dscale: i16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(ndigits.len() as i16).to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&sign.to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in ndigits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numerics() {
        assert_eq!(text(oid::NUMERIC, &numeric(&[1, 2345], 1, 0, 0)), "12345");
        assert_eq!(text(oid::NUMERIC, &numeric(&[12, 3400], 0, 0x4000, 2)), "-12.34");
        assert_eq!(text(oid::NUMERIC, &numeric(&[5], -1, 0, 4)), "0.0005");
        assert_eq!(text(oid::NUMERIC, &numeric(&[], 0, 0, 3)), "0.000");
        assert_eq!(text(oid::NUMERIC, &numeric(&[1], 2, 0, 0)), "100000000");
        assert_eq!(text(oid::NUMERIC, &numeric(&[], 0, 0xC000, 0)), "NaN");
        let mut s = String::new();
        assert!(to_text(oid::NUMERIC, &[0, 1], &mut s).is_err());
    }

    #[test]
    fn dates_times_intervals() {
        assert_eq!(text(oid::DATE, &0i32.to_be_bytes()), "2000-01-01");
        assert_eq!(text(oid::DATE, &(-10957i32).to_be_bytes()), "1970-01-01");
        assert_eq!(text(oid::DATE, &8825i32.to_be_bytes()), "2024-02-29");
        assert_eq!(text(oid::TIMESTAMP, &(86_400_000_000i64 + 3_723_500_000).to_be_bytes()), "2000-01-02 01:02:03.5");
        assert_eq!(text(oid::TIMESTAMPTZ, &(-1i64).to_be_bytes()), "1999-12-31 23:59:59.999999+00");
        assert_eq!(text(oid::TIME, &45_296_000_001i64.to_be_bytes()), "12:34:56.000001");
        let iv = |us: i64, d: i32, m: i32| {
            let mut v = us.to_be_bytes().to_vec();
            v.extend_from_slice(&d.to_be_bytes());
            v.extend_from_slice(&m.to_be_bytes());
            text(oid::INTERVAL, &v)
        };
        assert_eq!(iv(0, 0, 0), "00:00:00");
        assert_eq!(iv(14_706_789_000, 3, 14), "1 year 2 mons 3 days 04:05:06.789");
        assert_eq!(iv(7_380_000_000, -1, 0), "-1 days +02:03:00");
        assert_eq!(iv(-1_000_000, 0, 1), "1 mon -00:00:01");
        assert_eq!(iv(0, 1, -1), "-1 mons +1 day");
        let mut out = Vec::new();
        encode(oid::TIMESTAMPTZ, Encoding::TimeMs, &0i64.to_be_bytes(), &mut out).unwrap();
        assert_eq!(f64::from_le_bytes(out[..8].try_into().unwrap()), 946_684_800_000.0);
        out.clear();
        encode(oid::DATE, Encoding::TimeMs, &i32::MAX.to_be_bytes(), &mut out).unwrap();
        assert!(f64::from_le_bytes(out[..8].try_into().unwrap()).is_nan());
    }

    #[test]
    fn scalars() {
        assert_eq!(
            text(oid::UUID, &[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8]),
            "12345678-9abc-def0-0102-030405060708"
        );
        assert_eq!(text(oid::INT8, &(-9_007_199_254_740_993i64).to_be_bytes()), "-9007199254740993");
        assert_eq!(text(oid::BYTEA, &[0xde, 0xad]), "\\xdead");
        assert_eq!(text(oid::MONEY, &(-12_345_678_i64).to_be_bytes()), "-$123,456.78");
        assert_eq!(text(oid::INET, &[2, 32, 0, 4, 10, 0, 0, 1]), "10.0.0.1");
        assert_eq!(text(oid::CIDR, &[2, 8, 1, 4, 10, 0, 0, 0]), "10.0.0.0/8");
        let mut out = Vec::new();
        encode(oid::FLOAT4, Encoding::F64, &1.1f32.to_be_bytes(), &mut out).unwrap();
        assert_eq!(f64::from_le_bytes(out[..8].try_into().unwrap()), 1.1);
        assert!(encode(oid::INT4, Encoding::F64, &[1, 2], &mut out).is_err());
        // int2/int4 travel as i32 (JS reads a small integer).
        assert_eq!(encoding_for(oid::INT4, false), Encoding::I32);
        assert_eq!(encoding_for(oid::OID, false), Encoding::F64);
        for (ty, raw, want) in
            [(oid::INT2, (-2i16).to_be_bytes().to_vec(), -2i32), (oid::INT4, i32::MIN.to_be_bytes().to_vec(), i32::MIN)]
        {
            let mut out = Vec::new();
            encode(ty, Encoding::I32, &raw, &mut out).unwrap();
            assert_eq!(out, want.to_le_bytes());
        }
        assert!(encode(oid::INT4, Encoding::I32, &[1, 2, 3], &mut out).is_err());
        assert!(encode(oid::FLOAT8, Encoding::I32, &1f64.to_be_bytes(), &mut out).is_err());
    }

    #[test]
    fn arrays() {
        // int4[] {1,NULL,3}
        let mut v = Vec::new();
        for x in [1i32, 1, 23, 3, 1] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        for e in [Some(1i32), None, Some(3)] {
            match e {
                Some(x) => {
                    v.extend_from_slice(&4i32.to_be_bytes());
                    v.extend_from_slice(&x.to_be_bytes());
                }
                None => v.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        assert_eq!(text(1007, &v), "{1,NULL,3}");
        // text[][] {{"a b",NULL},{"",x}}
        let mut v = Vec::new();
        for x in [2i32, 1, 25, 2, 1, 2, 1] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        for e in [Some("a b"), Some("NULL"), Some(""), Some("x\"y")] {
            let e = e.unwrap();
            v.extend_from_slice(&(e.len() as i32).to_be_bytes());
            v.extend_from_slice(e.as_bytes());
        }
        assert_eq!(text(1009, &v), r#"{{"a b","NULL"},{"","x\"y"}}"#);
        assert_eq!(text(1009, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25]), "{}");
    }

    fn unhex(h: &str) -> Vec<u8> {
        (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
    }

    /// (type OID, the bytes PostgreSQL 15's send function gives, the text its output function gives).
    const SAMPLES: &[(u32, &str, &str)] = &[
        (829, "08002b010203", "08:00:2b:01:02:03"), // macaddr
        (774, "08002b0102030405", "08:00:2b:01:02:03:04:05"), // macaddr8
        (1560, "00000003a0", "101"), // bit
        (1562, "0000000ab0c0", "1011000011"), // varbit
        (1562, "00000000", ""), // varbit0
        (600, "3ff8000000000000c000000000000000", "(1.5,-2)"), // point
        (600, "4415af1d78b58c403ee4f8b588e368f1", "(1e+20,1e-05)"), // pointbig
        (628, "3ff000000000000040000000000000004008000000000000", "{1,2,3}"), // line
        (601, "3ff0000000000000400000000000000040080000000000004010000000000000", "[(1,2),(3,4)]"), // lseg
        (603, "400800000000000040100000000000003ff00000000000004000000000000000", "(3,4),(1,2)"), // box
        (602, "00000000023ff0000000000000400000000000000040080000000000004010000000000000", "[(1,2),(3,4)]"), // pathopen
        (602, "01000000033ff000000000000040000000000000004008000000000000401000000000000040140000000000004018000000000000", "((1,2),(3,4),(5,6))"), // pathclosed
        (604, "00000003000000000000000000000000000000003ff00000000000003ff00000000000003ff00000000000000000000000000000", "((0,0),(1,1),(1,0))"), // polygon
        (718, "3ff00000000000004000000000000000400a000000000000", "<(1,2),3.25>"), // circle
        (3614, "00000002610000010001620000010002", "'a':1 'b':2"), // tsv
        (3614, "0000000461206200000100026261636b5c736c61736800000069742773000004c0018003400500076e6f706f73000000", "'a b':2 'back\\\\slash' 'it''s':1A,3B,5C,7 'nopos'"), // tsvw
        (3614, "00000000", ""), // tsvempty
        (2249, "00000003000000170000000400000001000002c100000003612062000002c1ffffffff", r#"(1,"a b",)"#), // record
        (2249, "00000007000002c100000000000002c1000000057822795c7a000002c100000003287029000002c100000003632c64000003ef00000024000000010000000000000017000000020000000100000004000000010000000400000002000002bd000000083ff8000000000000000002c10000000171", r#"("","x""y\\z","(p)","c,d","{1,2}",1.5,q)"#), // record2
        (2249, "00000002000008c90000001b00000002000000170000000400000001000002c10000000361206200000258000000103ff00000000000004000000000000000", r#"("(1,""a b"")","(1,2)")"#), // recordnest
        (2205, "000004eb", "1259"), // regclass
        (2205, "00000000", "-"), // regclass0
        (1020, "00000001000000000000025b0000000200000001000000203ff00000000000003ff000000000000000000000000000000000000000000000000000204008000000000000400800000000000040000000000000004000000000000000", "{(1,1),(0,0);(3,3),(2,2)}"), // boxarr
        (1009, "000000010000000000000019000000030000000100000003613b6200000003760b7400000003632064", "{a;b,\"v\u{b}t\",\"c d\"}"), // textarr
        (1017, "0000000100000001000002580000000200000001000000103ff00000000000004000000000000000ffffffff", r#"{"(1,2)",NULL}"#), // pointarr
        (3904, "0200000004000000010000000400000005", "[1,5)"), // int4range
        (3904, "080000000400000005", "(,5)"), // int4rangeinf
        (3904, "01", "empty"), // int4rangeempty
        (3908, "06000000080002b0d5d4e94000000000080002b0ec8515f340", r#"["2024-01-01 00:00:00","2024-01-02 03:04:05"]"#), // tsrange
        (3906, "120000000c000200000000000100011388", "[1.5,)"), // numrange
        (4535, "000000020000001102000000040000223e00000004000022400000001102000000040000225d000000040000225f", "{[2024-01-01,2024-01-03),[2024-02-01,2024-02-03)}"), // datemulti
        (4451, "00000000", "{}"), // emptymulti
        (27, "000000030007", "(3,7)"), // tid
        (28, "ee6b2800", "4000000000"), // xid
        (5069, "00000002dfdc1c35", "12345678901"), // xid8
        (3220, "00000016b374d848", "16/B374D848"), // lsn
        (22, "0000000100000000000000150000000300000000000000020001000000020002000000020003", "1 2 3"), // int2vector
        (30, "00000001000000000000001a000000020000000000000004000000170000000400000019", "23 25"), // oidvector
        (30, "00000001000000000000001a0000000000000000", ""), // oidvector0
        (4072, "01242e2261225b2a5d3f2840203e203129", r#"$."a"[*]?(@ > 1)"#), // jsonpath
        (5038, "00000003000000000000000a0000000000000014000000000000000a000000000000000e000000000000000f", "10:20:10,14,15"), // snapshot
        (1022, "0000000100000000000002bd0000000700000001000000084415af1d78b58c40000000083e7ad7f29abcaf48000000083fb999999999999a000000080000000000000000000000087ff8000000000000000000087ff00000000000000000000842dc12218377de40", "{1e+20,1e-07,0.1,0,NaN,Infinity,123456789012345}"), // f8arr
        (1021, "0000000100000000000002bc000000060000000100000004497424000000000447f12000000000043f8ccccd000000047f7fffff000000043727c5ac0000000438d1b717", "{1e+06,123456,1.1,3.4028235e+38,1e-05,0.0001}"), // f4arr
        (2287, "0000000100000000000008c900000002000000010000001900000002000000170000000400000001000002c100000001610000001800000002000000170000000400000002000002c1ffffffff", r#"{"(1,a)","(2,)"}"#), // recarr
        // Enum array (element OID 16389, unknown here) and a named composite holding an enum and a text[].
        (16388, "0000000100000001000040050000000300000001000000037361640000000a76657279206861707079ffffffff", r#"{sad,"very happy",NULL}"#),
        (16397, "0000000300000017000000040000000100004005000000026f6b000003f10000001b000000010000000000000019000000010000000100000003782079", r#"(1,ok,"{""x y""}")"#),
        (16396, "00000001000000000000400d0000000100000001000000220000000300000017000000040000000100004005000000026f6b000003f1ffffffff", r#"{"(1,ok,)"}"#),
    ];

    #[test]
    fn postgres_send_and_output() {
        for (oid, hex, expected) in SAMPLES {
            let raw = unhex(hex);
            let mut out = Vec::new();
            encode(*oid, encoding_for(*oid, false), &raw, &mut out).unwrap_or_else(|e| panic!("{oid} {hex}: {e:?}"));
            assert_eq!(std::str::from_utf8(&out).unwrap(), *expected, "type {oid}, {hex}");
        }
    }

    #[test]
    fn floats_as_postgres_prints_them() {
        let f8 = |x: f64| {
            let mut s = String::new();
            write_float(&mut s, x);
            s
        };
        let f4 = |x: f32| {
            let mut s = String::new();
            write_float4(&mut s, x);
            s
        };
        assert_eq!(f8(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(f8(1e15), "1e+15");
        assert_eq!(f8(1e14), "100000000000000");
        assert_eq!(f8(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(f8(0.0001), "0.0001");
        assert_eq!(f8(0.00001), "1e-05");
        assert_eq!(f8(-1.5e-300), "-1.5e-300");
        assert_eq!(f8(5e-324), "5e-324");
        assert_eq!(f8(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_eq!(f8(-0.0), "-0");
        assert_eq!(f8(0.0), "0");
        assert_eq!(f8(-2.0), "-2");
        assert_eq!(f8(f64::NAN), "NaN");
        assert_eq!(f8(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f4(1e6), "1e+06");
        assert_eq!(f4(123456.0), "123456");
        assert_eq!(f4(1234567.0), "1.234567e+06");
        assert_eq!(f4(1.1), "1.1");
        assert_eq!(f4(3.4028235e38), "3.4028235e+38");
    }

    #[test]
    fn unknown_types() {
        let text = |oid: u32, raw: &[u8]| {
            let mut out = Vec::new();
            encode(oid, Encoding::Text, raw, &mut out).map(|_| String::from_utf8(out).unwrap())
        };
        // An enum (or citext) value is its label.
        assert_eq!(text(99999, b"very happy").unwrap(), "very happy");
        // Not UTF-8, or holding a NUL without being an array or a record: no text form.
        let no_text = Err(DecodeError("type 99999 has no text conversion and its binary value is not UTF-8".into()));
        assert_eq!(text(99999, &[0xff, 0xfe]), no_text);
        assert_eq!(text(99999, &[8, 0, 0x2b, 1, 2, 3]), no_text);
        assert_eq!(text(99999, &[0, 0, 0, 1, 0, 0]), no_text);
        // An empty array of an unknown element type.
        assert_eq!(text(99999, &unhex("000000000000000000004005")).unwrap(), "{}");
        // A record nested 1000 deep is refused, not a stack overflow.
        let mut v = unhex("00000000");
        for _ in 0..1000 {
            let mut outer = unhex("00000001000008c9");
            outer.extend_from_slice(&(v.len() as i32).to_be_bytes());
            outer.extend_from_slice(&v);
            v = outer;
        }
        assert!(text(oid::RECORD, &v).is_err());
        // Malformed known types are errors.
        for (oid, hex) in [
            (829, "08002b0102"),
            (1560, "00000009a0"),
            (1560, "ffffffffa0"),
            (600, "3ff8"),
            (602, "02000000ff"),
            (604, "7fffffff"),
            (3614, "0000000161"),
            (2249, "00000001000000170000000400"),
            (3904, "0200000004000000010000000400"),
            (1007, "000000010000000200000017"),
        ] {
            assert!(text(oid, &unhex(hex)).is_err(), "{oid} {hex}");
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut oids = vec![
            16, 17, 20, 21, 23, 25, 26, 114, 700, 701, 790, 650, 869, 1082, 1083, 1114, 1184, 1186, 1266, 1700, 2950,
            3802, 1007, 1009, 1231, 1185, 99999,
        ];
        // The types added with their text forms: macaddr, bit, geometric, tsvector, record, reg*, tid/xid,
        // lsn, vectors, jsonpath, snapshots, ranges, multiranges, and their arrays.
        oids.extend([
            829, 774, 1560, 1562, 600, 601, 602, 603, 604, 628, 718, 3614, 2249, 2205, 24, 27, 28, 29, 5069, 3220, 22,
            30, 4072, 5038, 2970, 3904, 3906, 3908, 3912, 4451, 4535, 4536,
        ]);
        oids.extend([1040, 1561, 1017, 1020, 1019, 3643, 2287, 2210, 1006, 3905, 6150]);
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let raw: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let o = oids[(next() % oids.len() as u64) as usize];
            let mut out = Vec::new();
            for text in [false, true] {
                let _ = encode(o, encoding_for(o, text), &raw, &mut out);
            }
        }
        // Valid values with a few bytes changed, or cut short, reach the deeper parsing paths.
        for _ in 0..50_000 {
            let (o, hex, _) = SAMPLES[(next() % SAMPLES.len() as u64) as usize];
            let mut raw = unhex(hex);
            for _ in 0..1 + next() % 3 {
                if !raw.is_empty() {
                    let at = (next() % raw.len() as u64) as usize;
                    raw[at] =
                        if next() % 2 == 0 { next() as u8 } else { [0, 1, 0x7f, 0x80, 0xff][(next() % 5) as usize] };
                }
            }
            if next() % 4 == 0 {
                raw.truncate((next() % (raw.len() as u64 + 1)) as usize);
            }
            let mut out = Vec::new();
            let _ = encode(o, Encoding::Text, &raw, &mut out);
        }
    }
}
