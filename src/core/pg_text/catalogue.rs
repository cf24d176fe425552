//! The one catalogue of the built-in PostgreSQL types the connector knows: name, OID, array type,
//! and how ranges and multiranges relate. The text renderers look ranges, multiranges and arrays up
//! here, and `js/catalogue.js` (the JS side's `OID`, `ARRAY_ELEMENT` and `ELEMENT_ARRAY`) is
//! generated from [`TYPES`] by the test at the end of this file: `UPDATE_GENERATED=1 cargo test
//! --lib pg_text::catalogue` rewrites it after a change here.
//!
//! A type missing here still renders when its binary form is its text (enums, citext) or is an
//! array or a record (see `text::any_text`); listing it adds JS's array parsing and its name.

/// The OIDs the renderers match on (the fixed OIDs of `pg_type.dat`).
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT2VECTOR: u32 = 22;
    pub const INT4: u32 = 23;
    pub const REGPROC: u32 = 24;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const TID: u32 = 27;
    pub const XID: u32 = 28;
    pub const CID: u32 = 29;
    pub const OIDVECTOR: u32 = 30;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const POINT: u32 = 600;
    pub const LSEG: u32 = 601;
    pub const PATH: u32 = 602;
    pub const BOX: u32 = 603;
    pub const POLYGON: u32 = 604;
    pub const LINE: u32 = 628;
    pub const CIDR: u32 = 650;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const CIRCLE: u32 = 718;
    pub const MACADDR8: u32 = 774;
    pub const MONEY: u32 = 790;
    pub const MACADDR: u32 = 829;
    pub const INET: u32 = 869;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const BIT: u32 = 1560;
    pub const VARBIT: u32 = 1562;
    pub const NUMERIC: u32 = 1700;
    pub const REGPROCEDURE: u32 = 2202;
    pub const REGOPER: u32 = 2203;
    pub const REGOPERATOR: u32 = 2204;
    pub const REGCLASS: u32 = 2205;
    pub const REGTYPE: u32 = 2206;
    pub const RECORD: u32 = 2249;
    pub const CSTRING: u32 = 2275;
    pub const UUID: u32 = 2950;
    pub const TXID_SNAPSHOT: u32 = 2970;
    pub const PG_LSN: u32 = 3220;
    pub const TSVECTOR: u32 = 3614;
    pub const TSQUERY: u32 = 3615;
    pub const REGCONFIG: u32 = 3734;
    pub const REGDICTIONARY: u32 = 3769;
    pub const JSONB: u32 = 3802;
    pub const JSONPATH: u32 = 4072;
    pub const REGNAMESPACE: u32 = 4089;
    pub const REGROLE: u32 = 4096;
    pub const REGCOLLATION: u32 = 4191;
    pub const PG_SNAPSHOT: u32 = 5038;
    pub const XID8: u32 = 5069;
    pub const INT4RANGE: u32 = 3904;
    pub const NUMRANGE: u32 = 3906;
    pub const TSRANGE: u32 = 3908;
    pub const TSTZRANGE: u32 = 3910;
    pub const DATERANGE: u32 = 3912;
    pub const INT8RANGE: u32 = 3926;
    pub const INT4MULTIRANGE: u32 = 4451;
    pub const NUMMULTIRANGE: u32 = 4532;
    pub const TSMULTIRANGE: u32 = 4533;
    pub const TSTZMULTIRANGE: u32 = 4534;
    pub const DATEMULTIRANGE: u32 = 4535;
    pub const INT8MULTIRANGE: u32 = 4536;
}

use oid::*;

/// One built-in type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgType {
    /// `pg_type.typname`.
    pub name: &'static str,
    pub oid: u32,
    /// The OID of its array type (`typarray`; 0: it has none).
    pub array: u32,
    pub kind: Kind,
}

impl PgType {
    /// Whether the JS side parses values of this type's array into JS arrays: every built-in array
    /// type of category `A` does, as postgres.js does. record[] is the one built-in array of
    /// category `P` (a pseudo-type), whose values postgres.js leaves as strings.
    pub fn js_parses_array(&self) -> bool {
        self.array != 0 && self.oid != RECORD
    }
}

/// What a renderer must know about a type beyond its OID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Rendered by its own OID (or, for xml, cstring and tsquery, by the fallback for unknown types).
    Base,
    /// A range over the element type `subtype`.
    Range { subtype: u32 },
    /// A multirange of the range type `range`.
    Multirange { range: u32 },
}

const fn base(name: &'static str, oid: u32, array: u32) -> PgType {
    PgType { name, oid, array, kind: Kind::Base }
}

const fn range(name: &'static str, oid: u32, array: u32, subtype: u32) -> PgType {
    PgType { name, oid, array, kind: Kind::Range { subtype } }
}

const fn multirange(name: &'static str, oid: u32, array: u32, range: u32) -> PgType {
    PgType { name, oid, array, kind: Kind::Multirange { range } }
}

