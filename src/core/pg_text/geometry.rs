//! Geometric types: point, line, lseg, box, path, polygon, circle. All are float8 coordinates,
//! printed as float8 is (`(1.5,-2)`, `<(1,2),3.25>`).

use super::catalogue::oid::{BOX, CIRCLE, LINE, LSEG, PATH, POINT, POLYGON};
use super::numeric::write_float;
use super::read::{bad, be_f64, be_i32, exact, R};

/// The text of a geometric value; `Ok(false)` when `type_oid` is not a geometric type.
pub(super) fn geometry_text(type_oid: u32, raw: &[u8], s: &mut String) -> R<bool> {
    match type_oid {
        POINT => {
            exact::<16>(raw, "point")?;
            write_point(s, raw, 0)?;
        }
        LINE => {
            // The coefficients of Ax + By + C = 0.
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
        _ => return Ok(false),
    }
    Ok(true)
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
