//! Dates and times: date, time, timetz, timestamp, timestamptz and interval as PostgreSQL prints them
//! with `DateStyle = ISO`, `TimeZone = UTC` and `IntervalStyle = postgres`, and date/timestamptz as
//! milliseconds since the Unix epoch for JS `Date`s.
//!
//! PostgreSQL counts days and microseconds from 2000-01-01; ±infinity are the extreme integers.

use std::fmt::Write;

use super::read::{bad, be_i32, be_i64, exact, R};

/// Days from 1970-01-01 to 2000-01-01.
const EPOCH_2000_DAYS: i64 = 10957;
const US_PER_DAY: i64 = 86_400_000_000;

/// date → ms since the Unix epoch (NaN for ±infinity).
pub(super) fn date_ms(raw: &[u8]) -> R<f64> {
    let d = i32::from_be_bytes(exact(raw, "date")?);
    Ok(if d == i32::MAX || d == i32::MIN { f64::NAN } else { (d as f64 + EPOCH_2000_DAYS as f64) * 86_400_000.0 })
}

/// timestamptz → ms since the Unix epoch, rounded down (NaN for ±infinity).
pub(super) fn timestamptz_ms(raw: &[u8]) -> R<f64> {
    let us = i64::from_be_bytes(exact(raw, "timestamptz")?);
    Ok(if us == i64::MAX || us == i64::MIN { f64::NAN } else { (us.div_euclid(1000) + 946_684_800_000) as f64 })
}

/// date: `2024-02-29`, `0044-03-15 BC`, `infinity`.
pub(super) fn date_text(raw: &[u8], s: &mut String) -> R<()> {
    match i32::from_be_bytes(exact(raw, "date")?) {
        i32::MAX => s.push_str("infinity"),
        i32::MIN => s.push_str("-infinity"),
        d => write_date(s, d as i64),
    }
    Ok(())
}

/// timestamp and (with `utc`, which appends `+00`) timestamptz: `2000-01-02 01:02:03.5`.
pub(super) fn timestamp_text(raw: &[u8], utc: bool, s: &mut String) -> R<()> {
    match i64::from_be_bytes(exact(raw, "timestamp")?) {
        i64::MAX => s.push_str("infinity"),
        i64::MIN => s.push_str("-infinity"),
        us => {
            let bc = write_date_ad(s, us.div_euclid(US_PER_DAY));
            s.push(' ');
            write_time(s, us.rem_euclid(US_PER_DAY));
            if utc {
                s.push_str("+00");
            }
            if bc {
                s.push_str(" BC");
            }
        }
    }
    Ok(())
}

/// time: microseconds since midnight.
pub(super) fn time_text(raw: &[u8], s: &mut String) -> R<()> {
    write_time(s, i64::from_be_bytes(exact(raw, "time")?));
    Ok(())
}

/// timetz: microseconds since midnight, then the zone in seconds west of UTC (printed as the east
/// offset: `12:00:00+02`, `+05:30`, `+05:30:15`).
pub(super) fn timetz_text(raw: &[u8], s: &mut String) -> R<()> {
    let us = be_i64(raw, 0)?;
    let zone = be_i32(raw, 8)?;
    if raw.len() != 12 {
        return Err(bad("timetz"));
    }
    write_time(s, us);
    let east = -(zone as i64);
    let a = east.abs();
    let _ = write!(s, "{}{:02}", if east < 0 { '-' } else { '+' }, a / 3600);
    if a % 3600 != 0 {
        let _ = write!(s, ":{:02}", (a % 3600) / 60);
        if a % 60 != 0 {
            let _ = write!(s, ":{:02}", a % 60);
        }
    }
    Ok(())
}

/// interval: int64 microseconds, int32 days, int32 months.
pub(super) fn interval_text(raw: &[u8], s: &mut String) -> R<()> {
    if raw.len() != 16 {
        return Err(bad("interval"));
    }
    write_interval(s, be_i64(raw, 0)?, be_i32(raw, 8)?, be_i32(raw, 12)?);
    Ok(())
}

/// Days since 2000-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil(days_since_2000: i64) -> (i64, u32, u32) {
    let z = days_since_2000 + EPOCH_2000_DAYS + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Writes `YYYY-MM-DD`; returns whether the year is BC (written as PostgreSQL does, `0001 ... BC`).
