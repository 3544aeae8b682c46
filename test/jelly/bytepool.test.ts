// Small decoded byte strings share slabs (src/banana/pool.ts), as Node's Buffer pool does: the
// values and their types are what they were with an ArrayBuffer each, in the one-pass and tree
// paths alike; no two values share a byte; a small value keeps at most its slab alive, and the
// pool itself holds nothing but the slab it is filling.
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { bytePool, DEFAULT_BYTE_POOL, decode, encode, setBytePool, type Sexp } from "../../src/banana/index.ts";
import { currentSlab, pooledCopy } from "../../src/banana/pool.ts";
import { FastReceiver, loadsOnePass, Predecoded, type OnePassOptions } from "../../src/jelly/fastreceive.ts";
import { dumps, globalSecurity, Jellied, tuple, unjelly, UnjellyableRegistry, type UnjellyOptions } from "../../src/jelly/index.ts";
import { pbJellyPositions, pbTextPositions } from "../../src/pb/predecoded.ts";
import { chunks, cutPoints, losslessValue } from "../../scripts/fuzz.ts";
import { canon, fuzzParams } from "../support/canon.ts";
import { Root } from "../../src/pb/index.ts";
import { pair } from "../pb/support.ts";

const SLAB = DEFAULT_BYTE_POOL.slabBytes;
const MAX = DEFAULT_BYTE_POOL.maxPooledBytes;
const utf8 = (s: string) => new TextEncoder().encode(s);
const OFF = { slabBytes: 0, maxPooledBytes: 0 };

afterEach(() => setBytePool(DEFAULT_BYTE_POOL));

/** The tree path: BananaDecoder's expressions, each unjellied. */
function treeLoads(bytes: Uint8Array, o: OnePassOptions = {}): unknown[] {
  const opts: UnjellyOptions = { mode: o.mode, bytesAsText: o.bytesAsText };
  return decode(bytes, { dialect: o.dialect ?? "pb" }).map((x) => unjelly(x, opts));
}

/** Every byte string in `v` (containers walked; Map keys included). */
function byteStrings(v: unknown, out: Uint8Array[] = [], seen = new Set<object>()): Uint8Array[] {
  if (v instanceof Uint8Array) out.push(v);
  else if (v !== null && typeof v === "object" && !seen.has(v)) {
    seen.add(v);
    if (v instanceof Map) for (const [k, x] of v) (byteStrings(k, out, seen), byteStrings(x, out, seen));
    else if (Array.isArray(v) || v instanceof Set) for (const x of v) byteStrings(x, out, seen);
    else for (const x of Object.values(v)) byteStrings(x, out, seen);
  }
  return out;
}

/** Writes a different mark into every byte of every value, then checks each still holds its own: no two share a byte. */
function expectDisjoint(values: Uint8Array[]): void {
  values.forEach((b, k) => b.fill((k % 255) + 1));
  values.forEach((b, k) => expect(b.every((x) => x === (k % 255) + 1)).toBe(true));
}

/** A list of `count` byte strings of `size` bytes, string k filled with k's low byte. */
function smallStrings(count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, (_, k) => new Uint8Array(size).fill(k & 0xff));
}

describe("the pool itself", () => {
  it("hands out disjoint views of one slab, then a new slab for a value that does not fit what is left", () => {
    setBytePool({ slabBytes: 64, maxPooledBytes: 32 });
    const src = Uint8Array.from({ length: 100 }, (_, i) => i);
    const a = pooledCopy(src, 0, 30);
    const b = pooledCopy(src, 30, 30);
    expect(a.buffer).toBe(b.buffer);
    expect(a.buffer.byteLength).toBe(64);
    expect([a.byteOffset, b.byteOffset]).toEqual([0, 30]);
    // 4 bytes left: a value of 5 starts the next slab; the old slab's values are untouched.
    const c = pooledCopy(src, 60, 5);
    expect(c.buffer).not.toBe(a.buffer);
    expect(c.byteOffset).toBe(0);
    expect([...c]).toEqual([60, 61, 62, 63, 64]);
    expect([...a]).toEqual([...src.subarray(0, 30)]);
    expect([...b]).toEqual([...src.subarray(30, 60)]);
    // The remaining 4 bytes of the old slab are never handed out: the next small value goes after c.
    const d = pooledCopy(src, 0, 4);
    expect(d.buffer).toBe(c.buffer);
    expect(d.byteOffset).toBe(5);
    expectDisjoint([a, b, c, d]);
    expect(Object.getPrototypeOf(a)).toBe(Uint8Array.prototype);
  });

  it("longer than maxPooledBytes, or empty: an ArrayBuffer of its own, as before", () => {
    const src = new Uint8Array(5000).fill(7);
    const big = pooledCopy(src, 1, MAX + 1);
    expect(big.buffer.byteLength).toBe(MAX + 1);
    expect(big.byteOffset).toBe(0);
    expect(pooledCopy(src, 0, 0).buffer.byteLength).toBe(0);
    const edge = pooledCopy(src, 0, MAX);
    expect(edge.buffer.byteLength).toBe(SLAB);
  });

  it("settings: checked, and off gives every value its own ArrayBuffer", () => {
    expect(bytePool()).toEqual(DEFAULT_BYTE_POOL);
    expect(() => setBytePool({ slabBytes: 100, maxPooledBytes: 51 })).toThrow(RangeError);
    expect(() => setBytePool({ slabBytes: -1 })).toThrow(RangeError);
    expect(() => setBytePool({ maxPooledBytes: 1.5 })).toThrow(RangeError);
    expect(bytePool()).toEqual(DEFAULT_BYTE_POOL);
    for (const off of [OFF, { slabBytes: 0 }, { maxPooledBytes: 0 }]) {
      setBytePool(DEFAULT_BYTE_POOL);
      setBytePool(off);
      expect(bytePool()).toEqual(OFF);
      const v = pooledCopy(utf8("hello"), 0, 5);
      expect(v.buffer.byteLength).toBe(5);
      expect(currentSlab().slab).toBe(null);
    }
    setBytePool({ slabBytes: 100, maxPooledBytes: 50 });
    expect(bytePool()).toEqual({ slabBytes: 100, maxPooledBytes: 50 });
    expect(pooledCopy(utf8("hello"), 0, 5).buffer.byteLength).toBe(100);
  });
});

