// Hostile input for the banana decoder: every receive-side limit and error of PROTOCOL.md 1.6/1.7,
// truncation at every byte, failure stickiness, memory and linear time.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BananaDecodeError, BananaDecoder, BananaError, bananaLimits, decode, DEFAULT_BANANA_LIMITS, DialectError, DialectNegotiator,
  encode, PREFIX_LIMIT, PyFloat, SIZE_LIMIT, VOCABULARY, type BananaDecoderOptions, type Sexp,
} from "../../src/banana/index.ts";
import { hex, unhex, utf8 } from "../support/hex.ts";

/** A decoder that collects its items. */
function collector(options?: BananaDecoderOptions) {
  const items: Sexp[] = [];
  const decoder = new BananaDecoder((x) => items.push(x), options);
  return { items, decoder };
}

/** The error a call throws (fails the test if it throws nothing). */
function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an exception");
}

/** n header digits of value 0 except the first (`first`), then the type byte. */
function header(digits: number, type: number, first = 1): Uint8Array {
  const out = new Uint8Array(digits + 1);
  out[0] = first;
  out[digits] = type;
  return out;
}

/** Base-128 header digits (least significant first) of a non-negative number, then the type byte. */
function headerOf(n: number, type: number): Uint8Array {
  const digits: number[] = [];
  do {
    digits.push(n % 128);
    n = Math.floor(n / 128);
  } while (n > 0);
  return Uint8Array.from([...digits, type]);
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Matches a thrown BananaError (whatever its offset) by its exact message. */
const bananaError = (message: string) => expect.objectContaining({ name: "BananaError", message });

const LONGER = "Security precaution: longer than 64 bytes worth of prefix";
const MORE = "Security precaution: more than 64 bytes of prefix";

describe("banana prefix limit (64 header digits)", () => {
  it("accepts exactly 64 digits for every type byte that takes a header", () => {
    const max = 2n ** 448n - 1n;
    const digits = new Uint8Array(64).fill(0x7f);
    expect(decode(concat(digits, Uint8Array.of(0x81)))).toEqual([max]);
    expect(decode(concat(digits, Uint8Array.of(0x85)))).toEqual([max]);
    expect(decode(concat(digits, Uint8Array.of(0x83)))).toEqual([-max]);
    expect(decode(concat(digits, Uint8Array.of(0x86)))).toEqual([-max]);
    // Redundant zero digits: still small values, lists and strings.
    expect(decode(header(64, 0x81, 5))).toEqual([5]);
    expect(decode(concat(header(64, 0x80, 1), Uint8Array.of(7, 0x81)))).toEqual([[7]]);
    expect(decode(concat(header(64, 0x82, 2), utf8("hi")))).toEqual([utf8("hi")]);
    expect(decode(header(64, 0x87, 1), { dialect: "pb" })).toEqual(["None"]);
    // FLOAT ignores its header digits.
    expect(decode(concat(header(64, 0x84, 9), unhex("3ff8000000000000")))).toEqual([1.5]);
  });

  it("refuses 65 digits followed by a type byte: 'longer than'", () => {
    for (const type of [0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0xff]) {
      const { items, decoder } = collector({ dialect: "pb" });
      const e = caught(() => decoder.feed(header(65, type)));
      expect(e).toBeInstanceOf(BananaError);
      expect(e).toBeInstanceOf(BananaDecodeError);
      expect((e as Error).message).toBe(LONGER);
      expect((e as BananaDecodeError).offset).toBe(65);
      expect(items).toEqual([]);
    }
  });

  it("refuses 65 digits with no type byte yet: 'more than'", () => {
    const { decoder } = collector();
    expect(() => decoder.feed(new Uint8Array(65))).toThrow(bananaError(MORE));
    // 64 buffered digits are not yet an error.
    const ok = collector();
    ok.decoder.feed(new Uint8Array(64));
    expect(ok.decoder.pending).toBe(true);
    ok.decoder.feed(Uint8Array.of(0x81));
    expect(ok.items).toEqual([0]);
    expect(ok.decoder.pending).toBe(false);
  });

  it("counts digits across chunks, whatever the split", () => {
    for (const split of [1, 10, 32, 63, 64]) {
      // 65 digits in two chunks, no type byte: refused when the 65th arrives.
      const a = collector();
      a.decoder.feed(new Uint8Array(split));
      expect(a.decoder.pending).toBe(true);
      expect(() => a.decoder.feed(new Uint8Array(65 - split))).toThrow(MORE);
      // 65 digits then the type byte, split anywhere: refused.
      const b = collector();
      const bytes = header(65, 0x81);
      b.decoder.feed(bytes.subarray(0, split));
      expect(() => b.decoder.feed(bytes.subarray(split))).toThrow(/Security precaution: (longer|more) than 64 bytes/);
      // 64 digits then the type byte, split anywhere: fine.
      const c = collector();
      const good = header(64, 0x81, 3);
      c.decoder.feed(good.subarray(0, split));
      c.decoder.feed(good.subarray(split));
      expect(c.items).toEqual([3]);
    }
  });

  it("refuses the 65th digit when fed one byte at a time", () => {
    const { decoder } = collector();
    for (let i = 0; i < 64; i++) decoder.feed(Uint8Array.of(0));
    expect(() => decoder.feed(Uint8Array.of(0))).toThrow(MORE);
  });

  it("refuses 64 digits in one chunk then a 65th digit and the type byte in the next: 'longer than'", () => {
    const { decoder } = collector();
    decoder.feed(new Uint8Array(64));
    expect(() => decoder.feed(Uint8Array.of(0, 0x81))).toThrow(LONGER);
  });

  it("refuses an endless run of digits in one chunk without slowing down", () => {
    const { decoder } = collector();
    expect(() => decoder.feed(new Uint8Array(10_000_000))).toThrow(MORE);
  });

  it("checks the prefix of items inside lists too", () => {
    const { decoder, items } = collector();
    expect(() => decoder.feed(concat(Uint8Array.of(2, 0x80, 1, 0x81), header(65, 0x81)))).toThrow(LONGER);
    expect(items).toEqual([]);
  });
});

describe("banana size limit (640 KiB)", () => {
  const LIST_OK = headerOf(SIZE_LIMIT, 0x80);
  const LIST_BAD = headerOf(SIZE_LIMIT + 1, 0x80);
  const STRING_OK = headerOf(SIZE_LIMIT, 0x82);
  const STRING_BAD = headerOf(SIZE_LIMIT + 1, 0x82);

  it("has Twisted's numbers", () => {
    expect(SIZE_LIMIT).toBe(655360);
    expect(hex(LIST_OK)).toBe("00 00 28 80");
    expect(hex(STRING_BAD)).toBe("01 00 28 82");
  });

  it("accepts a list header of exactly 655360 and refuses 655361 before any element arrives", () => {
    const ok = collector();
    ok.decoder.feed(LIST_OK);
    expect(ok.decoder.pending).toBe(true);
    expect(ok.decoder.depth).toBe(1);
    const bad = collector();
    const e = caught(() => bad.decoder.feed(LIST_BAD));
    expect(e).toEqual(bananaError("Security precaution: List too long."));
    expect((e as BananaDecodeError).offset).toBe(3);
  });

  it("accepts a string header of exactly 655360 and refuses 655361 before the body arrives", () => {
    const ok = collector();
    ok.decoder.feed(STRING_OK);
    expect(ok.decoder.pending).toBe(true);
    const bad = collector();
    expect(() => bad.decoder.feed(STRING_BAD)).toThrow(bananaError("Security precaution: String too long."));
  });

  it("refuses the header even when it is split, padded with zero digits, or enormous", () => {
    const split = collector();
    split.decoder.feed(STRING_BAD.subarray(0, 2));
    expect(() => split.decoder.feed(STRING_BAD.subarray(2))).toThrow("String too long");
    expect(() => decode(Uint8Array.of(1, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 0x80))).toThrow("List too long");
    expect(() => decode(concat(new Uint8Array(63).fill(0x7f), Uint8Array.of(0x82)))).toThrow("String too long");
    expect(() => decode(concat(new Uint8Array(64).fill(0x7f), Uint8Array.of(0x80)))).toThrow("List too long");
    expect(() => decode(headerOf(2 ** 53, 0x82))).toThrow("String too long");
    // The same accepted size, written with redundant high zero digits.
    const padded = collector();
    padded.decoder.feed(Uint8Array.of(0, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 0x82));
    expect(padded.decoder.pending).toBe(true);
  });

  it("decodes a whole string of exactly 655360 bytes and a list of exactly 655360 elements", () => {
    const body = new Uint8Array(SIZE_LIMIT).fill(0x41);
    const [s] = decode(concat(STRING_OK, body)) as [Uint8Array];
    expect(s.length).toBe(SIZE_LIMIT);
    expect(s.every((b) => b === 0x41)).toBe(true);
    const elements = new Uint8Array(2 * SIZE_LIMIT);
    for (let i = 1; i < elements.length; i += 2) elements[i] = 0x81;
    const [l] = decode(concat(LIST_OK, elements)) as [number[]];
    expect(l.length).toBe(SIZE_LIMIT);
    expect(l[SIZE_LIMIT - 1]).toBe(0);
  });

  it("lets many nested lists each claim the limit without allocating for their elements", () => {
    const { decoder } = collector();
    const before = process.memoryUsage().heapUsed;
    const one = LIST_OK;
    for (let i = 0; i < 10_000; i++) decoder.feed(one);
    expect(decoder.depth).toBe(10_000);
    // 10,000 preallocated 655360-slot arrays would be tens of GB; a few MB at most is allowed.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });
});

describe("banana per-connection limits", () => {
  it("has Twisted's defaults (and ours on an unfinished expression), frozen", () => {
    const ours = { maxMessageNodes: 4 * 655360, maxMessageBytes: 64 * 1024 * 1024 };
    expect(DEFAULT_BANANA_LIMITS).toEqual({ prefixLimit: 64, sizeLimit: 655360, ...ours });
    expect(PREFIX_LIMIT).toBe(64);
    expect(Object.isFrozen(DEFAULT_BANANA_LIMITS)).toBe(true);
    expect(new BananaDecoder(() => {}).limits).toBe(DEFAULT_BANANA_LIMITS);
    expect(bananaLimits()).toBe(DEFAULT_BANANA_LIMITS);
    expect(bananaLimits({ sizeLimit: 10 })).toEqual({ prefixLimit: 64, sizeLimit: 10, ...ours });
  });

  it("refuses nonsense limits when the decoder is made", () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 60]) {
      expect(() => new BananaDecoder(() => {}, { limits: { sizeLimit: bad } })).toThrow(RangeError);
      expect(() => new BananaDecoder(() => {}, { limits: { prefixLimit: bad } })).toThrow(RangeError);
    }
  });

  it("applies a smaller size limit to lists and strings", () => {
    const limits = { sizeLimit: 10 };
    expect(decode(concat(Uint8Array.of(10, 0x82), new Uint8Array(10)), { limits })[0]).toHaveLength(10);
    expect(() => decode(Uint8Array.of(11, 0x82), { limits })).toThrow("String too long");
    expect(() => decode(Uint8Array.of(11, 0x80), { limits })).toThrow("List too long");
  });

  it("applies a larger size limit", () => {
    const limits = { sizeLimit: SIZE_LIMIT + 1 };
    const d = collector({ limits });
    d.decoder.feed(headerOf(SIZE_LIMIT + 1, 0x82));
    expect(d.decoder.pending).toBe(true);
  });

  it("applies a smaller and a larger prefix limit, with the limit in the message", () => {
    const small = { prefixLimit: 4 };
    expect(decode(header(4, 0x81, 9), { limits: small })).toEqual([9]);
    expect(() => decode(header(5, 0x81), { limits: small })).toThrow("Security precaution: longer than 4 bytes worth of prefix");
    expect(() => decode(new Uint8Array(5), { limits: small })).toThrow("Security precaution: more than 4 bytes of prefix");
    // 2**448 needs 65 digits: refused by default, fine with a larger limit.
    const big = concat(new Uint8Array(64), Uint8Array.of(1, 0x85));
    expect(() => decode(big)).toThrow(LONGER);
    expect(decode(big, { limits: { prefixLimit: 100 } })).toEqual([2n ** 448n]);
    expect(() => decode(header(101, 0x81), { limits: { prefixLimit: 100 } })).toThrow("longer than 100 bytes");
  });

  it("keeps limits per decoder", () => {
    const a = collector({ limits: { sizeLimit: 1 } });
    const b = collector();
    b.decoder.feed(Uint8Array.of(2, 0x82, 0x61, 0x62));
    expect(b.items).toEqual([utf8("ab")]);
    expect(() => a.decoder.feed(Uint8Array.of(2, 0x82))).toThrow("String too long");
  });
});

