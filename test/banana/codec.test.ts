import { describe, expect, it } from "vitest";
import { BananaDecoder, BananaError, decode, encode, PyFloat, VOCABULARY, type Sexp } from "../../src/banana/index.ts";
import { hex, unhex, utf8 } from "../support/hex.ts";

// Section A of ../shared/wire-examples.txt, recorded from Twisted 22.4 (dialect pb).
const RECORDED: [Sexp, string][] = [
  [0, "00 81"],
  [1, "01 81"],
  [127, "7f 81"],
  [128, "00 01 81"],
  [2147483647, "7f 7f 7f 7f 07 81"],
  [2147483648, "00 00 00 00 08 85"],
  [-1, "01 83"],
  [-2147483648, "00 00 00 00 08 83"],
  [-2147483649, "01 00 00 00 08 86"],
  [1.5, "84 3f f8 00 00 00 00 00 00"],
  [-0, "84 80 00 00 00 00 00 00 00"],
  [utf8(""), "00 82"],
  [utf8("hi"), "02 82 68 69"],
  [utf8("None"), "01 87"],
  [utf8("remote"), "10 87"],
  [utf8("root"), "04 82 72 6f 6f 74"],
  [[], "00 80"],
  [[1, [utf8("x")]], "02 80 01 81 01 80 01 82 78"],
];

describe("banana encoder", () => {
  it.each(RECORDED)("encodes %s as Twisted does", (value, bytes) => {
    expect(hex(encode(value, { dialect: "pb" }))).toBe(bytes);
  });

  it("uses INT/NEG up to 2**31-1 and -2**31, LONGINT/LONGNEG beyond", () => {
    expect(hex(encode(2n ** 31n - 1n))).toBe("7f 7f 7f 7f 07 81");
    expect(hex(encode(2n ** 31n))).toBe("00 00 00 00 08 85");
    expect(hex(encode(-(2n ** 31n)))).toBe("00 00 00 00 08 83");
    expect(hex(encode(-(2n ** 31n) - 1n))).toBe("01 00 00 00 08 86");
    expect(hex(encode(2 ** 53 - 1))).toBe("7f 7f 7f 7f 7f 7f 7f 0f 85");
  });

  it("accepts +-(2**448-1) and refuses one more, with Twisted's message", () => {
    const max = 2n ** 448n - 1n;
    expect(encode(max).length).toBe(65);
    expect(encode(-max).at(-1)).toBe(0x86);
    expect(() => encode(max + 1n)).toThrow(new BananaError(`int is too large to send (${max + 1n})`));
    expect(() => encode(-max - 1n)).toThrow(BananaError);
  });

  it("writes floats as 8 big-endian bytes with no header, keeping -0, inf and nan", () => {
    expect(hex(encode(new PyFloat(1)))).toBe("84 3f f0 00 00 00 00 00 00");
    expect(hex(encode(Infinity))).toBe("84 7f f0 00 00 00 00 00 00");
    expect(hex(encode(-Infinity))).toBe("84 ff f0 00 00 00 00 00 00");
    expect(hex(encode(NaN))).toBe("84 7f f8 00 00 00 00 00 00");
    expect(hex(encode(2 ** 60))).toBe("84 43 b0 00 00 00 00 00 00");
  });

  it("compresses every vocabulary atom in dialect pb only", () => {
    for (let code = 1; code < VOCABULARY.length; code++) {
      const atom = VOCABULARY[code];
      expect(hex(encode(utf8(atom), { dialect: "pb" }))).toBe(hex(Uint8Array.of(code, 0x87)));
      expect(hex(encode(atom, { dialect: "pb" }))).toBe(hex(Uint8Array.of(code, 0x87)));
      expect(hex(encode(utf8(atom), { dialect: "none" }))).toBe(hex(encode(utf8(atom), { dialect: null })));
      expect(encode(utf8(atom), { dialect: "none" })[0]).toBe(atom.length);
    }
    expect(hex(encode("unicode", { dialect: "pb" }))).toBe("07 82 75 6e 69 63 6f 64 65");
  });

  it("encodes text as its UTF-8 bytes and refuses lone surrogates", () => {
    expect(hex(encode("h\u00e9"))).toBe("03 82 68 c3 a9");
    expect(hex(encode("\u{1F600}"))).toBe("04 82 f0 9f 98 80");
    expect(() => encode("\ud800")).toThrow(BananaError);
  });

  it("enforces the size limit when sending, allowing exactly 655360", () => {
    expect(encode(new Uint8Array(655360)).length).toBe(655360 + 4);
    expect(() => encode(new Uint8Array(655361))).toThrow("byte string is too long to send (655361)");
    expect(() => encode(new Array(655361).fill(0))).toThrow("list/tuple is too long to send (655361)");
    expect(encode(new Array(655360).fill(0)).length).toBe(655360 * 2 + 4);
  });

  it("refuses values banana cannot carry", () => {
    expect(() => encode(null as unknown as Sexp)).toThrow(BananaError);
    expect(() => encode({} as unknown as Sexp)).toThrow(/Banana cannot send/);
  });
});

