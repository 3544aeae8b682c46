// The ladder's floor: the same result graph a decoder gives, built again by a plain loop from parts
// already known (no parsing). Same number of arrays, Maps, null-prototype objects, Uint8Array views
// on shared slabs (made by the pool the decoders use) and fresh strings. Measured like the
// decoders, its growth per byte is what the result itself costs as it grows (allocation, the GC
// of what stays alive until the message is done): growth beyond it is the decoder's own.
import { pooledCopy } from "../src/banana/pool.ts";

type Part = { kind: 0; v: unknown } | { kind: 1; at: number; n: number } | { kind: 2; at: number; end: number };

/** A plan to rebuild `sample` (a decoded value): its leaves' bytes and text gathered up front. */
export function floorBuilder(sample: unknown): () => unknown {
  const bytes: number[] = [];
  let text = "";
  const leaf = (x: unknown): Part => {
    if (x instanceof Uint8Array) {
      const at = bytes.length;
      for (let i = 0; i < x.length; i++) bytes.push(x[i]);
      return { kind: 1, at, n: x.length };
    }
    if (typeof x === "string") {
      const at = text.length;
      text += x;
      return { kind: 2, at, end: text.length };
    }
    return { kind: 0, v: x };
  };
  // A builder per node, made once; running it allocates only what the decoder's result holds.
  const plan = (x: unknown): (() => unknown) => {
    if (Array.isArray(x)) {
      const items = x.map(plan);
      const n = items.length;
      return () => {
        // Made as the one-pass decoder makes them (at their final size up to 16,384, else filled).
        const out: unknown[] = n <= 16_384 ? new Array(n) : [];
        for (let i = 0; i < n; i++) out[i] = items[i]();
        return out;
      };
    }
    if (x instanceof Map) {
      const entries = [...x].map(([k, v]) => [plan(k), plan(v)] as const);
      return () => {
        const m = new Map();
        for (let i = 0; i < entries.length; i++) m.set(entries[i][0](), entries[i][1]());
        return m;
      };
    }
    if (x !== null && typeof x === "object" && !(x instanceof Uint8Array)) {
      const proto = Object.getPrototypeOf(x);
      const entries = Object.entries(x).map(([k, v]) => [k, plan(v)] as const);
      return () => {
        const o = Object.create(proto) as Record<string, unknown>;
        for (let i = 0; i < entries.length; i++) o[entries[i][0]] = entries[i][1]();
        return o;
      };
    }
    const p = leaf(x);
    if (p.kind === 1) return () => pooledCopy(src, p.at, p.n);
    // slice() of fewer than 13 characters copies them: one fresh string, as a decoder makes.
    if (p.kind === 2) return () => all.slice(p.at, p.end);
    const v = p.v;
    return () => v;
  };
  const build = plan(sample);
  const src = Uint8Array.from(bytes);
  const all = text;
  return build;
}

/**
 * The encode side's floor: what any jelly encoder must do with `value` before writing a byte of
 * it, visit every array item and every own key once and remember every container in an identity
 * set (jelly sends a list or dict met twice as a reference to the first, so each must be looked
 * up). Measured like the encoders, per byte of banana, its growth is what walking the value costs
 * as it grows (the set and the objects outgrowing the caches); it returns a count so no part is
 * optimized away.
 */
export function encodeWalk(value: unknown): number {
  const seen = new Set<object>();
  let visited = 0;
  const visit = (x: unknown): void => {
    visited++;
    if (x === null || typeof x !== "object" || x instanceof Uint8Array) return;
    if (seen.has(x)) return;
    seen.add(x);
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) visit(x[i]);
      return;
    }
    if (x instanceof Map) {
      for (const [k, v] of x) {
        visit(k);
        visit(v);
      }
      return;
    }
    const o = x as Record<string, unknown>;
    const keys = Object.keys(o);
    for (let i = 0; i < keys.length; i++) visit(o[keys[i]]);
  };
  visit(value);
  return visited + seen.size;
}
