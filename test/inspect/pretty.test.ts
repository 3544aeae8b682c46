// Values as a Twisted user reads them: pb-inspect's rendering against Python's own repr().
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findPython } from "../../interop/find-python.mjs";
import { decode, encode, type Sexp } from "../../src/banana/index.ts";
import { summarizeFailure } from "../../src/inspect/failure.ts";
import { FULL_LIMITS, pretty } from "../../src/inspect/pretty.ts";
import { bytesRepr, exceptionName, floatRepr, strRepr } from "../../src/inspect/pyrepr.ts";
import { ROOT } from "./support.ts";

const python = findPython();
const u8 = (s: string) => new TextEncoder().encode(s);
/** Through real banana bytes, so vocabulary tokens arrive as they do on the wire. */
const show = (x: Sexp, limits = FULL_LIMITS) => pretty(decode(encode(x, { dialect: "pb" }), { dialect: "pb" })[0], limits);

describe("Python repr of scalars", () => {
  it("floats", () => {
    const cases: Array<[number, string]> = [
      [2.5, "2.5"], [1, "1.0"], [-0, "-0.0"], [1e100, "1e+100"], [1e16, "1e+16"], [1e15, "1000000000000000.0"],
      [0.0001, "0.0001"], [0.00001, "1e-05"], [1.5e-7, "1.5e-07"], [123456789012345678, "1.2345678901234568e+17"],
      [Infinity, "inf"], [-Infinity, "-inf"], [NaN, "nan"], [0.1 + 0.2, "0.30000000000000004"], [5e-324, "5e-324"],
      [1.7976931348623157e308, "1.7976931348623157e+308"], [-2.5e-5, "-2.5e-05"],
    ];
    for (const [x, want] of cases) expect(floatRepr(x), String(x)).toBe(want);
  });

  it("str and bytes: quotes and escapes", () => {
    expect(strRepr("it's \"q\" \x00\x7f\u00e9\u200b\n\ud7ff\u{1F600}\u2028 \xa0")).toBe("'it\\'s \"q\" \\x00\\x7fé\\u200b\\n\\ud7ff😀\\u2028 \\xa0'");
    expect(strRepr("it's")).toBe(`"it's"`);
    expect(bytesRepr(u8("it's \"q\"\x00\x7f\t\\"))).toBe("b'it\\'s \"q\"\\x00\\x7f\\t\\\\'");
    expect(bytesRepr(u8("it's"))).toBe(`b"it's"`);
    expect(bytesRepr(new Uint8Array(10), 4)).toBe("b'\\x00\\x00\\x00\\x00'...(10 bytes)");
    expect(strRepr("abcdef", 3)).toBe("'abc'...(6 characters)");
  });

  it("exception names as a traceback shows them", () => {
    expect(exceptionName("builtins.ValueError")).toBe("ValueError");
    expect(exceptionName("exceptions.ValueError")).toBe("ValueError");
    expect(exceptionName("__main__.MyError")).toBe("MyError");
    expect(exceptionName("twisted.cred.error.UnauthorizedLogin")).toBe("twisted.cred.error.UnauthorizedLogin");
  });
});

