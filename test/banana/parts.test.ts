// encodeParts(): the same bytes as encode(), with large byte strings referred to instead of copied.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BananaEncoder, BY_REFERENCE, encode, type Sexp } from "../../src/banana/index.ts";
import { Jellied, tuple } from "../../src/jelly/index.ts";

const big = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe("BananaEncoder.encodeParts", () => {
  it("gives encode()'s bytes, large strings by reference, for random expressions", () => {
    const enc = new BananaEncoder({ dialect: "pb" });
    const leaf = fc.oneof(
      fc.integer(),
      fc.string({ maxLength: 5 }),
      fc.uint8Array({ maxLength: 10 }),
      fc.integer({ min: BY_REFERENCE - 1, max: BY_REFERENCE + 10 }).map((n) => big(n, n & 0xff)),
    );
    const sexp = fc.letrec<{ node: Sexp }>((tie) => ({ node: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("node"), { maxLength: 4 })) })).node;
    fc.assert(
      fc.property(sexp, (x) => {
        const parts = enc.encodeParts(x);
        expect(Buffer.compare(Buffer.concat(parts), encode(x, { dialect: "pb" }))).toBe(0);
        const refs = new Set<Uint8Array>();
        const walk = (y: Sexp): void => {
          if (Array.isArray(y)) (y as Sexp[]).forEach(walk);
          else if (y instanceof Uint8Array && y.length >= BY_REFERENCE) refs.add(y);
        };
        walk(x);
        for (const r of refs) expect(parts).toContain(r);
        // And the plain encoder is not left in the by-reference mode.
        expect(Buffer.compare(enc.encode(x), encode(x, { dialect: "pb" }))).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it("rewinds past a string left out (Jellied falling back after a large string)", () => {
    const enc = new BananaEncoder({ dialect: "pb" });
    const s = big(100_000, 9);
    const shared = [1, 2];
    // The shared list makes Jellied drop what it wrote (the string included) and write jelly()'s expression.
    const value = tuple(s, shared, shared);
    const parts = enc.encodeParts(["message", 1, new Jellied(value)]);
    expect(Buffer.compare(Buffer.concat(parts), encode(["message", 1, new Jellied(value)], { dialect: "pb" }))).toBe(0);
    expect(parts.filter((p) => p === s)).toHaveLength(1);
  });

  it("a 600 KiB string costs no copy: three parts, the middle one the string itself", () => {
    const s = big(600 * 1024, 3);
    const parts = new BananaEncoder().encodeParts(["answer", 1, s]);
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(s);
    expect(parts[0].length).toBeLessThan(20);
  });
});