fn write_date_ad(s: &mut String, days: i64) -> bool {
    let (y, m, d) = civil(days);
    let (year, bc) = if y <= 0 { (1 - y, true) } else { (y, false) };
    let _ = write!(s, "{year:04}-{m:02}-{d:02}");
    bc
}

fn write_date(s: &mut String, days: i64) {
    if write_date_ad(s, days) {
        s.push_str(" BC");
    }
}

/// `HH:MM:SS[.ffffff]` with trailing fraction zeros removed.
fn write_time(s: &mut String, us: i64) {
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    let _ = write!(s, "{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
    write_fraction(s, frac);
}

fn write_fraction(s: &mut String, frac: i64) {
    if frac != 0 {
        let f = format!("{:06}", frac.abs());
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
}

/// PostgreSQL's default `IntervalStyle = postgres` output.
fn write_interval(s: &mut String, us: i64, days: i32, months: i32) {
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |s: &mut String, value: i64, unit: &str| {
        if value == 0 {
            return;
        }
        let _ = write!(
            s,
            "{}{}{} {}{}",
            if is_zero { "" } else { " " },
            if is_before && value > 0 { "+" } else { "" },
            value,
            unit,
            if value != 1 { "s" } else { "" }
        );
        is_before = value < 0;
        is_zero = false;
    };
    part(s, (months / 12) as i64, "year");
    part(s, (months % 12) as i64, "mon");
    part(s, days as i64, "day");
    let hour = us / 3_600_000_000;
    let min = (us / 60_000_000) % 60;
    let sec = (us / 1_000_000) % 60;
    let fsec = us % 1_000_000;
    if is_zero || us != 0 {
        let minus = us < 0;
        let _ = write!(
            s,
            "{}{}{:02}:{:02}:{:02}",
            if is_zero { "" } else { " " },
            if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            },
            hour.abs(),
            min.abs(),
            sec.abs()
        );
        write_fraction(s, fsec);
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalogue::oid;
    use super::super::tests::text;
    use super::super::{binary_to_js, Encoding};

    #[test]
    fn dates_times_intervals() {
        assert_eq!(text(oid::DATE, &0i32.to_be_bytes()), "2000-01-01");
        assert_eq!(text(oid::DATE, &(-10957i32).to_be_bytes()), "1970-01-01");
        assert_eq!(text(oid::DATE, &8825i32.to_be_bytes()), "2024-02-29");
        assert_eq!(text(oid::TIMESTAMP, &(86_400_000_000i64 + 3_723_500_000).to_be_bytes()), "2000-01-02 01:02:03.5");
        assert_eq!(text(oid::TIMESTAMPTZ, &(-1i64).to_be_bytes()), "1999-12-31 23:59:59.999999+00");
        assert_eq!(text(oid::TIME, &45_296_000_001i64.to_be_bytes()), "12:34:56.000001");
        let iv = |us: i64, d: i32, m: i32| {
            let mut v = us.to_be_bytes().to_vec();
            v.extend_from_slice(&d.to_be_bytes());
            v.extend_from_slice(&m.to_be_bytes());
            text(oid::INTERVAL, &v)
        };
        assert_eq!(iv(0, 0, 0), "00:00:00");
        assert_eq!(iv(14_706_789_000, 3, 14), "1 year 2 mons 3 days 04:05:06.789");
        assert_eq!(iv(7_380_000_000, -1, 0), "-1 days +02:03:00");
        assert_eq!(iv(-1_000_000, 0, 1), "1 mon -00:00:01");
        assert_eq!(iv(0, 1, -1), "-1 mons +1 day");
        let mut out = Vec::new();
        binary_to_js(oid::TIMESTAMPTZ, Encoding::TimeMs, &0i64.to_be_bytes(), &mut out).unwrap();
        assert_eq!(f64::from_le_bytes(out[..8].try_into().unwrap()), 946_684_800_000.0);
        out.clear();
        binary_to_js(oid::DATE, Encoding::TimeMs, &i32::MAX.to_be_bytes(), &mut out).unwrap();
        assert!(f64::from_le_bytes(out[..8].try_into().unwrap()).is_nan());
    }
}
