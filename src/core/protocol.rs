//! The two byte formats between the JS facade and the core (both little-endian), and every number
//! in them. This file is their one source: `js/protocol.js` is generated from it (see the test at
//! the end), and both sides name the numbers from there.
//!
//! Submissions (JS → core), one buffer per batch of queries (parsed by `core::wire::parse_batch`):
//! `u32 id, u32 conn (0 = pool, else a reservation), u8 flags, u32 len + SQL, u16 n,
//!  n × (u32 type oid, u8 kind, i32 len (-1 = NULL) + bytes)`, repeated. `flags` holds [`Flag`] bits;
//!  `kind` is a [`ParamKind`]. A cursor submission ([`Flag::Cursor`]) carries `u32 batch` after its
//!  parameters; an [`ParamKind::Alternatives`] parameter its two other forms (`u32 len + bytes` each)
//!  after its value.
//!
//! Completions (core → JS), frames appended to one buffer that a poll takes whole, in chunks of about
//! [`POLL_BYTES`]: `u32 id, u8 kind, u32 len, payload`, `kind` a [`FrameKind`]:
//! - COLUMNS: `u16 n, n × (u32 len + name, u32 type, u32 table, i16 number, u8 encoding), u16 p,
//!   p × u32 param type, u32 len + statement name` (`encoding` is an [`Encoding`])
//! - ROWS: `u32 rows`, then per value `i32 len (-1 = NULL) + bytes` in the column's encoding
//! - DONE: `f64 count (NaN = null), u8 last, i32 backend pid, i32 backend secret, u32 len + command`
//! - ERROR: `u32 len + JSON` (see `Error::to_json`)
//! - NOTICE (id 0): `u32 len + JSON`
//! - PARAMETERS (id 0): `u32 len + JSON` object of server parameters, once per new connection
//! - COPY, COPY_ACK, COPY_DATA: a running COPY's frames (see `core::copy`)
//! - EVENT (id 0): `u32 len + JSON`, a connection attempt that ended (`"event":"connect"`) or a token
//!   signed (`"event":"token"`); the JSON's fields are documented in `core::pool::events`
//!
//! A running COPY takes [`CopyOp`]s from the facade (`NativePool.copy(id, op, data)`).

pub use crate::core::pg_text::Encoding;

/// The size of a chunk of completion frames the core hands over at a time (a single query's push may
/// be larger). The facade's frame buffer has this size: a chunk is copied into it, and a larger
/// one comes in a Buffer of its own.
pub const POLL_BYTES: usize = 128 * 1024;

