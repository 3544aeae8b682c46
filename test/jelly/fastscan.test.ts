// The scan before decoding (src/jelly/scan.ts): a large container is scanned to its end before the
// one-pass reader decodes it, and an item left open at the end of a chunk is scanned on from
// where that scan stopped. Whatever the chunking, the receiver must give exactly what
// BananaDecoder + unjelly give: values, errors and limits. Also the short-text fast path and the
// encoder handing its buffer over.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BananaDecoder, BananaEncoder, encode, type Sexp } from "../../src/banana/index.ts";
import { FastReceiver, loadsOnePass, Predecoded } from "../../src/jelly/fastreceive.ts";
import { dumps, globalSecurity, Jellied, tuple, unjelly, UnjellyableRegistry } from "../../src/jelly/index.ts";
import { Scanner, GIVE_UP, NEED_MORE } from "../../src/jelly/scan.ts";
import { bananaLimits, type BananaLimits } from "../../src/banana/limits.ts";
import { decode } from "../../src/banana/index.ts";
import { chunks, cutPoints, losslessValue } from "../../scripts/fuzz.ts";
import { canon, fuzzParams } from "../support/canon.ts";

const params = fuzzParams;
/** Buffer and Uint8Array count as one: which a byte string is depends on the chunking. */
const same = (x: unknown) => canon(x, true);

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
}

/**
 * Feeds `parts` to a FastReceiver (jellyAt null: every item one jelly value, or PB positions) and
 * to BananaDecoder + unjelly; the same values, the same error, the same pending state.
 */
function receiveBoth(parts: Uint8Array[], o: { dialect?: "pb" | "none"; mode?: "python" | "js"; pb?: boolean; limits?: Partial<BananaLimits> } = {}) {
  const dialect = o.dialect ?? "pb";
  const mode = o.mode ?? "python";
  const opts = { security: globalSecurity, registry: new UnjellyableRegistry(), mode, bytesAsText: false, maxDepth: 1000 };
  const positions = (command: string, n: number) => (n === 7 && command === "message" ? 0b1100000 : n === 3 && command === "answer" ? 0b100 : 0);
  const fast: unknown[] = [];
  const tree: unknown[] = [];
  const settle = (item: Sexp, out: unknown[], fromFast: boolean) => {
    if (!o.pb) {
      out.push(fromFast && (item as unknown) instanceof Predecoded ? (item as unknown as Predecoded).value : unjelly(item, opts));
      return;
    }
    const list = item as Sexp[];
    const command = typeof list[0] === "string" ? list[0] : new TextDecoder().decode(list[0] as Uint8Array);
    const mask = positions(command, list.length);
    out.push(list.map((x, k) => (((mask >> k) & 1) === 0 ? x : (x as unknown) instanceof Predecoded ? (x as unknown as Predecoded).value : unjelly(x, opts))));
  };
  const run = (feed: (p: Uint8Array) => void): string | null => {
    try {
      for (const p of parts) feed(p);
      return null;
    } catch (e) {
      return errorText(e);
    }
  };
  const receiver = new FastReceiver((x) => settle(x, fast, true), { dialect, limits: o.limits, unjelly: opts, jellyAt: o.pb ? positions : null });
  const decoder = new BananaDecoder((x) => settle(x, tree, false), { dialect, limits: o.limits });
  const fastError = run((p) => receiver.feed(p));
  const treeError = run((p) => decoder.feed(p));
  expect({ items: same(fast), error: fastError, pending: receiver.pending }).toStrictEqual({ items: same(tree), error: treeError, pending: decoder.pending });
}

const scalar = fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 10 }), fc.uint8Array({ maxLength: 12 }), fc.constant(null), fc.boolean());
/** Small nested values (containers of up to 4). */
const small: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("v"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie("v"), { maxKeys: 3 }),
  ),
})).v;
/** A container of 33 to 70 elements (past the 32 from which one is scanned before it is decoded), maybe holding others. */
const big: fc.Arbitrary<unknown> = fc.oneof(
  fc.array(small, { minLength: 33, maxLength: 70 }),
  fc.array(small, { minLength: 33, maxLength: 50 }).map((items) => tuple(...items)),
  fc.dictionary(fc.string({ maxLength: 6 }), small, { minKeys: 33, maxKeys: 50 }),
  fc.array(fc.tuple(scalar, small), { minLength: 33, maxLength: 50 }).map((e) => new Map(e)),
  fc.array(fc.array(scalar, { minLength: 33, maxLength: 40 }), { minLength: 1, maxLength: 3 }).map((lists) => [1, ...lists, "x"]),
  fc.array(scalar, { minLength: 40, maxLength: 60 }).map((items) => ({ a: { b: [items, { c: items.slice(0, 35) }] } })),
);
const bigValue = fc.oneof(big, small);

