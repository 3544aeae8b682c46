// A short fuzz run in the test suite (scripts/fuzz.ts holds the properties and does the long run:
// `npm run fuzz -- [seconds] [seed]`). Set FUZZ_SEED to replay a failure fast-check reports.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BananaError, PyFloat } from "../src/banana/index.ts";
import { dumps, InsecureJelly, JellyError, loads } from "../src/jelly/index.ts";
import {
  checkHostileBytes, checkRoundTrip, chunks, cutPoints, FuzzFailure, hashKey, isExpectedError, losslessValue, mutate, properties,
} from "../scripts/fuzz.ts";

const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, seed, endOnFailure: false });

describe("fuzz helpers", () => {
  it("split bytes into chunks that join back to the input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 50 }), cutPoints, (data, cuts) => {
        const parts = chunks(data, cuts);
        expect(Buffer.concat(parts)).toEqual(Buffer.from(data));
      }),
      params(200),
    );
  });

  it("mutate each way", () => {
    const b = Uint8Array.of(1, 2, 3, 4);
    expect(mutate(b, [{ op: "set", at: 0, value: 9, len: 1 }])).toEqual(Uint8Array.of(9, 2, 3, 4));
    expect(mutate(b, [{ op: "flip", at: 0.3, value: 0, len: 1 }])).toEqual(Uint8Array.of(1, 3, 3, 4));
    expect(mutate(b, [{ op: "insert", at: 0.99, value: 7, len: 1 }])).toEqual(Uint8Array.of(1, 2, 3, 4, 7));
    expect(mutate(b, [{ op: "delete", at: 0.2, value: 0, len: 2 }])).toEqual(Uint8Array.of(1, 4));
    expect(mutate(b, [{ op: "truncate", at: 0.5, value: 0, len: 1 }])).toEqual(Uint8Array.of(1, 2));
    expect(mutate(b, [{ op: "dup", at: 0.5, value: 0, len: 2 }])).toEqual(Uint8Array.of(1, 2, 3, 4, 3, 4));
  });

  it("know which errors are expected", () => {
    expect(isExpectedError(new BananaError("x"))).toBe(true);
    expect(isExpectedError(new JellyError("x"))).toBe(true);
    expect(isExpectedError(new InsecureJelly("x"))).toBe(true);
    expect(isExpectedError(new TypeError("x"))).toBe(false);
    expect(isExpectedError(new RangeError("x"))).toBe(false);
    expect(isExpectedError("x")).toBe(false);
  });

  it("catch a changed round trip", () => {
    // A JS Date comes back as a PyDateTime, with the same bytes: fine.
    expect(() => checkRoundTrip(new Date(0), [0.5])).not.toThrow();
    // Two PyFloat(2**53) come back as one JS number, so the set shrinks: caught.
    expect(() => checkRoundTrip(new Set([new PyFloat(2 ** 53), new PyFloat(2 ** 53)]), [])).toThrow(FuzzFailure);
    // A value that cannot be sent is the sender's error, not a FuzzFailure.
    expect(() => checkRoundTrip(() => 1, [])).toThrow(JellyError);
  });

  it("treat floats as Python does for set membership", () => {
    expect(hashKey(2n ** 10n)).toBe(1024);
    expect(hashKey(2n ** 60n)).toBe(2n ** 60n);
  });

  it("report no failure for a plain hostile input", () => {
    expect(() => checkHostileBytes(Uint8Array.of(0xff, 1, 0x81), [0.5])).not.toThrow();
    expect(() => checkHostileBytes(new Uint8Array(0), [])).not.toThrow();
  });

  it("FuzzFailure is not an expected error", () => {
    expect(isExpectedError(new FuzzFailure("x"))).toBe(false);
  });
});

describe("fuzz (short run)", () => {
  it("(1) dumps -> loads -> dumps gives identical bytes, also decoded in random chunks", () => {
    fc.assert(properties.roundtrip, params(1000));
  });

  it("(1b) the lossless values are sane for loads in both modes", () => {
    fc.assert(
      fc.property(losslessValue, (v) => {
        const b = dumps(v);
        loads(b);
        loads(b, { mode: "js", bytesAsText: true });
      }),
      params(300),
    );
  });

  it("(2) random bytes raise only BananaError, JellyError or InsecureJelly", () => {
    fc.assert(properties.random, params(3000));
  });

  it("(3) mutated valid encodings raise only BananaError, JellyError or InsecureJelly", () => {
    fc.assert(properties.mutated, params(2000));
  });

  it("(4) jelly-shaped expressions raise only JellyError or InsecureJelly", () => {
    fc.assert(properties.sexp, params(3000));
  });

  // Reference doubling, long runs of one character in every text field: refused or accepted and
  // rendered, counted and converted, each input within SLOW_MS (2 s, generous for a loaded machine).
  it("(5) hostile structures are refused or walked in bounded time", () => {
    fc.assert(properties.hostile, params(150));
  });

  // Headers announcing 320-640 KiB strings and lists, with up to 100 bytes of body, on 200 decoders.
  it("(6) huge announced sizes reserve memory for the bytes received, not the headers", () => {
    fc.assert(properties.announced, params(20));
  });
});
