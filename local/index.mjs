import cjs from './index.js'
export const { startLocalDsql, generateCertificates } = cjs