describe("banana type bytes and vocabulary", () => {
  it("refuses every type byte 0x88-0xff, bare, with a header, and inside a list", () => {
    for (let t = 0x88; t <= 0xff; t++) {
      const message = `Invalid Type Byte 0x${t.toString(16)}`;
      for (const [bytes, offset] of [
        [Uint8Array.of(t), 0],
        [Uint8Array.of(5, 1, t), 2],
        [Uint8Array.of(2, 0x80, 1, 0x81, t), 4],
      ] as const) {
        const { decoder, items } = collector({ dialect: "pb" });
        const e = caught(() => decoder.feed(bytes));
        expect(e).toBeInstanceOf(BananaError);
        expect((e as Error).message).toBe(message);
        expect((e as BananaDecodeError).offset).toBe(offset);
        expect(items).toEqual([]);
      }
    }
  });

  it("refuses vocabulary code 0, codes from 32 up, and huge codes", () => {
    for (const code of [0, 32, 33, 127, 128, 1000, 2 ** 31, 2 ** 53 - 1]) {
      expect(() => decode(headerOf(code, 0x87), { dialect: "pb" })).toThrow(bananaError(`Unknown vocabulary code ${code}`));
    }
    expect(() => decode(Uint8Array.of(0x87), { dialect: "pb" })).toThrow("Unknown vocabulary code 0");
    const huge = concat(new Uint8Array(64).fill(0x7f), Uint8Array.of(0x87));
    expect(() => decode(huge, { dialect: "pb" })).toThrow(`Unknown vocabulary code ${2n ** 448n - 1n}`);
  });

  it("accepts every code 1-31 in dialect pb, also with redundant zero digits", () => {
    for (let code = 1; code < 32; code++) {
      expect(decode(Uint8Array.of(code, 0x87), { dialect: "pb" })).toEqual([VOCABULARY[code]]);
      expect(decode(Uint8Array.of(code, 0, 0, 0, 0, 0, 0, 0, 0, 0x87), { dialect: "pb" })).toEqual([VOCABULARY[code]]);
    }
  });

  it("refuses vocabulary outside dialect pb (not negotiated, and none), after looking the code up", () => {
    for (const dialect of [null, "none"] as const) {
      for (let code = 1; code < 32; code++) {
        expect(() => decode(Uint8Array.of(code, 0x87), { dialect })).toThrow(bananaError(`Invalid item for pb protocol b'${VOCABULARY[code]}'`));
      }
      // An unknown code is reported as such first, as Twisted's KeyError comes first.
      expect(() => decode(Uint8Array.of(40, 0x87), { dialect })).toThrow("Unknown vocabulary code 40");
      // Plain STRING forms of the atoms are fine in any dialect.
      expect(decode(encode(utf8("None"), { dialect: null }), { dialect })).toEqual([utf8("None")]);
    }
    expect(() => decode(Uint8Array.of(1, 0x87))).toThrow("Invalid item for pb protocol b'None'");
  });

  it("follows a dialect change between items", () => {
    const { decoder, items } = collector();
    expect(() => decoder.feed(Uint8Array.of(1, 0x87))).toThrow("Invalid item");
    const ok = collector();
    ok.decoder.feed(Uint8Array.of(2, 0x82, 0x70, 0x62));
    ok.decoder.dialect = "pb";
    ok.decoder.feed(Uint8Array.of(1, 0x87));
    expect(ok.items).toEqual([utf8("pb"), "None"]);
    expect(items).toEqual([]);
  });
});

