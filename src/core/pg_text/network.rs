//! Network addresses: inet, cidr, macaddr, macaddr8.

use std::fmt::Write;

use super::read::{bad, R};

/// inet and cidr: family (2: IPv4, 3: IPv6), prefix bits, is-cidr flag, address length, address.
/// inet omits a full-length prefix (`10.0.0.1`); cidr always prints it (`10.0.0.0/8`).
pub(super) fn inet_text(raw: &[u8], cidr: bool, s: &mut String) -> R<()> {
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

/// macaddr and macaddr8: `08:00:2b:01:02:03`.
pub(super) fn write_hex_colons(s: &mut String, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02x}");
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalogue::oid;
    use super::super::tests::text;

    #[test]
    fn addresses() {
        assert_eq!(text(oid::INET, &[2, 32, 0, 4, 10, 0, 0, 1]), "10.0.0.1");
        assert_eq!(text(oid::CIDR, &[2, 8, 1, 4, 10, 0, 0, 0]), "10.0.0.0/8");
    }
}
