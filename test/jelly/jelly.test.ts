import { describe, expect, it } from "vitest";
import { decode, encode, PyFloat } from "../../src/banana/index.ts";
import {
  dumps, FrozenSet, InsecureJelly, JellyError, jelly, loads, PyDate, PyDateTime, PyDecimal, PyInstance, PyTime, PyTimeDelta,
  SecurityOptions, tuple, Tuple, unjelly, Unpersistable, UnjellyableRegistry, DummySecurityOptions, type Unjellier,
} from "../../src/jelly/index.ts";
import { hex, unhex } from "../support/hex.ts";

const pb = (v: unknown) => hex(dumps(v));
const roundTrip = (h: string) => hex(dumps(loads(unhex(h))));

describe("jelly: what Twisted sends (wire-examples.txt)", () => {
  it("the echo tuple of B2", () => {
    expect(pb(tuple(1, "hi", 2.5, null, true))).toBe(
      "06 80 0b 87 01 81 02 80 07 82 75 6e 69 63 6f 64 65 02 82 68 69 84 40 04 00 00 00 00 00 00 01 80 01 87 02 80 07 82 62 6f 6f 6c 65 61 6e 04 82 74 72 75 65",
    );
  });

  it("keyword dictionaries as in B3", () => {
    expect(pb(new Map([["key", "v"]]))).toBe(pb({ key: "v" }));
    expect(pb({ key: "v" })).toBe("02 80 05 87 02 80 02 80 07 82 75 6e 69 63 6f 64 65 03 82 6b 65 79 02 80 07 82 75 6e 69 63 6f 64 65 01 82 76");
  });

  it("numbers shared objects at their second encounter (PROTOCOL.md 2.2)", () => {
    const a = [1];
    const b = [2];
    expect(jelly([a, b, b, a])).toEqual(["list", ["reference", 2, ["list", 1]], ["reference", 1, ["list", 2]], ["dereference", 1], ["dereference", 2]]);
    const l: unknown[] = [1];
    l.push(l);
    expect(jelly(l)).toEqual(["reference", 1, ["list", 1, ["dereference", 1]]]);
  });

  it("writes every Python type as Twisted 22.4 does", () => {
    expect(jelly(new Set([1]))).toEqual(["set", 1]);
    expect(jelly(new FrozenSet([2]))).toEqual(["frozenset", 2]);
    expect(jelly(new PyDateTime(2020, 1, 2, 3, 4, 5, 6))).toEqual(["datetime", "2020 1 2 3 4 5 6"]);
    expect(jelly(new PyDate(2020, 1, 2))).toEqual(["date", "2020 1 2"]);
    expect(jelly(new PyTime(1, 2, 3, 4))).toEqual(["time", "1 2 3 4"]);
    expect(jelly(new PyTimeDelta(0, -1, 0))).toEqual(["timedelta", "-1 86399 0"]);
    expect(jelly(PyDecimal.parse("3.14"))).toEqual(["decimal", 314, -2]);
    expect(jelly(PyDecimal.parse("-0.5"))).toEqual(["decimal", -5, -1]);
    expect(jelly(PyDecimal.parse("0.00"))).toEqual(["decimal", 0, -2]);
    expect(jelly(false)).toEqual(["boolean", "false"]);
    expect(jelly(undefined)).toEqual(["None"]);
    expect(jelly(new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6)))).toEqual(["datetime", "2020 1 2 3 4 5 6000"]);
    expect(jelly(new PyInstance("mod.Cls", { a: 1 }))).toEqual(["mod.Cls", ["dictionary", [["unicode", "a"], 1]]]);
  });

  it("sends an unknown class instance as unpersistable, as Twisted does", () => {
    class Secret {
      x = 1;
    }
    expect(jelly(new Secret())).toEqual(["unpersistable", "instance of class Secret deemed insecure"]);
  });

  it("sends strings as bytes in the Python 2 string mode", () => {
    expect(jelly({ k: "v" }, { strings: "bytes" })).toEqual(["dictionary", ["k", "v"]]);
  });

  it("refuses functions and over-deep values", () => {
    expect(() => jelly(() => 1)).toThrow(JellyError);
    let deep: unknown[] = [];
    for (let i = 0; i < 2000; i++) deep = [deep];
    expect(() => jelly(deep)).toThrow(/nested deeper/);
  });
});

describe("unjelly: lossless by default", () => {
  it.each([
    ["ints and floats", () => [1, new PyFloat(2), 2.5, -0, 2n ** 100n, -(2n ** 70n), NaN, Infinity]],
    ["tuples stay tuples", () => tuple(1, tuple(), [tuple(2)])],
    ["bytes and text", () => [new Uint8Array([0, 255]), "x", "None", new TextEncoder().encode("list"), "\u{1F600}"]],
    ["dict key order and key types", () => new Map<unknown, unknown>([["b", 1], [new Uint8Array([97]), 2], [3, 3], [tuple(1, 2), 4], [null, 5], [true, 6], [new PyFloat(1.5), 7]])],
    ["sets", () => [new Set([3, 1, 2]), new FrozenSet(["b", "a"])]],
    ["dates", () => [new PyDateTime(1, 1, 1), new PyDate(9999, 12, 31), new PyTime(), new PyTimeDelta(-999999999)]],
    ["decimals", () => [PyDecimal.parse("1E+10"), new PyDecimal(12345678901234567890123n, -30)]],
  ])("%s", (_name, make) => {
    const bytes = dumps(make());
    expect(hex(dumps(loads(bytes)))).toBe(hex(bytes));
  });

  it("keeps identity of shared and cyclic containers", () => {
    const shared = new Map([["a", 1]]);
    const outer: unknown[] = [shared, shared];
    outer.push(outer);
    const back = loads(dumps(outer)) as unknown[];
    expect(back[0]).toBe(back[1]);
    expect(back[2]).toBe(back);
    expect(hex(dumps(back))).toBe(hex(dumps(outer)));
    const t = tuple<[unknown[]]>([]);
    (t[0] as unknown[]).push(t);
    const tb = loads(dumps(t)) as Tuple<unknown[]>;
    expect(tb[0][0]).toBe(tb);
  });

  it("keeps an unpersistable's reason so it goes back unchanged", () => {
    const back = loads(dumps(new Unpersistable("instance of class x.Y deemed insecure")));
    expect(back).toBeInstanceOf(Unpersistable);
    expect(hex(dumps(back))).toBe(hex(dumps(new Unpersistable("instance of class x.Y deemed insecure"))));
  });

  it("accepts Python 2's byte-string keys and values", () => {
    const v = unjelly(["dictionary", [new TextEncoder().encode("k"), new TextEncoder().encode("v")]]) as Map<unknown, unknown>;
    expect([...v.keys()][0]).toEqual(new TextEncoder().encode("k"));
    expect(unjelly(["dictionary", ["k", "v"]], { mode: "js", bytesAsText: true })).toEqual(Object.assign(Object.create(null), { k: "v" }));
  });
});

