// The one-pass decoder (src/jelly/fastdecode.ts, fastreceive.ts) against the tree path it
// stands in for: BananaDecoder then Unjellier. Same values (prototypes, -0, bytes vs Buffer and
// all), same errors, same limits, in both dialects, both string modes and both value modes.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BananaDecoder, decode, DEFAULT_BYTE_POOL, encode, PyFloat, type Sexp } from "../../src/banana/index.ts";
import { loadsOnePass, Predecoded, FastReceiver, type OnePassOptions } from "../../src/jelly/fastreceive.ts";
import {
  dumps, globalSecurity, InsecureJelly, Jellied, SecurityOptions, tuple, unjelly, UnjellyableRegistry, type UnjellyOptions,
} from "../../src/jelly/index.ts";
import { hexToBytes } from "../../interop/valuedesc.ts";
import { chunks, cutPoints, jellyishSexp, losslessValue, mutatedEncoding } from "../../scripts/fuzz.ts";
import { canon, fuzzParams } from "../support/canon.ts";

const params = fuzzParams;

type Outcome = { ok: true; values: unknown } | { ok: false; error: string };

function outcome(fn: () => unknown[]): Outcome {
  try {
    return { ok: true, values: canon(fn()) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e) };
  }
}

/** The tree path: every expression decode() finds, unjellied on its own. */
function treeLoads(bytes: Uint8Array, o: OnePassOptions): unknown[] {
  const opts: UnjellyOptions = { security: o.security, registry: o.registry, mode: o.mode, bytesAsText: o.bytesAsText, maxDepth: o.maxDepth };
  return decode(bytes, { dialect: o.dialect ?? "pb", limits: o.limits }).map((x) => unjelly(x, opts));
}

function expectSame(bytes: Uint8Array, o: OnePassOptions): Outcome {
  const tree = outcome(() => treeLoads(bytes, o));
  const fast = outcome(() => loadsOnePass(bytes, o));
  // toStrictEqual tells Tuple from Array, Buffer from Uint8Array, -0 from 0, null prototypes from Object's.
  expect(fast).toStrictEqual(tree);
  return tree;
}

/** True when the receiver decoded the whole of `bytes` itself (one Predecoded item). */
function tookOnePass(bytes: Uint8Array, dialect: "pb" | "none", mode: "python" | "js"): boolean {
  const items: Sexp[] = [];
  const opts = { security: globalSecurity, registry: new UnjellyableRegistry(), mode, bytesAsText: false, maxDepth: 1000 };
  new FastReceiver((x) => items.push(x), { dialect, unjelly: opts, jellyAt: null }).feed(bytes);
  return items.length === 1 && (items[0] as unknown) instanceof Predecoded;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Plain data: what the one-pass path decodes itself (the rest of the grammar comes from losslessValue). */
const plainValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; key: unknown }>((tie) => {
  const scalar = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.constantFrom(0, -1, 127, 128, 2 ** 31, -(2 ** 31) - 1, 2 ** 49 - 1, 2 ** 49, Number.MAX_SAFE_INTEGER, 2n ** 60n, -(2n ** 70n)),
    fc.double(),
    fc.constantFrom(-0, 1.5, NaN, Infinity).map((v) => v),
    fc.constantFrom(new PyFloat(1), new PyFloat(-0), new PyFloat(2 ** 53)),
    fc.uint8Array({ maxLength: 20 }),
    fc.constantFrom("None", "list", "dictionary", "unicode", "answer", "true").map(utf8),
    fc.string({ maxLength: 12 }),
    fc.string({ unit: "binary", maxLength: 12 }),
    fc.constantFrom("__proto__", "constructor", "1", "0", "", "None", "list", "\u00e9t\u00e9"),
  );
  const key = fc.oneof(scalar, fc.array(scalar, { maxLength: 2 }).map((items) => tuple(...items)));
  return {
    key,
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      scalar,
      fc.array(tie("value"), { maxLength: 5 }),
      fc.array(tie("value"), { maxLength: 4 }).map((items) => tuple(...items)),
      fc.array(fc.tuple(tie("key"), tie("value")), { maxLength: 4 }).map((e) => new Map(e)),
      fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 4 }),
    ),
  };
}).value;

