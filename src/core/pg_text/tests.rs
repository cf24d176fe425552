//! Tests across the families: values from PostgreSQL's own send and output functions, the
//! encodings for JS, types not in the catalogue, and malformed or random bytes.

use super::catalogue::oid;
use super::{binary_to_js, binary_to_text, encoding_for, DecodeError, Encoding};

/// The text of a value of a known type (panics otherwise).
pub(super) fn text(oid: u32, raw: &[u8]) -> String {
    let mut s = String::new();
    assert!(binary_to_text(oid, raw, &mut s).unwrap());
    s
}

#[test]
fn numbers_for_js() {
    let mut out = Vec::new();
    binary_to_js(oid::FLOAT4, Encoding::F64, &1.1f32.to_be_bytes(), &mut out).unwrap();
    assert_eq!(f64::from_le_bytes(out[..8].try_into().unwrap()), 1.1);
    assert!(binary_to_js(oid::INT4, Encoding::F64, &[1, 2], &mut out).is_err());
    // int2/int4 travel as i32 (JS reads a small integer).
    assert_eq!(encoding_for(oid::INT4, false), Encoding::I32);
    assert_eq!(encoding_for(oid::OID, false), Encoding::F64);
    for (ty, raw, want) in
        [(oid::INT2, (-2i16).to_be_bytes().to_vec(), -2i32), (oid::INT4, i32::MIN.to_be_bytes().to_vec(), i32::MIN)]
    {
        let mut out = Vec::new();
        binary_to_js(ty, Encoding::I32, &raw, &mut out).unwrap();
        assert_eq!(out, want.to_le_bytes());
    }
    assert!(binary_to_js(oid::INT4, Encoding::I32, &[1, 2, 3], &mut out).is_err());
    assert!(binary_to_js(oid::FLOAT8, Encoding::I32, &1f64.to_be_bytes(), &mut out).is_err());
}

/// Arrays of xml, cstring and tsquery render as any array of an unknown type does.
#[test]
fn arrays_of_types_rendered_by_the_fallback() {
    let mut v = unhex("00000001000000000000008e0000000200000001");
    for e in ["<a/>", "x y"] {
        v.extend_from_slice(&(e.len() as i32).to_be_bytes());
        v.extend_from_slice(e.as_bytes());
    }
    for array in [143, 1263, 3645, 99_999] {
        let mut out = Vec::new();
        binary_to_js(array, Encoding::Text, &v, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), r#"{<a/>,"x y"}"#, "{array}");
    }
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
}