// One complete top-level item of every kind, as bytes.
const SAMPLES: [string, Uint8Array][] = [
  ["int", unhex("01 81")],
  ["int with 8 digits", unhex("7f 7f 7f 7f 7f 7f 7f 0f 85")],
  ["neg", unhex("00 00 00 00 08 83")],
  ["longint", encode(2n ** 300n)],
  ["longneg", encode(-(2n ** 300n))],
  ["float", encode(1.5)],
  ["float with header digits", unhex("03 84 7f f8 00 00 00 00 00 00")],
  ["integral float", encode(new PyFloat(2))],
  ["empty string", unhex("00 82")],
  ["string", encode(utf8("hello, banana"))],
  ["long string", encode(new Uint8Array(300).fill(7))],
  ["vocab", unhex("1b 87")],
  ["empty list", unhex("00 80")],
  ["list", encode([1, utf8("x"), -2, 2.5, [], [[utf8("answer")]]], { dialect: "pb" })],
  ["deep list", unhex("01 80 01 80 01 80 01 80 00 80")],
];

describe("banana truncated input", () => {
  it.each(SAMPLES)("%s: every strict prefix waits quietly, then the rest completes it", (_name, bytes) => {
    const [expected] = decode(bytes, { dialect: "pb" });
    for (let cut = 1; cut < bytes.length; cut++) {
      const { decoder, items } = collector({ dialect: "pb" });
      decoder.feed(bytes.slice(0, cut));
      expect(decoder.pending).toBe(true);
      expect(items).toEqual([]);
      expect(decoder.offset).toBe(cut);
      expect(() => decode(bytes.slice(0, cut), { dialect: "pb" })).toThrow(bananaError("incomplete banana expression"));
      decoder.feed(bytes.slice(cut));
      expect(decoder.pending).toBe(false);
      expect(items).toEqual([expected]);
    }
  });

  it.each(SAMPLES)("%s: one byte at a time, empty chunks between", (_name, bytes) => {
    const [expected] = decode(bytes, { dialect: "pb" });
    const { decoder, items } = collector({ dialect: "pb" });
    decoder.feed(new Uint8Array(0));
    for (let i = 0; i < bytes.length; i++) {
      expect(decoder.pending).toBe(i > 0);
      decoder.feed(bytes.slice(i, i + 1));
      decoder.feed(new Uint8Array(0));
    }
    expect(decoder.pending).toBe(false);
    expect(items).toEqual([expected]);
  });

  it("delivers everything complete and waits for the rest when the cut falls after some items", () => {
    const all = concat(...SAMPLES.map(([, b]) => b));
    const expected = decode(all, { dialect: "pb" });
    expect(expected).toHaveLength(SAMPLES.length);
    for (let cut = 0; cut <= all.length; cut += 3) {
      const { decoder, items } = collector({ dialect: "pb" });
      decoder.feed(all.slice(0, cut));
      expect(items.length).toBeLessThanOrEqual(expected.length);
      decoder.feed(all.slice(cut));
      expect(items).toEqual(expected);
      expect(decoder.pending).toBe(false);
    }
  });
});

