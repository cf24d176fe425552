'use strict'
// Optimistic-concurrency retry, as the official connector does it: opt-in with `retry` (true or a
// partial config) on the factory or per `sql.begin` call; whole transactions are re-run with
// exponential backoff and jitter. One step further: `retry: { statements: true }` also retries a
// single autocommit statement that failed with a conflict (it did not commit, so re-running is safe).

const DEFAULTS = { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 100, jitterFactor: 0.25 }

// Conflict errors: OC000 (data), OC001 (schema), 40001 (serialization failure, what DSQL sends).
function isOCCError(err) {
  return !!err && typeof err === 'object' && (err.code === 'OC000' || err.code === 'OC001' || err.code === '40001')
}

function validate(config) {
  for (const [k, v] of Object.entries(config)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${k} must be a finite number`)
  }
  if (!Number.isInteger(config.maxRetries)) throw new Error('maxRetries must be an integer')
  if (config.maxRetries < 0) throw new Error('maxRetries must be >= 0')
  if (config.maxRetries > 100) throw new Error('maxRetries must not exceed 100')
  if (config.baseDelayMs <= 0) throw new Error('baseDelayMs must be greater than 0')
  if (config.maxDelayMs < config.baseDelayMs) throw new Error('maxDelayMs must be >= baseDelayMs')
  if (config.jitterFactor < 0 || config.jitterFactor > 1) throw new Error('jitterFactor must be between 0.0 and 1.0')
}

const partial = x => (x === true || x === undefined || x === false) ? {} : x

// The effective config for one call, or null when retry is off. `statements` is ours, not numeric.
function resolveRetry(factory, perCall) {
  if (perCall === false) return null
  if (perCall === undefined && (factory === undefined || factory === false)) return null
  const { statements, ...base } = partial(factory) // eslint-disable-line no-unused-vars
  const { statements: s2, ...override } = partial(perCall) // eslint-disable-line no-unused-vars
  const config = { ...DEFAULTS, ...base, ...override }
  validate(config)
  return config
}

function backoff(config, attempt) {
  const delay = Math.min(config.baseDelayMs * Math.pow(2, Math.min(attempt - 1, 31)), config.maxDelayMs)
  return delay + delay * Math.random() * config.jitterFactor
}

async function withRetry(run, config, logger, counter) {
  if (config.maxRetries <= 0) return run()
  let last
  for (let attempt = 1; attempt <= config.maxRetries + 1; attempt++) {
    try {
      return await run()
    } catch (err) {
      if (!isOCCError(err)) throw err
      last = err
      if (attempt <= config.maxRetries) {
        const delay = backoff(config, attempt)
        counter && counter()
        logger && logger.debug && logger.debug(`OCC conflict on attempt ${attempt}/${config.maxRetries + 1}, retrying in ${delay.toFixed(1)}ms`)
        await new Promise(resolve => setTimeout(resolve, delay))
      }
    }
  }
  logger && logger.error && logger.error(`OCC retry exhausted after ${config.maxRetries + 1} attempts`)
  throw last
}

module.exports = { isOCCError, resolveRetry, withRetry, backoff, DEFAULTS }
