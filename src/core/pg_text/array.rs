//! Arrays (`{1,NULL,"a b"}`, `[0:1]={...}`) and the two vector types printed as space-separated
//! lists (int2vector, oidvector).

use std::fmt::Write;

use super::catalogue::oid::BOX;
use super::quote::push_array_element;
use super::read::{bad, be_i32, slice, R};
use super::text::{any_text, nested};

/// A binary array: its dimensions (length, lower bound), element type and elements (`None`: NULL).
struct BinaryArray<'a> {
    dims: Vec<(usize, i32)>,
    elem: u32,
    items: Vec<Option<&'a [u8]>>,
}

/// Whether `raw` starts as a binary array does (a dimension count, then flags 0 or 1), for values of
/// a type the catalogue does not know.
pub(super) fn looks_like_array(raw: &[u8]) -> bool {
    matches!(be_i32(raw, 4), Ok(0 | 1))
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
pub(super) fn array_text(raw: &[u8], s: &mut String, depth: u32) -> R<()> {
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
    let delim = if a.elem == BOX { ';' } else { ',' };
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
pub(super) fn vector_text(raw: &[u8], s: &mut String, depth: u32) -> R<()> {
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

/// One `{...}` level of the literal; `idx` walks `elements` in row-major order.
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
                Some(e) => push_array_element(s, e, delim),
            }
            *idx += 1;
        }
    }
    s.push('}');
}

#[cfg(test)]
mod tests {
    use super::super::tests::text;

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
}
