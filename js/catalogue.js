// Generated from src/core/pg_text/catalogue.rs by `UPDATE_GENERATED=1 cargo test`; do not edit by hand.
'use strict'

// Built-in type name → type OID.
const OID = {
  bool: 16, bytea: 17, char: 18, name: 19, int8: 20, int2: 21, int2vector: 22, int4: 23, regproc: 24,
  text: 25, oid: 26, tid: 27, xid: 28, cid: 29, oidvector: 30, json: 114, xml: 142, point: 600, lseg: 601,
  path: 602, box: 603, polygon: 604, line: 628, cidr: 650, float4: 700, float8: 701, unknown: 705,
  circle: 718, macaddr8: 774, money: 790, macaddr: 829, inet: 869, bpchar: 1042, varchar: 1043, date: 1082,
  time: 1083, timestamp: 1114, timestamptz: 1184, interval: 1186, timetz: 1266, bit: 1560, varbit: 1562,
  numeric: 1700, regprocedure: 2202, regoper: 2203, regoperator: 2204, regclass: 2205, regtype: 2206,
  record: 2249, cstring: 2275, uuid: 2950, txid_snapshot: 2970, pg_lsn: 3220, tsvector: 3614, tsquery: 3615,
  regconfig: 3734, regdictionary: 3769, jsonb: 3802, jsonpath: 4072, regnamespace: 4089, regrole: 4096,
  regcollation: 4191, pg_snapshot: 5038, xid8: 5069, int4range: 3904, numrange: 3906, tsrange: 3908,
  tstzrange: 3910, daterange: 3912, int8range: 3926, int4multirange: 4451, nummultirange: 4532,
  tsmultirange: 4533, tstzmultirange: 4534, datemultirange: 4535, int8multirange: 4536
}

// Built-in array type OID → element type OID: the arrays whose values are parsed into JS arrays
// (every built-in one but record[], as in postgres.js).
const ARRAY_ELEMENT = {
  143: 142, 199: 114, 271: 5069, 629: 628, 651: 650, 719: 718, 775: 774, 791: 790, 1000: 16, 1001: 17,
  1002: 18, 1003: 19, 1005: 21, 1006: 22, 1007: 23, 1008: 24, 1009: 25, 1010: 27, 1011: 28, 1012: 29,
  1013: 30, 1014: 1042, 1015: 1043, 1016: 20, 1017: 600, 1018: 601, 1019: 602, 1020: 603, 1021: 700,
  1022: 701, 1027: 604, 1028: 26, 1040: 829, 1041: 869, 1115: 1114, 1182: 1082, 1183: 1083, 1185: 1184,
  1187: 1186, 1231: 1700, 1263: 2275, 1270: 1266, 1561: 1560, 1563: 1562, 2207: 2202, 2208: 2203, 2209: 2204,
  2210: 2205, 2211: 2206, 2949: 2970, 2951: 2950, 3221: 3220, 3643: 3614, 3645: 3615, 3735: 3734, 3770: 3769,
  3807: 3802, 3905: 3904, 3907: 3906, 3909: 3908, 3911: 3910, 3913: 3912, 3927: 3926, 4073: 4072, 4090: 4089,
  4097: 4096, 4192: 4191, 5039: 5038, 6150: 4451, 6151: 4532, 6152: 4533, 6153: 4534, 6155: 4535, 6157: 4536
}

// Element type OID → array type OID.
const ELEMENT_ARRAY = {
  16: 1000, 17: 1001, 18: 1002, 19: 1003, 20: 1016, 21: 1005, 22: 1006, 23: 1007, 24: 1008, 25: 1009,
  26: 1028, 27: 1010, 28: 1011, 29: 1012, 30: 1013, 114: 199, 142: 143, 600: 1017, 601: 1018, 602: 1019,
  603: 1020, 604: 1027, 628: 629, 650: 651, 700: 1021, 701: 1022, 718: 719, 774: 775, 790: 791, 829: 1040,
  869: 1041, 1042: 1014, 1043: 1015, 1082: 1182, 1083: 1183, 1114: 1115, 1184: 1185, 1186: 1187, 1266: 1270,
  1560: 1561, 1562: 1563, 1700: 1231, 2202: 2207, 2203: 2208, 2204: 2209, 2205: 2210, 2206: 2211, 2275: 1263,
  2950: 2951, 2970: 2949, 3220: 3221, 3614: 3643, 3615: 3645, 3734: 3735, 3769: 3770, 3802: 3807, 3904: 3905,
  3906: 3907, 3908: 3909, 3910: 3911, 3912: 3913, 3926: 3927, 4072: 4073, 4089: 4090, 4096: 4097, 4191: 4192,
  4451: 6150, 4532: 6151, 4533: 6152, 4534: 6153, 4535: 6155, 4536: 6157, 5038: 5039, 5069: 271
}

module.exports = { OID, ARRAY_ELEMENT, ELEMENT_ARRAY }
