//! PostgreSQL wire-protocol framing helpers (v3). Pure parsers never panic on any input.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::fmt;
use tokio::io::{AsyncRead, AsyncReadExt};

pub const SSL_REQUEST: u32 = 80_877_103;
pub const GSSENC_REQUEST: u32 = 80_877_104;
pub const CANCEL_REQUEST: u32 = 80_877_102;
/// Protocol 3.0 as sent in a StartupMessage.
pub const PROTOCOL_3_0: u32 = 196_608;

#[derive(Debug)]
pub enum ProtoError {
    Io(std::io::Error),
    Malformed(&'static str),
    TooLarge(usize),
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtoError::Io(e) => write!(f, "i/o: {e}"),
            ProtoError::Malformed(m) => write!(f, "malformed message: {m}"),
            ProtoError::TooLarge(n) => write!(f, "message of {n} bytes is too large"),
        }
    }
}

impl std::error::Error for ProtoError {}

impl From<std::io::Error> for ProtoError {
    fn from(e: std::io::Error) -> Self {
        ProtoError::Io(e)
    }
}

/// The first packet of a connection (no type byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Startup {
    Ssl,
    GssEnc,
    /// The whole 16-byte CancelRequest packet, ready to forward.
    Cancel(Vec<u8>),
    /// StartupMessage 3.x with its minor version and parameters in order.
    Startup {
        minor: u16,
        params: Vec<(String, String)>,
    },
}

impl Startup {
    pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
        params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Parses a startup packet given its bytes after the length word.
pub fn parse_startup(body: &[u8]) -> Result<Startup, ProtoError> {
    if body.len() < 4 {
        return Err(ProtoError::Malformed("short startup packet"));
    }
    let code = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    let rest = &body[4..];
    match code {
        SSL_REQUEST | GSSENC_REQUEST if !rest.is_empty() => Err(ProtoError::Malformed("bad request length")),
        SSL_REQUEST => Ok(Startup::Ssl),
        GSSENC_REQUEST => Ok(Startup::GssEnc),
        CANCEL_REQUEST if rest.len() == 8 => {
            let mut p = Vec::with_capacity(16);
            p.put_u32(16);
            p.extend_from_slice(body);
            Ok(Startup::Cancel(p))
        }
        CANCEL_REQUEST => Err(ProtoError::Malformed("bad cancel request length")),
        c if c >> 16 == 3 => {
            let mut params = Vec::new();
            let mut pos = 0;
            loop {
                let k = cstr(rest, &mut pos).ok_or(ProtoError::Malformed("unterminated parameter"))?;
                if k.is_empty() {
                    break;
                }
                let v = cstr(rest, &mut pos).ok_or(ProtoError::Malformed("unterminated parameter"))?;
                params.push((k.to_owned(), v.to_owned()));
            }
            if pos != rest.len() {
                return Err(ProtoError::Malformed("trailing bytes in startup packet"));
            }
            Ok(Startup::Startup { minor: (c & 0xffff) as u16, params })
        }
        _ => Err(ProtoError::Malformed("unsupported protocol version")),
    }
}

/// Reads one startup packet (length word + body) of at most `MAX_STARTUP` bytes.
pub async fn read_startup<R: AsyncRead + Unpin>(r: &mut R) -> Result<Startup, ProtoError> {
    let len = r.read_u32().await? as usize;
    if !(8..=super::limits::MAX_STARTUP).contains(&len) {
        return Err(ProtoError::TooLarge(len));
    }
    let mut body = vec![0u8; len - 4];
    r.read_exact(&mut body).await?;
    parse_startup(&body)
}

/// Reads exactly one typed message; returns (type, body). Used during the handshake only.
pub async fn read_message<R: AsyncRead + Unpin>(r: &mut R, max: usize) -> Result<(u8, Vec<u8>), ProtoError> {
    let tag = r.read_u8().await?;
    let len = r.read_u32().await? as usize;
    if len < 4 {
        return Err(ProtoError::Malformed("message length below 4"));
    }
    if len > max {
        return Err(ProtoError::TooLarge(len));
    }
    let mut body = vec![0u8; len - 4];
    r.read_exact(&mut body).await?;
    Ok((tag, body))
}

/// One complete typed message (type byte, length and body); only made by [`take_frame`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    raw: Bytes,
}

