// The login's hashing: the TypeScript md5 gives exactly node:crypto's digest (every length a
// login can meet, block boundaries included, however the input is split into parts), and the
// constant-time comparison says equal only for equal bytes; names and passwords become bytes (and
// back) exactly as TextEncoder and TextDecoder would make them.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { constantTimeEqual, md5, respond, toBytes } from "../../src/cred/hash.ts";
import { usernameText } from "../../src/cred/credentials.ts";
import { md5Of } from "../../src/cred/md5.ts";
import { chunks, cutPoints } from "../../scripts/fuzz.ts";

const nodeMD5 = (bytes: Uint8Array) => new Uint8Array(createHash("md5").update(bytes).digest());
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("md5", () => {
  it("matches RFC 1321's test suite", () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(hex(md5(text("")))).toBe("d41d8cd98f00b204e9800998ecf8427e");
    expect(hex(md5(text("abc")))).toBe("900150983cd24fb0d6963f7d28e17f72");
    expect(hex(md5(text("message digest")))).toBe("f96b697d7cb7938d525a2f31aaf161d0");
    expect(hex(md5(text("12345678901234567890123456789012345678901234567890123456789012345678901234567890")))).toBe("57edf4a22be3c955ac49da2e2107b67a");
  });

  it("gives node:crypto's digest at every length up to 300 bytes and at each block boundary", () => {
    const lengths = [...Array.from({ length: 301 }, (_, i) => i), 511, 512, 513, 1000, 4096, 65537];
    for (const n of lengths) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n * 7) & 0xff);
      const want = hex(nodeMD5(bytes));
      expect(hex(md5(bytes)), `length ${n}`).toBe(want);
      expect(hex(md5Of([bytes])), `length ${n}, TypeScript`).toBe(want);
    }
  });

  it("gives node:crypto's digest for random bytes split into random parts", () => {
    const boundaries = fc.constantFrom(0, 1, 15, 16, 32, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 255, 256, 257, 300);
    const length = fc.oneof(fc.integer({ min: 0, max: 300 }), boundaries);
    fc.assert(
      fc.property(
        length.chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        cutPoints,
        (bytes, cuts) => {
          const parts = chunks(bytes, cuts);
          const want = hex(nodeMD5(bytes));
          expect(hex(md5(...parts))).toBe(want);
          expect(hex(md5Of(parts))).toBe(want);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("returns a fresh array each time (the scratch space is not handed out)", () => {
    const a = md5(new Uint8Array([1]));
    const b = md5(new Uint8Array([2]));
    expect(hex(a)).toBe(hex(nodeMD5(new Uint8Array([1]))));
    expect(a).not.toBe(b);
    expect(a.buffer).not.toBe(b.buffer);
  });

  it("pb.respond is md5(md5(password) + challenge)", () => {
    const challenge = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    const pw = new TextEncoder().encode("hunter2 ünïcode");
    const inner = nodeMD5(pw);
    const want = createHash("md5").update(inner).update(challenge).digest("hex");
    expect(hex(respond(challenge, "hunter2 ünïcode"))).toBe(want);
    expect(hex(respond(challenge, pw))).toBe(want);
  });
});

describe("constantTimeEqual", () => {
  it("is true only for the same bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(Buffer.from(a).equals(Buffer.from(b)));
        expect(constantTimeEqual(a, Uint8Array.from(a))).toBe(true);
      }),
    );
  });

  it("tells apart strings that differ in one byte anywhere, or only in length", () => {
    const a = Uint8Array.from({ length: 16 }, (_, i) => i);
    for (let i = 0; i < 16; i++) {
      const b = Uint8Array.from(a);
      b[i] ^= 0x80;
      expect(constantTimeEqual(a, b)).toBe(false);
    }
    expect(constantTimeEqual(a, a.subarray(0, 15))).toBe(false);
    expect(constantTimeEqual(a.subarray(0, 15), a)).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(1))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});

describe("text and bytes of names and passwords", () => {
  it("toBytes gives TextEncoder's UTF-8 for any text, short ASCII or not", () => {
    const enc = new TextEncoder();
    const texts = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: "binary", maxLength: 80 }), fc.string({ unit: "grapheme-ascii", minLength: 60, maxLength: 70 }));
    fc.assert(
      fc.property(texts, (t) => {
        expect(hex(toBytes(t))).toBe(hex(enc.encode(t)));
      }),
      { numRuns: 3000 },
    );
    expect(hex(toBytes("\ud800x"))).toBe("efbfbd78"); // a lone surrogate, as TextEncoder writes it
    const bytes = Uint8Array.of(1, 2, 3);
    expect(toBytes(bytes)).toBe(bytes);
  });

  it("usernameText reads bytes as TextDecoder does (invalid UTF-8 becomes U+FFFD)", () => {
    const dec = new TextDecoder();
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ max: 0x7f, maxLength: 80 })), (b) => {
        expect(usernameText(b)).toBe(dec.decode(b));
      }),
      { numRuns: 3000 },
    );
    expect(usernameText("bob")).toBe("bob");
  });
});
