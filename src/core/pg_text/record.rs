//! Composite values: anonymous records and named composite types, `(1,"a b",)`.

use super::quote::push_field;
use super::read::{bad, be_i32, slice, R};
use super::text::{any_text, nested};

/// An int32 field count, then per field its type OID and an int32 length (-1: NULL, printed as
/// nothing) with the value. Each field renders by its own type, so named composites need no lookup.
pub(super) fn record_text(raw: &[u8], s: &mut String, depth: u32) -> R<()> {
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
