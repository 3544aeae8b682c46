// References in plain data (src/jelly/fastrefs.ts): [tag, id] of the reader's idTags is read in
// the one pass as a placeholder, made afterwards by the caller in stream order, and put in place.
// Against the tree path (BananaDecoder then Unjellier with the same handlers): same values, the
// handlers' effects in the same order, and the tree path whenever the one pass cannot be exact.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, type Sexp } from "../../src/banana/index.ts";
import { FastReceiver, Predecoded } from "../../src/jelly/fastreceive.ts";
import { fillIdRefs, IdRef, type IdTag } from "../../src/jelly/fastrefs.ts";
import { dumps, globalSecurity, jellyFor, tuple, unjelly, UnjellyableRegistry, type UnjellyHandler } from "../../src/jelly/index.ts";
import { canon, fuzzParams } from "../support/canon.ts";

/** What a handler made: its tag, its id and when (the n-th thing made). */
class Made {
  constructor(
    readonly tag: string,
    readonly id: unknown,
    readonly order: number,
  ) {}
}

/** An object that jellies as [tag, id], as PB's Referenceable jellies as [remote, luid]. */
class Ref {
  constructor(
    readonly tag: string,
    readonly id: number,
  ) {}
  [jellyFor](): Sexp {
    return [this.tag, this.id];
  }
}

const NAMES = ["remote", "local", "cached", "lcache"];

/** A registry with a handler per id tag, each logging what it makes; and the idTags naming them. */
function setup() {
  const log: Made[] = [];
  const registry = new UnjellyableRegistry();
  const tags: IdTag[] = NAMES.map((name) => {
    const handler: UnjellyHandler = (_u, sexp) => make(name, sexp[1]);
    registry.register(name, handler);
    return { name, handler };
  });
  const make = (tag: string, id: unknown) => {
    const m = new Made(tag, id, log.length);
    log.push(m);
    return m;
  };
  return { log, registry, tags, make };
}

type Setup = ReturnType<typeof setup>;

/** The receiver's items, each made whole as the broker makes it: the refs made in order, then put in place. */
function fastLoads(bytes: Uint8Array, s: Setup, dialect: "pb" | "none", mode: "python" | "js", maxDepth = 100): { values: unknown[]; onePass: boolean[] } {
  const items: Sexp[] = [];
  const unjellyOpts = { security: globalSecurity, registry: s.registry, mode, bytesAsText: false, maxDepth, idTags: s.tags };
  new FastReceiver((x) => items.push(x), { dialect, unjelly: unjellyOpts, jellyAt: null }).feed(bytes);
  const values = items.map((x) => {
    const p = x as unknown;
    if (!(p instanceof Predecoded)) return unjelly(x, { registry: s.registry, mode, maxDepth });
    if (p.refs === null) return p.value;
    for (const r of p.refs) r.value = s.make(r.tag.name, r.id);
    return fillIdRefs(p.value, p.refs.length);
  });
  return { values, onePass: items.map((x) => (x as unknown) instanceof Predecoded) };
}

function treeLoads(bytes: Uint8Array, s: Setup, dialect: "pb" | "none", mode: "python" | "js", maxDepth = 100): unknown[] {
  return decode(bytes, { dialect }).map((x) => unjelly(x, { registry: s.registry, mode, maxDepth }));
}

function outcome(fn: () => unknown): unknown {
  try {
    return { ok: canon(fn()) };
  } catch (e) {
    return { error: e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e) };
  }
}

/** Plain data with references in it (never as dictionary keys: those are not data PB sends). */
const withRefs: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 })),
    fc.record({ tag: fc.constantFrom(...NAMES), id: fc.oneof(fc.nat(), fc.integer({ min: -5, max: -1 }), fc.constant(2 ** 40)) }).map(({ tag, id }) => new Ref(tag, id)),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.array(tie("value"), { maxLength: 4 }).map((xs) => tuple(...xs)),
    fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), tie("value")), { maxLength: 4 }).map((kv) => new Map(kv)),
  ),
})).value;

describe("references read in one pass", () => {
  it("give the tree path's values, and make the references in the tree path's order", () => {
    fc.assert(
      fc.property(fc.array(withRefs, { minLength: 1, maxLength: 3 }), fc.constantFrom<"pb" | "none">("pb", "none"), fc.constantFrom<"python" | "js">("python", "js"), (values, dialect, mode) => {
        const bytes = new Uint8Array(Buffer.concat(values.map((v) => dumps(v, { dialect }))));
        const tree = setup();
        const fast = setup();
        const want = outcome(() => treeLoads(bytes, tree, dialect, mode));
        const got = outcome(() => fastLoads(bytes, fast, dialect, mode).values);
        expect(got).toStrictEqual(want);
        expect(canon(fast.log)).toStrictEqual(canon(tree.log));
      }),
      fuzzParams(300),
    );
  });

  it("are read in one pass as the token and as the byte string, with negative ids, in lists, tuples and dictionaries", () => {
    for (const dialect of ["pb", "none"] as const) {
      const s = setup();
      const value = [new Ref("remote", 7), tuple(new Ref("local", -3)), new Map([["k", new Ref("cached", 0)]]), new Ref("lcache", 2 ** 40)];
      const { values, onePass } = fastLoads(dumps(value, { dialect }), s, dialect, "python");
      expect(onePass).toEqual([true]);
      expect(s.log.map((m) => [m.tag, m.id])).toEqual([["remote", 7], ["local", -3], ["cached", 0], ["lcache", 2 ** 40]]);
      const [list] = values as unknown[][];
      expect(list[0]).toBe(s.log[0]);
      expect((list[1] as unknown[])[0]).toBe(s.log[1]);
      expect((list[2] as Map<string, unknown>).get("k")).toBe(s.log[2]);
      expect(list[3]).toBe(s.log[3]);
    }
  });

  it("a reference alone is the whole value", () => {
    const s = setup();
    const { values, onePass } = fastLoads(dumps(new Ref("remote", 1)), s, "pb", "python");
    expect(onePass).toEqual([true]);
    expect(values[0]).toBe(s.log[0]);
  });

  it("js mode: a reference in a null-prototype object", () => {
    const s = setup();
    const { values, onePass } = fastLoads(dumps(new Map([["a", new Ref("remote", 4)]])), s, "pb", "js");
    expect(onePass).toEqual([true]);
    expect(Object.getPrototypeOf(values[0])).toBe(null);
    expect((values[0] as Record<string, unknown>).a).toBe(s.log[0]);
  });
});

