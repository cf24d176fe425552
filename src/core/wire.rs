//! Reading submissions and writing completion frames: the two byte formats of [`crate::core::protocol`]
//! (described there), between the JS facade and the pool.

use crate::core::error::{Error, Result};
use crate::core::protocol::{Flag, FrameKind, ParamKind};

// The names the pool, the binding and tests/leak.rs import from here, with their old u8 type
// (`crate::core::protocol` is their source; to be replaced by its enums).

/// A COLUMNS entry: name, type OID, table OID, column number, value encoding.
pub type ColumnMeta = (String, u32, u32, i16, u8);

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub oid: u32,
    pub binary: bool,
    /// The text (or binary) value; for an untyped JS array, its array literal.
    pub value: Option<Vec<u8>>,
    /// An untyped JS array's other forms, chosen by the type the server infers (as postgres.js
    /// serializes by it): `[JSON.stringify(x), '' + x]` for json/jsonb and scalar types.
    pub alternatives: Option<Box<[Vec<u8>; 2]>>,
    /// A JS number (then `value` is None): bound in binary when the server's type holds it exactly
    /// (int2/int4/int8/float8), else as the text JS would make of it (see [`Param::number_binary`]).
    pub number: Option<f64>,
}

impl Param {
    /// A number's binary form for the parameter type `oid`, when that type holds the value exactly
    /// and the server would store the same as from JS's text (`'' + x`); None means text. A value
    /// the type cannot hold (1.5 for int4, 3e9) goes as text, so the server's error is postgres.js's.
    pub fn number_binary(x: f64, oid: u32) -> Option<NumberBinary> {
        let int = x.fract() == 0.0;
        match oid {
            21 if int && (-32768.0..=32767.0).contains(&x) => Some(NumberBinary::Int2(x as i16)),
            23 if int && (-2147483648.0..=2147483647.0).contains(&x) => Some(NumberBinary::Int4(x as i32)),
            20 if int && x.abs() <= 9007199254740991.0 => Some(NumberBinary::Int8(x as i64)),
            // -0 as +0: JS writes it "0".
            701 => Some(NumberBinary::Float8(if x == 0.0 { 0.0 } else { x })),
            _ => None,
        }
    }

    /// A number as JS writes it (`String(x)`: ECMAScript's Number::toString), into `out`.
    pub fn number_text(x: f64, out: &mut bytes::BytesMut) {
        out.extend_from_slice(ryu_js::Buffer::new().format(x).as_bytes());
    }
}

/// A number parameter's binary form (see [`Param::number_binary`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumberBinary {
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Float8(f64),
}

impl NumberBinary {
    /// Writes PostgreSQL's binary form (big-endian).
    pub fn write(self, out: &mut bytes::BytesMut) {
        match self {
            NumberBinary::Int2(v) => out.extend_from_slice(&v.to_be_bytes()),
            NumberBinary::Int4(v) => out.extend_from_slice(&v.to_be_bytes()),
            NumberBinary::Int8(v) => out.extend_from_slice(&v.to_be_bytes()),
            NumberBinary::Float8(v) => out.extend_from_slice(&v.to_be_bytes()),
        }
    }
}

/// One query as the facade submitted it.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub id: u32,
    pub conn: u32,
    /// [`Flag`] bits.
    pub flags: u8,
    pub sql: String,
    pub params: Vec<Param>,
    /// Rows per batch for cursors (0 otherwise).
    pub batch: u32,
}

impl Query {
    /// Whether `flag` is set.
    pub fn has(&self, flag: Flag) -> bool {
        self.flags & flag as u8 != 0
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| Error::Other("malformed query batch".into()))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
}