/// Declares a protocol enum once: its variants with their values and JS constant names. It derives
/// the list of all variants (which the JS generator walks), each variant's JS name and doc, and the
/// decoding from the value.
macro_rules! protocol_enum {
    (
        $(#[doc = $doc:literal])*
        pub enum $name:ident: $repr:ident {
            $( $(#[doc = $vdoc:literal])* $variant:ident = $value:literal => $js:literal, )+
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr($repr)]
        pub enum $name {
            $( $(#[doc = $vdoc])* $variant = $value, )+
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                v as $repr
            }
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The variant with this value, if any.
            pub const fn from_value(v: $repr) -> Option<$name> {
                match v {
                    $( $value => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// The name of the constant in `js/protocol.js`.
            pub const fn js_name(self) -> &'static str {
                match self {
                    $( $name::$variant => $js, )+
                }
            }

            #[cfg(test)]
            fn doc(self) -> &'static str {
                match self {
                    $( $name::$variant => concat!($($vdoc, "\n"),*), )+
                }
            }
        }
    };
}

protocol_enum! {
    /// A bit of a submission's `u8 flags`.
    pub enum Flag: u8 {
        /// Run as a named statement, prepared once per connection and cached (postgres.js's `prepare`).
        Prepare = 1 => "FLAG_PREPARE",
        /// Every column in PostgreSQL's text form (`raw()`; a replaced parser of a binary-decoded type).
        Text = 2 => "FLAG_TEXT",
        /// The simple query protocol: several statements, no parameters (`simple()`, `unsafe` scripts).
        Simple = 4 => "FLAG_SIMPLE",
        /// Describe the statement (parameter and column types) without running it (`describe()`).
        Describe = 8 => "FLAG_DESCRIBE",
        /// Deliver rows in batches of `batch`, waiting for the consumer between batches (`.cursor(n)`).
        Cursor = 16 => "FLAG_CURSOR",
        /// `COPY ... FROM STDIN` / `TO STDOUT` moving data through a Node stream (see `core::copy`).
        Copy = 32 => "FLAG_COPY",
        /// Prepare the statement afresh, replacing the cached one (the server said its plan went stale).
        Fresh = 64 => "FLAG_FRESH",
    }
}

protocol_enum! {
    /// How a submitted parameter's bytes are to be read.
    pub enum ParamKind: u8 {
        /// UTF-8 text, bound in text form.
        Text = 0 => "PARAM_TEXT",
        /// Bytes bound in binary form (a Buffer or Uint8Array).
        Binary = 1 => "PARAM_BINARY",
        /// An untyped JS array: its array literal, then its JSON and its plain text; the type the
        /// server infers picks one (as postgres.js serializes by it).
        Alternatives = 2 => "PARAM_ALTERNATIVES",
        /// A JS Date's milliseconds (f64): bound as binary timestamptz, which spares JS the ISO string
        /// and the server its parsing.
        Date = 3 => "PARAM_DATE",
        /// A JS number (f64), bound by the server's type (see `wire::Param::number`).
        Number = 4 => "PARAM_NUMBER",
        /// A JS number that is an int32 (-0 included, which JS writes "0" as well): i32.
        Int = 5 => "PARAM_INT",
    }
}

protocol_enum! {
    /// The kind of a completion frame.
    pub enum FrameKind: u8 {
        /// A query's columns, parameter types and statement name.
        Columns = 1 => "KIND_COLUMNS",
        /// A batch of a query's rows.
        Rows = 2 => "KIND_ROWS",
        /// A statement finished: its count and command tag (`last` = the query is complete).
        Done = 3 => "KIND_DONE",
        /// The query failed (JSON of the error).
        Error = 4 => "KIND_ERROR",
        /// A server notice (id 0).
        Notice = 5 => "KIND_NOTICE",
        /// Server parameters of a new connection (id 0).
        Parameters = 6 => "KIND_PARAMETERS",
        /// The copy has started: `u8` direction (0 in: a Writable, 1 out: a Readable).
        Copy = 7 => "KIND_COPY",
        /// A copy's `Write` was taken: the Writable's write callback may run (no payload).
        CopyAck = 8 => "KIND_COPY_ACK",
        /// Rows of a COPY TO: `u32 n`, then `n × (u32 len + bytes)`, one entry per CopyData message.
        CopyData = 9 => "KIND_COPY_DATA",
        /// A connect or token event of the pool (id 0): `u32 len + JSON` (see `core::pool::events`).
        Event = 10 => "KIND_EVENT",
    }
}

protocol_enum! {
    /// An operation on a running COPY (`NativePool.copy(id, op, data)`).
    pub enum CopyOp: u32 {
        /// COPY FROM: send `data` (acknowledged by a COPY_ACK frame).
        Write = 0 => "OP_WRITE",
        /// COPY FROM: the Writable ended.
        End = 1 => "OP_END",
        /// Stop the copy (the stream was destroyed).
        Abort = 2 => "OP_ABORT",
        /// COPY TO: the next batch of rows (a COPY_DATA frame).
        Read = 3 => "OP_READ",
    }
}

/// A column's value encoding in ROWS frames (the `u8 encoding` of a COLUMNS entry).
impl Encoding {
    /// Every encoding, in value order (a new variant must be added here; `js_name` cannot compile without it).
    pub const ALL: &'static [Encoding] =
        &[Encoding::Text, Encoding::F64, Encoding::Bool, Encoding::Bytes, Encoding::TimeMs, Encoding::I32];

    /// The encoding with this byte; anything unknown is text.
    pub fn from_byte(b: u8) -> Encoding {
        Encoding::ALL.iter().copied().find(|e| *e as u8 == b).unwrap_or(Encoding::Text)
    }

    /// The name of the constant in `js/protocol.js`.
    pub const fn js_name(self) -> &'static str {
        match self {
            Encoding::Text => "ENC_TEXT",
            Encoding::F64 => "ENC_F64",
            Encoding::Bool => "ENC_BOOL",
            Encoding::Bytes => "ENC_BYTES",
            Encoding::TimeMs => "ENC_TIME",
            Encoding::I32 => "ENC_I32",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::generated::{check_or_write, header};

    /// One group of constants: a comment, then `const NAME = value` per entry, each after its doc;
    /// their names go to `exports` as one line.
    fn group(out: &mut String, exports: &mut Vec<String>, title: &str, entries: &[(&str, u32, &str)]) {
        out.push_str(&format!("// {title}\n"));
        for (name, value, doc) in entries {
            for line in doc.lines().map(str::trim).filter(|l| !l.is_empty()) {
                out.push_str(&format!("// {line}\n"));
            }
            out.push_str(&format!("const {name} = {value}\n"));
        }
        out.push('\n');
        exports.push(entries.iter().map(|e| e.0).collect::<Vec<_>>().join(", "));
    }

    fn render() -> String {
        let mut out = header("src/core/protocol.rs");
        out.push_str("// The numbers of the byte formats between the facade and the core (src/core/protocol.rs).\n\n");
        let mut exports = Vec::new();
        let flags: Vec<_> = Flag::ALL.iter().map(|f| (f.js_name(), *f as u32, f.doc())).collect();
        group(&mut out, &mut exports, "Submission flags: bits of a query's `u8 flags`.", &flags);
        let params: Vec<_> = ParamKind::ALL.iter().map(|k| (k.js_name(), *k as u32, k.doc())).collect();
        group(&mut out, &mut exports, "Parameter kinds: how a submitted parameter's bytes are read.", &params);
        let kinds: Vec<_> = FrameKind::ALL.iter().map(|k| (k.js_name(), *k as u32, k.doc())).collect();
        group(&mut out, &mut exports, "Completion frame kinds.", &kinds);
        let encodings: Vec<_> = Encoding::ALL.iter().map(|e| (e.js_name(), *e as u32, "")).collect();
        let title = "Column value encodings in ROWS frames (`Encoding`): UTF-8 text, f64, one byte 0/1, raw bytes,\n\
                     // f64 ms since the Unix epoch (NaN for ±infinity), i32; all little-endian.";
        group(&mut out, &mut exports, title, &encodings);
        let ops: Vec<_> = CopyOp::ALL.iter().map(|o| (o.js_name(), *o as u32, o.doc())).collect();
        group(&mut out, &mut exports, "Operations on a running COPY: NativePool.copy(id, op, data).", &ops);
        let title = "The size of a chunk of completion frames, and of the facade's frame buffer.";
        group(&mut out, &mut exports, title, &[("POLL_BYTES", POLL_BYTES as u32, "")]);
        out.push_str("module.exports = {\n");
        out.push_str(&exports.iter().map(|line| format!("  {line}")).collect::<Vec<_>>().join(",\n"));
        out.push_str("\n}\n");
        out
    }

    #[test]
    fn js_protocol_is_generated() {
        check_or_write("js/protocol.js", &render());
    }

    #[test]
    fn values_decode_and_names_are_unique() {
        for f in Flag::ALL {
            assert_eq!(Flag::from_value(*f as u8), Some(*f));
            assert!((*f as u8).is_power_of_two(), "{f:?} is one bit");
        }
        for k in ParamKind::ALL {
            assert_eq!(ParamKind::from_value(*k as u8), Some(*k));
        }
        for k in FrameKind::ALL {
            assert_eq!(FrameKind::from_value(*k as u8), Some(*k));
        }
        for o in CopyOp::ALL {
            assert_eq!(CopyOp::from_value(*o as u32), Some(*o));
        }
        assert_eq!(FrameKind::from_value(0), None);
        for b in 0..=u8::MAX {
            let e = Encoding::from_byte(b);
            assert!(e as u8 == b || (e == Encoding::Text && !Encoding::ALL.iter().any(|x| *x as u8 == b)));
        }
        for (i, e) in Encoding::ALL.iter().enumerate() {
            assert_eq!(*e as usize, i, "Encoding::ALL in value order");
        }
        let mut names: Vec<&str> = Encoding::ALL.iter().map(|e| e.js_name()).collect();
        names.extend(Flag::ALL.iter().map(|x| x.js_name()));
        names.extend(ParamKind::ALL.iter().map(|x| x.js_name()));
        names.extend(FrameKind::ALL.iter().map(|x| x.js_name()));
        names.extend(CopyOp::ALL.iter().map(|x| x.js_name()));
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "JS names are unique");
    }
}