/// Every built-in type the connector knows, by OID. An OID appearing twice (as a type or as an
/// array) fails the build (see `index`).
#[rustfmt::skip]
pub const TYPES: &[PgType] = &[
    base("bool", BOOL, 1000),
    base("bytea", BYTEA, 1001),
    base("char", CHAR, 1002),
    base("name", NAME, 1003),
    base("int8", INT8, 1016),
    base("int2", INT2, 1005),
    base("int2vector", INT2VECTOR, 1006),
    base("int4", INT4, 1007),
    base("regproc", REGPROC, 1008),
    base("text", TEXT, 1009),
    base("oid", OID, 1028),
    base("tid", TID, 1010),
    base("xid", XID, 1011),
    base("cid", CID, 1012),
    base("oidvector", OIDVECTOR, 1013),
    base("json", JSON, 199),
    base("xml", XML, 143),
    base("point", POINT, 1017),
    base("lseg", LSEG, 1018),
    base("path", PATH, 1019),
    base("box", BOX, 1020),
    base("polygon", POLYGON, 1027),
    base("line", LINE, 629),
    base("cidr", CIDR, 651),
    base("float4", FLOAT4, 1021),
    base("float8", FLOAT8, 1022),
    base("unknown", UNKNOWN, 0),
    base("circle", CIRCLE, 719),
    base("macaddr8", MACADDR8, 775),
    base("money", MONEY, 791),
    base("macaddr", MACADDR, 1040),
    base("inet", INET, 1041),
    base("bpchar", BPCHAR, 1014),
    base("varchar", VARCHAR, 1015),
    base("date", DATE, 1182),
    base("time", TIME, 1183),
    base("timestamp", TIMESTAMP, 1115),
    base("timestamptz", TIMESTAMPTZ, 1185),
    base("interval", INTERVAL, 1187),
    base("timetz", TIMETZ, 1270),
    base("bit", BIT, 1561),
    base("varbit", VARBIT, 1563),
    base("numeric", NUMERIC, 1231),
    base("regprocedure", REGPROCEDURE, 2207),
    base("regoper", REGOPER, 2208),
    base("regoperator", REGOPERATOR, 2209),
    base("regclass", REGCLASS, 2210),
    base("regtype", REGTYPE, 2211),
    base("record", RECORD, 2287),
    base("cstring", CSTRING, 1263),
    base("uuid", UUID, 2951),
    base("txid_snapshot", TXID_SNAPSHOT, 2949),
    base("pg_lsn", PG_LSN, 3221),
    base("tsvector", TSVECTOR, 3643),
    base("tsquery", TSQUERY, 3645),
    base("regconfig", REGCONFIG, 3735),
    base("regdictionary", REGDICTIONARY, 3770),
    base("jsonb", JSONB, 3807),
    base("jsonpath", JSONPATH, 4073),
    base("regnamespace", REGNAMESPACE, 4090),
    base("regrole", REGROLE, 4097),
    base("regcollation", REGCOLLATION, 4192),
    base("pg_snapshot", PG_SNAPSHOT, 5039),
    base("xid8", XID8, 271),
    range("int4range", INT4RANGE, 3905, INT4),
    range("numrange", NUMRANGE, 3907, NUMERIC),
    range("tsrange", TSRANGE, 3909, TIMESTAMP),
    range("tstzrange", TSTZRANGE, 3911, TIMESTAMPTZ),
    range("daterange", DATERANGE, 3913, DATE),
    range("int8range", INT8RANGE, 3927, INT8),
    multirange("int4multirange", INT4MULTIRANGE, 6150, INT4RANGE),
    multirange("nummultirange", NUMMULTIRANGE, 6151, NUMRANGE),
    multirange("tsmultirange", TSMULTIRANGE, 6152, TSRANGE),
    multirange("tstzmultirange", TSTZMULTIRANGE, 6153, TSTZRANGE),
    multirange("datemultirange", DATEMULTIRANGE, 6155, DATERANGE),
    multirange("int8multirange", INT8MULTIRANGE, 6157, INT8RANGE),
];

/// The type with OID `oid`.
pub fn by_oid(oid: u32) -> Option<&'static PgType> {
    at(&TYPE_AT, oid)
}

/// The element type of the array type `array_oid`.
pub fn array_element(array_oid: u32) -> Option<u32> {
    at(&ELEMENT_AT, array_oid).map(|t| t.oid)
}

/// The element type of the range type `range_oid`.
pub fn range_subtype(range_oid: u32) -> Option<u32> {
    match by_oid(range_oid)?.kind {
        Kind::Range { subtype } => Some(subtype),
        _ => None,
    }
}

/// The range type of the multirange type `multirange_oid`.
pub fn multirange_range(multirange_oid: u32) -> Option<u32> {
    match by_oid(multirange_oid)?.kind {
        Kind::Multirange { range } => Some(range),
        _ => None,
    }
}

// Lookups run per value (every array, range and unknown-typed value asks), so they index dense
// tables built at compile time instead of scanning TYPES.

const INDEX_LEN: usize = highest_oid() + 1;