const dialects = fc.constantFrom<"pb" | "none">("pb", "none");
const strs = fc.constantFrom<"unicode" | "bytes">("unicode", "bytes");
const modes = fc.record({ mode: fc.constantFrom<"python" | "js">("python", "js"), bytesAsText: fc.boolean() });

describe("one-pass decode = decode + unjelly", () => {
  it("plain values, both dialects, both string modes, both value modes", () => {
    let runs = 0;
    let onePass = 0;
    fc.assert(
      fc.property(plainValue, dialects, strs, modes, (v, dialect, strings, m) => {
        let bytes: Uint8Array;
        try {
          bytes = dumps(v, { dialect, strings });
        } catch {
          return; // e.g. an unhashable key: nothing to decode
        }
        const r = expectSame(bytes, { dialect, ...m });
        expect(r.ok).toBe(true);
        runs++;
        if (tookOnePass(bytes, dialect, m.mode)) onePass++;
      }),
      params(1500),
    );
    // Only bigints past 2**53 and tuple keys (half the keys drawn here) go the tree way: many of these must not.
    expect(onePass).toBeGreaterThan(runs * 0.4);
  });

  it("any jelly value (references, sets, dates, decimals...): the fallback gives the same", () => {
    fc.assert(
      fc.property(losslessValue, dialects, strs, modes, (v, dialect, strings, m) => {
        let bytes: Uint8Array;
        try {
          bytes = dumps(v, { dialect, strings });
        } catch {
          return;
        }
        expectSame(bytes, { dialect, ...m });
      }),
      params(800),
    );
  });

  it("mutated encodings: same values or the same error", () => {
    fc.assert(
      fc.property(mutatedEncoding, dialects, modes, (bytes, dialect, m) => {
        expectSame(bytes, { dialect, ...m });
      }),
      params(1500),
    );
  });

  it("jelly-shaped junk: same values or the same error", () => {
    fc.assert(
      fc.property(jellyishSexp, dialects, modes, (sexp, dialect, m) => {
        let bytes: Uint8Array;
        try {
          bytes = encode(sexp, { dialect });
        } catch {
          return;
        }
        expectSame(bytes, { dialect, ...m });
      }),
      params(1500),
    );
  });

  it("small limits (size, prefix, depth): the same error at the same place", () => {
    fc.assert(
      fc.property(
        plainValue,
        dialects,
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (v, dialect, sizeLimit, prefixLimit, maxDepth) => {
          let bytes: Uint8Array;
          try {
            bytes = dumps(v, { dialect });
          } catch {
            return;
          }
          expectSame(bytes, { dialect, limits: { sizeLimit, prefixLimit }, maxDepth });
        },
      ),
      params(1000),
    );
  });

  it("security and registry: a tag the taster refuses or a handler claims is never decoded here", () => {
    const noLists = new SecurityOptions().allowTypes("tuple", "dictionary");
    const registry = new UnjellyableRegistry().register("tuple", () => "claimed by a handler");
    const bytes = dumps([tuple(1, 2), new Map([["a", [1]]])]);
    const a = expectSame(bytes, { security: noLists });
    // Both paths refuse it with the same error (an InsecureJelly; UnregisteredCopyTag names the tag).
    expect(a.ok).toBe(false);
    expect((a as { error: string }).error).toMatch(/^(InsecureJelly|UnregisteredCopyTag): list\b/);
    const b = expectSame(dumps(tuple(1, [2])), { registry });
    expect(b).toEqual({ ok: true, values: canon(["claimed by a handler"]) });
    // Registering "unicode" or "None" changes nothing, in both paths (they are read before the registry).
    const c = expectSame(dumps(["x", null]), { registry: new UnjellyableRegistry().register("unicode", () => 1).register("None", () => 2) });
    expect(c).toEqual({ ok: true, values: canon([["x", null]]) });
    expectSame(dumps(new Map([["k", 1]])), { security: globalSecurity, mode: "js" });
  });

  it("keeps small byte strings off the receive buffer, as the Unjellier does", () => {
    const bytes = Buffer.concat([Buffer.from(dumps([utf8("ab")])), Buffer.alloc(100)]).subarray(0, dumps([utf8("ab")]).length);
    const [fast] = loadsOnePass(bytes) as [Uint8Array[]];
    const [tree] = treeLoads(bytes, {}) as [Uint8Array[]];
    // Copied into the byte pool: a kept one keeps at most one slab alive (test/jelly/bytepool.test.ts).
    expect(fast[0].buffer).not.toBe(bytes.buffer);
    expect(fast[0].buffer.byteLength).toBeLessThanOrEqual(DEFAULT_BYTE_POOL.slabBytes);
    expect(tree[0].buffer).not.toBe(bytes.buffer);
    expect(fast).toStrictEqual(tree);
  });

  it("lists and tuples around the length past which arrays grow as they fill: exact values, both paths", () => {
    for (const n of [16_383, 16_384, 16_385, 40_000]) {
      const list = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? i : utf8(`item${i}`)));
      for (const value of [list, tuple(...list)]) {
        const bytes = dumps(value);
        for (const mode of ["python", "js"] as const) {
          expectSame(bytes, { mode });
          const [fast] = loadsOnePass(bytes, { mode }) as [unknown[]];
          const plain = (xs: unknown[]) => xs.map((x) => (x instanceof Uint8Array ? `b:${Buffer.from(x).toString()}` : x));
          expect(plain(fast)).toEqual(plain(value));
          expect(Object.keys(fast).length).toBe(n); // dense: no holes
        }
      }
    }
  });
});