describe("unjelly: idiomatic JS mode", () => {
  it("gives arrays, numbers, plain objects, Sets and Dates", () => {
    const v = loads(dumps(new Map<unknown, unknown>([["t", tuple(1, new PyFloat(2))], ["s", new FrozenSet([1])], ["d", new PyDateTime(2020, 1, 2)]])), { mode: "js" }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(null);
    expect(v.t).toEqual([1, 2]);
    expect(Array.isArray(v.t) && !(v.t instanceof Tuple)).toBe(true);
    expect(v.s).toEqual(new Set([1]));
    expect(v.d).toEqual(new Date(Date.UTC(2020, 0, 2)));
    expect(loads(dumps(new Map([[1, 2]])), { mode: "js" })).toEqual(new Map([[1, 2]]));
  });

  it("treats __proto__ and constructor as plain keys", () => {
    const v = loads(dumps(new Map<string, unknown>([["__proto__", { polluted: true }], ["constructor", 1]])), { mode: "js" }) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(v)).toEqual(["__proto__", "constructor"]);
    const m = loads(dumps(new Map([["__proto__", 1]]))) as Map<string, unknown>;
    expect(m.get("__proto__")).toBe(1);
  });
});

describe("unjelly: security as PB's", () => {
  it("refuses instance, class, module and function tags by default", () => {
    for (const sexp of [["class", "os.system"], ["module", "os"], ["function", "os.system"], ["instance", ["class", "a.B"], ["None"]], ["method", "x", ["None"], ["None"]], ["nosuchtag", 1]]) {
      expect(() => unjelly(sexp)).toThrow(InsecureJelly);
    }
    expect(() => unjelly(["os.Popen", ["None"]])).toThrow("Module os not allowed (in type os.Popen).");
  });

  it("builds allowed instances and nothing that was not allowed", () => {
    const sec = new SecurityOptions().allowInstancesOf("app.Point");
    const p = unjelly(["app.Point", ["dictionary", [["unicode", "x"], 1]]], { security: sec }) as PyInstance;
    expect(p).toBeInstanceOf(PyInstance);
    expect(p.className).toBe("app.Point");
    expect(() => unjelly(["app.Other", ["None"]], { security: sec })).toThrow("Class app.Other not allowed.");
    expect(unjelly(["class", "app.Point"], { security: sec })).toMatchObject({ kind: "class", name: "app.Point" });
    expect(unjelly(["app.Point", ["None"]], { security: new DummySecurityOptions() })).toBeInstanceOf(PyInstance);
  });

  it("uses registered classes for their tags", () => {
    class Point {
      x = 0;
      unjellyFor(u: Unjellier, sexp: readonly unknown[]) {
        this.x = ((u.unjelly(sexp[1] as never) as Map<string, number>).get("x")) ?? 0;
        return this;
      }
    }
    const registry = new UnjellyableRegistry().setUnjellyableForClass("__main__.Point", Point);
    const p = loads(dumps(new PyInstance("__main__.Point", { x: 5 })), { registry });
    expect(p).toBeInstanceOf(Point);
    expect((p as Point).x).toBe(5);
  });

  it("refuses malformed expressions with JellyError", () => {
    for (const sexp of [[], [1], ["dictionary", [1]], ["boolean", "yes"], ["dereference", 9], ["list", ["reference", 1, ["list"]], ["reference", 1, ["list"]]], ["unicode", new Uint8Array([0xff])], ["datetime", "2020 13 1"], ["date", "2020 1"], ["timedelta", "1 2"], ["decimal", 1], ["dictionary", [["list"], 1]], ["set", ["list"]]]) {
      expect(() => unjelly(sexp as never), JSON.stringify(sexp)).toThrow(JellyError);
    }
  });

  it("gives up on nesting deeper than the limit instead of overflowing the stack", () => {
    const depth = 100_000;
    const bytes = new Uint8Array(depth * 4 + 3);
    for (let i = 0; i < depth; i++) bytes.set([2, 0x80, 8, 0x87], i * 4);
    bytes.set([1, 0x80, 8], depth * 4);
    const patched = new Uint8Array([...bytes, 0x87]);
    const [sexp] = decode(patched.subarray(0, depth * 4 + 4), { dialect: "pb" });
    expect(() => unjelly(sexp)).toThrow(/nested deeper than 1000/);
    void encode;
  });
});
