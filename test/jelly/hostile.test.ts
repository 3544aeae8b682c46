// Hostile jelly: malformed expressions fail with JellyError or InsecureJelly only (never a
// TypeError/RangeError from deep inside), prototype pollution attempts come through as data,
// and PB's security refuses what it should.
import { describe, expect, it } from "vitest";
import { encode, PyFloat, type Sexp } from "../../src/banana/index.ts";
import {
  DummySecurityOptions, dumps, FrozenSet, globalSecurity, InsecureJelly, JellyError, loads, PyDate, PyDateTime, PyDecimal, PyGlobal,
  PyInstance, PyTime, PyTimeDelta, SecurityOptions, tuple, Tuple, unjelly, UnjellyableRegistry, Unpersistable, type UnjellyOptions,
} from "../../src/jelly/index.ts";
import { utf8 } from "../support/hex.ts";

type ErrorClass = typeof JellyError | typeof InsecureJelly;

/** The error unjelly throws for sexp; fails unless it is a JellyError or InsecureJelly. */
function refusal(sexp: Sexp, options?: UnjellyOptions): JellyError | InsecureJelly {
  let thrown: unknown;
  try {
    unjelly(sexp, options);
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error(`accepted ${show(sexp)}`);
  if (!(thrown instanceof JellyError) && !(thrown instanceof InsecureJelly)) {
    throw new Error(`${show(sexp)} raised ${(thrown as Error)?.name}: ${(thrown as Error)?.message}`);
  }
  return thrown;
}

function expectRefused(sexp: Sexp, kind: ErrorClass = JellyError, options?: UnjellyOptions): void {
  const e = refusal(sexp, options);
  expect(e, show(sexp)).toBeInstanceOf(kind);
}

/** Runs unjelly and accepts either a value or a JellyError/InsecureJelly. */
function valueOrRefusal(sexp: Sexp, options?: UnjellyOptions): unknown {
  try {
    return unjelly(sexp, options);
  } catch (e) {
    if (e instanceof JellyError || e instanceof InsecureJelly) return e;
    throw new Error(`${show(sexp)} raised ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

function show(x: unknown): string {
  try {
    return showUnsafe(x);
  } catch {
    return "<too deep to show>";
  }
}

function showUnsafe(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? `bytes(${Array.from(v).join(",")})` : v));
}

const OPTION_SETS: UnjellyOptions[] = [
  {},
  { mode: "js" },
  { mode: "js", bytesAsText: true },
  { security: new DummySecurityOptions() },
  { security: new DummySecurityOptions(), mode: "js", bytesAsText: true },
];

const bad = (...bytes: number[]) => Uint8Array.from(bytes);

describe("jelly: arity of every built-in tag", () => {
  const WRONG_ARITY: Sexp[] = [
    ["unicode"],
    ["unicode", "a", "b"],
    ["boolean"],
    ["boolean", "true", "false"],
    ["datetime"],
    ["date"],
    ["time"],
    ["timedelta"],
    ["decimal"],
    ["decimal", 1],
    ["decimal", 1, 2, 3],
    ["reference"],
    ["reference", 1],
    ["reference", 1, ["None"], ["None"]],
    ["dereference"],
    ["unpersistable"],
    ["class"],
    ["module"],
    ["function"],
    ["instance"],
  ];

  it.each(WRONG_ARITY.map((s) => [show(s), s] as const))("%s is refused in every mode", (_name, sexp) => {
    for (const options of OPTION_SETS) refusal(sexp, options);
  });

  it("tags that take any number of items, or ignore extras, give values", () => {
    expect(unjelly(["list"])).toEqual([]);
    expect(unjelly(["tuple"])).toEqual(new Tuple());
    expect(unjelly(["dictionary"])).toEqual(new Map());
    expect(unjelly(["set"])).toEqual(new Set());
    expect(unjelly(["frozenset"])).toEqual(new FrozenSet());
    expect(unjelly(["None", 1, 2])).toBeNull();
    expect(unjelly(["persistent"])).toBeInstanceOf(Unpersistable);
    expect(unjelly(["persistent", 1, 2, 3])).toBeInstanceOf(Unpersistable);
    expect(unjelly(["unpersistable", "why", "extra"])).toBeInstanceOf(Unpersistable);
    expect(unjelly(["time", ""])).toEqual(new PyTime());
  });
});

describe("jelly: malformed tags and shapes", () => {
  it("refuses an empty list and every tag that is not a byte string", () => {
    const tags: Sexp[] = [1, 0, -1, 1.5, NaN, new PyFloat(1), 2n ** 100n, true, false, [], ["unicode", "list"], [[]]];
    for (const tag of tags) {
      for (const options of OPTION_SETS) expectRefused([tag, 1, 2], JellyError, options);
    }
    for (const options of OPTION_SETS) expectRefused([], JellyError, options);
  });

  it("refuses unknown non-dotted tags as insecure by default, and as unknown when everything is allowed", () => {
    for (const tag of ["nosuchtag", "copy", "cache", "remote", "method", "", "\u0000", "LIST", "List", "unicode\u0000"]) {
      expectRefused([tag, 1], InsecureJelly);
      expectRefused([utf8(tag), 1], InsecureJelly);
      expectRefused([tag, 1], JellyError, { security: new DummySecurityOptions() });
    }
    expectRefused([bad(0xff, 0xfe), 1], InsecureJelly);
    expectRefused([bad(0xff, 0xfe), 1], JellyError, { security: new DummySecurityOptions() });
  });

  it("refuses dictionary entries that are not [key, value] pairs", () => {
    const entries: Sexp[] = [1, "k", [], [1], [1, 2, 3], utf8("ab"), new PyFloat(2)];
    for (const entry of entries) {
      for (const options of OPTION_SETS) expectRefused(["dictionary", entry], JellyError, options);
      for (const options of OPTION_SETS) expectRefused(["dictionary", [["unicode", "a"], 1], entry], JellyError, options);
    }
  });

  it("refuses booleans other than true and false", () => {
    for (const v of ["yes", "True", "1", "", 1, 0, ["unicode", "true"], bad(0xff)] as Sexp[]) expectRefused(["boolean", v]);
    expect(unjelly(["boolean", utf8("true")])).toBe(true);
    expect(unjelly(["boolean", "false"])).toBe(false);
  });

  it("refuses an unpersistable without a byte-string reason", () => {
    for (const v of [1, ["unicode", "x"], 1.5] as Sexp[]) expectRefused(["unpersistable", v]);
  });

  it("refuses a list of lists where an expression was expected, however deep", () => {
    let deep: Sexp = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expectRefused(deep);
    expectRefused(["list", [[["list"]]]]);
  });
});

describe("jelly: references", () => {
  it("refuses ids that are not safe ints, and id 0", () => {
    for (const id of ["1", utf8("1"), 1.5, NaN, Infinity, new PyFloat(1), 2n ** 64n, -(2n ** 64n), ["list"], 0] as Sexp[]) {
      expectRefused(["reference", id, ["list"]]);
      if (id !== 0) expectRefused(["dereference", id]);
    }
  });

  it("refuses duplicate ids, side by side and nested", () => {
    expectRefused(["list", ["reference", 1, ["list"]], ["reference", 1, ["list"]]]);
    expectRefused(["reference", 1, ["list", ["reference", 1, ["list"]]]]);
    expectRefused(["list", ["reference", 1, ["unicode", "a"]], ["reference", 1, ["unicode", "b"]]]);
    expectRefused(["list", ["reference", 7, ["None"]], ["reference", 7, ["None"]]]);
  });

  it("refuses dereferences to ids not yet defined, or never defined", () => {
    expectRefused(["dereference", 1]);
    expectRefused(["list", ["dereference", 1], ["reference", 1, ["list"]]]);
    expectRefused(["dictionary", [["dereference", 2], 1], [["reference", 2, ["unicode", "k"]], 2]]);
  });

  it("refuses a dereference to a value that is still being built", () => {
    expectRefused(["reference", 1, ["dereference", 1]]);
    expectRefused(["reference", 1, ["reference", 2, ["dereference", 1]]]);
    // A handler that does not adopt its object before unjellying its contents.
    const registry = new UnjellyableRegistry().register("box", (u, sexp) => ({ inner: u.unjelly(sexp[1]) }));
    expect(() => unjelly(["reference", 1, ["box", ["dereference", 1]]], { registry })).toThrow(/still being built/);
    expect(unjelly(["list", ["reference", 1, ["box", 5]], ["dereference", 1]], { registry })).toEqual([{ inner: 5 }, { inner: 5 }]);
  });

  it("still resolves cycles through containers to the same object", () => {
    const l = unjelly(["reference", 1, ["list", 1, ["dereference", 1]]]) as unknown[];
    expect(l[1]).toBe(l);
    const t = unjelly(["reference", 1, ["tuple", ["dereference", 1]]]) as unknown[];
    expect(t[0]).toBe(t);
    const d = unjelly(["reference", 1, ["dictionary", [1, ["dereference", 1]]]]) as Map<unknown, unknown>;
    expect(d.get(1)).toBe(d);
  });

  it("refuses a set that contains itself, and a dictionary keyed by itself", () => {
    expectRefused(["reference", 1, ["set", ["dereference", 1]]]);
    expectRefused(["reference", 1, ["dictionary", [["dereference", 1], 1]]]);
  });
});

describe("jelly: hashability", () => {
  const UNHASHABLE: Sexp[] = [["list"], ["list", 1], ["dictionary"], ["set"], ["reference", 1, ["list"]]];

  it("refuses unhashable dictionary keys and set members in both modes", () => {
    for (const x of UNHASHABLE) {
      for (const options of OPTION_SETS) {
        expect(refusal(["dictionary", [x, 1]], options).message).toMatch(/unhashable type/);
        expect(refusal(["set", x], options).message).toMatch(/unhashable type/);
        expect(refusal(["frozenset", 1, x], options).message).toMatch(/unhashable type/);
      }
    }
    // The text-keyed dictionary of js mode is itself unhashable.
    expect(refusal(["set", ["dictionary", [["unicode", "a"], 1]]], { mode: "js" }).message).toMatch(/unhashable type: 'dict'/);
  });

  it("accepts tuples and frozensets as keys and members in both modes", () => {
    for (const mode of ["python", "js"] as const) {
      const s = unjelly(["set", ["tuple", 1, 2], ["frozenset", 3]], { mode }) as Set<unknown>;
      expect(s.size).toBe(2);
      const d = unjelly(["dictionary", [["tuple", 1], 1], [["frozenset"], 2]], { mode }) as Map<unknown, unknown>;
      expect(d.size).toBe(2);
    }
  });

  it("keeps a -0.0 key or member a float, so it goes back as sent", () => {
    const s = loads(dumps(new Set([new PyFloat(-0)]))) as Set<unknown>;
    expect(dumps(s)).toEqual(dumps(new Set([new PyFloat(-0)])));
    const m = loads(dumps(new Map([[new PyFloat(-0), 1]]))) as Map<unknown, unknown>;
    expect(dumps(m)).toEqual(dumps(new Map([[new PyFloat(-0), 1]])));
  });
});

describe("jelly: text", () => {
  const INVALID_UTF8 = [
    bad(0xff),
    bad(0x80),
    bad(0xc0, 0x80), // overlong NUL
    bad(0xe0, 0x80, 0x80), // overlong
    bad(0xed, 0xa0, 0x80), // a surrogate
    bad(0xe2, 0x82), // truncated
    bad(0xf4, 0x90, 0x80, 0x80), // beyond U+10FFFF
    bad(0x61, 0x62, 0xfe),
    new Uint8Array(100).fill(0x61).map((b, i) => (i === 99 ? 0xc3 : b)), // long, truncated at the end
  ];

  it("refuses invalid UTF-8 in unicode, in every mode", () => {
    for (const b of INVALID_UTF8) {
      for (const options of OPTION_SETS) expectRefused(["unicode", b], JellyError, options);
      expect(() => loads(encode(["unicode", b]))).toThrow(JellyError);
    }
  });

  it("refuses unicode of anything but a byte string", () => {
    for (const v of [1, 1.5, 2n ** 80n, ["unicode", "x"], new PyFloat(1)] as Sexp[]) expectRefused(["unicode", v]);
  });

  it("keeps invalid UTF-8 byte keys as bytes in js mode with bytesAsText", () => {
    const d = unjelly(["dictionary", [bad(0xff), 1], [utf8("ok"), 2]], { mode: "js", bytesAsText: true }) as Map<unknown, unknown>;
    expect(d).toBeInstanceOf(Map);
    expect([...d.keys()]).toEqual([bad(0xff), "ok"]);
  });
});

describe("jelly: dates, times, timedeltas and decimals", () => {
  const BAD_FIELDS: [string, string | Uint8Array][] = [
    ["datetime", "2020 13 1"],
    ["datetime", "2020 0 1"],
    ["datetime", "2020 2 30"],
    ["datetime", "2021 2 29"],
    ["datetime", "1900 2 29"],
    ["datetime", "2020 4 31"],
    ["datetime", "2020 1 0"],
    ["datetime", "0 1 1"],
    ["datetime", "10000 1 1"],
    ["datetime", "-1 1 1"],
    ["datetime", "2020 1 1 24"],
    ["datetime", "2020 1 1 0 60"],
    ["datetime", "2020 1 1 0 0 60"],
    ["datetime", "2020 1 1 0 0 0 1000000"],
    ["datetime", "2020 1 1 0 0 0 -1"],
    ["datetime", "2020 1"],
    ["datetime", "2020"],
    ["datetime", ""],
    ["datetime", "   "],
    ["datetime", "2020 1 1 0 0 0 0 0"],
    ["datetime", "2020 1 1.5"],
    ["datetime", "2020 1 1e0"],
    ["datetime", "2020 1 0x1"],
    ["datetime", "a b c"],
    ["datetime", "2020 1 1_"],
    ["datetime", "2020 1 _1"],
    ["datetime", "2020 1 1__0"],
    ["datetime", "2020 1 --1"],
    ["datetime", "99999999999999999999 1 1"],
    ["datetime", "1".repeat(400) + " 1 1"],
    ["datetime", "２０２０ 1 1"],
    ["datetime", "٢٠٢٠ 1 1"],
    ["datetime", "2020\u00a01\u00a01"],
    ["datetime", bad(0xff, 0x20, 0x31, 0x20, 0x31)],
    ["datetime", bad(0x32, 0x30, 0x32, 0x30, 0x20, 0x31, 0x20, 0x31, 0x80)],
    ["date", "2020 13 1"],
    ["date", "2020 2 30"],
    ["date", "2020 1"],
    ["date", "2020 1 1 0"],
    ["date", "x y z"],
    ["date", bad(0xc0, 0x80)],
    ["time", "24 0 0 0"],
    ["time", "0 60"],
    ["time", "0 0 60"],
    ["time", "0 0 0 1000000"],
    ["time", "-1"],
    ["time", "0 0 0 0 0"],
    ["time", "noon"],
    ["timedelta", "1 2"],
    ["timedelta", "1 2 3 4"],
    ["timedelta", ""],
    ["timedelta", "1000000000 0 0"],
    ["timedelta", "-1000000000 0 0"],
    ["timedelta", "999999999 86400 0"],
    ["timedelta", "9007199254740993 0 0"],
    ["timedelta", "1.0 0 0"],
    ["timedelta", bad(0xff, 0x20, 0x30, 0x20, 0x30)],
  ];

  it.each(BAD_FIELDS.map(([tag, text]) => [`${tag} ${show(text)}`, tag, text] as const))("%s is a JellyError in every mode", (_name, tag, text) => {
    for (const options of OPTION_SETS) expectRefused([tag, text], JellyError, options);
  });

  it("refuses fields that are not byte strings", () => {
    for (const tag of ["datetime", "date", "time", "timedelta"]) {
      for (const v of [2020, 1.5, ["unicode", "2020 1 1"], ["list"], new PyFloat(1)] as Sexp[]) expectRefused([tag, v]);
    }
  });

  it("accepts what Python's int() and the constructors accept", () => {
    expect(unjelly(["datetime", "2020 2 29"])).toEqual(new PyDateTime(2020, 2, 29));
    expect(unjelly(["datetime", " 2000\t2\n29 \r"])).toEqual(new PyDateTime(2000, 2, 29));
    expect(unjelly(["datetime", "+2020 01 1_0 23 59 59 999999"])).toEqual(new PyDateTime(2020, 1, 10, 23, 59, 59, 999999));
    expect(unjelly(["date", "9999 12 31"])).toEqual(new PyDate(9999, 12, 31));
    expect(unjelly(["time", "23"])).toEqual(new PyTime(23));
    expect(unjelly(["timedelta", "-999999999 0 0"])).toEqual(new PyTimeDelta(-999999999));
    expect(unjelly(["timedelta", "0 -1 0"])).toEqual(new PyTimeDelta(-1, 86399, 0));
    expect(unjelly(["datetime", "1 1 1"], { mode: "js" })).toEqual(new PyDateTime(1, 1, 1).toDate());
  });

  it("refuses decimals with bad parts", () => {
    const parts: [Sexp | undefined, Sexp | undefined][] = [
      ["1", 0],
      [utf8("1"), 0],
      [1.5, 0],
      [NaN, 0],
      [Infinity, 0],
      [-Infinity, 0],
      [2 ** 60, 0],
      [new PyFloat(1), 0],
      [["list"], 0],
      [["decimal", 1, 0], 0],
      [1, 1.5],
      [1, "F"],
      [1, utf8("n")],
      [1, 2n ** 70n],
      [1, NaN],
      [1, new PyFloat(0)],
      [1, ["None"]],
    ];
    for (const [value, exponent] of parts) {
      for (const options of OPTION_SETS) expectRefused(["decimal", value as Sexp, exponent as Sexp], JellyError, options);
    }
    expect(unjelly(["decimal", 2n ** 400n, -3])).toEqual(new PyDecimal(2n ** 400n, -3));
    expect(unjelly(["decimal", -5, -1])).toEqual(new PyDecimal(-5n, -1));
    expect(unjelly(["decimal", -0, 0])).toEqual(new PyDecimal(0n, 0));
  });
});

describe("jelly: nesting depth", () => {
  const nest = (depth: number, wrap: (inner: Sexp) => Sexp, leaf: Sexp = 1): Sexp => {
    let x = leaf;
    for (let i = 0; i < depth; i++) x = wrap(x);
    return x;
  };
  // [name, wrapper, jelly levels per wrapper]
  const WRAPPERS: [string, (inner: Sexp) => Sexp, number][] = [
    ["list", (x) => ["list", x], 1],
    ["tuple", (x) => ["tuple", x], 1],
    ["dictionary value", (x) => ["dictionary", [1, x]], 1],
    ["dictionary key", (x) => ["dictionary", [["tuple", x], 1]], 2],
    ["frozenset", (x) => ["frozenset", ["tuple", x]], 2],
  ];
  const security = new SecurityOptions().allowInstancesOf("m.C");

  it.each(WRAPPERS)("%s: 1000 levels are fine, 1001 are refused", (_name, wrap, levels) => {
    expect(() => unjelly(nest(1000 / levels, wrap), { security })).not.toThrow();
    expect(refusal(nest(1000 / levels + 1, wrap), { security }).message).toMatch(/nested deeper than 1000/);
    expect(refusal(nest(100_000, wrap), { security }).message).toMatch(/nested deeper than 1000/);
  });

  it("counts references, instances and registered handlers too", () => {
    let id = 0;
    const viaRefs = nest(2000, (x) => ["reference", ++id, ["list", x]]);
    expect(refusal(viaRefs).message).toMatch(/nested deeper/);
    const security = new SecurityOptions().allowInstancesOf("m.C");
    expect(refusal(nest(2000, (x) => ["m.C", x]), { security }).message).toMatch(/nested deeper/);
    const registry = new UnjellyableRegistry().register("box", (u, sexp) => [u.unjelly(sexp[1])]);
    expect(refusal(nest(2000, (x) => ["box", x]), { registry }).message).toMatch(/nested deeper/);
  });

  it("honours a smaller maxDepth", () => {
    const wrap = (x: Sexp): Sexp => ["list", x];
    expect(unjelly(nest(10, wrap), { maxDepth: 10 })).toBeDefined();
    expect(refusal(nest(11, wrap), { maxDepth: 10 }).message).toMatch(/nested deeper than 10 levels/);
  });

  it("refuses 200,000 levels of banana-encoded nesting with a JellyError, not a stack overflow", () => {
    const depth = 200_000;
    const bytes = new Uint8Array(depth * 4 + 2);
    for (let i = 0; i < depth; i++) bytes.set([2, 0x80, 11, 0x87], i * 4); // [tuple, ...
    bytes.set([1, 0x81], depth * 4);
    for (const options of OPTION_SETS) expect(() => loads(bytes, options)).toThrow(/nested deeper than 1000/);
  });
});

describe("jelly: prototype pollution", () => {
  const KEYS = ["__proto__", "constructor", "prototype", "__defineGetter__", "__lookupGetter__", "hasOwnProperty", "toString", "valueOf", "polluted"];

  function snapshot() {
    return {
      names: Object.getOwnPropertyNames(Object.prototype).sort(),
      proto: Object.getPrototypeOf(Object.prototype),
      toString: Object.prototype.toString,
      arrayNames: Object.getOwnPropertyNames(Array.prototype).sort(),
      mapNames: Object.getOwnPropertyNames(Map.prototype).sort(),
    };
  }

  const evil = (keyOf: (k: string) => Sexp): Sexp => [
    "dictionary",
    ...KEYS.map((k) => [keyOf(k), ["dictionary", [["unicode", "polluted"], ["boolean", "true"]], [["unicode", "toString"], 1]]] as Sexp),
  ];

  it("js mode: the keys become own properties of a null-prototype object, as plain data", () => {
    const before = snapshot();
    for (const options of [{ mode: "js" }, { mode: "js", bytesAsText: true }] as UnjellyOptions[]) {
      const v = loads(encode(evil((k) => ["unicode", k]), { dialect: "pb" }), options) as Record<string, unknown>;
      expect(Object.getPrototypeOf(v)).toBeNull();
      expect(Object.keys(v)).toEqual(KEYS);
      for (const k of KEYS) {
        expect(Object.prototype.hasOwnProperty.call(v, k)).toBe(true);
        const inner = v[k] as Record<string, unknown>;
        expect(Object.getPrototypeOf(inner)).toBeNull();
        expect(inner.polluted).toBe(true);
        expect(inner.toString).toBe(1);
      }
    }
    // Byte-string keys, as a Python 2 peer sends them.
    const b = unjelly(evil((k) => utf8(k)), { mode: "js", bytesAsText: true }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(b)).toBeNull();
    expect(Object.keys(b)).toEqual(KEYS);
    expect(snapshot()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.toString.call([])).toBe("[object Array]");
  });

  it("python mode: the keys are plain Map keys", () => {
    const before = snapshot();
    const m = loads(encode(evil((k) => ["unicode", k]), { dialect: "pb" })) as Map<unknown, unknown>;
    expect(m).toBeInstanceOf(Map);
    expect([...m.keys()]).toEqual(KEYS);
    const inner = m.get("__proto__") as Map<unknown, unknown>;
    expect(inner.get("polluted")).toBe(true);
    const bytesKeys = unjelly(evil((k) => utf8(k))) as Map<unknown, unknown>;
    expect([...bytesKeys.keys()]).toEqual(KEYS.map(utf8));
    expect(snapshot()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("round-trips those keys unchanged", () => {
    const m = loads(encode(evil((k) => ["unicode", k]), { dialect: "pb" }));
    expect(dumps(m)).toEqual(encode(evil((k) => ["unicode", k]), { dialect: "pb" }));
  });

  it("looks tags up without finding Object.prototype members", () => {
    for (const tag of ["__proto__", "constructor", "hasOwnProperty", "toString", "valueOf", "prototype", "__defineGetter__"]) {
      expectRefused([tag, ["None"]], InsecureJelly);
      expectRefused([tag], JellyError, { security: new DummySecurityOptions() });
    }
    expectRefused(["__proto__.x", ["None"]], InsecureJelly);
    expectRefused(["constructor.prototype", ["None"]], InsecureJelly);
  });

  it("keeps allowed instance state with those keys as data", () => {
    const before = snapshot();
    const security = new SecurityOptions().allowInstancesOf("m.C");
    const inst = unjelly(["m.C", evil((k) => ["unicode", k])], { security, mode: "js" }) as PyInstance;
    expect(inst).toBeInstanceOf(PyInstance);
    expect(Object.keys(inst.state as object)).toEqual(KEYS);
    expect(snapshot()).toEqual(before);
  });
});

describe("jelly: security", () => {
  const GLOBALS: Sexp[] = [
    ["class", "os.system"],
    ["class", utf8("m.C")],
    ["module", "os"],
    ["module", "m"],
    ["function", "os.system"],
    ["function", "m.f"],
    ["instance", ["class", "m.C"], ["None"]],
    ["method", "f", ["None"], ["class", "m.C"]],
    ["classobj", "m.C"],
    ["m.C", ["None"]],
    ["os.Popen", ["list", ["unicode", "sh"]]],
    ["builtins.eval", ["unicode", "1"]],
    ["a.b.c.D", ["dictionary"]],
    [".", 1],
    ["x.", 1],
    [".x", 1],
  ];

  it("refuses class, module, function, instance, method and dotted tags under default security", () => {
    for (const sexp of GLOBALS) {
      expectRefused(sexp, InsecureJelly);
      expectRefused(sexp, InsecureJelly, { security: globalSecurity });
      expectRefused(sexp, InsecureJelly, { mode: "js" });
      expect(() => loads(encode(sexp, { dialect: "pb" }))).toThrow(InsecureJelly);
    }
  });

  it("refuses them before looking at their contents", () => {
    for (const sexp of [["class", 1], ["module"], ["function", ["list"]], ["instance", 5], ["m.C", ["unicode", bad(0xff)]]] as Sexp[]) {
      expectRefused(sexp, InsecureJelly);
    }
  });

  it("allowInstancesOf allows that class, its module, and the instance/class/module tags only", () => {
    const security = new SecurityOptions().allowInstancesOf("m.C");
    expect(unjelly(["class", "m.C"], { security })).toEqual(new PyGlobal("class", "m.C"));
    expect(unjelly(["module", "m"], { security })).toEqual(new PyGlobal("module", "m"));
    expect(unjelly(["m.C", ["unicode", "s"]], { security })).toEqual(new PyInstance("m.C", "s"));
    expect(unjelly(["instance", ["class", "m.C"], ["list", 1]], { security })).toEqual(new PyInstance("m.C", [1]));
    expect(unjelly(["m.C"], { security })).toEqual(new PyInstance("m.C", null));
    // Everything else stays refused.
    expectRefused(["class", "m.D"], InsecureJelly, { security });
    expectRefused(["class", "os.system"], InsecureJelly, { security });
    expectRefused(["module", "os"], InsecureJelly, { security });
    expectRefused(["m.D", ["None"]], InsecureJelly, { security });
    expectRefused(["n.C", ["None"]], InsecureJelly, { security });
    expectRefused(["function", "m.f"], InsecureJelly, { security });
    expectRefused(["method", "f", ["None"], ["class", "m.C"]], InsecureJelly, { security });
    expectRefused(["instance", ["class", "m.D"], ["None"]], InsecureJelly, { security });
    // Malformed forms of allowed tags are JellyErrors or InsecureJelly, never anything else.
    expectRefused(["instance", ["module", "m"], ["None"]], JellyError, { security });
    expectRefused(["instance", 5, ["None"]], JellyError, { security });
    expectRefused(["instance", ["class", "m.D"]], InsecureJelly, { security });
    expect(valueOrRefusal(["instance", ["class", "m.C"]], { security })).toEqual(new PyInstance("m.C", null));
    expectRefused(["class", bad(0x6d, 0x2e, 0xff)], JellyError, { security });
    expectRefused(["class", 1], InsecureJelly, { security });
    refusal(["module"], { security });
  });

  it("function needs its tag allowed explicitly, and its module", () => {
    const security = new SecurityOptions().allowBasicTypes().allowTypes("function").allowModules("m");
    expect(unjelly(["function", "m.f"], { security })).toEqual(new PyGlobal("function", "m.f"));
    expectRefused(["function", "os.system"], InsecureJelly, { security });
    expectRefused(["class", "m.C"], InsecureJelly, { security });
    expectRefused(["function", bad(0xff)], JellyError, { security });
  });

  it("allowing a tag without a handler gives a JellyError, not a crash", () => {
    const security = new SecurityOptions().allowBasicTypes().allowTypes("method", "classobj", "weird");
    for (const sexp of [["method", "f", ["None"], ["None"]], ["classobj", "m.C"], ["weird"]] as Sexp[]) expectRefused(sexp, JellyError, { security });
  });

  it("DummySecurityOptions allows everything", () => {
    const security = new DummySecurityOptions();
    expect(unjelly(["class", "os.system"], { security })).toEqual(new PyGlobal("class", "os.system"));
    expect(unjelly(["function", "os.system"], { security })).toEqual(new PyGlobal("function", "os.system"));
    expect(unjelly(["module", "os"], { security })).toEqual(new PyGlobal("module", "os"));
    expect(unjelly(["os.Popen", ["None"]], { security })).toEqual(new PyInstance("os.Popen", null));
    expect(unjelly(["instance", ["class", "a.B"], 1], { security })).toEqual(new PyInstance("a.B", 1));
  });

  it("registered tags are allowed without touching the security options", () => {
    const registry = new UnjellyableRegistry().setUnjellyableFactoryForClass("app.Thing", (state) => ({ thing: state }));
    expect(unjelly(["app.Thing", ["unicode", "x"]], { registry })).toEqual({ thing: "x" });
    expectRefused(["app.Thing", ["unicode", "x"]], InsecureJelly);
  });

  it("leaves the shared default security untouched", () => {
    expect(globalSecurity.isTypeAllowed("class")).toBe(false);
    expect(globalSecurity.isTypeAllowed("instance")).toBe(false);
    expect(globalSecurity.isTypeAllowed("function")).toBe(false);
    expect(globalSecurity.isModuleAllowed("m")).toBe(false);
    expect(globalSecurity.isClassAllowed("m.C")).toBe(false);
  });
});

describe("jelly: a sweep of malformed expressions never escapes as another error type", () => {
  const MALFORMED: Sexp[] = [
    [], [1], [[]], ["list", []], ["tuple", [[]]], ["dictionary", 1], ["dictionary", [1]], ["dictionary", [[], 1]],
    ["set", [1]], ["frozenset", ["list"]], ["reference"], ["reference", "x", 1], ["dereference", -1],
    ["boolean", ["list"]], ["unicode", ["list"]], ["datetime", ["list"]], ["datetime", bad(0xff)], ["decimal", ["list"], ["list"]],
    ["decimal", 0.5, 0], ["class", bad(0xff)], ["module", bad(0xc0)], ["function", bad(0xed, 0xa0, 0x80)],
    ["instance", ["class", bad(0xff)], 1], ["instance", ["module", "m"], 1], ["instance", [], 1], ["instance"],
    [bad(0xff, 0x2e, 0xfe), 1], ["a.b", ["list", ["unicode", bad(0xff)]]], ["unpersistable", []],
    ["list", ["reference", 1, ["set", ["dereference", 1]]]], ["reference", 1, ["frozenset", ["dereference", 1], ["list"]]],
    ["tuple", ["dictionary", [["dictionary"], ["None"]]]], ["list", ["persistent", ["list", []]], ["list"]],
  ];

  it("every option set", () => {
    const securityAll = new SecurityOptions().allowInstancesOf("a.b", "m.C").allowTypes("function").allowModules("m");
    for (const sexp of MALFORMED) {
      for (const options of [...OPTION_SETS, { security: securityAll }, { security: securityAll, mode: "js" } as UnjellyOptions]) {
        valueOrRefusal(sexp, options);
      }
    }
    // And the ones that must not give a value at all.
    for (const sexp of MALFORMED.slice(0, 20)) refusal(sexp, { security: new DummySecurityOptions() });
  });

  it("values that were accepted are sane", () => {
    expect(unjelly(["list", ["persistent", ["list", []]], ["list"]])).toEqual([new Unpersistable("Persistent callback not found"), []]);
    expect(unjelly(["reference", 1, ["frozenset", ["dereference", 1]]])).toBeInstanceOf(FrozenSet);
  });
});
