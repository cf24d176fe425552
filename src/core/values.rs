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
}

/// The encoding of a column of type `oid`; `text` forces the text form (`.raw()`, custom parsers).
pub fn encoding_for(type_oid: u32, text: bool) -> Encoding {
    use oid::*;
    match type_oid {
        _ if text => Encoding::Text,
        BYTEA => Encoding::Bytes,
        BOOL => Encoding::Bool,
        INT2 | INT4 | OID | FLOAT4 | FLOAT8 => Encoding::F64,
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
        Encoding::F64 => {
            let x = match type_oid {
                INT2 => i16::from_be_bytes(exact(raw, "int2")?) as f64,
                INT4 => i32::from_be_bytes(exact(raw, "int4")?) as f64,
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
                    if d == i32::MAX || d == i32::MIN { f64::NAN } else { (d as f64 + 10957.0) * 86_400_000.0 }
                }
                _ => {
                    let us = i64::from_be_bytes(exact(raw, "timestamptz")?);
                    if us == i64::MAX || us == i64::MIN { f64::NAN } else { (us.div_euclid(1000) + 946_684_800_000) as f64 }
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
                    if to_text(type_oid, raw, &mut s)? {
                        out.extend_from_slice(s.as_bytes());
                    } else if std::str::from_utf8(raw).is_ok() {
                        // Unknown types whose binary form is text (enums, citext, domains over text).
                        out.extend_from_slice(raw);
                    } else {
                        return Err(DecodeError(format!("type {type_oid} has no text conversion and its binary value is not UTF-8")));
                    }
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
    use oid::*;
    match type_oid {
        TEXT | VARCHAR | BPCHAR | NAME | UNKNOWN | CHAR | JSON => s.push_str(std::str::from_utf8(raw).map_err(|_| bad("text"))?),
        JSONB => match raw.split_first() {
            Some((1, rest)) => s.push_str(std::str::from_utf8(rest).map_err(|_| bad("jsonb"))?),
            _ => return Err(bad("jsonb")),
        },
        BOOL => s.push(if exact::<1>(raw, "bool")?[0] != 0 { 't' } else { 'f' }),
        INT2 => write_num(s, i16::from_be_bytes(exact(raw, "int2")?)),
        INT4 => write_num(s, i32::from_be_bytes(exact(raw, "int4")?)),
        INT8 => write_num(s, i64::from_be_bytes(exact(raw, "int8")?)),
        OID => write_num(s, u32::from_be_bytes(exact(raw, "oid")?)),
        FLOAT4 => write_float(s, shortest_f32(f32::from_be_bytes(exact(raw, "float4")?))),
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
        t if array_element(t).is_some() => array_text(raw, s)?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn write_num<T: std::fmt::Display>(s: &mut String, x: T) {
    let _ = write!(s, "{x}");
}

fn write_float(s: &mut String, x: f64) {
    if x.is_nan() {
        s.push_str("NaN");
    } else if x.is_infinite() {
        s.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let _ = write!(s, "{x}");
    }
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
        let _ = write!(s, "{}{}{} {}{}", if is_zero { "" } else { " " }, if is_before && value > 0 { "+" } else { "" }, value, unit, if value != 1 { "s" } else { "" });
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
        let _ = write!(s, "{}{}{:02}:{:02}:{:02}", if is_zero { "" } else { " " }, if minus { "-" } else if is_before { "+" } else { "" }, hour.abs(), min.abs(), sec.abs());
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
        1007 => INT4,
        1009 => TEXT,
        1028 => OID,
        199 => JSON,
        1021 => FLOAT4,
        1022 => FLOAT8,
        791 => MONEY,
        1041 => INET,
        651 => CIDR,
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
        _ => return None,
    })
}

/// Binary array → PostgreSQL's array literal (`{1,NULL,"a b"}`, `[0:1]={...}` for other bounds).
fn array_text(raw: &[u8], s: &mut String) -> R<()> {
    let ndim = be_i32(raw, 0)?;
    let elem = be_i32(raw, 8)? as u32;
    if !(0..=6).contains(&ndim) {
        return Err(bad("array"));
    }
    if ndim == 0 {
        s.push_str("{}");
        return Ok(());
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
    if dims.iter().any(|(_, lb)| *lb != 1) {
        for (len, lb) in &dims {
            let _ = write!(s, "[{}:{}]", lb, *lb as i64 + *len as i64 - 1);
        }
        s.push('=');
    }
    let total: usize = dims.iter().try_fold(1usize, |acc, (l, _)| acc.checked_mul(*l)).ok_or_else(|| bad("array"))?;
    if total > raw.len() {
        return Err(bad("array"));
    }
    let delim = if elem == 1020 { ';' } else { ',' };
    let mut elements = Vec::with_capacity(total);
    for _ in 0..total {
        let len = be_i32(raw, pos)?;
        pos += 4;
        if len < 0 {
            elements.push(None);
            continue;
        }
        let v = raw.get(pos..pos + len as usize).ok_or_else(|| bad("array"))?;
        pos += len as usize;
        let mut t = String::new();
        if !to_text(elem, v, &mut t)? {
            t = std::str::from_utf8(v).map_err(|_| bad("array element"))?.to_string();
        }
        elements.push(Some(t));
    }
    let mut idx = 0;
    write_array_level(s, &dims, 0, &elements, &mut idx, delim);
    Ok(())
}

fn write_array_level(s: &mut String, dims: &[(usize, i32)], level: usize, elements: &[Option<String>], idx: &mut usize, delim: char) {
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
                    let quote = e.is_empty() || e.eq_ignore_ascii_case("NULL") || e.chars().any(|c| matches!(c, '"' | '\\' | '{' | '}' | ',' | ';') || c.is_ascii_whitespace());
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
        assert_eq!(text(oid::UUID, &[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8]), "12345678-9abc-def0-0102-030405060708");
        assert_eq!(text(oid::INT8, &(-9_007_199_254_740_993i64).to_be_bytes()), "-9007199254740993");
        assert_eq!(text(oid::BYTEA, &[0xde, 0xad]), "\\xdead");
        assert_eq!(text(oid::MONEY, &(-123_456_78i64).to_be_bytes()), "-$123,456.78");
        assert_eq!(text(oid::INET, &[2, 32, 0, 4, 10, 0, 0, 1]), "10.0.0.1");
        assert_eq!(text(oid::CIDR, &[2, 8, 1, 4, 10, 0, 0, 0]), "10.0.0.0/8");
        let mut out = Vec::new();
        encode(oid::FLOAT4, Encoding::F64, &1.1f32.to_be_bytes(), &mut out).unwrap();
        assert_eq!(f64::from_le_bytes(out[..8].try_into().unwrap()), 1.1);
        assert!(encode(oid::INT4, Encoding::F64, &[1, 2], &mut out).is_err());
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

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let oids = [16, 17, 20, 21, 23, 25, 26, 114, 700, 701, 790, 650, 869, 1082, 1083, 1114, 1184, 1186, 1266, 1700, 2950, 3802, 1007, 1009, 1231, 1185, 99999];
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let raw: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let o = oids[(next() % oids.len() as u64) as usize];
            let mut out = Vec::new();
            for text in [false, true] {
                let _ = encode(o, encoding_for(o, text), &raw, &mut out);
            }
        }
    }
}
