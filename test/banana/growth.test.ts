// The encoder's buffer growth: a message that outgrows the reusable buffer (1 MiB) continues in
// further chunks instead of being copied into ever larger buffers. Every byte must be what a plain
// reference encoder writes, wherever the chunk boundaries fall, in encode() and encodeParts(),
// with Jellied's rewind reaching back across chunks, and from one message to the next.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BananaEncoder, BananaError, BY_REFERENCE, FLOAT, INT, LIST, NEG, STRING, type Sexp } from "../../src/banana/index.ts";
import { jelly, Jellied, tuple } from "../../src/jelly/index.ts";

const MiB = 1 << 20;

/** Banana in dialect "none", written the simplest way: the bytes the encoder must give. */
function reference(x: Sexp): Uint8Array {
  const out: Uint8Array[] = [];
  const header = (n: number, type: number) => {
    const h: number[] = [];
    do {
      h.push(n % 128);
      n = Math.floor(n / 128);
    } while (n > 0);
    h.push(type);
    out.push(Uint8Array.from(h));
  };
  const walk = (y: Sexp): void => {
    if (typeof y === "number") {
      if (!Number.isInteger(y)) {
        const b = Buffer.alloc(9);
        b[0] = FLOAT;
        b.writeDoubleBE(y, 1);
        out.push(b);
      } else if (y >= 0) header(y, INT);
      else header(-y, NEG);
    } else if (typeof y === "string") walk(Buffer.from(y, "utf8"));
    else if (y instanceof Uint8Array) {
      header(y.length, STRING);
      out.push(y);
    } else if (Array.isArray(y)) {
      header(y.length, LIST);
      for (const z of y as Sexp[]) walk(z);
    } else throw new Error(`reference cannot encode ${String(y)}`);
  };
  walk(x);
  return new Uint8Array(Buffer.concat(out));
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const filled = (n: number, seed: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

// Messages around and beyond the 1 MiB buffer: some large strings (some by reference in
// encodeParts), then small elements whose edges fall at every offset of a chunk boundary.
const leaf = fc.oneof(
  fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }),
  fc.double({ noInteger: true, noNaN: true }),
  fc.string({ maxLength: 12 }),
  fc.uint8Array({ maxLength: 200 }),
);
const big = fc.tuple(fc.integer({ min: 1, max: 640 * 1024 }), fc.nat(255)).map(([n, seed]) => filled(n, seed));
// (filled() for big sizes: fast-check's own byte arrays of 600 KB would dominate the test's time.)
const message = fc.tuple(fc.array(big, { minLength: 1, maxLength: 6 }), fc.array(fc.oneof(leaf, fc.array(leaf, { maxLength: 5 })), { maxLength: 300 }), fc.boolean()).map(
  ([bigs, smalls, bigsFirst]) => (bigsFirst ? [...bigs, ...smalls] : [...smalls, ...bigs]) as Sexp,
);

describe("BananaEncoder past its reusable buffer", () => {
  it("writes a reference encoder's bytes in encode() and encodeParts(), one encoder for all messages", () => {
    const enc = new BananaEncoder({ dialect: "none" });
    fc.assert(
      fc.property(message, fc.uint8Array({ maxLength: 20 }), (x, small) => {
        const want = reference(x);
        expect(same(enc.encode(x), want)).toBe(true);
        const parts = enc.encodeParts(x);
        expect(same(concat(parts), want)).toBe(true);
        // Strings of BY_REFERENCE bytes or more are referred to, wherever the chunks fall.
        for (const y of x as Sexp[]) if (y instanceof Uint8Array && y.length >= BY_REFERENCE) expect(parts).toContain(y);
        // And the next message, small, starts afresh in the reusable buffer.
        expect(same(enc.encode([small]), reference([small]))).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it("puts an element's bytes in one chunk when it does not fit in what is left, at every offset", () => {
    const enc = new BananaEncoder({ dialect: "none" });
    for (let k = 0; k <= 12; k++) {
      // List header (2 bytes), then two strings (4 header bytes each) ending k bytes before the
      // end of the 1 MiB buffer, then a float (9 bytes, into the next chunk when k < 9); then the
      // same again ending k bytes before the end of that first 1 MiB chunk.
      const a = filled(600_000, k);
      const b = filled(MiB - k - 2 - 4 - a.length - 4, k + 1);
      const c = filled(MiB - k - (k < 9 ? 9 : 0) - 4 - a.length - 4, k + 2);
      const x: Sexp = [a, b, 2.5, a, c, -1.5, "after", [-7, 1]];
      const want = reference(x);
      expect(same(enc.encode(x), want)).toBe(true);
      expect(same(concat(enc.encodeParts(x)), want)).toBe(true);
    }
  });

  it("hands over the chunks of a large message without copying them, and copies the reused buffer", () => {
    const enc = new BananaEncoder({ dialect: "none" });
    const x: Sexp = Array.from({ length: 40_000 }, (_, i) => filled(100, i));
    const want = reference(x);
    const parts = enc.encodeParts(x);
    expect(parts.length).toBeGreaterThan(2);
    expect(same(concat(parts), want)).toBe(true);
    // A later message reuses the encoder's buffer: the parts already handed out keep their bytes.
    enc.encode(Array.from({ length: 40_000 }, () => filled(100, 0)));
    enc.encodeParts(Array.from({ length: 40_000 }, () => filled(100, 1)));
    expect(same(concat(parts), want)).toBe(true);
  });

  it("Jellied falling back after more than a megabyte rewinds across chunks to the same bytes as jelly()", () => {
    const enc = new BananaEncoder({ dialect: "pb" });
    const shared = [1, 2];
    const strings = Array.from({ length: 2000 }, (_, i) => filled(600, i));
    // The shared list, met again after ~1.2 MB were written, makes Jellied drop them and write jelly()'s expression.
    const value = tuple(strings, shared, shared);
    const message = ["message", 1, new Jellied(value), filled(BY_REFERENCE, 5)];
    const want = enc.encode(["message", 1, jelly(value), filled(BY_REFERENCE, 5)]);
    expect(same(enc.encode(message), want)).toBe(true);
    expect(same(concat(enc.encodeParts(message)), want)).toBe(true);
  });

  it("after a message that fails past its first megabyte, the next one is whole", () => {
    const enc = new BananaEncoder({ dialect: "none" });
    const bad = [filled(600_000, 1), filled(600_000, 2), filled(600_000, 3), Symbol("no") as unknown as Sexp];
    expect(() => enc.encode(bad)).toThrow(BananaError);
    expect(() => enc.encodeParts(bad)).toThrow(BananaError);
    const x: Sexp = [filled(600_000, 3), 5, filled(600_000, 4), filled(10, 5)];
    expect(same(enc.encode(x), reference(x))).toBe(true);
    expect(same(concat(enc.encodeParts(x)), reference(x))).toBe(true);
  });
});