describe("large containers split across chunks: the receiver = BananaDecoder + unjelly", () => {
  it("values, one to three in a stream, cut at random points, both value modes", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(bigValue, losslessValue), { minLength: 1, maxLength: 3 }), fc.constantFrom<"python" | "js">("python", "js"), cutPoints, (values, mode, cuts) => {
        let stream: Uint8Array;
        try {
          stream = Buffer.concat(values.map((v) => dumps(v)));
        } catch {
          return;
        }
        receiveBoth(chunks(stream, cuts), { mode });
      }),
      params(150),
    );
  });

  it("as a call's arguments and an answer's value (PB positions), cut at random points", () => {
    fc.assert(
      fc.property(bigValue, bigValue, cutPoints, (args, result, cuts) => {
        const stream = Buffer.concat([
          encode(["message", 1, 0, "echo", 1, new Jellied(tuple(args)), new Jellied(new Map([["k", result]]))] as never, { dialect: "pb" }),
          encode(["answer", 1, new Jellied(result)] as never, { dialect: "pb" }),
        ]);
        receiveBoth(chunks(stream, cuts), { pb: true });
      }),
      params(150),
    );
  });

  it("a mutated byte in a large container: the same values or the same error, whatever the cuts", () => {
    fc.assert(
      fc.property(bigValue, fc.nat(), fc.nat(255), cutPoints, (v, where, byte, cuts) => {
        let bytes: Uint8Array;
        try {
          bytes = new Uint8Array(dumps(v));
        } catch {
          return;
        }
        bytes[where % bytes.length] = byte;
        receiveBoth(chunks(bytes, cuts));
      }),
      params(150),
    );
  });

  it("small limits (elements, size, prefix): the same error at the same place, whatever the cuts", () => {
    fc.assert(
      fc.property(
        bigValue,
        cutPoints,
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 20, max: 200 }),
        fc.integer({ min: 1, max: 4 }),
        (v, cuts, maxMessageNodes, sizeLimit, prefixLimit) => {
          let bytes: Uint8Array;
          try {
            bytes = dumps(v);
          } catch {
            return;
          }
          receiveBoth(chunks(bytes, cuts), { limits: { maxMessageNodes, sizeLimit, prefixLimit } });
        },
      ),
      params(150),
    );
  });

  it("the 1000-entry dict of the benchmark, in 64 KiB chunks, in 1 KiB chunks and whole", () => {
    const d: Record<string, unknown> = {};
    for (let i = 0; i < 1000; i++) d[`key${i}`] = { id: i, score: i + 0.25, name: `name${i}`, tags: [i, i + 1, i + 2], extra: null };
    const bytes = dumps(d);
    for (const size of [65536, 1024, 7, bytes.length]) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
      receiveBoth(parts);
      receiveBoth(parts, { mode: "js" });
    }
  });
});

describe("Scanner", () => {
  it("finds where an element ends, fed in any chunks, as decode() does", () => {
    fc.assert(
      fc.property(fc.oneof(bigValue, losslessValue), cutPoints, (v, cuts) => {
        let bytes: Uint8Array;
        try {
          bytes = dumps(v);
        } catch {
          return;
        }
        const s = new Scanner(bananaLimits());
        const parts = chunks(bytes, cuts);
        let fed = 0;
        let end = NEED_MORE;
        for (const p of parts) {
          end = s.scan(p, 0, p.length, "pb");
          if (end !== NEED_MORE) {
            end += fed;
            break;
          }
          fed += p.length;
        }
        expect(end).toBe(bytes.length);
      }),
      params(200),
    );
  });

  it("gives up on what the tree decoder refuses: a bad type byte, a vocabulary code outside pb, a list past sizeLimit, too many digits", () => {
    const s = new Scanner(bananaLimits({ sizeLimit: 10, prefixLimit: 3 }));
    const cases = [Uint8Array.of(2, 0x80, 1, 0x88), Uint8Array.of(1, 0x87), Uint8Array.of(11, 0x80), Uint8Array.of(1, 1, 1, 1, 0x81), Uint8Array.of(11, 0x82)];
    for (const c of cases) {
      s.reset();
      expect(s.scan(c, 0, c.length, c[1] === 0x87 ? "none" : "pb")).toBe(GIVE_UP);
    }
    // A header split inside its digits goes on in the next chunk.
    s.reset();
    expect(s.scan(Uint8Array.of(3), 0, 1, "pb")).toBe(NEED_MORE);
    expect(s.scan(Uint8Array.of(0x82, 9, 9, 9), 0, 4, "pb")).toBe(4);
  });
});