describe("decoded byte strings", () => {
  // 600 strings of 20 bytes: 12,000 bytes, over a slab (and a slab boundary a string does not fit).
  const many = smallStrings(600, 20);
  const bytes = dumps(many);

  for (const [path, load] of [["one-pass", (b: Uint8Array, o?: OnePassOptions) => loadsOnePass(b, o)], ["tree", treeLoads]] as const) {
    it(`${path}: small ones are views of slabs (not of the message), never sharing a byte, across slab boundaries`, () => {
      const [got] = load(bytes) as [Uint8Array[]];
      expect(canon(got)).toEqual(canon(many.map((b) => new Uint8Array(b))));
      const slabs = new Set(got.map((b) => b.buffer));
      expect(slabs.size).toBeGreaterThan(1);
      for (const b of got) {
        expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype);
        expect(b.buffer.byteLength).toBeLessThanOrEqual(SLAB);
        expect(b.buffer).not.toBe(bytes.buffer);
      }
      // Writing one changes no other (nor the message).
      const message = bytes.slice();
      expectDisjoint(got);
      expect(bytes).toEqual(message);
    });

    it(`${path}: large ones as before (a view of a message they fill most of; else an ArrayBuffer of their own)`, () => {
      const big = new Uint8Array(100_000).fill(3);
      const alone = dumps(big);
      const [v] = load(alone) as [Uint8Array];
      expect(v.buffer).toBe(alone.buffer);
      const mid = new Uint8Array(MAX + 1).fill(4);
      const withOthers = dumps([mid, new Uint8Array(10_000)]);
      const [[m]] = load(withOthers) as [Uint8Array[]];
      expect(m.buffer.byteLength).toBe(MAX + 1);
      expect(canon(m)).toEqual(canon(mid));
    });
  }

  it("js mode with bytesAsText: UTF-8 stays text, other bytes come pooled", () => {
    const v = [utf8("caf\u00e9"), Uint8Array.of(0xff, 0xfe), utf8("x"), new Uint8Array(2000).fill(0xff)];
    const bytes = dumps([v, new Uint8Array(5000)]);
    for (const got of [loadsOnePass(bytes, { mode: "js", bytesAsText: true }), treeLoads(bytes, { mode: "js", bytesAsText: true })]) {
      const [[[text, bad, x, long]]] = got as [[[string, Uint8Array, string, Uint8Array]]];
      expect([text, x]).toEqual(["caf\u00e9", "x"]);
      expect([...bad]).toEqual([0xff, 0xfe]);
      expect(bad.buffer.byteLength).toBe(SLAB);
      expect(long.buffer.byteLength).toBe(2000);
    }
  });

  it("the PB receiver (method name and arguments, chunked anywhere) gives what it gave with the pool off", () => {
    const name = utf8("m\u00e9thode"); // not ASCII: stays bytes, copied off the message
    const opts = { security: globalSecurity, registry: new UnjellyableRegistry(), mode: "python" as const, bytesAsText: false, maxDepth: 100 };
    const receive = (msg: Uint8Array, cuts: number[]) => {
      const items: Sexp[] = [];
      const r = new FastReceiver((x) => items.push(x), { dialect: "pb", unjelly: opts, jellyAt: pbJellyPositions, textAt: pbTextPositions });
      for (const c of chunks(msg, cuts)) r.feed(c);
      return items.map((it) => (it as readonly unknown[]).map((x) => (x instanceof Predecoded ? x.value : x)));
    };
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 60 }), cutPoints, (args, cuts) => {
        const msg = encode(["message", 7, "root", name, 1, new Jellied(tuple(...args)), new Jellied(new Map())], { dialect: "pb" });
        const pooled = receive(msg, cuts);
        setBytePool(OFF);
        const own = receive(msg, cuts);
        setBytePool(DEFAULT_BYTE_POOL);
        expect(canon(pooled, true)).toEqual(canon(own, true));
        const [[, , , method, , got]] = pooled as [[unknown, unknown, unknown, Uint8Array, unknown, Uint8Array[]]];
        expect(canon(method, true)).toEqual(canon(name, true));
        expect(got.length).toBe(args.length);
        for (const b of got) expect(b.buffer.byteLength).toBeLessThanOrEqual(SLAB);
        expectDisjoint(got);
      }),
      fuzzParams(150),
    );
  });

  it("any jelly value, both paths, every mode: the same values as with an ArrayBuffer each", () => {
    const modes = fc.record({ mode: fc.constantFrom<"python" | "js">("python", "js"), bytesAsText: fc.boolean() });
    fc.assert(
      fc.property(losslessValue, fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 30 }), modes, (v, extra, m) => {
        let bytes: Uint8Array;
        try {
          bytes = dumps([v, extra, tuple(...extra)]);
        } catch {
          return;
        }
        const o: OnePassOptions = { mode: m.mode, bytesAsText: m.bytesAsText };
        const run = () => [canon(loadsOnePass(bytes, o)), canon(treeLoads(bytes, o))];
        const [fast, tree] = run();
        setBytePool(OFF);
        const [fastOwn, treeOwn] = run();
        setBytePool(DEFAULT_BYTE_POOL);
        // Strictly equal: classes (Buffer or Uint8Array) included.
        expect(fast).toEqual(fastOwn);
        expect(tree).toEqual(treeOwn);
        expect(fast).toEqual(tree);
        // Within each path (large ones may be views of the message: each path gets a copy of it).
        expectDisjoint([...new Set(byteStrings(loadsOnePass(bytes.slice(), o)))]);
        expectDisjoint([...new Set(byteStrings(treeLoads(bytes.slice(), o)))]);
      }),
      fuzzParams(400),
    );
  });
});