impl Frame {
    /// The whole message as on the wire.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
    pub fn tag(&self) -> u8 {
        self.raw[0]
    }
    pub fn body(&self) -> &[u8] {
        &self.raw[5..]
    }
}

/// Splits one complete message off the front of `buf`, if there is one.
pub fn take_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Frame>, ProtoError> {
    if buf.len() < 5 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if len < 4 {
        return Err(ProtoError::Malformed("message length below 4"));
    }
    if len > max {
        return Err(ProtoError::TooLarge(len));
    }
    if buf.len() < len + 1 {
        buf.reserve(len + 1 - buf.len());
        return Ok(None);
    }
    Ok(Some(Frame { raw: buf.split_to(len + 1).freeze() }))
}

/// Reads a NUL-terminated UTF-8 string at `*pos`, advancing past the NUL.
pub fn cstr<'a>(b: &'a [u8], pos: &mut usize) -> Option<&'a str> {
    let rest = b.get(*pos..)?;
    let n = rest.iter().position(|&c| c == 0)?;
    let s = std::str::from_utf8(&rest[..n]).ok()?;
    *pos += n + 1;
    Some(s)
}

/// Builds a typed message.
pub fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(body.len() + 5);
    m.push(tag);
    m.put_u32(body.len() as u32 + 4);
    m.extend_from_slice(body);
    m
}

/// ErrorResponse with severity, SQLSTATE and message.
pub fn error_response(severity: &str, code: &str, msg: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for (f, v) in [(b'S', severity), (b'V', severity), (b'C', code), (b'M', msg)] {
        b.push(f);
        b.extend_from_slice(v.as_bytes());
        b.push(0);
    }
    b.push(0);
    message(b'E', &b)
}

/// FATAL ErrorResponse.
pub fn fatal(code: &str, msg: &str) -> Vec<u8> {
    error_response("FATAL", code, msg)
}

/// Fields of an ErrorResponse/NoticeResponse body; `None` if malformed.
pub fn error_fields(body: &[u8]) -> Option<Vec<(u8, String)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let t = *body.get(pos)?;
        pos += 1;
        if t == 0 {
            return (pos == body.len()).then_some(out);
        }
        out.push((t, cstr(body, &mut pos)?.to_owned()));
    }
}

/// StartupMessage (protocol 3.0) with the given parameters.
pub fn startup_message(params: &[(String, String)]) -> Vec<u8> {
    let mut b = Vec::new();
    b.put_u32(0);
    b.put_u32(PROTOCOL_3_0);
    for (k, v) in params {
        b.extend_from_slice(k.as_bytes());
        b.push(0);
        b.extend_from_slice(v.as_bytes());
        b.push(0);
    }
    b.push(0);
    let len = b.len() as u32;
    b[..4].copy_from_slice(&len.to_be_bytes());
    b
}

/// NegotiateProtocolVersion: we speak 3.0 and none of the `_pq_.` options.
pub fn negotiate_protocol_version(unrecognized: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    b.put_u32(PROTOCOL_3_0);
    b.put_u32(unrecognized.len() as u32);
    for o in unrecognized {
        b.extend_from_slice(o.as_bytes());
        b.push(0);
    }
    message(b'v', &b)
}

/// Authentication request ('R') with a code and extra data.
pub fn auth_request(code: u32, extra: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(4 + extra.len());
    b.put_u32(code);
    b.extend_from_slice(extra);
    message(b'R', &b)
}

/// Splits an Authentication message body into (code, rest).
pub fn parse_auth(body: &[u8]) -> Option<(u32, &[u8])> {
    let mut b = body;
    if b.len() < 4 {
        return None;
    }
    let code = b.get_u32();
    Some((code, b))
}

/// The password from a PasswordMessage body (NUL-terminated string, nothing after).
pub fn parse_password(body: &[u8]) -> Option<&str> {
    let mut pos = 0;
    let s = cstr(body, &mut pos)?;
    (pos == body.len()).then_some(s)
}

/// Null-terminated strings, one after another (message bodies).
pub(super) fn cstrs(parts: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    for s in parts {
        b.extend_from_slice(s.as_bytes());
        b.push(0);
    }
    b
}

/// A simple Query message.
pub(super) fn query_msg(sql: &str) -> Vec<u8> {
    message(b'Q', &cstrs(&[sql]))
}

