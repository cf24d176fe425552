'use strict'

// snake_case → camelCase / PascalCase / kebab-case, and back (postgres.js's rules:
// the first character is kept, each '_' is dropped and the next character upper-cased).
const upperAfterUnderscore = x => x.replace(/_([\s\S])/g, (_, c) => c.toUpperCase())
const toCamel = x => x.slice(0, 1) + upperAfterUnderscore(x.slice(1))
const toPascal = x => x.slice(0, 1).toUpperCase() + upperAfterUnderscore(x.slice(1))
const toKebab = x => x.replace(/_/g, '-')
const fromCamel = x => x.replace(/([A-Z])/g, '_$1').toLowerCase()
const fromPascal = x => (x.slice(0, 1) + x.slice(1).replace(/([A-Z])/g, '_$1')).toLowerCase()
const fromKebab = x => x.replace(/-/g, '_')

// A `value.from` transform renaming keys (deeply) of json/jsonb column values.
function jsonKeys(fn) {
  return function transform(x, column) {
    return typeof x === 'object' && x !== null && (column.type === 114 || column.type === 3802)
      ? Array.isArray(x)
        ? x.map(v => transform(v, column))
        : Object.fromEntries(Object.entries(x).map(([k, v]) => [fn(k), transform(v, column)]))
      : x
  }
}

// Attach the `.column`/`.value` forms. As in postgres.js, `toX.column` is the same object as
// `x.column`, so `transform: postgres.toCamel` also maps column names back when building queries.
function both(to, from) {
  const column = { from: to, to: from }
  to.column = column
  to.value = { from: jsonKeys(to) }
  from.column = { to: from }
  return { column, value: to.value }
}

const camel = both(toCamel, fromCamel)
const pascal = both(toPascal, fromPascal)
const kebab = both(toKebab, fromKebab)

// postgres.js's parseTransform: each of column/value/row may be a function (= from) or { from, to }.
function normalizeTransform(x) {
  x = x || {}
  const pair = y => ({
    from: typeof y === 'function' ? y : y && y.from,
    to: y && y.to
  })
  return { undefined: x.undefined, column: pair(x.column), value: pair(x.value), row: pair(x.row) }
}

module.exports = {
  camel, pascal, kebab,
  toCamel, fromCamel, toPascal, fromPascal, toKebab, fromKebab,
  normalizeTransform
}