describe("through the broker", () => {
  it("a remote method's byte-string arguments and the caller's answer come pooled, equal, and disjoint", async () => {
    let received: Uint8Array[] = [];
    class Keeper extends Root {
      remote_keep(values: Uint8Array[]) {
        received = values;
        return values.slice(0, 700);
      }
    }
    const sent = smallStrings(1500, 12);
    const p = await pair({ rootObject: () => new Keeper() });
    try {
      const answer = (await p.client.remoteForName("root").callRemote("keep", sent)) as Uint8Array[];
      for (const [got, want] of [[received, sent], [answer, sent.slice(0, 700)]] as const) {
        expect(canon(got, true)).toEqual(canon(want, true));
        expect(new Set(got.map((b) => b.buffer)).size).toBeGreaterThan(1);
        for (const b of got) expect(b.buffer.byteLength).toBe(SLAB);
      }
      expectDisjoint([...received, ...answer]);
    } finally {
      p.close();
    }
  });
});

describe("memory a peer can make the process hold (hostile)", () => {
  it("slabs are held by the values made from them and by nothing else but the pool's current one", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, "vitest runs with --expose-gc").toBeTypeOf("function");
    const slabs: WeakRef<ArrayBufferLike>[] = [];
    const kept: Uint8Array[] = [];
    // 30 messages of 2,000 strings of 16 bytes (~4 slabs each); the application keeps one value of each.
    (() => {
      for (let m = 0; m < 30; m++) {
        const [values] = loadsOnePass(dumps(smallStrings(2000, 16))) as [Uint8Array[]];
        kept.push(values[m * 61]);
        for (const b of new Set(values.map((v) => v.buffer))) slabs.push(new WeakRef(b));
      }
    })();
    expect(slabs.length).toBeGreaterThan(100);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 0)); // WeakRefs keep their targets to the end of the job
      gc!();
    }
    const alive = slabs.map((r) => r.deref()).filter((b) => b !== undefined);
    const keptSlabs = new Set<ArrayBufferLike>(kept.map((b) => b.buffer));
    // What is alive: the kept values' slabs (one each at most) and the slab being filled.
    for (const b of alive) expect(keptSlabs.has(b) || b === currentSlab().slab).toBe(true);
    expect(alive.length).toBeLessThanOrEqual(kept.length + 1);
    for (const b of kept) expect(b.buffer.byteLength).toBe(SLAB);
    kept.forEach((b, m) => expect(b.every((x) => x === ((m * 61) & 0xff))).toBe(true));
  });
});