/// Parse with the given name, text and raw parameter-type section.
pub(super) fn parse_msg(name: &str, sql: &str, types: &[u8]) -> Vec<u8> {
    let mut b = cstrs(&[name, sql]);
    b.extend_from_slice(types);
    message(b'P', &b)
}

/// Bind of `stmt` to `portal` with the rest of an original Bind body (formats and values).
pub(super) fn bind_msg(portal: &str, stmt: &str, rest: &[u8]) -> Vec<u8> {
    let mut b = cstrs(&[portal, stmt]);
    b.extend_from_slice(rest);
    message(b'B', &b)
}

/// A NoticeResponse with the fields of an ErrorResponse.
pub(super) fn notice_response(severity: &str, code: &str, msg: &str) -> Vec<u8> {
    let mut e = error_response(severity, code, msg);
    e[0] = b'N';
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn startup_roundtrip() {
        let params = vec![("user".to_owned(), "admin".to_owned()), ("database".to_owned(), "postgres".to_owned())];
        let m = startup_message(&params);
        assert_eq!(parse_startup(&m[4..]).unwrap(), Startup::Startup { minor: 0, params });
        let mut ssl = vec![];
        ssl.put_u32(SSL_REQUEST);
        assert_eq!(parse_startup(&ssl).unwrap(), Startup::Ssl);
    }

    #[test]
    fn frames_split_and_wait() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&message(b'Q', b"select 1\0"));
        buf.extend_from_slice(&message(b'X', b"")[..3]);
        let f = take_frame(&mut buf, 1024).unwrap().unwrap();
        assert_eq!((f.tag(), f.body()), (b'Q', &b"select 1\0"[..]));
        assert!(take_frame(&mut buf, 1024).unwrap().is_none());
        buf.extend_from_slice(&[0, 4]);
        assert_eq!(take_frame(&mut buf, 1024).unwrap().unwrap().tag(), b'X');
        buf.extend_from_slice(&message(b'D', &[0; 100]));
        assert!(matches!(take_frame(&mut buf, 50), Err(ProtoError::TooLarge(104))));
    }

    #[test]
    fn error_response_fields() {
        let e = fatal("08004", "unable to accept connection, sni was not received");
        let f = error_fields(&e[5..]).unwrap();
        assert!(f.contains(&(b'C', "08004".to_owned())));
        assert_eq!(e.len() - 1, u32::from_be_bytes([e[1], e[2], e[3], e[4]]) as usize);
    }

    /// 10,000 random and truncated inputs through every parser: errors are fine, panics are not.
    #[tokio::test]
    async fn parsers_never_panic_on_random_bytes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let verifier = super::super::token::Verifier {
            endpoint: "x.dsql.us-east-1.on.aws".into(),
            region: "us-east-1".into(),
            credentials: vec![aws_credential_types::Credentials::new("akid", "secret", None, None, "t")],
            max_skew: std::time::Duration::from_secs(900),
        };
        let valid = [
            startup_message(&[("user".into(), "u".into())]),
            message(b'p', b"secret\0"),
            fatal("28000", "x"),
            auth_request(5, &[1, 2, 3, 4]),
        ];
        for i in 0..10_000 {
            let bytes: Vec<u8> = if i % 2 == 0 {
                let n = rng.random_range(0..64);
                (0..n).map(|_| rng.random()).collect()
            } else {
                // truncated or mutated valid message
                let v = &valid[i % valid.len()];
                let mut v = v[..rng.random_range(0..=v.len())].to_vec();
                if !v.is_empty() && rng.random_bool(0.5) {
                    let k = rng.random_range(0..v.len());
                    v[k] = rng.random();
                }
                v
            };
            let _ = parse_startup(&bytes);
            let _ = error_fields(&bytes);
            let _ = parse_auth(&bytes);
            let _ = parse_password(&bytes);
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = take_frame(&mut buf, 1 << 20) {}
            let _ = read_startup(&mut &bytes[..]).await;
            let _ = read_message(&mut &bytes[..], 1 << 20).await;
            let text = String::from_utf8_lossy(&bytes);
            let _ = super::super::token::parse_token(&text);
            assert!(verifier.verify(&text, "admin", std::time::SystemTime::now()).await.is_err());
        }
    }
}
