//! Byte and bit strings: bytea (`\xdead`), uuid, bit and varbit.

use std::fmt::Write;

use super::read::{bad, be_i32, exact, R};

/// bytea in the default `bytea_output = hex`.
pub(super) fn bytea_text(raw: &[u8], s: &mut String) {
    s.push_str("\\x");
    for b in raw {
        let _ = write!(s, "{b:02x}");
    }
}

/// uuid: `12345678-9abc-def0-0102-030405060708`.
pub(super) fn uuid_text(raw: &[u8], s: &mut String) -> R<()> {
    for (i, x) in exact::<16>(raw, "uuid")?.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{x:02x}");
    }
    Ok(())
}

/// bit and varbit: an int32 bit count, then the bits from the most significant one.
pub(super) fn bit_text(raw: &[u8], s: &mut String) -> R<()> {
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

#[cfg(test)]
mod tests {
    use super::super::catalogue::oid;
    use super::super::tests::text;

    #[test]
    fn bytea_and_uuid() {
        assert_eq!(
            text(oid::UUID, &[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8]),
            "12345678-9abc-def0-0102-030405060708"
        );
        assert_eq!(text(oid::BYTEA, &[0xde, 0xad]), "\\xdead");
    }
}