describe("golden vectors (fixtures/jelly-vectors.jsonl)", () => {
  const vectors = readFileSync(new URL("../../fixtures/jelly-vectors.jsonl", import.meta.url), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { name: string; pb: string; none: string; value?: unknown });
  it("has the corpus", () => expect(vectors.length).toBeGreaterThan(500));
  for (const dialect of ["pb", "none"] as const) {
    for (const mode of ["python", "js"] as const) {
      it(`every vector, dialect ${dialect}, ${mode} values`, () => {
        let fastPathed = 0;
        for (const v of vectors) {
          const bytes = hexToBytes(v[dialect]);
          expectSame(bytes, { dialect, mode });
          if (v.value) {
            const items: Sexp[] = [];
            new FastReceiver((x) => items.push(x), { dialect, unjelly: { security: globalSecurity, registry: new UnjellyableRegistry(), mode, bytesAsText: false, maxDepth: 1000 }, jellyAt: null }).feed(bytes);
            if ((items[0] as unknown) instanceof Predecoded) fastPathed++;
          }
        }
        // The point of it: most of Twisted's vectors are plain data and take the one pass.
        expect(fastPathed).toBeGreaterThan(vectors.length / 3);
      });
    }
  }
});

/** Feeds `parts` to a FastReceiver and to BananaDecoder + unjelly, PB-style (jelly at message args and answers). */
function receiveBoth(parts: Uint8Array[], dialect: "pb" | "none" | null, mode: "python" | "js", chosenBy?: (item: Sexp) => "pb" | "none" | null) {
  const positions = (command: string, n: number) => (n === 7 && command === "message" ? 0b1100000 : n === 3 && command === "answer" ? 0b100 : 0);
  const opts = { security: globalSecurity, registry: new UnjellyableRegistry(), mode, bytesAsText: false, maxDepth: 1000 };
  const fast: unknown[] = [];
  const tree: unknown[] = [];
  const settle = (item: Sexp, out: unknown[]) => {
    const list = Array.isArray(item) ? (item as Sexp[]) : null;
    if (!list) return out.push(item);
    out.push(
      list.map((x, k) => {
        const pos = positions(typeof list[0] === "string" ? list[0] : new TextDecoder().decode(list[0] as Uint8Array), list.length);
        if (((pos >> k) & 1) === 0) return x;
        if ((x as unknown) instanceof Predecoded) {
          // The expression behind a Predecoded is the tree's, too.
          const p = x as unknown as Predecoded;
          return { value: p.value, sexp: encode(p.sexp(), { dialect: dialect ?? "none" }) };
        }
        return { value: unjelly(x, opts), sexp: encode(x, { dialect: dialect ?? "none" }) };
      }),
    );
  };
  const run = (feed: (p: Uint8Array) => void): string | null => {
    try {
      for (const p of parts) feed(p);
      return null;
    } catch (e) {
      return e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
    }
  };
  // As the broker's negotiation: an item may choose the dialect of the items after it.
  const receiver: FastReceiver = new FastReceiver((x) => (settle(x, fast), chosenBy && (receiver.dialect = chosenBy(x))), { dialect, unjelly: opts, jellyAt: positions });
  const decoder: BananaDecoder = new BananaDecoder((x) => (settle(x, tree), chosenBy && (decoder.dialect = chosenBy(x))), { dialect });
  const fastError = run((p) => receiver.feed(p));
  const treeError = run((p) => decoder.feed(p));
  expect({ items: canon(fast, true), error: fastError, pending: receiver.pending }).toStrictEqual({ items: canon(tree, true), error: treeError, pending: decoder.pending });
}

