import cjs from './index.js'
export const { auroraDSQLPostgres, AuroraDSQLPostgres, auroraDSQLWsPostgres, isOCCError, generateToken, PostgresError, BigInt, camel, pascal, kebab, toCamel, fromCamel, toPascal, fromPascal, toKebab, fromKebab } = cjs
export default auroraDSQLPostgres