describe("references the one pass leaves to the tree path", () => {
  it("a tag whose handler was replaced in the registry: the registry's own handler makes it", () => {
    const s = setup();
    const mine: unknown[] = [];
    s.registry.register("remote", (_u, sexp) => (mine.push(sexp[1]), "mine"));
    const { values, onePass } = fastLoads(dumps([new Ref("remote", 5)]), s, "pb", "python");
    expect(onePass).toEqual([false]);
    expect(values).toEqual([["mine"]]);
    expect(mine).toEqual([5]);
    expect(s.log).toEqual([]);
  });

  it("an id that is not an integer, a tag of the wrong length, or a tag nobody named", () => {
    for (const value of [new Ref("remote", 1.5), ["remote", "x"], ["remote", 1, 2], ["remote"], ["remotely", 1]]) {
      const sexpValue = value instanceof Ref ? value : { [jellyFor]: () => value as Sexp };
      const s = setup();
      const bytes = dumps([sexpValue]);
      const want = outcome(() => treeLoads(bytes, setup(), "pb", "python"));
      const fast = fastLoads.bind(null, bytes, s, "pb", "python");
      expect(outcome(() => fast().values)).toStrictEqual(want);
      expect(outcome(() => fast().onePass)).not.toStrictEqual({ ok: canon([true]) });
    }
  });

  it("nested deeper than maxDepth: the tree path's error", () => {
    const s = setup();
    const bytes = dumps([[new Ref("remote", 1)]]);
    const want = outcome(() => treeLoads(bytes, setup(), "pb", "python", 2));
    expect(want).toHaveProperty("error");
    expect(outcome(() => fastLoads(bytes, s, "pb", "python", 2).values)).toStrictEqual(want);
    expect(s.log).toEqual([]);
  });

  it("an item given up after a reference was read: nothing was made twice, and the next item starts with no references", () => {
    const s = setup();
    // The reference, then a tag the one pass does not read (an unregistered class): the tree path takes the item.
    const odd = { [jellyFor]: (): Sexp => ["set", ["list", 1]] };
    const items: Sexp[] = [];
    const r = new FastReceiver((x) => items.push(x), { dialect: "pb", unjelly: { security: globalSecurity, registry: s.registry, mode: "python", bytesAsText: false, maxDepth: 100, idTags: s.tags }, jellyAt: null });
    r.feed(dumps([new Ref("remote", 1), odd]));
    r.feed(dumps([1, 2]));
    expect(items.length).toBe(2);
    expect((items[0] as unknown) instanceof Predecoded).toBe(false);
    expect(s.log).toEqual([]);
    // The tree path makes it, once.
    expect(outcome(() => unjelly(items[0], { registry: s.registry, security: globalSecurity }))).toHaveProperty("error");
    expect(s.log.map((m) => [m.tag, m.id])).toEqual([["remote", 1]]);
    const second = items[1] as unknown as Predecoded;
    expect(second).toBeInstanceOf(Predecoded);
    expect(second.refs).toBe(null);
  });

  it("without idTags (loadsOnePass, codecs) references go the tree way as before", () => {
    const s = setup();
    const items: Sexp[] = [];
    new FastReceiver((x) => items.push(x), { dialect: "pb", unjelly: { security: globalSecurity, registry: s.registry, mode: "python", bytesAsText: false, maxDepth: 100 }, jellyAt: null }).feed(dumps([new Ref("remote", 1)]));
    expect((items[0] as unknown) instanceof Predecoded).toBe(false);
  });
});

describe("fillIdRefs", () => {
  it("stops once every reference is in place, and leaves other objects alone", () => {
    const a = new IdRef({ name: "remote", handler: () => null }, 1);
    const b = new IdRef({ name: "remote", handler: () => null }, 2);
    a.value = "A";
    b.value = "B";
    const bytes = new Uint8Array([1, 2]);
    const obj = Object.assign(Object.create(null) as Record<string, unknown>, { x: b, y: bytes });
    const tree = [1, [a], new Map<unknown, unknown>([["k", obj]])];
    expect(fillIdRefs(tree, 2)).toBe(tree);
    expect(tree).toEqual([1, ["A"], new Map([["k", Object.assign(Object.create(null), { x: "B", y: bytes })]])]);
    expect(fillIdRefs(a, 1)).toBe("A");
  });
});