describe("banana decoder failure", () => {
  it("keeps failing with the same error, whatever comes next", () => {
    const { decoder, items } = collector({ dialect: "pb" });
    decoder.feed(Uint8Array.of(1, 0x81));
    const e = caught(() => decoder.feed(Uint8Array.of(2, 0x81, 0xff, 3, 0x81)));
    expect((e as BananaDecodeError).offset).toBe(4);
    expect(items).toEqual([1, 2]);
    for (const more of [Uint8Array.of(1, 0x81), new Uint8Array(0), Uint8Array.of(0xff)]) {
      expect(caught(() => decoder.feed(more))).toBe(e);
    }
    expect(items).toEqual([1, 2]);
  });

  it("lets an error thrown by the item handler propagate unchanged, then stays failed", () => {
    class Boom extends Error {}
    const boom = new Boom("handler");
    const seen: Sexp[] = [];
    const decoder = new BananaDecoder((x) => {
      seen.push(x);
      if (x === 2) throw boom;
    });
    expect(caught(() => decoder.feed(Uint8Array.of(1, 0x81, 2, 0x81, 3, 0x81)))).toBe(boom);
    expect(seen).toEqual([1, 2]);
    const after = caught(() => decoder.feed(Uint8Array.of(4, 0x81)));
    expect(after).toBeInstanceOf(BananaError);
    expect((after as Error).message).toMatch(/item handler failed/);
    expect(seen).toEqual([1, 2]);
  });

  it("propagates a handler error raised for a list completed by a later chunk", () => {
    const err = new TypeError("not mine");
    const decoder = new BananaDecoder(() => {
      throw err;
    });
    decoder.feed(Uint8Array.of(2, 0x80, 1, 0x81));
    expect(caught(() => decoder.feed(Uint8Array.of(2, 0x81)))).toBe(err);
    expect(() => decoder.feed(Uint8Array.of(1, 0x81))).toThrow(BananaError);
  });

  it("gives BananaDecodeError with name BananaError", () => {
    const e = caught(() => decode(Uint8Array.of(0x90)));
    expect(e).toBeInstanceOf(BananaDecodeError);
    expect((e as Error).name).toBe("BananaError");
  });

  it("decodes 0 with NEG as 0, not -0", () => {
    const [v] = decode(Uint8Array.of(0, 0x83));
    expect(Object.is(v, 0)).toBe(true);
    expect(Object.is(decode(Uint8Array.of(0x86))[0], 0)).toBe(true);
  });
});

