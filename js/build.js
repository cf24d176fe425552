'use strict'

const { genericError, notTaggedCallError } = require('./errors.js')
const { Helper, Parameter, inferType, serialize, arrayLiteral, defaultSerializers, ARRAY_ELEMENT, ELEMENT_ARRAY } = require('./types.js')
const { normalizeTransform } = require('./transform.js')
const { Buffer } = require('./platform.js')

// Marks an object as a nested query: { [FRAGMENT]: true, strings, args } for a tagged template,
// { [FRAGMENT]: true, unsafe: text, args } for sql.unsafe(text, args).
const FRAGMENT = Symbol.for('aurora-dsql-postgres.fragment')
const MAX_PARAMETERS = 65534

const isFragment = x => !!x && x[FRAGMENT] === true

// sql('name') / sql('schema.table'); also accepts an array of names.
class Identifier extends Helper {
  constructor(value) {
    super()
    this.value = value
  }
}

// sql(object | objects | names, ...columns): rendered by the keyword before it.
class Builder extends Helper {
  constructor(first, rest) {
    super()
    this.first = first
    this.rest = rest
  }
}

// What postgres.js's sql(first, ...rest) returns when not called as a tagged template.
const helper = (first, ...rest) =>
  typeof first === 'string' && !rest.length ? new Identifier(first) : new Builder(first, rest)

const typed = (value, type) => new Parameter(value, type)
const json = x => new Parameter(x, 3802)

// sql.array(xs, elementOid?): text[] unless the type is given or inferred (postgres.js's default).
function array(xs, type) {
  if (!Array.isArray(xs))
    return array(Array.from(arguments))
  return new Parameter(xs, type || (xs.length ? inferType(xs) || 25 : 0), true)
}

const escapeIdentifier = x => '"' + x.replace(/"/g, '""').replace(/\./g, '"."') + '"'

// { text, params, types } of a top-level template; written into `out` when given (a running query
// keeps them on its own state, so no object is made per query).
function build(strings, args, ctx, out) {
  return plainArgs(args) && Object.isFrozen(strings) ? buildPlain(strings, args, out) : buildFull(strings, args, ctx, out)
}

function buildFull(strings, args, ctx, out) {
  const state = newState(ctx)
  return result(template(strings, args, state), state.params, state.types, out)
}

// The common case, a template literal whose arguments are all plain values or typed parameters
// (no fragments, helpers, arrays or undefined): the text depends on the strings alone, so it is made
// once per call site (the same string each time, which also keeps lookups by text cheap), with the
// parameter types of its last call.
const texts = new WeakMap()
const NONE = Object.freeze([])

// The type `parameter` gives a plain value (null, string, number, boolean, Date, bytes), or -1 for
// anything else (which takes the general path).
function plainType(x) {
  return x === null || typeof x === 'string' || typeof x === 'number' ? 0
    : typeof x === 'boolean' ? 16 : x instanceof Date ? 1184 : x instanceof Uint8Array ? 17 : -1
}

// A typed parameter whose value is plain too (`parameter` would bind its value with its type).
const plainParameter = x => x instanceof Parameter && !x.array && x.value !== undefined && !Array.isArray(x.value)

function plainArgs(args) {
  if (args.length >= MAX_PARAMETERS - 1) return false
  for (let i = 0; i < args.length; i++)
    if (plainType(args[i]) < 0 && !plainParameter(args[i])) return false
  return true
}

function buildPlain(strings, args, out) {
  let site = texts.get(strings)
  if (site === undefined) {
    let text = strings[0]
    for (let i = 1; i < strings.length; i++) text += '$' + i + strings[i]
    site = { text, types: NONE }
    texts.set(strings, site)
  }
  // The types usually repeat from call to call: the call site's last array is reused while they do.
  const last = site.types
  let types = null
  let params = args
  for (let i = 0; i < args.length; i++) {
    const x = args[i]
    let type
    if (x instanceof Parameter) {
      params === args && (params = args.slice())
      params[i] = x.value
      type = x.type || 0
    } else {
      type = plainType(x)
    }
    if (types !== null) types[i] = type
    else if (last[i] !== type || last.length !== args.length) {
      types = new Array(args.length)
      for (let j = 0; j < i; j++) types[j] = last[j]
      types[i] = type
    }
  }
  if (types !== null) site.types = Object.freeze(types)
  return result(site.text, params, site.types, out)
}

// Top-level sql.unsafe(text, args): the text is kept, every arg is a parameter.
function buildUnsafe(text, args = [], ctx, out) {
  const state = newState(ctx)
  args.forEach(x => parameter(x, state))
  return result(text, state.params, state.types, out)
}

const newState = (ctx = {}) => ({ params: [], types: [], transform: ctx.transform || normalizeTransform() })
function result(text, params, types, out) {
  if (out === undefined) return { text, params, types }
  out.text = text
  out.params = params
  out.types = types
  return out
}

function template(strings, args, state) {
  let text = strings[0]
  for (let i = 1; i < strings.length; i++)
    text += value(text, args[i - 1], state) + strings[i]
  return text
}

// `before` is the text generated so far in the current template; builders read their keyword from it.
function value(before, x, state) {
  if (x === null || typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean')
    return parameter(x, state)
  return (
    x instanceof Builder ? builder(before, x, state) :
    isFragment(x) ? fragment(x, state) :
    x instanceof Identifier ? identifiers(x.value, state) :
    Array.isArray(x) && isFragment(x[0]) ? x.reduce((text, y) => text + ' ' + value(before, y, state), '') :
    parameter(x, state)
  )
}

function fragment(x, state) {
  if (typeof x.unsafe !== 'string')
    return template(x.strings, x.args, state)
  // postgres.js inlines nested unsafe text verbatim and drops its args; we bind the args and shift
  // the text's $n to match (without args the text is verbatim, as in postgres.js).
  const args = x.args || []
  const offset = state.params.length
  args.forEach(y => parameter(y, state))
  return args.length ? renumber(x.unsafe, offset, args.length) : x.unsafe
}

// Strings, quoted identifiers, comments and dollar quotes are skipped; `a$1` is an identifier.
const TOKENS = /[eE]'(?:[^'\\]|\\[\s\S]|'')*'|'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\/|(\$(?:[A-Za-z_][\w]*)?\$)[\s\S]*?\1|[\w$]+\$\d+|\$(\d+)/g

