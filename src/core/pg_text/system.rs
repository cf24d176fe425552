//! System types: the reg* OID aliases, transaction and command ids, tid, pg_lsn and snapshots.

use std::fmt::Write;

use super::numeric::write_num;
use super::read::{bad, be_i16, be_i32, be_i64, exact, R};

/// regclass, regtype...: the binary form is the OID; the name needs a catalog lookup, so this is what
/// PostgreSQL prints for an OID it does not know (and `-` for 0).
pub(super) fn reg_text(raw: &[u8], s: &mut String) -> R<()> {
    match u32::from_be_bytes(exact(raw, "reg*")?) {
        0 => s.push('-'),
        o => write_num(s, o),
    }
    Ok(())
}

/// xid and cid: uint32.
pub(super) fn xid_text(raw: &[u8], s: &mut String) -> R<()> {
    write_num(s, u32::from_be_bytes(exact(raw, "xid")?));
    Ok(())
}

/// xid8: uint64.
pub(super) fn xid8_text(raw: &[u8], s: &mut String) -> R<()> {
    write_num(s, u64::from_be_bytes(exact(raw, "xid8")?));
    Ok(())
}

/// tid: uint32 block, uint16 offset: `(3,7)`.
pub(super) fn tid_text(raw: &[u8], s: &mut String) -> R<()> {
    exact::<6>(raw, "tid")?;
    let _ = write!(s, "({},{})", be_i32(raw, 0)? as u32, be_i16(raw, 4)? as u16);
    Ok(())
}

/// pg_lsn: uint64 printed as two hex halves, `16/B374D848`.
pub(super) fn pg_lsn_text(raw: &[u8], s: &mut String) -> R<()> {
    let x = u64::from_be_bytes(exact(raw, "pg_lsn")?);
    let _ = write!(s, "{:X}/{:X}", x >> 32, x & 0xFFFF_FFFF);
    Ok(())
}

/// txid_snapshot and pg_snapshot: an int32 count of in-progress ids, xmin, xmax, the ids: `10:20:10,14`.
pub(super) fn snapshot_text(raw: &[u8], s: &mut String) -> R<()> {
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