describe("banana memory and time", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  // Announced sizes: a 4-byte header announcing a 640 KiB string, then nothing (or a trickle).
  it("reserves nothing for a 640 KiB string on its header, and grows with the bytes that arrive", () => {
    const { decoder, items } = collector();
    const chunk = new Uint8Array(4096).fill(0x5a);
    const before = process.memoryUsage().arrayBuffers;
    decoder.feed(headerOf(SIZE_LIMIT, 0x82));
    // A header followed by nothing: no body yet, whatever it announced.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024);
    decoder.feed(chunk.subarray(0, 100));
    // The first bytes: a small first room, not the announced size.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024);
    let fed = 100;
    while (fed + chunk.length < SIZE_LIMIT / 4) {
      decoder.feed(chunk);
      fed += chunk.length;
    }
    // A quarter of it arrived: at most twice that is reserved (doubling), plus the doublings left behind.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(SIZE_LIMIT + 64 * 1024);
    while (fed + chunk.length < SIZE_LIMIT) {
      decoder.feed(chunk);
      fed += chunk.length;
    }
    expect(decoder.pending).toBe(true);
    decoder.feed(chunk.subarray(0, SIZE_LIMIT - fed));
    const [s] = items as [Uint8Array];
    expect(s.length).toBe(SIZE_LIMIT);
    // The last doubling stops at the declared size: the body's buffer is exactly that long.
    expect(s.buffer.byteLength).toBe(SIZE_LIMIT);
    expect(s.every((b) => b === 0x5a)).toBe(true);
  });

  // Announced sizes with many connections: 1,000 decoders, each given a header announcing
  // 640 KiB and 10 bytes of body (Twisted, and this decoder before, reserved 640 MiB here).
  it("keeps 1,000 decoders waiting on 640 KiB strings under 20 MiB together", () => {
    const header = headerOf(SIZE_LIMIT, 0x82);
    const body = new Uint8Array(10).fill(1);
    const before = process.memoryUsage().arrayBuffers;
    const decoders = Array.from({ length: 1000 }, () => {
      const { decoder } = collector();
      decoder.feed(header);
      decoder.feed(body);
      return decoder;
    });
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(decoders.every((d) => d.pending)).toBe(true);
    expect(grown).toBeLessThan(20 * 1024 * 1024);
  });

  it("decodes a 600 KiB string fed one byte at a time in linear work", () => {
    const size = 600 * 1024;
    const bytes = concat(headerOf(size, 0x82), new Uint8Array(size).map((_, i) => i & 0x7f));
    // Count the bytes copied: a decoder that re-joins its buffer on every chunk copies ~n²/2.
    let copied = 0;
    const realSet = Uint8Array.prototype.set;
    vi.spyOn(Uint8Array.prototype, "set").mockImplementation(function (this: Uint8Array, src: ArrayLike<number>, offset?: number) {
      copied += src.length;
      return realSet.call(this, src, offset);
    });
    const { decoder, items } = collector();
    let feeds = 0;
    for (let i = 0; i < bytes.length; i++) {
      decoder.feed(bytes.subarray(i, i + 1));
      feeds++;
    }
    vi.restoreAllMocks();
    expect(feeds).toBe(size + 4);
    expect(decoder.pending).toBe(false);
    const [s] = items as [Uint8Array];
    expect(s.length).toBe(size);
    expect(s[size - 1]).toBe((size - 1) & 0x7f);
    // Each byte once, plus the body's doublings (4 KiB, 8 KiB, ... : under twice its length).
    expect(copied).toBeLessThanOrEqual(3 * bytes.length);
  }, 30_000);

  it("decodes 200,000 levels of nesting fed one byte at a time without the call stack", () => {
    const depth = 200_000;
    const bytes = new Uint8Array(2 * depth + 2);
    for (let i = 0; i < depth; i++) bytes.set([1, 0x80], 2 * i);
    bytes.set([7, 0x81], 2 * depth);
    const { decoder, items } = collector();
    for (let i = 0; i < bytes.length; i++) decoder.feed(bytes.subarray(i, i + 1));
    expect(decoder.pending).toBe(false);
    let x = items[0];
    for (let i = 0; i < depth; i++) x = (x as Sexp[])[0];
    expect(x).toBe(7);
  }, 30_000);

  it("decodes 100,000 small items in one-byte chunks", () => {
    const one = encode([1, utf8("ab"), 2.5]);
    const bytes = new Uint8Array(one.length * 100_000);
    for (let i = 0; i < 100_000; i++) bytes.set(one, i * one.length);
    let n = 0;
    const decoder = new BananaDecoder(() => n++);
    for (let i = 0; i < bytes.length; i++) decoder.feed(bytes.subarray(i, i + 1));
    expect(n).toBe(100_000);
  }, 30_000);
});

