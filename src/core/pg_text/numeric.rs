//! Numbers: integers, float4/float8 as PostgreSQL prints them, numeric and money.

use std::fmt::Write;

use super::read::{bad, be_i16, exact, R};

pub(super) fn write_num<T: std::fmt::Display>(s: &mut String, x: T) {
    let _ = write!(s, "{x}");
}

/// float8out with extra_float_digits = 1: the shortest decimal that reads back as the same double.
pub(super) fn write_float(s: &mut String, x: f64) {
    if x.is_nan() {
        s.push_str("NaN");
    } else if x.is_infinite() {
        s.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        write_shortest(s, &format!("{x:e}"), 15);
    }
}

/// float4out with extra_float_digits = 1.
pub(super) fn write_float4(s: &mut String, x: f32) {
    if x.is_nan() {
        s.push_str("NaN");
    } else if x.is_infinite() {
        s.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        write_shortest(s, &format!("{x:e}"), 6);
    }
}

/// A float4 as the f64 JS reads: float4's text form is the shortest decimal that round-trips the
/// f32, and JS parses that text into the nearest double.
pub(super) fn shortest_f32(x: f32) -> f64 {
    if !x.is_finite() {
        return x as f64;
    }
    format!("{x}").parse::<f64>().unwrap_or(x as f64)
}

/// Lays out Rust's shortest round-trip exponent form (`-1.25e-7`) the way PostgreSQL's Ryu output does:
/// plain digits while the decimal exponent is in -4..`max_fixed` (`0.0001`, `100000000000000`),
/// otherwise `d.ddde±XX` with at least two exponent digits (`1e-05`, `1.5e+20`).
fn write_shortest(s: &mut String, e: &str, max_fixed: i32) {
    let (neg, e) = match e.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, e),
    };
    let (mantissa, exp) = e.split_once('e').unwrap_or((e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = if digits.is_empty() { "0" } else { digits.as_str() };
    if neg {
        s.push('-');
    }
    if exp < -4 || exp >= max_fixed {
        let (first, rest) = digits.split_at(1);
        s.push_str(first);
        if !rest.is_empty() {
            s.push('.');
            s.push_str(rest);
        }
        let _ = write!(s, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp < 0 {
        s.push_str("0.");
        for _ in 0..(-exp - 1) {
            s.push('0');
        }
        s.push_str(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            s.push_str(digits);
            for _ in digits.len()..int_len {
                s.push('0');
            }
        } else {
            let (int, frac) = digits.split_at(int_len);
            s.push_str(int);
            s.push('.');
            s.push_str(frac);
        }
    }
}

/// numeric: int16 digit count, weight (of the first base-10000 digit), sign, display scale, then
/// the base-10000 digits.
pub(super) fn numeric_text(raw: &[u8], s: &mut String) -> R<()> {
    let ndigits = be_i16(raw, 0)?;
    let weight = be_i16(raw, 2)? as i32;
    let sign = be_i16(raw, 4)? as u16;
    let dscale = be_i16(raw, 6)?;
    if ndigits < 0 || dscale < 0 || raw.len() != 8 + 2 * ndigits as usize {
        return Err(bad("numeric"));
    }
    match sign {
        0xC000 => {
            s.push_str("NaN");
            return Ok(());
        }
        0xD000 => {
            s.push_str("Infinity");
            return Ok(());
        }
        0xF000 => {
            s.push_str("-Infinity");
            return Ok(());
        }
        0x0000 | 0x4000 => {}
        _ => return Err(bad("numeric")),
    }
    let digits: Vec<i32> = (0..ndigits as usize).map(|i| be_i16(raw, 8 + 2 * i).map(i32::from)).collect::<R<_>>()?;
    if digits.iter().any(|d| !(0..10000).contains(d)) {
        return Err(bad("numeric"));
    }
    if sign == 0x4000 {
        s.push('-');
    }
    // Integer part: base-10000 digits at positions weight..=0.
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight {
            let d = digits.get(i as usize).copied().unwrap_or(0);
            if i == 0 {
                let _ = write!(s, "{d}");
            } else {
                let _ = write!(s, "{d:04}");
            }
        }
    }
    if dscale > 0 {
        s.push('.');
        let mut frac = String::new();
        let mut i = weight + 1;
        while (frac.len() as i32) < dscale as i32 {
            let d = if i < 0 { 0 } else { digits.get(i as usize).copied().unwrap_or(0) };
            let _ = write!(frac, "{d:04}");
            i += 1;
        }
        frac.truncate(dscale as usize);
        s.push_str(&frac);
    }
    Ok(())
}

/// money: int64 cents, printed in the `C` locale's format (`-$1,234.56`).
pub(super) fn money_text(raw: &[u8], s: &mut String) -> R<()> {
    let c = i64::from_be_bytes(exact(raw, "money")?);
    let neg = c < 0;
    let a = c.unsigned_abs();
    let whole = (a / 100).to_string();
    if neg {
        s.push('-');
    }
    s.push('$');
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            s.push(',');
        }
        s.push(ch);
    }
    let _ = write!(s, ".{:02}", a % 100);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::catalogue::oid;
    use super::super::tests::text;
    use super::*;

    fn numeric(ndigits: &[i16], weight: i16, sign: u16, dscale: i16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(ndigits.len() as i16).to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&sign.to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in ndigits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numerics() {
        assert_eq!(text(oid::NUMERIC, &numeric(&[1, 2345], 1, 0, 0)), "12345");
        assert_eq!(text(oid::NUMERIC, &numeric(&[12, 3400], 0, 0x4000, 2)), "-12.34");
        assert_eq!(text(oid::NUMERIC, &numeric(&[5], -1, 0, 4)), "0.0005");
        assert_eq!(text(oid::NUMERIC, &numeric(&[], 0, 0, 3)), "0.000");
        assert_eq!(text(oid::NUMERIC, &numeric(&[1], 2, 0, 0)), "100000000");
        assert_eq!(text(oid::NUMERIC, &numeric(&[], 0, 0xC000, 0)), "NaN");
        assert_eq!(text(oid::INT8, &(-9_007_199_254_740_993i64).to_be_bytes()), "-9007199254740993");
        assert_eq!(text(oid::MONEY, &(-12_345_678_i64).to_be_bytes()), "-$123,456.78");
        let mut s = String::new();
        assert!(super::super::binary_to_text(oid::NUMERIC, &[0, 1], &mut s).is_err());
    }

    #[test]
    fn floats_as_postgres_prints_them() {
        let f8 = |x: f64| {
            let mut s = String::new();
            write_float(&mut s, x);
            s
        };
        let f4 = |x: f32| {
            let mut s = String::new();
            write_float4(&mut s, x);
            s
        };
        assert_eq!(f8(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(f8(1e15), "1e+15");
        assert_eq!(f8(1e14), "100000000000000");
        assert_eq!(f8(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(f8(0.0001), "0.0001");
        assert_eq!(f8(0.00001), "1e-05");
        assert_eq!(f8(-1.5e-300), "-1.5e-300");
        assert_eq!(f8(5e-324), "5e-324");
        assert_eq!(f8(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_eq!(f8(-0.0), "-0");
        assert_eq!(f8(0.0), "0");
        assert_eq!(f8(-2.0), "-2");
        assert_eq!(f8(f64::NAN), "NaN");
        assert_eq!(f8(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f4(1e6), "1e+06");
        assert_eq!(f4(123456.0), "123456");
        assert_eq!(f4(1234567.0), "1.234567e+06");
        assert_eq!(f4(1.1), "1.1");
        assert_eq!(f4(3.4028235e38), "3.4028235e+38");
    }
}
