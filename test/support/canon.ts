// Values written out so that tests can compare them whole, and fast-check's run settings.
import type fc from "fast-check";

/**
 * A value written out with everything that tells values apart: classes and prototypes (Tuple,
 * Buffer or Uint8Array, null-prototype objects), -0, NaN, bigint, and which objects are shared or
 * cyclic (numbered in the order first met). With `anyBytes`, Buffer and Uint8Array count as one
 * (which of the two a byte string is depends on how the input was chunked, in the tree path too).
 */
export function canon(x: unknown, anyBytes = false, seen = new Map<object, number>()): unknown {
  if (typeof x === "number") return Object.is(x, -0) ? "-0" : Number.isNaN(x) ? "NaN" : x;
  if (typeof x === "bigint") return `${x}n`;
  if (x === null || typeof x !== "object") return x;
  const id = seen.get(x);
  if (id !== undefined) return { seen: id };
  seen.set(x, seen.size);
  const proto = Object.getPrototypeOf(x);
  const cls = proto === null ? "null" : (proto.constructor?.name ?? "?");
  if (x instanceof Uint8Array) return { cls: anyBytes ? "bytes" : cls, bytes: Buffer.from(x).toString("hex") };
  if (x instanceof Map) return { cls, entries: [...x].map(([k, v]) => [canon(k, anyBytes, seen), canon(v, anyBytes, seen)]) };
  if (x instanceof Set) return { cls, items: [...x].map((v) => canon(v, anyBytes, seen)) };
  if (Array.isArray(x)) return { cls, items: Array.from(x, (v) => canon(v, anyBytes, seen)) };
  return { cls, fields: Object.keys(x).map((k) => [k, canon((x as Record<string, unknown>)[k], anyBytes, seen)]) };
}

const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** fast-check's settings: `numRuns` runs, replaying FUZZ_SEED when it is set. */
export const fuzzParams = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, seed });