describe("FastReceiver = BananaDecoder, on streams split anywhere", () => {
  const message = fc.tuple(fc.nat(1000), fc.oneof(plainValue, losslessValue), plainValue, fc.boolean()).map(([id, args, result, call]) =>
    call ? ["message", id, 0, "echo", 1, new Jellied(tuple(args)), new Jellied(new Map([["k", result]]))] : ["answer", id, new Jellied(result)],
  );
  it("PB messages (plain and not) in one stream, cut at random points", () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), dialects, fc.constantFrom<"python" | "js">("python", "js"), cutPoints, (msgs, dialect, mode, cuts) => {
        let stream: Uint8Array;
        try {
          stream = Buffer.concat(msgs.map((m) => encode(m as never, { dialect })));
        } catch {
          return;
        }
        receiveBoth(chunks(stream, cuts), dialect, mode);
      }),
      params(1000),
    );
  });

  it("mutated streams: the same items, then the same error", () => {
    fc.assert(
      fc.property(fc.array(mutatedEncoding, { minLength: 1, maxLength: 3 }), dialects, cutPoints, (encs, dialect, cuts) => {
        receiveBoth(chunks(Buffer.concat(encs), cuts), dialect, "python");
      }),
      params(1000),
    );
  });

  it("before a dialect is chosen (null): the same items and errors; the item that chooses it sets it for the next ones, in the same chunk too", () => {
    fc.assert(
      fc.property(fc.array(mutatedEncoding, { minLength: 1, maxLength: 3 }), cutPoints, (encs, cuts) => receiveBoth(chunks(Buffer.concat(encs), cuts), null, "python")),
      params(500),
    );
    // The listener's offer, then calls whose tags are vocabulary tokens (refused before the choice).
    const offer = encode(["none", "pb"] as never, { dialect: "none" });
    const call = encode(["message", 1, 0, "echo", 1, new Jellied(tuple(1, "x")), new Jellied(new Map())] as never, { dialect: "pb" });
    const chosen = Buffer.concat([offer, call, call]);
    const refused = Buffer.concat([call, offer]);
    for (const at of [[], [offer.length], [1, offer.length + 3]]) {
      receiveBoth(chunks(chosen, at.map((k) => k / chosen.length)), null, "python", () => "pb");
      receiveBoth(chunks(refused, at.map((k) => k / refused.length)), null, "python");
    }
  });

  it("a 600 KiB string and a 10,000-item list split into 64 KiB chunks and into 1-byte ones", () => {
    const big = dumps(new Uint8Array(600 * 1024).fill(7));
    const list = dumps(Array.from({ length: 10000 }, (_, i) => (i % 2 ? i : `item${i}`)));
    for (const stream of [big, list, Buffer.concat([list, big, list])]) {
      const cut64 = [];
      for (let i = 0; i < stream.length; i += 65536) cut64.push(stream.subarray(i, i + 65536));
      receiveBoth(cut64, "pb", "python");
    }
    const small = dumps(Array.from({ length: 300 }, (_, i) => (i % 2 ? i : `item${i}`)));
    receiveBoth(Array.from(small, (b) => Uint8Array.of(b)), "pb", "python");
  });

  it("hands an overlong header to the tree decoder, which refuses it as before", () => {
    const junk = new Uint8Array(100).fill(1);
    receiveBoth([junk.subarray(0, 30), junk.subarray(30)], "pb", "python");
    receiveBoth([Uint8Array.of(0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x82)], "pb", "python");
  });
});

