import cjs from './index.js'
export const { startLocalDsql, startLocalDsqlPair, generateCertificates } = cjs
