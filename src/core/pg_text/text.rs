//! PostgreSQL's text output of a binary value, by type OID: the dispatch to the family modules,
//! and the fallback for types the catalogue does not know.

use super::array::{array_text, looks_like_array, vector_text};
use super::bytes::{bit_text, bytea_text, uuid_text};
use super::catalogue::{array_element, by_oid, oid::*, Kind};
use super::datetime::{date_text, interval_text, time_text, timestamp_text, timetz_text};
use super::geometry::geometry_text;
use super::network::{inet_text, write_hex_colons};
use super::numeric::{money_text, numeric_text, write_float, write_float4, write_num};
use super::range::{multirange_text, range_text};
use super::read::{bad, exact, utf8, R};
use super::record::record_text;
use super::system::{pg_lsn_text, reg_text, snapshot_text, tid_text, xid8_text, xid_text};
use super::text_search::tsvector_text;
use super::DecodeError;

/// How deep arrays, records and ranges may nest inside each other (the server's bytes decide).
const MAX_DEPTH: u32 = 64;

/// Refuses a value nested [`MAX_DEPTH`] deep, so hostile bytes cannot overflow the stack.
pub(super) fn nested(depth: u32) -> R<()> {
    if depth >= MAX_DEPTH {
        return Err(DecodeError("a value from the server is nested too deeply".into()));
    }
    Ok(())
}

/// The text of a value whose binary form is a version byte (1) and then its text (jsonb, jsonpath).
fn versioned<'a>(raw: &'a [u8], what: &str) -> R<&'a str> {
    match raw.split_first() {
        Some((1, rest)) => utf8(rest, what),
        _ => Err(bad(what)),
    }
}

/// The text of a value of a type known here, at nesting depth `depth`; `Ok(false)` for other types.
pub(super) fn known_text(type_oid: u32, raw: &[u8], s: &mut String, depth: u32) -> R<bool> {
    match type_oid {
        TEXT | VARCHAR | BPCHAR | NAME | UNKNOWN | CHAR | JSON => s.push_str(utf8(raw, "text")?),
        JSONB => s.push_str(versioned(raw, "jsonb")?),
        JSONPATH => s.push_str(versioned(raw, "jsonpath")?),
        BOOL => s.push(if exact::<1>(raw, "bool")?[0] != 0 { 't' } else { 'f' }),
        INT2 => write_num(s, i16::from_be_bytes(exact(raw, "int2")?)),
        INT4 => write_num(s, i32::from_be_bytes(exact(raw, "int4")?)),
        INT8 => write_num(s, i64::from_be_bytes(exact(raw, "int8")?)),
        OID => write_num(s, u32::from_be_bytes(exact(raw, "oid")?)),
        FLOAT4 => write_float4(s, f32::from_be_bytes(exact(raw, "float4")?)),
        FLOAT8 => write_float(s, f64::from_be_bytes(exact(raw, "float8")?)),
        NUMERIC => numeric_text(raw, s)?,
        MONEY => money_text(raw, s)?,
        BYTEA => bytea_text(raw, s),
        UUID => uuid_text(raw, s)?,
        BIT | VARBIT => bit_text(raw, s)?,
        DATE => date_text(raw, s)?,
        TIMESTAMP => timestamp_text(raw, false, s)?,
        TIMESTAMPTZ => timestamp_text(raw, true, s)?,
        TIME => time_text(raw, s)?,
        TIMETZ => timetz_text(raw, s)?,
        INTERVAL => interval_text(raw, s)?,
        INET | CIDR => inet_text(raw, type_oid == CIDR, s)?,
        MACADDR => write_hex_colons(s, &exact::<6>(raw, "macaddr")?),
        MACADDR8 => write_hex_colons(s, &exact::<8>(raw, "macaddr8")?),
        POINT | LINE | LSEG | BOX | PATH | POLYGON | CIRCLE => return geometry_text(type_oid, raw, s),
        TSVECTOR => tsvector_text(raw, s)?,
        REGPROC | REGPROCEDURE | REGOPER | REGOPERATOR | REGCLASS | REGTYPE | REGCONFIG | REGDICTIONARY
        | REGNAMESPACE | REGROLE | REGCOLLATION => reg_text(raw, s)?,
        XID | CID => xid_text(raw, s)?,
        XID8 => xid8_text(raw, s)?,
        TID => tid_text(raw, s)?,
        PG_LSN => pg_lsn_text(raw, s)?,
        TXID_SNAPSHOT | PG_SNAPSHOT => snapshot_text(raw, s)?,
        INT2VECTOR | OIDVECTOR => vector_text(raw, s, depth)?,
        RECORD => record_text(raw, s, depth)?,
        _ => match by_oid(type_oid).map(|t| t.kind) {
            Some(Kind::Range { subtype }) => range_text(raw, subtype, s, depth)?,
            Some(Kind::Multirange { range }) => multirange_text(raw, range, s, depth)?,
            // The array's element type is read from the value itself.
            _ if array_element(type_oid).is_some() => array_text(raw, s, depth)?,
            _ => return Ok(false),
        },
    }
    Ok(true)
}

/// The text form of any value: [`known_text`], else what an unknown type's binary value shows.
pub(super) fn any_text(type_oid: u32, raw: &[u8], s: &mut String, depth: u32) -> R<()> {
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
        let r = if looks_like_array(raw) { array_text(raw, s, depth) } else { record_text(raw, s, depth) };
        if r.is_ok() {
            return Ok(());
        }
        s.truncate(mark);
    }
    Err(DecodeError(format!("type {type_oid} has no text conversion and its binary value is not UTF-8")))
}