describe("short text straight from the bytes", () => {
  const modes = [
    { mode: "python" as const, bytesAsText: false },
    { mode: "js" as const, bytesAsText: false },
    { mode: "js" as const, bytesAsText: true },
  ];
  it("every length 0 to 40, ASCII and not, invalid UTF-8 too, as text, as dictionary keys and as byte strings", () => {
    const chars = ["a", "Z", "\u00e9", "\u20ac", "\u{1f600}", "\u007f", "\u0000"];
    for (let n = 0; n <= 40; n++) {
      const ascii = Array.from({ length: n }, (_, i) => String.fromCharCode(0x20 + ((i * 7) % 95))).join("");
      const texts = [ascii];
      for (const c of chars) if (n >= c.length) texts.push(ascii.slice(0, n - c.length) + c);
      for (const t of texts) {
        const values: unknown[] = [t, { [t]: 1, [`${t}x`]: t }, new Map([[t, t]]), new TextEncoder().encode(t)];
        for (const v of values) {
          const bytes = dumps(v);
          for (const m of modes) expect(same(loadsOnePass(bytes, m))).toStrictEqual(same(decode(bytes, { dialect: "pb" }).map((x) => unjelly(x, m))));
        }
      }
      // A byte that is not UTF-8 at every place of an n-byte text: the tree path's answer (an error, or bytes).
      for (let at = 0; at < n; at++) {
        const raw = new TextEncoder().encode(ascii);
        raw[at] = 0xff;
        const bytes = encode(["unicode", raw] as Sexp, { dialect: "pb" });
        const keyed = encode(["dictionary", [["unicode", raw], 1]] as Sexp, { dialect: "pb" });
        const asBytes = encode(raw, { dialect: "pb" });
        for (const b of [bytes, keyed, asBytes]) {
          for (const m of modes) {
            const outcome = (fn: () => unknown) => {
              try {
                return { ok: same(fn()) };
              } catch (e) {
                return { error: errorText(e) };
              }
            };
            expect(outcome(() => loadsOnePass(b, m))).toStrictEqual(outcome(() => decode(b, { dialect: "pb" }).map((x) => unjelly(x, m))));
          }
        }
      }
    }
  });
});

describe("BananaEncoder with large outputs", () => {
  it("large outputs (past the 1 MiB after which the buffer is dropped) are right, and earlier outputs never change", () => {
    const enc = new BananaEncoder({ dialect: "pb" });
    const big = (k: number) => new Jellied(Array.from({ length: 150_000 }, (_, i) => `v${(i * k) % 1000}`));
    const a = enc.encode(big(1));
    const aCopy = Uint8Array.from(a);
    expect(a.length).toBeGreaterThan(1 << 20);
    const b = enc.encode(big(3));
    const small = enc.encode(new Jellied([1, 2, 3]));
    const c = enc.encode(big(7));
    expect(Buffer.compare(a, aCopy)).toBe(0);
    expect(Buffer.compare(a, new BananaEncoder({ dialect: "pb" }).encode(big(1)))).toBe(0);
    expect(Buffer.compare(b, new BananaEncoder({ dialect: "pb" }).encode(big(3)))).toBe(0);
    expect(Buffer.compare(c, new BananaEncoder({ dialect: "pb" }).encode(big(7)))).toBe(0);
    expect(Buffer.compare(small, dumps([1, 2, 3]))).toBe(0);
    expect(unjelly(decode(b, { dialect: "pb" })[0])).toHaveLength(150_000);
  });
});