function renumber(text, offset, count) {
  return text.replace(TOKENS, (token, tag, n) => n && +n <= count ? '$' + (offset + +n) : token)
}

function parameter(x, state) {
  if (typeof x === 'string' || typeof x === 'number') { // the common case, inferred by the server
    if (state.params.length + 1 >= MAX_PARAMETERS)
      throw genericError('MAX_PARAMETERS_EXCEEDED', 'Max number of parameters (' + MAX_PARAMETERS + ') exceeded')
    state.types.push(0)
    return '$' + state.params.push(x)
  }
  const isParameter = x instanceof Parameter
  let v = isParameter ? x.value : x
  v === undefined && (v = undefinedValue(state))
  Array.isArray(v) && (v = definedElements(v, state))
  if (state.params.length + 1 >= MAX_PARAMETERS) // as postgres.js: 65534 parameters are already too many
    throw genericError('MAX_PARAMETERS_EXCEEDED', 'Max number of parameters (' + MAX_PARAMETERS + ') exceeded')
  state.params.push(v)
  state.types.push(
    !isParameter ? (Array.isArray(v) ? ELEMENT_ARRAY[inferType(v)] || 0 : inferType(v)) :
    x.array ? ELEMENT_ARRAY[x.type || inferType(v)] || x.type || firstIsString(v) :
    x.type || 0
  )
  return '$' + state.params.length
}

function undefinedValue(state) {
  if (state.transform.undefined === undefined)
    throw genericError('UNDEFINED_VALUE', 'Undefined values are not allowed')
  return state.transform.undefined
}

// Replace undefined array elements (at any depth) with transform.undefined, or throw.
function definedElements(xs, state) {
  return xs.some(x => x === undefined || Array.isArray(x))
    ? xs.map(x => x === undefined ? undefinedValue(state) : Array.isArray(x) ? definedElements(x, state) : x)
    : xs
}