/// (type OID, the bytes PostgreSQL 15's send function gives, the text its output function gives).
const SAMPLES: &[(u32, &str, &str)] = &[
    (829, "08002b010203", "08:00:2b:01:02:03"),                 // macaddr
    (774, "08002b0102030405", "08:00:2b:01:02:03:04:05"),       // macaddr8
    (1560, "00000003a0", "101"),                                // bit
    (1562, "0000000ab0c0", "1011000011"),                       // varbit
    (1562, "00000000", ""),                                     // varbit0
    (600, "3ff8000000000000c000000000000000", "(1.5,-2)"),      // point
    (600, "4415af1d78b58c403ee4f8b588e368f1", "(1e+20,1e-05)"), // pointbig
    (628, "3ff000000000000040000000000000004008000000000000", "{1,2,3}"), // line
    (601, "3ff0000000000000400000000000000040080000000000004010000000000000", "[(1,2),(3,4)]"), // lseg
    (603, "400800000000000040100000000000003ff00000000000004000000000000000", "(3,4),(1,2)"), // box
    (602, "00000000023ff0000000000000400000000000000040080000000000004010000000000000", "[(1,2),(3,4)]"), // pathopen
    // pathclosed
    (
        602,
        concat!(
            "01000000033ff00000000000004000000000000000400800000000000040100000000000004014000000000000401800",
            "0000000000",
        ),
        "((1,2),(3,4),(5,6))",
    ),
    // polygon
    (
        604,
        concat!(
            "00000003000000000000000000000000000000003ff00000000000003ff00000000000003ff000000000000000000000",
            "00000000",
        ),
        "((0,0),(1,1),(1,0))",
    ),
    (718, "3ff00000000000004000000000000000400a000000000000", "<(1,2),3.25>"), // circle
    (3614, "00000002610000010001620000010002", "'a':1 'b':2"),                 // tsv
    // tsvw
    (
        3614,
        "0000000461206200000100026261636b5c736c61736800000069742773000004c0018003400500076e6f706f73000000",
        "'a b':2 'back\\\\slash' 'it''s':1A,3B,5C,7 'nopos'",
    ),
    (3614, "00000000", ""), // tsvempty
    (2249, "00000003000000170000000400000001000002c100000003612062000002c1ffffffff", r#"(1,"a b",)"#), // record
    // record2
    (
        2249,
        concat!(
            "00000007000002c100000000000002c1000000057822795c7a000002c100000003287029000002c100000003632c6400",
            "0003ef00000024000000010000000000000017000000020000000100000004000000010000000400000002000002bd00",
            "0000083ff8000000000000000002c10000000171",
        ),
        r#"("","x""y\\z","(p)","c,d","{1,2}",1.5,q)"#,
    ),
    // recordnest
    (
        2249,
        concat!(
            "00000002000008c90000001b00000002000000170000000400000001000002c10000000361206200000258000000103f",
            "f00000000000004000000000000000",
        ),
        r#"("(1,""a b"")","(1,2)")"#,
    ),
    (2205, "000004eb", "1259"), // regclass
    (2205, "00000000", "-"),    // regclass0
    // boxarr
    (
        1020,
        concat!(
            "00000001000000000000025b0000000200000001000000203ff00000000000003ff00000000000000000000000000000",
            "0000000000000000000000204008000000000000400800000000000040000000000000004000000000000000",
        ),
        "{(1,1),(0,0);(3,3),(2,2)}",
    ),
    // textarr
    (
        1009,
        "000000010000000000000019000000030000000100000003613b6200000003760b7400000003632064",
        "{a;b,\"v\u{b}t\",\"c d\"}",
    ),
    // pointarr
    (
        1017,
        "0000000100000001000002580000000200000001000000103ff00000000000004000000000000000ffffffff",
        r#"{"(1,2)",NULL}"#,
    ),
    (3904, "0200000004000000010000000400000005", "[1,5)"), // int4range
    (3904, "080000000400000005", "(,5)"),                  // int4rangeinf
    (3904, "01", "empty"),                                 // int4rangeempty
    // tsrange
    (3908, "06000000080002b0d5d4e94000000000080002b0ec8515f340", r#"["2024-01-01 00:00:00","2024-01-02 03:04:05"]"#),
    (3906, "120000000c000200000000000100011388", "[1.5,)"), // numrange
    // datemulti
    (
        4535,
        "000000020000001102000000040000223e00000004000022400000001102000000040000225d000000040000225f",
        "{[2024-01-01,2024-01-03),[2024-02-01,2024-02-03)}",
    ),
    (4451, "00000000", "{}"),                  // emptymulti
    (27, "000000030007", "(3,7)"),             // tid
    (28, "ee6b2800", "4000000000"),            // xid
    (5069, "00000002dfdc1c35", "12345678901"), // xid8
    (3220, "00000016b374d848", "16/B374D848"), // lsn
    (22, "0000000100000000000000150000000300000000000000020001000000020002000000020003", "1 2 3"), // int2vector
    (30, "00000001000000000000001a000000020000000000000004000000170000000400000019", "23 25"), // oidvector
    (30, "00000001000000000000001a0000000000000000", ""), // oidvector0
    (4072, "01242e2261225b2a5d3f2840203e203129", r#"$."a"[*]?(@ > 1)"#), // jsonpath
    // snapshot
    (
        5038,
        "00000003000000000000000a0000000000000014000000000000000a000000000000000e000000000000000f",
        "10:20:10,14,15",
    ),
    // f8arr
    (
        1022,
        concat!(
            "0000000100000000000002bd0000000700000001000000084415af1d78b58c40000000083e7ad7f29abcaf4800000008",
            "3fb999999999999a000000080000000000000000000000087ff8000000000000000000087ff000000000000000000008",
            "42dc12218377de40",
        ),
        "{1e+20,1e-07,0.1,0,NaN,Infinity,123456789012345}",
    ),
    // f4arr
    (
        1021,
        concat!(
            "0000000100000000000002bc000000060000000100000004497424000000000447f12000000000043f8ccccd00000004",
            "7f7fffff000000043727c5ac0000000438d1b717",
        ),
        "{1e+06,123456,1.1,3.4028235e+38,1e-05,0.0001}",
    ),
    // recarr
    (
        2287,
        concat!(
            "0000000100000000000008c900000002000000010000001900000002000000170000000400000001000002c100000001",
            "610000001800000002000000170000000400000002000002c1ffffffff",
        ),
        r#"{"(1,a)","(2,)"}"#,
    ),
    // Enum array (element OID 16389, unknown here) and a named composite holding an enum and a text[].
    (
        16388,
        "0000000100000001000040050000000300000001000000037361640000000a76657279206861707079ffffffff",
        r#"{sad,"very happy",NULL}"#,
    ),
    (
        16397,
        concat!(
            "0000000300000017000000040000000100004005000000026f6b000003f10000001b0000000100000000000000190000",
            "00010000000100000003782079",
        ),
        r#"(1,ok,"{""x y""}")"#,
    ),
    (
        16396,
        concat!(
            "00000001000000000000400d000000010000000100000022000000030000001700000004000000010000400500000002",
            "6f6b000003f1ffffffff",
        ),
        r#"{"(1,ok,)"}"#,
    ),
];

#[test]
fn postgres_send_and_output() {
    for (oid, hex, expected) in SAMPLES {
        let raw = unhex(hex);
        let mut out = Vec::new();
        binary_to_js(*oid, encoding_for(*oid, false), &raw, &mut out).unwrap_or_else(|e| panic!("{oid} {hex}: {e:?}"));
        assert_eq!(std::str::from_utf8(&out).unwrap(), *expected, "type {oid}, {hex}");
    }
}

#[test]
fn unknown_types() {
    let text = |oid: u32, raw: &[u8]| {
        let mut out = Vec::new();
        binary_to_js(oid, Encoding::Text, raw, &mut out).map(|_| String::from_utf8(out).unwrap())
    };
    // An enum (or citext) value is its label.
    assert_eq!(text(99999, b"very happy").unwrap(), "very happy");
    // Not UTF-8, or holding a NUL without being an array or a record: no text form.
    let no_text = Err(DecodeError("type 99999 has no text conversion and its binary value is not UTF-8".into()));
    assert_eq!(text(99999, &[0xff, 0xfe]), no_text);
    assert_eq!(text(99999, &[8, 0, 0x2b, 1, 2, 3]), no_text);
    assert_eq!(text(99999, &[0, 0, 0, 1, 0, 0]), no_text);
    // An empty array of an unknown element type.
    assert_eq!(text(99999, &unhex("000000000000000000004005")).unwrap(), "{}");
    // A record nested 1000 deep is refused, not a stack overflow.
    let mut v = unhex("00000000");
    for _ in 0..1000 {
        let mut outer = unhex("00000001000008c9");
        outer.extend_from_slice(&(v.len() as i32).to_be_bytes());
        outer.extend_from_slice(&v);
        v = outer;
    }
    assert!(text(oid::RECORD, &v).is_err());
    // Malformed known types are errors.
    for (oid, hex) in [
        (829, "08002b0102"),
        (1560, "00000009a0"),
        (1560, "ffffffffa0"),
        (600, "3ff8"),
        (602, "02000000ff"),
        (604, "7fffffff"),
        (3614, "0000000161"),
        (2249, "00000001000000170000000400"),
        (3904, "0200000004000000010000000400"),
        (1007, "000000010000000200000017"),
    ] {
        assert!(text(oid, &unhex(hex)).is_err(), "{oid} {hex}");
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut oids = vec![
        16, 17, 20, 21, 23, 25, 26, 114, 700, 701, 790, 650, 869, 1082, 1083, 1114, 1184, 1186, 1266, 1700, 2950, 3802,
        1007, 1009, 1231, 1185, 99999,
    ];
    // The types added with their text forms: macaddr, bit, geometric, tsvector, record, reg*, tid/xid,
    // lsn, vectors, jsonpath, snapshots, ranges, multiranges, and their arrays.
    oids.extend([
        829, 774, 1560, 1562, 600, 601, 602, 603, 604, 628, 718, 3614, 2249, 2205, 24, 27, 28, 29, 5069, 3220, 22, 30,
        4072, 5038, 2970, 3904, 3906, 3908, 3912, 4451, 4535, 4536,
    ]);
    oids.extend([1040, 1561, 1017, 1020, 1019, 3643, 2287, 2210, 1006, 3905, 6150]);
    for _ in 0..20_000 {
        let len = (next() % 40) as usize;
        let raw: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let o = oids[(next() % oids.len() as u64) as usize];
        let mut out = Vec::new();
        for text in [false, true] {
            let _ = binary_to_js(o, encoding_for(o, text), &raw, &mut out);
        }
    }
    // Valid values with a few bytes changed, or cut short, reach the deeper parsing paths.
    for _ in 0..50_000 {
        let (o, hex, _) = SAMPLES[(next() % SAMPLES.len() as u64) as usize];
        let mut raw = unhex(hex);
        for _ in 0..1 + next() % 3 {
            if !raw.is_empty() {
                let at = (next() % raw.len() as u64) as usize;
                raw[at] = if next() % 2 == 0 { next() as u8 } else { [0, 1, 0x7f, 0x80, 0xff][(next() % 5) as usize] };
            }
        }
        if next() % 4 == 0 {
            raw.truncate((next() % (raw.len() as u64 + 1)) as usize);
        }
        let mut out = Vec::new();
        let _ = binary_to_js(o, Encoding::Text, &raw, &mut out);
    }
}
