// The one-pass decoder's cache of dictionary keys (src/jelly/fasttags.ts): keys come out exactly as
// the tree path makes them, whatever collides in the cache and wherever the input is cut, and a
// peer cannot make the cache grow: a fixed table of short entries.
import { describe, expect, it } from "vitest";
import { decode, type Sexp } from "../../src/banana/index.ts";
import { FastReceiver, Predecoded } from "../../src/jelly/fastreceive.ts";
import { keyCacheStats, keySlot, KEY_MAX } from "../../src/jelly/fasttags.ts";
import { DEFAULT_MAX_DEPTH } from "../../src/jelly/jelly.ts";
import { defaultRegistry, dumps, globalSecurity, unjelly, type UnjellyOptions } from "../../src/jelly/index.ts";
import { canon } from "../support/canon.ts";

/** Values compared whole: classes, prototypes, Map entries in order, -0 (a byte string's Buffer or Uint8Array as one). */
const same = (x: unknown) => canon(x, true);

const python = { security: globalSecurity, registry: defaultRegistry, mode: "python" as const, bytesAsText: false, maxDepth: DEFAULT_MAX_DEPTH };
const js = { ...python, mode: "js" as const };

/** Every item of `chunks` fed to one receiver: the values, and how many came the one-pass way. */
function receive(chunks: Uint8Array[], opts: typeof python | typeof js): { values: unknown[]; fast: number } {
  const values: unknown[] = [];
  let fast = 0;
  const r = new FastReceiver(
    (x) => {
      if ((x as unknown) instanceof Predecoded) {
        fast++;
        values.push((x as unknown as Predecoded).value);
      } else values.push(unjelly(x, opts as UnjellyOptions));
    },
    { dialect: "pb", unjelly: opts, jellyAt: null },
  );
  for (const c of chunks) r.feed(c);
  expect(r.pending).toBe(false);
  return { values, fast };
}

/** The tree path's values for the same bytes. */
function tree(bytes: Uint8Array, opts: typeof python | typeof js): unknown[] {
  return decode(bytes, { dialect: "pb" }).map((x: Sexp) => unjelly(x, opts as UnjellyOptions));
}

/** Two different ASCII keys of the same length in the same cache slot. */
function collidingKeys(length: number): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const key = `k${i}`.padEnd(length, "_");
    const slot = keySlot(key);
    const other = seen.get(slot);
    if (other !== undefined) return [other, key];
    seen.set(slot, key);
  }
}

describe("key cache", () => {
  it("keys in the same slot, alternating, come out as themselves (both value modes)", () => {
    for (const length of [1, 5, 12, KEY_MAX]) {
      const [a, b] = collidingKeys(length);
      expect(a).not.toBe(b);
      expect(keySlot(a)).toBe(keySlot(b));
      const records = Array.from({ length: 6 }, (_, i) => ({ [a]: i, [b]: -i, [i % 2 ? a : b]: "x" }));
      const bytes = dumps(records);
      for (const opts of [python, js]) {
        const got = receive([bytes], opts);
        expect(got.fast).toBe(1);
        expect(same(got.values)).toEqual(same(tree(bytes, opts)));
      }
    }
  });

  it("the same message cut at every byte gives the tree path's keys and values", () => {
    const value = [
      { id: 1, name: "n1", "é": 2, ["x".repeat(KEY_MAX)]: 3, ["y".repeat(KEY_MAX + 1)]: 4 },
      new Map<unknown, unknown>([["id", 2], [null, 1], [true, 0], [7, "seven"], ["ключ", [1]]]),
    ];
    const bytes = dumps(value);
    for (const opts of [python, js]) {
      const want = same(tree(bytes, opts));
      for (let cut = 0; cut <= bytes.length; cut++) {
        const got = receive([bytes.subarray(0, cut), bytes.subarray(cut)], opts);
        expect(same(got.values)).toEqual(want);
      }
      // and one byte at a time
      const bytewise = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
      expect(same(receive(bytewise, opts).values)).toEqual(want);
    }
  });

  it("a peer sending many distinct keys cannot grow the cache: a fixed table of entries of at most KEY_MAX characters", () => {
    const before = keyCacheStats();
    for (let round = 0; round < 4; round++) {
      const record: Record<string, number> = {};
      for (let i = 0; i < 20000; i++) record[`${round}-${i}-`.padEnd(3 + ((i * 7) % (KEY_MAX + 8)), "z")] = i;
      const bytes = dumps(record);
      const got = receive([bytes], python);
      expect(got.fast).toBe(1);
      const map = got.values[0] as Map<string, number>;
      expect(map.size).toBe(20000);
      for (const [k, v] of Object.entries(record)) expect(map.get(k)).toBe(v);
    }
    const after = keyCacheStats();
    expect(after.slots).toBe(before.slots);
    expect(after.filled).toBeLessThanOrEqual(after.slots);
    expect(after.longest).toBeLessThanOrEqual(KEY_MAX);
  });

  it("keys that are not ASCII, too long, or not text are not taken from the cache and come out right", () => {
    const value = new Map<unknown, unknown>([["é", 1], ["a".repeat(KEY_MAX + 1), 2], [new Uint8Array([0x61]), 3], [1.5, 4], ["a", 5]]);
    const bytes = dumps(value);
    for (const opts of [python, js]) expect(same(receive([bytes], opts).values)).toEqual(same(tree(bytes, opts)));
  });
});
