//! Bounds-checked readers of big-endian binary values. Every read of server bytes goes through
//! these, so a short or malformed value becomes a [`DecodeError`], never a panic.

use super::DecodeError;

pub(super) type R<T> = Result<T, DecodeError>;

/// The error for a value of type `what` that does not decode.
pub(super) fn bad(what: &str) -> DecodeError {
    DecodeError(format!("could not decode a {what} value from the server"))
}

pub(super) fn be_i16(b: &[u8], at: usize) -> R<i16> {
    b.get(at..at + 2).map(|s| i16::from_be_bytes([s[0], s[1]])).ok_or_else(|| bad("binary"))
}

pub(super) fn be_i32(b: &[u8], at: usize) -> R<i32> {
    b.get(at..at + 4).map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]])).ok_or_else(|| bad("binary"))
}

pub(super) fn be_i64(b: &[u8], at: usize) -> R<i64> {
    b.get(at..at + 8).and_then(|s| s.try_into().ok()).map(i64::from_be_bytes).ok_or_else(|| bad("binary"))
}

pub(super) fn be_f64(b: &[u8], at: usize) -> R<f64> {
    be_i64(b, at).map(|x| f64::from_bits(x as u64))
}

/// The whole value as exactly `N` bytes (a fixed-size type).
pub(super) fn exact<const N: usize>(b: &[u8], what: &str) -> R<[u8; N]> {
    b.try_into().map_err(|_| bad(what))
}

/// `raw[at..at + len]`, or the decode error.
pub(super) fn slice<'a>(raw: &'a [u8], at: usize, len: usize, what: &str) -> R<&'a [u8]> {
    at.checked_add(len).and_then(|end| raw.get(at..end)).ok_or_else(|| bad(what))
}

/// The value as UTF-8 text.
pub(super) fn utf8<'a>(raw: &'a [u8], what: &str) -> R<&'a str> {
    std::str::from_utf8(raw).map_err(|_| bad(what))
}
