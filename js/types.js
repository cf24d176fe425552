'use strict'

const { genericError, notTaggedCallError } = require('./errors.js')
const { Buffer } = require('./platform.js')

// The built-in types: name → OID, array OID ↔ element OID (generated from src/core/pg_text/catalogue.rs).
const { OID, ARRAY_ELEMENT, ELEMENT_ARRAY } = require('./catalogue.js')

// Base of the values users build with sql helpers: awaiting one is a mistake (postgres.js's NotTagged).
class Helper {
  then() { throw notTaggedCallError() }
  catch() { throw notTaggedCallError() }
  finally() { throw notTaggedCallError() }
}

// A value with an explicit type OID (sql.typed, sql.types.x, sql.json, sql.array).
// `array` true: `value` is an array and `type` its element OID (or already the array OID).
class Parameter extends Helper {
  constructor(value, type, array) {
    super()
    this.value = value
    this.type = type
    this.array = array
  }
}

function inferType(x) {
  return (
    x instanceof Parameter ? x.type :
    x instanceof Date ? 1184 :
    x instanceof Uint8Array ? 17 :
    x === true || x === false ? 16 :
    typeof x === 'bigint' ? 20 :
    Array.isArray(x) ? inferType(x[0]) :
    0
  )
}

const asBuffer = x => Buffer.isBuffer(x) ? x : Buffer.from(x.buffer, x.byteOffset, x.byteLength)

// Text (or binary, for bytes) sent for a non-null parameter, chosen from the JS value alone.
function serialize(x) {
  return (
    x == null ? null :
    typeof x === 'string' ? x :
    x === true ? 't' :
    x === false ? 'f' :
    x instanceof Date ? x.toISOString() :
    x instanceof Uint8Array ? asBuffer(x) :
    Array.isArray(x) ? arrayLiteral(x) :
    typeof x === 'object' ? JSON.stringify(x) :
    '' + x
  )
}

// PostgreSQL array literal; every element quoted, like postgres.js's arraySerializer.
function arrayLiteral(xs, serializer = serialize) {
  return '{' + xs.map(x => {
    // A typed element (sql.types.point([1, 2])) is one value, whatever its JS shape.
    const typedValue = x instanceof Parameter
    typedValue && (x = x.value)
    if (x === undefined)
      throw genericError('UNDEFINED_VALUE', 'Undefined values are not allowed')
    if (x === null)
      return 'null'
    if (Array.isArray(x) && !typedValue)
      return arrayLiteral(x, serializer)
    const text = serializer(x)
    const s = text instanceof Uint8Array ? '\\x' + asBuffer(text).toString('hex') : '' + text // bytes as bytea hex
    return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"'
  }).join(',') + '}'
}

// Default serializers for parameters whose OID is known on the client (typed or inferred).
const toDate = x => (x instanceof Date ? x : new Date(x)).toISOString()
const defaultSerializers = {
  16: x => x === true ? 't' : 'f',
  17: x => x instanceof Uint8Array ? asBuffer(x) : Buffer.from(x),
  114: JSON.stringify,
  3802: JSON.stringify,
  1082: toDate,
  1114: toDate,
  1184: toDate
}

// Parsers of text results by OID; OIDs without one stay strings.
const toNumber = x => +x
const toDateValue = x => new Date(x)
const defaultParsers = {
  16: x => x === 't',
  17: x => Buffer.from(x.slice(2), 'hex'),
  21: toNumber, 23: toNumber, 26: toNumber, 700: toNumber, 701: toNumber,
  114: JSON.parse, 3802: JSON.parse,
  1082: toDateValue, 1114: toDateValue, 1184: toDateValue
}

// Result types the native side decodes from binary unless asked for text (src/core/pg_text/mod.rs
// encoding_for): a parser of one of these other than the default needs the text form.
const BINARY_DECODED = [16, 17, 21, 23, 26, 700, 701, 1082, 1184]

const BigIntType = { to: 20, from: [20], serialize: x => x.toString(), parse: x => BigInt(x) }

// Merge postgres.js-style `types` ({ name: { to, from, serialize, parse } }) over the defaults.
function buildTypes(userTypes = {}, { bigint = false } = {}) {
  const all = bigint ? { bigint: BigIntType, ...userTypes } : userTypes
  // Each instance has its own objects (they are sql.options.serializers / parsers, which users edit);
  // js/build.js shares one lookup table among those equal to the defaults.
  const serializers = { ...defaultSerializers }
  const parsers = { ...defaultParsers }
  for (const type of Object.values(all)) {
    const from = type.from == null ? [] : [].concat(type.from)
    // Like postgres.js, a type without `parse` makes its OIDs plain strings.
    from.forEach(oid => parsers[oid] = type.parse)
    type.serialize && [type.to, ...from].forEach(oid => serializers[oid] = type.serialize)
  }
  const helpers = Object.fromEntries(Object.entries(userTypes).map(([name, type]) => [name, x => new Parameter(x, type.to)]))
  return { serializers, parsers, helpers }
}

// Parse a PostgreSQL array literal (nested, quoted, escaped; unquoted NULL → null).
function parseArray(text, parser, delimiter = ',') {
  let i = text[0] === '[' ? text.indexOf('=') + 1 : 0 // skip a '[1:2]=' bounds prefix
  const element = raw => parser ? parser(raw) : raw

  function list() {
    const xs = []
    i++ // '{'
    while (i < text.length && text[i] !== '}') {
      if (text[i] === '{') {
        xs.push(list())
      } else if (text[i] === '"') {
        let s = ''
        let start = ++i
        for (; i < text.length && text[i] !== '"'; i++) {
          if (text[i] === '\\') {
            s += text.slice(start, i)
            start = ++i
          }
        }
        xs.push(element(s + text.slice(start, i++)))
      } else {
        const start = i
        while (i < text.length && text[i] !== delimiter && text[i] !== '}') i++
        const raw = text.slice(start, i)
        xs.push(raw.length === 4 && raw.toUpperCase() === 'NULL' ? null : element(raw))
      }
      text[i] === delimiter && i++
    }
    i++ // '}'
    return xs
  }

  return list()
}

// The function turning a column's text into a JS value, or undefined to keep the string.
function parserFor(oid, parsers = defaultParsers) {
  if (oid in parsers)
    return parsers[oid]
  const element = ARRAY_ELEMENT[oid]
  if (element === undefined)
    return undefined
  const parser = parserFor(element, parsers)
  const delimiter = oid === 1020 ? ';' : ',' // box[] is the one built-in using ';'
  return text => parseArray(text, parser, delimiter)
}

module.exports = {
  OID,
  ARRAY_ELEMENT,
  ELEMENT_ARRAY,
  Helper,
  Parameter,
  BigInt: BigIntType,
  inferType,
  serialize,
  arrayLiteral,
  defaultSerializers,
  defaultParsers,
  BINARY_DECODED,
  buildTypes,
  parseArray,
  parserFor
}