/// Position + 1 in TYPES of the type with each OID (0: none).
static TYPE_AT: [u8; INDEX_LEN] = index(false);
/// Position + 1 in TYPES of the element type of the array type with each OID (0: none).
static ELEMENT_AT: [u8; INDEX_LEN] = index(true);

fn at(index: &[u8; INDEX_LEN], oid: u32) -> Option<&'static PgType> {
    match index.get(oid as usize) {
        Some(&i) if i > 0 => Some(&TYPES[i as usize - 1]),
        _ => None,
    }
}

const fn highest_oid() -> usize {
    let mut max = 0;
    let mut i = 0;
    while i < TYPES.len() {
        let t = &TYPES[i];
        if t.oid > max {
            max = t.oid;
        }
        if t.array > max {
            max = t.array;
        }
        i += 1;
    }
    max as usize
}

const fn index(arrays: bool) -> [u8; INDEX_LEN] {
    assert!(TYPES.len() < u8::MAX as usize, "the catalogue outgrew its u8 index");
    let mut at = [0u8; INDEX_LEN];
    let mut i = 0;
    while i < TYPES.len() {
        let t = &TYPES[i];
        let key = if arrays { t.array } else { t.oid };
        if key != 0 {
            assert!(at[key as usize] == 0, "an OID appears twice in the catalogue");
            assert!(arrays || !is_array(t.oid), "a type OID is also an array OID");
            at[key as usize] = (i + 1) as u8;
        }
        i += 1;
    }
    at
}

/// Whether `oid` is some type's array type.
const fn is_array(oid: u32) -> bool {
    let mut i = 0;
    while i < TYPES.len() {
        if TYPES[i].array == oid {
            return true;
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::generated::{check_or_write, header};

    #[test]
    fn lookups() {
        assert_eq!(by_oid(INT4).map(|t| t.name), Some("int4"));
        assert_eq!(array_element(1007), Some(INT4));
        assert_eq!(array_element(1006), Some(INT2VECTOR));
        assert_eq!(array_element(143), Some(XML));
        assert_eq!(array_element(2287), Some(RECORD));
        assert_eq!(array_element(6157), Some(INT8MULTIRANGE));
        assert_eq!(array_element(INT4), None);
        assert_eq!(range_subtype(DATERANGE), Some(DATE));
        assert_eq!(range_subtype(INT4), None);
        assert_eq!(multirange_range(NUMMULTIRANGE), Some(NUMRANGE));
        assert_eq!(multirange_range(NUMRANGE), None);
        let parsed = |oid| by_oid(oid).is_some_and(PgType::js_parses_array);
        assert_eq!([parsed(INT4), parsed(INT4RANGE), parsed(RECORD), parsed(UNKNOWN)], [true, true, false, false]);
        for unknown in [0, 99_999, u32::MAX] {
            assert_eq!((by_oid(unknown), array_element(unknown)), (None, None));
        }
        // Every range's subtype and every multirange's range is in the catalogue.
        for t in TYPES {
            match t.kind {
                Kind::Range { subtype: o } | Kind::Multirange { range: o } => {
                    assert!(by_oid(o).is_some(), "{}", t.name)
                }
                Kind::Base => {}
            }
        }
    }

    /// `{ k: v, ... }` as lines of at most 110 columns.
    fn js_object(pairs: impl IntoIterator<Item = (String, u32)>) -> String {
        let mut lines = vec![String::from(" ")];
        for (k, v) in pairs {
            let item = format!(" {k}: {v},");
            if lines.last().is_some_and(|l| l.len() + item.len() > 110) {
                lines.push(String::from(" "));
            }
            lines.last_mut().unwrap().push_str(&item);
        }
        let body = lines.join("\n");
        format!("{{\n{}\n}}", body.strip_suffix(',').unwrap_or(&body))
    }

    /// js/catalogue.js: the JS side's view of TYPES.
    #[test]
    fn js_catalogue() {
        let mut arrays: Vec<(u32, u32)> =
            TYPES.iter().filter(|t| t.js_parses_array()).map(|t| (t.array, t.oid)).collect();
        arrays.sort();
        let mut elements = arrays.iter().map(|&(a, e)| (e, a)).collect::<Vec<_>>();
        elements.sort();
        let text = format!(
            "{}// Built-in type name → type OID.\nconst OID = {}\n\n\
             // Built-in array type OID → element type OID: the arrays whose values are parsed into JS arrays\n\
             // (every built-in one but record[], as in postgres.js).\nconst ARRAY_ELEMENT = {}\n\n\
             // Element type OID → array type OID.\nconst ELEMENT_ARRAY = {}\n\n\
             module.exports = {{ OID, ARRAY_ELEMENT, ELEMENT_ARRAY }}\n",
            header("src/core/pg_text/catalogue.rs"),
            js_object(TYPES.iter().map(|t| (t.name.to_string(), t.oid))),
            js_object(arrays.iter().map(|&(a, e)| (a.to_string(), e))),
            js_object(elements.iter().map(|&(e, a)| (e.to_string(), a))),
        );
        check_or_write("js/catalogue.js", &text);
    }
}
