// Stand-ins for the few Node.js globals the usage files touch. @types/node is not a dependency of
// this package, and the declarations must not need it; with @types/node installed, compile the
// usage files against it instead (tsconfig.node.json, used by __test__/types.test.mjs when present).

interface Buffer extends Uint8Array {
  toString(encoding?: 'utf8' | 'hex' | 'base64'): string
}
declare var Buffer: {
  alloc(size: number): Buffer
  from(text: string, encoding?: 'utf8' | 'hex' | 'base64'): Buffer
  isBuffer(value: unknown): value is Buffer
}
declare var process: { env: Record<string, string | undefined> }
declare var console: {
  log(...args: unknown[]): void
  debug(...args: unknown[]): void
  info(...args: unknown[]): void
  warn(...args: unknown[]): void
  error(...args: unknown[]): void
}
declare function setTimeout(callback: () => void, ms?: number): unknown