describe("jelly values", () => {
  it("containers, None, booleans, text and bytes", () => {
    expect(show(["tuple", 1, ["unicode", "hi"]])).toBe("(1, 'hi')");
    expect(show(["tuple", 1])).toBe("(1,)");
    expect(show(["tuple"])).toBe("()");
    expect(show(["list", u8("None"), ["None"], ["boolean", "true"], ["boolean", "false"]])).toBe("[b'None', None, True, False]");
    expect(show(["dictionary", [["unicode", "k"], 1], [2, u8("v")]])).toBe("{'k': 1, 2: b'v'}");
    expect(show(["dictionary", [u8("remote"), 5], [u8("None"), ["None"]]])).toBe("{b'remote': 5, b'None': None}");
    expect(show(["set", 1, 2])).toBe("{1, 2}");
    expect(show(["set"])).toBe("set()");
    expect(show(["frozenset", 3])).toBe("frozenset({3})");
    expect(show(["frozenset"])).toBe("frozenset()");
  });

  it("dates, times, decimals", () => {
    expect(show(["datetime", "2020 1 2 3 4 5 6"])).toBe("datetime.datetime(2020, 1, 2, 3, 4, 5, 6)");
    expect(show(["datetime", "2020 1 2 0 0 0 0"])).toBe("datetime.datetime(2020, 1, 2, 0, 0)");
    expect(show(["datetime", "2020 1 2 3 4 5 0"])).toBe("datetime.datetime(2020, 1, 2, 3, 4, 5)");
    expect(show(["date", "2020 1 2"])).toBe("datetime.date(2020, 1, 2)");
    expect(show(["time", "3 4 0 0"])).toBe("datetime.time(3, 4)");
    expect(show(["timedelta", "-1 5 0"])).toBe("datetime.timedelta(days=-1, seconds=5)");
    expect(show(["timedelta", "0 0 0"])).toBe("datetime.timedelta(0)");
    expect(show(["decimal", 314, -2])).toBe("Decimal('3.14')");
    expect(show(["decimal", -25, -2])).toBe("Decimal('-0.25')");
    expect(show(["decimal", 15, 5])).toBe("Decimal('1.5E+6')");
  });

  it("shared and cyclic references are named once, not repeated", () => {
    expect(show(["list", ["reference", 2, ["list", 1]], ["reference", 1, ["list", 2]], ["dereference", 1], ["dereference", 2]])).toBe("[@2=[1], @1=[2], @1, @2]");
    expect(show(["reference", 1, ["list", 1, ["dereference", 1]]])).toBe("@1=[1, @1]");
    expect(show(["dereference", 9])).toBe("@9<undefined reference>");
    // Each use of a shared value costs one token: no blow-up on a chain of shares.
    let x: Sexp = ["list", 1];
    for (let i = 1; i <= 40; i++) x = ["list", ["reference", i, x], ["dereference", i]];
    expect(show(x).length).toBeLessThan(1000);
  });

  it("PB objects, copies and failures", () => {
    expect(show(["remote", 3])).toBe("<remote #3>");
    expect(show(["__main__.Point", ["dictionary", [["unicode", "x"], 1], [["unicode", "y"], 2]]])).toBe("<__main__.Point {'x': 1, 'y': 2}>");
    expect(show(["__main__.Counter", 2, ["dictionary", [["unicode", "value"], 0]]])).toBe("<cache #2 __main__.Counter {'value': 0}>");
    expect(show(["unpersistable", "instance of class x.Y deemed insecure"])).toBe("<unpersistable: instance of class x.Y deemed insecure>");
    const failure: Sexp = ["twisted.spread.pb.CopyableFailure", ["dictionary",
      [["unicode", "type"], u8("builtins.ValueError")], [["unicode", "value"], ["unicode", "oops"]],
      [["unicode", "traceback"], ["unicode", "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: oops\n"]]]];
    expect(show(["list", failure])).toBe("[<Failure ValueError: oops>]");
    expect(summarizeFailure(failure)).toEqual({
      type: "builtins.ValueError",
      value: "oops",
      line: "ValueError: oops",
      traceback: ["Traceback (most recent call last):", '  File "x.py", line 1', "ValueError: oops"],
      deferred: false,
    });
  });

  it("long and deep values are shortened unless asked not to", () => {
    const limits = { maxString: 5, maxItems: 3, maxDepth: 4 };
    expect(show(["list", 1, 2, 3, 4, 5], limits)).toBe("[1, 2, 3, ...2 more]");
    expect(show(["unicode", "abcdefgh"], limits)).toBe("'abcde'...(8 characters)");
    expect(show(["list", ["list", ["list", ["list", ["list", ["list"]]]]]], limits)).toBe("[[[[[<...nested too deep>]]]]]");
  });
});

describe.skipIf(!python)("every golden jelly vector reads as Python's repr() of the value", () => {
  it("matches Twisted + Python on fixtures/jelly-vectors.jsonl", () => {
    const vectors = readFileSync(join(ROOT, "fixtures/jelly-vectors.jsonl"), "utf8");
    const r = spawnSync(python!.path, [join(ROOT, "interop/peer.py"), "inspect-repr"], { input: vectors, encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const byName = new Map(vectors.trim().split("\n").map((l) => JSON.parse(l)).map((v) => [v.name, v]));
    let compared = 0;
    for (const line of r.stdout.trim().split("\n")) {
      const { name, repr, skip } = JSON.parse(line);
      if (skip) continue;
      const bytes = Uint8Array.from(Buffer.from(byName.get(name).pb, "hex"));
      expect(pretty(decode(bytes, { dialect: "pb" })[0], FULL_LIMITS), name).toBe(repr);
      compared++;
    }
    expect(compared).toBeGreaterThan(700);
  });
});
