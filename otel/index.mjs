import cjs from './index.js'
export const { instrument } = cjs
