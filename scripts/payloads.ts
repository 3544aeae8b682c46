// The codec benchmark's plain-data payloads, made the same way by the payload table, the size
// ladder (scripts/bench.ts) and the ladder probe (scripts/ladder-probe.ts).
const utf8 = new TextEncoder();

/** `n` items: even ones small ints, odd ones the bytes of `item<i>`. */
export function intsAndBytes(n: number): (number | Uint8Array)[] {
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? i : utf8.encode(`item${i}`)));
}

/** `n` records of five fields under the keys `key<i>`. */
export function recordsDict(n: number): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) d[`key${i}`] = { id: i, score: i + 0.25, name: `name${i}`, tags: [i, i + 1, i + 2], extra: null };
  return d;
}
