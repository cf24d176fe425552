// Tests of the upstream postgres.js suite that this runner skips, each with its category and a
// reason a reviewer can check:
//   a: Aurora DSQL cannot do it at all (dsql-facts.md, "Unsupported");
//   b: it tests a mechanism this design does not have (it would pass without testing anything);
//   c: a deliberate difference documented in README.md, "Deliberate differences" (named in the reason).
// `transport: 'websocket'` limits an entry to the WebSocket run.
export const exclusions = {
}

export function exclusionsFor(transport) {
  const out = new Map()
  for (const [name, e] of Object.entries(exclusions))
    if (!e.transport || e.transport === transport) out.set(name, e)
  return out
}