const firstIsString = x => Array.isArray(x) ? firstIsString(x[0]) : typeof x === 'string' ? 1009 : 0

function identifiers(names, { transform: { column } }) {
  return [].concat(names).map(x => escapeIdentifier(column.to ? column.to(x) : x)).join(',')
}

function columnName(x, { transform: { column } }) {
  return escapeIdentifier(column.to ? column.to(x) : x)
}

// Columns to use: the given ones, else the keys of the sample row.
const columnsOf = (rest, sample) => rest.length ? rest.flat() : Object.keys(sample)

// A row list of plain values (the usual insert): its text depends only on where its parameters start
// and its shape, so it is made once; the values go straight to the parameters.
const rowTexts = new Map()

function rows(list, columns, state) {
  const start = state.params.length
  if (start + list.length * columns.length < MAX_PARAMETERS - 1 && plainRows(list, columns, state)) {
    const key = start + ':' + list.length + ':' + columns.length
    let text = rowTexts.get(key)
    if (text === undefined) {
      text = ''
      for (let r = 0, n = start; r < list.length; r++) {
        text += r === 0 ? '(' : ',('
        for (let c = 0; c < columns.length; c++) text += (c === 0 ? '$' : ',$') + ++n
        text += ')'
      }
      rowTexts.size >= 256 && rowTexts.clear()
      rowTexts.set(key, text)
    }
    return text
  }
  return rowsOfValues(list, columns, state)
}

// Adds every value of the list as a parameter when all are plain (as `parameter` would type them);
// otherwise adds none and returns false. The arrays are sized once (growing them push by push makes
// about twice their size in garbage).
function plainRows(list, columns, state) {
  const params = state.params, types = state.types, start = params.length
  params.length = types.length = start + list.length * columns.length
  for (let r = 0, i = start; r < list.length; r++) {
    const row = list[r]
    for (let c = 0; c < columns.length; c++, i++) {
      const x = row[columns[c]]
      const type = plainType(x)
      if (type < 0) {
        params.length = types.length = start
        return false
      }
      params[i] = x
      types[i] = type
    }
  }
  return true
}

function rowsOfValues(list, columns, state) {
  let text = ''
  for (let r = 0; r < list.length; r++) {
    const row = list[r]
    text += r === 0 ? '(' : ',('
    for (let c = 0; c < columns.length; c++) text += (c === 0 ? '' : ',') + value('values', row[columns[c]], state)
    text += ')'
  }
  return text
}

function values(first, rest, state) {
  const multi = Array.isArray(first[0])
  return rows(multi ? first : [first], columnsOf(rest, multi ? first[0] : first), state)
}

function select(first, rest, state) {
  if (typeof first === 'string')
    return identifiers([first, ...rest], state)
  if (Array.isArray(first))
    return identifiers(first, state)
  return columnsOf(rest, first).map(c => value('values', first[c], state) + ' as ' + columnName(c, state)).join(',')
}

const builders = [
  ['values', values],
  ['in', (first, rest, state) => {
    const text = values(first, rest, state)
    return text === '()' ? '(null)' : text
  }],
  ['select', select],
  ['as', select],
  ['returning', select],
  ['\\(', select],
  ['update', (first, rest, state) =>
    columnsOf(rest, first).map(c => columnName(c, state) + '=' + value('values', first[c], state)).join(',')],
  ['insert', (first, rest, state) => {
    const list = Array.isArray(first) ? first : [first]
    const columns = columnsOf(rest, list[0])
    return '(' + identifiers(columns, state) + ')values' + rows(list, columns, state)
  }]
].map(([keyword, fn]) => [new RegExp('((?:^|[\\s(])' + keyword + '(?:$|[\\s(]))(?![\\s\\S]*\\1)', 'i'), fn])

// postgres.js's rule: each keyword's position is its first occurrence whose matched text (with the
// surrounding characters) does not recur later; the rightmost keyword wins.
function builder(before, { first, rest }, state) {
  let best = { index: -1 }
  for (const [regex, fn] of builders) {
    const index = before.search(regex)
    index > best.index && (best = { index, fn })
  }
  return best.fn ? best.fn(first, rest, state) : identifiers(first, state)
}

