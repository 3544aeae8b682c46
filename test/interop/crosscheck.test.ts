// A short run of the live cross-check against a real Twisted process (the long one is `npm run crosscheck`).
import { describe, expect, it } from "vitest";
import { crosscheck, ValueGenerator } from "../../interop/crosscheck.ts";
import { toDesc } from "../../interop/valuedesc.ts";

describe("live cross-check with Twisted", () => {
  it("the TypeScript generator covers every kind of value, shared and cyclic ones included", () => {
    const gen = new ValueGenerator(42);
    const kinds = new Set<string>();
    const walk = (d: readonly unknown[]) => {
      kinds.add(d[0] as string);
      if (["list", "tuple", "set", "frozenset"].includes(d[0] as string)) (d[2] as unknown[][]).forEach(walk);
      if (d[0] === "dict") (d[2] as unknown[][][]).forEach(([k, v]) => (walk(k), walk(v)));
    };
    for (let i = 0; i < 400; i++) walk(toDesc(gen.value()));
    for (const k of ["none", "bool", "int", "float", "bytes", "str", "list", "tuple", "dict", "set", "frozenset", "ref", "datetime", "date", "time", "timedelta", "decimal"]) {
      expect(kinds, k).toContain(k);
    }
  });

  it("exchanges values both ways with identical bytes", async () => {
    const r = await crosscheck({ count: 150, seed: 20261121 });
    expect(r.pyValues).toBe(150);
    expect(r.comparisons).toBe(150 * 2 * 3 * 2);
    expect(r.mismatches).toEqual([]);
  }, 120_000);
});
