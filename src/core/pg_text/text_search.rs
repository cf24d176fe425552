//! Full-text search: tsvector. (tsquery has no renderer here; its values go through the fallback
//! for unknown types.)

use super::numeric::write_num;
use super::read::{bad, be_i16, be_i32, R};

/// tsvector: an int32 lexeme count; per lexeme its NUL-terminated text, an int16 position count and
/// the positions (weight in the top two bits: 3 = A ... 0 = D, which is not printed).
pub(super) fn tsvector_text(raw: &[u8], s: &mut String) -> R<()> {
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