describe("banana dialect negotiation errors", () => {
  it("initiator: an offer with no dialect it knows, or not a list, is a DialectError", () => {
    const bad: Sexp[] = [[], [utf8("xx"), utf8("yy")], [1, 2, [utf8("pb")]], utf8("pb"), "pb", 5, 1.5, new PyFloat(1), 2n ** 100n, [[utf8("pb")]]];
    for (const offer of bad) {
      const n = new DialectNegotiator("initiator");
      expect(n.start()).toBeNull();
      const e = caught(() => n.receive(offer));
      expect(e).toBeInstanceOf(DialectError);
      expect(e).toBeInstanceOf(BananaError);
      expect(n.negotiated).toBe(false);
    }
    // Known dialects restricted: pb alone does not match an offer of none.
    expect(() => new DialectNegotiator("initiator", ["pb"]).receive([utf8("none")])).toThrow(DialectError);
  });

  it("initiator: picks the first known entry, skipping junk, and refuses a second offer", () => {
    const n = new DialectNegotiator("initiator");
    const step = n.receive([1, [], utf8("xx"), utf8("none"), utf8("pb")]);
    expect(step.selected).toBe("none");
    expect(hex(step.send!)).toBe("04 82 6e 6f 6e 65");
    expect(n.negotiated).toBe(true);
    expect(() => n.receive([utf8("pb")])).toThrow(DialectError);
  });

  it("initiator: every connection's choice has the same bytes, offered as text or bytes, each its own copy", () => {
    const sent: Uint8Array[] = [];
    for (const offer of [[utf8("pb")], ["pb"], [utf8("pb")], [utf8("none")], ["none"]] as Sexp[]) sent.push(new DialectNegotiator("initiator").receive(offer).send!);
    expect(sent.map(hex)).toEqual(["02 82 70 62", "02 82 70 62", "02 82 70 62", "04 82 6e 6f 6e 65", "04 82 6e 6f 6e 65"]);
    // A transport that changes the bytes it was given changes no other connection's.
    sent[0].fill(0);
    expect(hex(new DialectNegotiator("initiator").receive([utf8("pb")]).send!)).toBe("02 82 70 62");
    expect(sent[1].buffer).not.toBe(sent[2].buffer);
  });

  it("listener: an unknown dialect, a list, or a non-string is a DialectError", () => {
    const bad: Sexp[] = [utf8("xx"), utf8("PB"), utf8("pb\0"), utf8(""), [utf8("pb")], [], 1, 0, new PyFloat(0), 2n ** 70n];
    for (const choice of bad) {
      const n = new DialectNegotiator("listener");
      expect(hex(n.start()!)).toBe("02 80 02 82 70 62 04 82 6e 6f 6e 65");
      expect(() => n.receive(choice)).toThrow(DialectError);
      expect(n.negotiated).toBe(false);
    }
    expect(() => new DialectNegotiator("listener", ["none"]).receive(utf8("pb"))).toThrow(DialectError);
  });

  it("listener: selects a known dialect once", () => {
    const n = new DialectNegotiator("listener");
    expect(n.receive(utf8("pb"))).toEqual({ selected: "pb" });
    expect(() => n.receive(utf8("pb"))).toThrow(DialectError);
  });

  it("negotiates over a decoder that then refuses vocabulary outside the chosen dialect", () => {
    const listener = new DialectNegotiator("listener");
    const initiator = new DialectNegotiator("initiator", ["none"]);
    const offer = decode(listener.start()!)[0];
    const step = initiator.receive(offer);
    const choice = decode(step.send!)[0];
    expect(listener.receive(choice).selected).toBe("none");
    expect(() => decode(Uint8Array.of(1, 0x87), { dialect: "none" })).toThrow("Invalid item for pb protocol");
  });
});
