//! Ranges and multiranges of the built-in range types: `[1,5)`, `(,5]`, `empty`, `{[1,3),[5,7)}`.

use super::catalogue::range_subtype;
use super::quote::push_field;
use super::read::{bad, be_i32, slice, R};
use super::text::{any_text, nested};

/// A range: a flags byte, then the bounds it has (int32 length and value each).
pub(super) fn range_text(raw: &[u8], subtype: u32, s: &mut String, depth: u32) -> R<()> {
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

/// A multirange of the range type `range_oid`: an int32 count, then each range with an int32 length.
pub(super) fn multirange_text(raw: &[u8], range_oid: u32, s: &mut String, depth: u32) -> R<()> {
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
