'use strict'
// sql.stats()' native part without an object made through N-API (which costs an interned property name
// per field): one call fills a Float64Array in the order NativePool.statsFields() gives, and the object
// literal is made here. errorsByClass, a map, is asked for only when the count of failed queries moved;
// each call returns fresh objects (a caller may keep or change them).

function poolStats(pool) {
  const fields = typeof pool.statsInto === 'function' && typeof pool.constructor.statsFields === 'function'
    ? pool.constructor.statsFields()
    : null
  if (fields === null) return () => ({ ...pool.stats() })
  const values = new Float64Array(fields.length)
  const failedAt = fields.indexOf('failedQueries')
  let failed = -1
  let errors = {}
  return function stats() {
    pool.statsInto(values)
    const s = {}
    for (let i = 0; i < fields.length; i++) i !== failedAt && (s[fields[i]] = values[i])
    if (values[failedAt] !== failed) {
      failed = values[failedAt]
      errors = pool.stats().errorsByClass
    }
    s.errorsByClass = { ...errors }
    return s
  }
}

module.exports = { poolStats }