describe("the broker receiving through the one-pass decoder", () => {
  it("hands a custom remoteMessageReceived the expressions, and Referenceables their values", async () => {
    const { pair } = await import("../pb/support.ts");
    const { Root } = await import("../../src/pb/flavors.ts");
    const { jelly } = await import("../../src/jelly/index.ts");
    let seen: unknown[] = [];
    const custom = {
      rootObject: () => ({
        remoteMessageReceived(_b: unknown, message: string, args: Sexp, kw: Sexp): Sexp {
          seen = [message, args, kw];
          return jelly("ok") as Sexp;
        },
      }),
    };
    const p1 = await pair(custom);
    expect(await p1.client.remoteForName("root").callRemote("hi", 1, "two", [3])).toBe("ok");
    // Exactly the expressions BananaDecoder would have given (args: a tuple of 1, text, a list).
    expect(seen[0]).toBe("hi");
    expect(Array.isArray(seen[1])).toBe(true);
    expect(encode(seen[1] as Sexp, { dialect: "pb" })).toEqual(encode(jelly(tuple(1, "two", [3])), { dialect: "pb" }));
    expect(encode(seen[2] as Sexp, { dialect: "pb" })).toEqual(encode(jelly(new Map()), { dialect: "pb" }));
    p1.close();

    class Echo extends Root {
      remote_echo(...xs: unknown[]) {
        return xs;
      }
    }
    const p2 = await pair(new Echo());
    const big = new Uint8Array(100_000).fill(5);
    const back = (await p2.client.remoteForName("root").callRemote("echo", 1, "é", big, new Map([["k", null]]))) as unknown[];
    expect(canon(back, true)).toStrictEqual(canon([1, "é", big, new Map([["k", null]])], true));
    p2.close();
  });
});

describe("hostile input through the one-pass receiver", () => {
  it("200,000 levels of nesting, at the top and as a call's arguments: the tree path's answer, no stack overflow", () => {
    const depth = 200_000;
    const nested = new Uint8Array(depth * 2);
    for (let i = 0; i < depth; i++) nested.set([1, 0x80], i * 2);
    // [message, 1, 0, "m", 1, <nested>, <nested>] with the innermost list left open: incomplete.
    const head = encode(["message", 1, 0, "m", 1] as Sexp, { dialect: "pb" });
    const msg = Buffer.concat([Uint8Array.of(7, 0x80), head.subarray(2), nested, nested]);
    receiveBoth([nested], "pb", "python");
    receiveBoth([msg], "pb", "python");
    receiveBoth([msg.subarray(0, 1000), msg.subarray(1000)], "pb", "python");
  });

  it("a 600 KiB string fed one byte at a time arrives whole (the scan is incremental)", () => {
    const bytes = dumps(new Uint8Array(600 * 1024).fill(1));
    const items: Sexp[] = [];
    const r = new FastReceiver((x) => items.push(x), {
      dialect: "pb",
      unjelly: { security: globalSecurity, registry: new UnjellyableRegistry(), mode: "python", bytesAsText: false, maxDepth: 1000 },
      jellyAt: null,
    });
    for (let i = 0; i < bytes.length; i++) r.feed(bytes.subarray(i, i + 1));
    expect(items).toHaveLength(1);
    expect(r.pending).toBe(false);
    expect(((items[0] as unknown as Predecoded).value as Uint8Array).length).toBe(600 * 1024);
  });
});