const TIMESTAMPTZ = defaultSerializers[1184]

class Alternatives {
  constructor(literal, json, plain) { this.literal = literal; this.json = json; this.plain = plain }
}

// Wire form of built params: a custom serializer for the param's OID (or for the element OID of
// an array type) when there is one, else by the JS value.
// When every value is its own wire form (strings, numbers, null: the usual case) the array itself is
// returned: no array per query (with 10,000 queries in flight, each one kept is scavenged).
function serializeParams(params, types, serializers = defaultSerializers) {
  if (params.length === 0) return NONE
  const byOid = serializerMap(serializers)
  let out = params
  for (let i = 0; i < params.length; i++) {
    const x = params[i], v = serializeParam(x, types[i], byOid)
    if (v !== x || out !== params) {
      out === params && (out = params.slice())
      out[i] = v
    }
  }
  return out
}

// Values by OID for lookups on the hot path, once per parameter: an object with a few large integer keys
// keeps them in a dictionary, whose every lookup hashes the key (SipHash), too slow for statements with
// thousands of parameters. Built-in OIDs index an array; larger ones a Map.
const SMALL_OIDS = 4096
class OidTable {
  constructor(object) {
    this.small = new Array(SMALL_OIDS).fill(undefined)
    this.large = new Map()
    for (const [key, value] of Object.entries(object)) {
      const oid = Number(key)
      oid < SMALL_OIDS ? this.small[oid] = value : this.large.set(oid, value)
    }
  }
  get(oid) { return oid >= 0 && oid < SMALL_OIDS ? this.small[oid] : this.large.get(oid) }
}
// One table per serializers object (one per sql instance, see js/options.js), made on its first query
// after each edit (forgetSerializers); objects holding just the defaults share one table (32 KB).
const serializerTables = new WeakMap()
const DEFAULT_TABLE = new OidTable(defaultSerializers)
function serializerMap(serializers) {
  let byOid = serializerTables.get(serializers)
  if (byOid === undefined) serializerTables.set(serializers, byOid = sameEntries(serializers, defaultSerializers) ? DEFAULT_TABLE : new OidTable(serializers))
  return byOid
}
const forgetSerializers = serializers => serializerTables.delete(serializers)
function sameEntries(a, b) {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every(k => a[k] === b[k])
}
const ARRAY_ELEMENT_OF = new OidTable(ARRAY_ELEMENT)

function serializeParam(x, type, serializers) {
  if (x == null)
    return null
  const own = serializers.get(type)
  // The common case, a string or number the server types. A number goes over as itself: Rust binds it
  // in binary when the server's type holds it exactly (int2/4/8, float8), else as JS's own '' + x.
  if (own === undefined && typeof x !== 'object')
    return typeof x === 'string' || typeof x === 'number' ? x : serialize(x)
  // An array whose type the server infers: postgres.js serializes it by the server's choice, so
  // Rust picks one of these at Bind: an array literal (array types), JSON (json/jsonb) or '' + x.
  if (type === 0 && Array.isArray(x))
    return new Alternatives(serialize(x), JSON.stringify(x), '' + x)
  // A Date bound as timestamptz by the default serializer travels as its milliseconds (the native
  // side binds binary timestamptz); an invalid Date still throws toISOString's RangeError.
  if (type === 1184 && own === TIMESTAMPTZ && x instanceof Date && x.getTime() === x.getTime()) return x
  const element = serializers.get(ARRAY_ELEMENT_OF.get(type))
  const out = own ? own(x) : element && Array.isArray(x) ? arrayLiteral(x, element) : serialize(x)
  return typeof out === 'string' || Buffer.isBuffer(out) ? out : serialize(out)
}

module.exports = {
  FRAGMENT,
  MAX_PARAMETERS,
  isFragment,
  Identifier,
  Builder,
  Parameter,
  helper,
  typed,
  json,
  array,
  escapeIdentifier,
  build,
  buildUnsafe,
  serializeParams,
  forgetSerializers,
  Alternatives,
  notTaggedCallError
}