/// Parses a submission buffer.
pub fn parse_batch(b: &[u8]) -> Result<Vec<Query>> {
    let mut r = Reader { b, pos: 0 };
    let mut queries = Vec::new();
    while r.pos < b.len() {
        let id = r.u32()?;
        let conn = r.u32()?;
        let flags = r.u8()?;
        let len = r.u32()? as usize;
        let sql =
            String::from_utf8(r.take(len)?.to_vec()).map_err(|_| Error::Other("query text is not UTF-8".into()))?;
        let n = r.u16()? as usize;
        let mut params = Vec::with_capacity(n);
        for _ in 0..n {
            let oid = r.u32()?;
            // An unknown kind reads as text.
            let kind = ParamKind::from_value(r.u8()?).unwrap_or(ParamKind::Text);
            let len = r.u32()? as i32;
            let bytes = if len < 0 { None } else { Some(r.take(len as usize)?) };
            let (value, number) = match (kind, bytes) {
                (ParamKind::Date, b) => (Some(timestamptz_binary(b)?), None),
                (_, None) => (None, None),
                (ParamKind::Number, Some(b)) => (None, Some(f64::from_le_bytes(number_bytes(b)?))),
                (ParamKind::Int, Some(b)) => (None, Some(i32::from_le_bytes(number_bytes(b)?) as f64)),
                (_, Some(b)) => (Some(b.to_vec()), None),
            };
            let alternatives = if kind == ParamKind::Alternatives {
                let mut text = || -> Result<Vec<u8>> {
                    let n = r.u32()? as usize;
                    Ok(r.take(n)?.to_vec())
                };
                Some(Box::new([text()?, text()?]))
            } else {
                None
            };
            let binary = matches!(kind, ParamKind::Binary | ParamKind::Date);
            params.push(Param { oid, binary, value, alternatives, number });
        }
        let batch = if flags & Flag::Cursor as u8 != 0 { r.u32()?.max(1) } else { 0 };
        queries.push(Query { id, conn, flags, sql, params, batch });
    }
    Ok(queries)
}

/// A number parameter's fixed-size little-endian bytes.
fn number_bytes<const N: usize>(b: &[u8]) -> Result<[u8; N]> {
    b.try_into().map_err(|_| Error::Other("malformed number parameter".into()))
}

/// PostgreSQL's binary timestamptz (i64 BE microseconds since 2000-01-01 UTC) from f64 LE ms.
fn timestamptz_binary(ms: Option<&[u8]>) -> Result<Vec<u8>> {
    let ms = ms.and_then(|b| <[u8; 8]>::try_from(b).ok()).map(f64::from_le_bytes);
    match ms {
        Some(ms) if ms.is_finite() && ms.fract() == 0.0 && ms.abs() <= 8.64e15 => {
            Ok((((ms as i64) - 946_684_800_000) * 1000).to_be_bytes().to_vec())
        }
        _ => Err(Error::Other("malformed date parameter".into())),
    }
}

/// Builds completion frames for one query.
pub struct FrameWriter {
    pub id: u32,
    pub buf: Vec<u8>,
    /// Whether frames of this query were already handed over.
    taken: bool,
    /// Start of the ROWS frame being filled, and its row count.
    rows_at: Option<usize>,
    rows: u32,
    /// End of a COLUMNS frame still in `buf`: an error keeps it (the statement's parameter types
    /// show the values as serialized in `err.parameters`).
    columns_end: Option<usize>,
    /// The backend's process id and secret key, sent with DONE (postgres.js's `result.state`).
    pub state: (i32, i32),
}

impl FrameWriter {
    pub fn new(id: u32) -> Self {
        FrameWriter {
            id,
            buf: Vec::with_capacity(256),
            taken: false,
            rows_at: None,
            rows: 0,
            columns_end: None,
            state: (0, 0),
        }
    }