describe("banana decoder", () => {
  it.each(RECORDED)("decodes Twisted's bytes for %s back to the same bytes", (_value, bytes) => {
    const items = decode(unhex(bytes), { dialect: "pb" });
    expect(items).toHaveLength(1);
    expect(hex(encode(items[0], { dialect: "pb" }))).toBe(bytes);
  });

  it("gives ints as numbers while safe, bigints beyond, and never -0", () => {
    expect(decode(unhex("00 83"))).toEqual([0]);
    expect(Object.is(decode(unhex("00 83"))[0], 0)).toBe(true);
    expect(decode(unhex("7f 7f 7f 7f 7f 7f 7f 0f 85"))).toEqual([2 ** 53 - 1]);
    expect(decode(unhex("00 00 00 00 00 00 00 10 85"))).toEqual([2n ** 53n]);
    expect(decode(unhex("01 00 00 81"))).toEqual([1]);
    expect(decode(unhex("01 00 00 00 00 00 00 00 00 00 81"))).toEqual([1]);
    expect(decode(unhex("81"))).toEqual([0]);
  });

  it("keeps integral floats as PyFloat and ignores header digits before FLOAT", () => {
    const [f] = decode(unhex("84 40 08 00 00 00 00 00 00"));
    expect(f).toBeInstanceOf(PyFloat);
    expect((f as PyFloat).value).toBe(3);
    expect(decode(unhex("05 84 3f f8 00 00 00 00 00 00"))).toEqual([1.5]);
    expect(Object.is(decode(unhex("84 80 00 00 00 00 00 00 00"))[0], -0)).toBe(true);
  });

  it("decodes input fed one byte at a time, and several items per chunk", () => {
    const stream = unhex("02 80 01 81 01 80 01 82 78 84 3f f8 00 00 00 00 00 00 03 82 61 62 63 00 80 01 00 00 00 00 00 00 08 86");
    const expected = decode(stream);
    expect(expected).toHaveLength(5);
    const got: Sexp[] = [];
    const d = new BananaDecoder((x) => got.push(x));
    for (const b of stream) d.feed(Uint8Array.of(b));
    expect(got.map((x) => hex(encode(x)))).toEqual(expected.map((x) => hex(encode(x))));
    expect(d.pending).toBe(false);
  });

  it("decodes 100,000 levels of nesting without overflowing the stack", () => {
    const depth = 100_000;
    const bytes = new Uint8Array(depth * 2 + 2);
    for (let i = 0; i < depth; i++) bytes.set([1, 0x80], i * 2);
    bytes.set([0, 0x80], depth * 2);
    const [item] = decode(bytes);
    let node = item as Sexp[];
    let levels = 0;
    while (node.length) {
      node = node[0] as Sexp[];
      levels++;
    }
    expect(levels).toBe(depth);
  });

  it("switches dialect between items of the same chunk", () => {
    const got: Sexp[] = [];
    const d: BananaDecoder = new BananaDecoder(
      (x) => {
        got.push(x);
        d.dialect = "pb";
      },
      { dialect: null },
    );
    d.feed(unhex("02 82 70 62 02 80 13 87 06 81"));
    expect(got[1]).toEqual(["version", 6]);
  });

  it("assembles a string split across many chunks once, whatever the split", () => {
    const body = new Uint8Array(600 * 1024).map((_, i) => i * 7);
    const bytes = encode(body);
    const got: Sexp[] = [];
    const d = new BananaDecoder((x) => got.push(x));
    for (let i = 0; i < bytes.length; i += 1000) d.feed(bytes.subarray(i, i + 1000));
    expect(got).toHaveLength(1);
    expect(Buffer.from(got[0] as Uint8Array).equals(Buffer.from(body))).toBe(true);
  });
});

describe("banana receive limits and errors", () => {
  const fails = (bytes: Uint8Array, message: string | RegExp, options = {}) => {
    expect(() => decode(bytes, options)).toThrow(BananaError);
    expect(() => decode(bytes, options)).toThrow(message);
  };

  it("allows 64 header digits and refuses 65, with Twisted's two messages", () => {
    expect(() => decode(new Uint8Array([...new Array(64).fill(0), 0x81]))).not.toThrow();
    fails(new Uint8Array([...new Array(65).fill(0), 0x81]), "Security precaution: longer than 64 bytes worth of prefix");
    fails(new Uint8Array(65), "Security precaution: more than 64 bytes of prefix");
    const d = new BananaDecoder(() => {});
    d.feed(new Uint8Array(64));
    expect(() => d.feed(new Uint8Array(1))).toThrow("more than 64 bytes of prefix");
  });

  it("refuses lists and strings over 640 KiB as soon as the header arrives", () => {
    fails(unhex("01 00 28 80"), "Security precaution: List too long.");
    fails(unhex("01 00 28 82"), "Security precaution: String too long.");
    expect(() => decode(unhex("00 00 28 82"))).toThrow("incomplete");
    fails(unhex("00 00 00 00 00 00 00 00 01 80"), "List too long.");
  });

  it("honours per-connection limits", () => {
    fails(unhex("05 82 61 62 63 64 65"), "String too long.", { limits: { sizeLimit: 4 } });
    fails(unhex("00 00 00 81"), "longer than 2 bytes", { limits: { prefixLimit: 2 } });
  });

  it("names unknown type bytes and vocabulary codes", () => {
    fails(unhex("88"), "Invalid Type Byte 0x88");
    fails(unhex("01 ff"), "Invalid Type Byte 0xff");
    fails(unhex("00 87"), "Unknown vocabulary code 0");
    fails(unhex("20 87"), "Unknown vocabulary code 32");
    fails(unhex("01 87"), "Invalid item for pb protocol b'None'", { dialect: "none" });
    fails(unhex("01 87"), "Invalid item for pb protocol", { dialect: null });
  });

  it("reports the offset of the byte that failed and stays failed", () => {
    const d = new BananaDecoder(() => {});
    expect(() => d.feed(unhex("01 81 02 81 88"))).toThrow(expect.objectContaining({ offset: 4 }));
    expect(() => d.feed(unhex("01 81"))).toThrow(BananaError);
  });
});
