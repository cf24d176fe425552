//! PostgreSQL binary values → what the JS side reads, with the text forms PostgreSQL itself prints.
//!
//! tokio-postgres reads results in binary. postgres.js users expect text-derived values (int8,
//! numeric, uuid, interval... as strings; dates as `Date`s), so each column gets an [`Encoding`]
//! ([`encoding_for`]): numbers and instants travel as f64 or i32 (no string is built in JS),
//! everything else as PostgreSQL's text output ([`binary_to_text`]), which the JS side parses exactly
//! as postgres.js does. [`binary_to_js`] writes one value in its column's encoding. Nothing here
//! panics on malformed input: a value that does not decode becomes an error for its query.
//!
//! [`catalogue`] is the one list of built-in types (`js/catalogue.js` is generated from it); the
//! text renderers are split by family (numeric, datetime, geometry, ...), dispatched in `text`.

mod array;
mod bytes;
pub mod catalogue;
mod datetime;
mod geometry;
mod network;
mod numeric;
mod quote;
mod range;
mod read;
mod record;
mod system;
mod text;
mod text_search;

#[cfg(test)]
mod tests;

use catalogue::oid::*;
use read::{bad, exact};

/// How one column's values are written for the JS decoder. The numbers are part of the JS ↔ core
/// protocol (`core::protocol` lists them for `js/protocol.js` and decodes them): never renumber them.
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

/// A binary value from the server that does not decode as its type; the message is the query's error.
#[derive(Debug, PartialEq)]
pub struct DecodeError(pub String);

/// The encoding of a column of type `type_oid`; `text` forces the text form (`.raw()`, custom parsers).
pub fn encoding_for(type_oid: u32, text: bool) -> Encoding {
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

/// Appends the binary value `raw` of type `type_oid` to `out` as the JS side reads it in `enc`:
/// the bytes as they are for `Bytes`, a number for `F64`/`I32`/`Bool`, an instant for `TimeMs`, and
/// PostgreSQL's text output for `Text`. `enc` must suit the type (see [`encoding_for`]): a numeric
/// encoding of a non-numeric type is an error.
pub fn binary_to_js(type_oid: u32, enc: Encoding, raw: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
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
                FLOAT4 => numeric::shortest_f32(f32::from_be_bytes(exact(raw, "float4")?)),
                FLOAT8 => f64::from_be_bytes(exact(raw, "float8")?),
                _ => return Err(bad("number")),
            };
            out.extend_from_slice(&x.to_le_bytes());
        }
        Encoding::TimeMs => {
            let ms = match type_oid {
                DATE => datetime::date_ms(raw)?,
                _ => datetime::timestamptz_ms(raw)?,
            };
            out.extend_from_slice(&ms.to_le_bytes());
        }
        Encoding::Text => match type_oid {
            // Text-like types are their text already.
            TEXT | VARCHAR | BPCHAR | NAME | UNKNOWN | CHAR | JSON => out.extend_from_slice(raw),
            JSONB => match raw.split_first() {
                Some((1, rest)) => out.extend_from_slice(rest),
                _ => return Err(bad("jsonb")),
            },
            _ => {
                let mut s = String::new();
                text::any_text(type_oid, raw, &mut s, 0)?;
                out.extend_from_slice(s.as_bytes());
            }
        },
    }
    Ok(())
}

/// Appends PostgreSQL's text output of the binary value `raw` of type `type_oid` to `s`; `Ok(false)`
/// (and nothing appended) when the type is not one rendered here. [`binary_to_js`] with
/// `Encoding::Text` also renders types not known here (enums, composites, their arrays).
pub fn binary_to_text(type_oid: u32, raw: &[u8], s: &mut String) -> Result<bool, DecodeError> {
    text::known_text(type_oid, raw, s, 0)
}