    /// Starts a frame of `kind`; returns where its length goes.
    fn begin(&mut self, kind: FrameKind) -> usize {
        self.close_rows();
        self.buf.extend_from_slice(&self.id.to_le_bytes());
        self.buf.push(kind as u8);
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_le_bytes());
        at
    }

    fn end(&mut self, len_at: usize) {
        let len = (self.buf.len() - len_at - 4) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }

    pub fn str(&mut self, s: &str) {
        self.buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// The columns, the parameter types and the prepared statement's name ('' when unnamed).
    pub fn columns(&mut self, cols: &[ColumnMeta], params: &[u32], statement: &str) {
        let at = self.begin(FrameKind::Columns);
        self.buf.extend_from_slice(&(cols.len() as u16).to_le_bytes());
        for (name, ty, table, number, enc) in cols {
            self.str(name);
            self.buf.extend_from_slice(&ty.to_le_bytes());
            self.buf.extend_from_slice(&table.to_le_bytes());
            self.buf.extend_from_slice(&number.to_le_bytes());
            self.buf.push(*enc);
        }
        self.buf.extend_from_slice(&(params.len() as u16).to_le_bytes());
        for p in params {
            self.buf.extend_from_slice(&p.to_le_bytes());
        }
        self.str(statement);
        self.end(at);
        self.columns_end = Some(self.buf.len());
    }

    /// Starts a row; values follow with `null()` / `value_with`.
    pub fn row(&mut self) {
        if self.rows_at.is_none() {
            let at = self.begin(FrameKind::Rows);
            self.buf.extend_from_slice(&0u32.to_le_bytes());
            self.rows_at = Some(at);
            self.rows = 0;
        }
        self.rows += 1;
    }

    pub fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_le_bytes());
    }

    /// Writes a length-prefixed value produced by `f`; on error the value is removed.
    pub fn value_with<E>(
        &mut self,
        f: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0i32.to_le_bytes());
        match f(&mut self.buf) {
            Ok(()) => {
                let len = (self.buf.len() - at - 4) as i32;
                self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
                Ok(())
            }
            Err(e) => {
                self.buf.truncate(at);
                Err(e)
            }
        }
    }

    fn close_rows(&mut self) {
        if let Some(at) = self.rows_at.take() {
            self.buf[at + 4..at + 8].copy_from_slice(&self.rows.to_le_bytes());
            self.end(at);
        }
    }

    pub fn done(&mut self, count: Option<u64>, last: bool, command: &str) {
        let at = self.begin(FrameKind::Done);
        self.buf.extend_from_slice(&count.map_or(f64::NAN, |c| c as f64).to_le_bytes());
        self.buf.push(u8::from(last));
        self.buf.extend_from_slice(&self.state.0.to_le_bytes());
        self.buf.extend_from_slice(&self.state.1.to_le_bytes());
        self.str(command);
        self.end(at);
    }

    pub fn error(&mut self, e: &Error) {
        // Rows already written for this query are dropped: the query failed as a whole.
        self.rows_at = None;
        self.buf.truncate(self.columns_end.take().unwrap_or(0));
        let at = self.begin(FrameKind::Error);
        self.str(&e.to_json().to_string());
        self.end(at);
    }

    pub fn notice(json: &str) -> Vec<u8> {
        Self::json_frame(FrameKind::Notice, json)
    }

    /// A frame of id 0 holding `json` (NOTICE, PARAMETERS).
    pub fn json_frame(kind: FrameKind, json: &str) -> Vec<u8> {
        let mut w = FrameWriter::new(0);
        let at = w.begin(kind);
        w.str(json);
        w.end(at);
        w.buf
    }

    /// Takes the finished frames (closing an open ROWS frame), leaving the writer ready for more rows.
    pub fn take(&mut self) -> Vec<u8> {
        self.close_rows();
        self.taken = true;
        self.columns_end = None;
        std::mem::take(&mut self.buf)
    }

    pub fn flushed(&self) -> bool {
        self.taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::protocol::Encoding;

    /// A batch holding one query's head: id, connection 0, flags, text and the parameter count.
    fn query_head(id: u32, flags: u8, sql: &str, params: u16) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&id.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.push(flags);
        b.extend_from_slice(&(sql.len() as u32).to_le_bytes());
        b.extend_from_slice(sql.as_bytes());
        b.extend_from_slice(&params.to_le_bytes());
        b
    }

    #[test]
    fn batch_round_trip_and_garbage() {
        let mut b = query_head(7, Flag::Prepare as u8, "select 1", 2);
        b.extend_from_slice(&0u32.to_le_bytes());
        b.push(ParamKind::Text as u8);
        b.extend_from_slice(&1u32.to_le_bytes());
        b.push(b'x');
        b.extend_from_slice(&17u32.to_le_bytes());
        b.push(ParamKind::Binary as u8);
        b.extend_from_slice(&(-1i32).to_le_bytes());
        let queries = parse_batch(&b).unwrap();
        assert_eq!(
            queries,
            vec![Query {
                id: 7,
                conn: 0,
                flags: 1,
                sql: "select 1".into(),
                params: vec![
                    Param { oid: 0, binary: false, value: Some(b"x".to_vec()), alternatives: None, number: None },
                    Param { oid: 17, binary: true, value: None, alternatives: None, number: None }
                ],
                batch: 0
            }]
        );
        for cut in 1..b.len() {
            assert!(parse_batch(&b[..cut]).is_err(), "truncated at {cut}");
        }
    }

    /// A batch of one query with one parameter of `kind`.
    fn one_param(oid: u32, kind: ParamKind, value: &[u8]) -> Result<Vec<Query>> {
        let mut b = query_head(1, 0, "x", 1);
        b.extend_from_slice(&oid.to_le_bytes());
        b.push(kind as u8);
        b.extend_from_slice(&(value.len() as i32).to_le_bytes());
        b.extend_from_slice(value);
        parse_batch(&b)
    }

    #[test]
    fn number_parameters() {
        let batch = |x: &[u8]| one_param(0, ParamKind::Number, x);
        let p = &batch(&1.5f64.to_le_bytes()).unwrap()[0].params[0];
        assert_eq!((p.number, p.value.as_deref(), p.binary), (Some(1.5), None, false));
        assert!(batch(&[0; 4]).is_err(), "a number is 8 bytes");
        assert_eq!(one_param(0, ParamKind::Int, &(-7i32).to_le_bytes()).unwrap()[0].params[0].number, Some(-7.0));
        assert!(one_param(0, ParamKind::Int, &[0; 3]).is_err(), "an int is 4 bytes");
        // Binary only where the type holds the value exactly; text (the server's error) otherwise.
        let bin = |x: f64, oid: u32| {
            Param::number_binary(x, oid).map(|b| {
                let mut out = bytes::BytesMut::new();
                b.write(&mut out);
                out.to_vec()
            })
        };
        assert_eq!(bin(7.0, 23), Some(7i32.to_be_bytes().to_vec()));
        assert_eq!(bin(-2147483648.0, 23), Some(i32::MIN.to_be_bytes().to_vec()));
        assert_eq!(bin(2147483648.0, 23), None);
        assert_eq!(bin(1.5, 23), None);
        assert_eq!(bin(f64::NAN, 23), None);
        assert_eq!(bin(-0.0, 23), Some(0i32.to_be_bytes().to_vec()));
        assert_eq!(bin(-32768.0, 21), Some((-32768i16).to_be_bytes().to_vec()));
        assert_eq!(bin(32768.0, 21), None);
        assert_eq!(bin(9007199254740991.0, 20), Some(9007199254740991i64.to_be_bytes().to_vec()));
        assert_eq!(bin(9007199254740992.0, 20), None);
        assert_eq!(bin(0.1, 701), Some(0.1f64.to_be_bytes().to_vec()));
        assert_eq!(bin(-0.0, 701), Some(0.0f64.to_be_bytes().to_vec()), "JS writes -0 as 0");
        assert_eq!(bin(1.0, 700), None, "float4: text, as the server rounds the decimal itself");
        assert_eq!(bin(1.0, 1700), None);
        assert_eq!(bin(1.0, 25), None);
        assert_eq!(bin(1.0, 0), None);
        // Text exactly as String(x) in JS (values and strings printed by node).
        for (x, js) in [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (1.5, "1.5"),
            (0.30000000000000004, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (123456789012.0, "123456789012"),
            (9007199254740992.0, "9007199254740992"),
            (-9223372036854776000.0, "-9223372036854776000"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (100.0, "100"),
            (1e20, "100000000000000000000"),
            (1e-6, "0.000001"),
            (1.23e-18, "1.23e-18"),
            (-1.25e-9, "-1.25e-9"),
        ] {
            let mut out = bytes::BytesMut::new();
            Param::number_text(x, &mut out);
            assert_eq!(std::str::from_utf8(&out).unwrap(), js, "{x:e}");
        }
    }

    #[test]
    fn date_parameters_become_binary_timestamptz() {
        let batch = |ms: &[u8]| one_param(1184, ParamKind::Date, ms);
        // 2000-01-01T00:00:00.001Z is 1000 µs after PostgreSQL's epoch; 1970 is before it.
        let p = &batch(&946_684_800_001f64.to_le_bytes()).unwrap()[0].params[0];
        assert_eq!((p.binary, p.value.as_deref()), (true, Some(&1000i64.to_be_bytes()[..])));
        let p = &batch(&0f64.to_le_bytes()).unwrap()[0].params[0];
        assert_eq!(p.value.as_deref(), Some(&(-946_684_800_000_000i64).to_be_bytes()[..]));
        for bad in [f64::NAN, f64::INFINITY, 0.5, 9e15] {
            assert!(batch(&bad.to_le_bytes()).is_err(), "{bad}");
        }
        assert!(batch(&[0; 4]).is_err());
    }

    #[test]
    fn frames() {
        let mut w = FrameWriter::new(3);
        w.row();
        w.null();
        w.row();
        w.value_with::<()>(|b| {
            b.push(1);
            Ok(())
        })
        .unwrap();
        w.done(Some(2), true, "SELECT");
        let b = w.take();
        // ROWS frame: id, kind, len, count
        assert_eq!(&b[0..5], &[3, 0, 0, 0, FrameKind::Rows as u8]);
        assert_eq!(u32::from_le_bytes(b[9..13].try_into().unwrap()), 2);
        let rows_len = u32::from_le_bytes(b[5..9].try_into().unwrap()) as usize;
        assert_eq!(rows_len, 4 + 4 + 5);
        assert_eq!(b[9 + rows_len + 4], FrameKind::Done as u8);
    }

    /// Kinds of the frames in `b`, in order.
    fn kinds(b: &[u8]) -> Vec<FrameKind> {
        let (mut out, mut p) = (Vec::new(), 0);
        while p < b.len() {
            out.push(FrameKind::from_value(b[p + 4]).unwrap());
            p += 9 + u32::from_le_bytes(b[p + 5..p + 9].try_into().unwrap()) as usize;
        }
        out
    }

    #[test]
    fn an_error_drops_the_rows_and_keeps_the_columns() {
        let cols: Vec<ColumnMeta> = vec![("x".into(), 23, 0, 0, Encoding::F64 as u8)];
        let mut w = FrameWriter::new(5);
        w.columns(&cols, &[23, 1184], "s1");
        w.row();
        w.null();
        w.error(&Error::Other("boom".into()));
        assert_eq!(kinds(&w.take()), vec![FrameKind::Columns, FrameKind::Error]);
        // Columns already handed over are not repeated; rows after them are dropped.
        let mut w = FrameWriter::new(6);
        w.columns(&cols, &[], "");
        assert_eq!(kinds(&w.take()), vec![FrameKind::Columns]);
        w.row();
        w.null();
        w.error(&Error::Other("boom".into()));
        assert_eq!(kinds(&w.take()), vec![FrameKind::Error]);
    }
}
