import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  CopiedFailure, Copyable, method, PBError, RemoteCopy, RemoteValidationError, remoteInterface, Root, typedReferenceable, typedRemote,
  copyRegistry, kwargs, type RemoteReference,
} from "../../src/pb/index.ts";
import { PyFloat, tuple, UnjellyableRegistry } from "../../src/jelly/index.ts";
import { pair } from "./support.ts";

const Calculator = remoteInterface("Calculator", {
  add: method({ args: [z.number(), z.number()], result: z.number() }),
  greet: method({ args: [z.string()], kwargs: z.object({ greeting: z.string().default("hello") }), result: z.string() }),
  stats: method({ args: [z.array(z.number())], result: z.object({ n: z.number(), mean: z.number() }) }),
  lie: method({ args: [], result: z.number() }),
});

describe("typed remote interfaces", () => {
  it("types calls and checks results on the calling side", async () => {
    class Impl extends Root {
      remote_add(a: number, b: number) {
        return a + b;
      }
      remote_stats(xs: number[]) {
        return { n: xs.length, mean: xs.reduce((s, x) => s + x, 0) / xs.length };
      }
      remote_lie() {
        return "not a number";
      }
      remote_greet(name: string) {
        return `hi ${name}`;
      }
    }
    const p = await pair(new Impl());
    const calc = typedRemote(p.client.remoteForName("root"), Calculator);
    const sum = await calc.add(1, 2);
    expectTypeOf(sum).toEqualTypeOf<number>();
    expect(sum).toBe(3);
    expect(await calc.stats([1, 2, 3])).toEqual({ n: 3, mean: 2 });
    const err = (await calc.lie().catch((e) => e)) as RemoteValidationError;
    expect(err).toBeInstanceOf(RemoteValidationError);
    expect(err.message).toBe("Calculator.lie: result at (the value itself): Invalid input: expected number, received string");
    // @ts-expect-error: wrong argument type is a compile error
    await calc.add("1", 2).catch(() => {});
  });

  it("names the path inside a nested result", async () => {
    class Impl extends Root {
      remote_stats(_xs: unknown) {
        return { n: 1, mean: "x" };
      }
    }
    const p = await pair(new Impl());
    const err = (await typedRemote(p.client.remoteForName("root"), Calculator).stats([]).catch((e) => e)) as RemoteValidationError;
    expect(err.message).toMatch(/^Calculator\.stats: result at \.mean: /);
  });

  it("serves an implementation that refuses bad arguments with a pb.Error", async () => {
    class R extends Root {
      calc = typedReferenceable(Calculator, {
        add: (a, b) => a + b,
        greet: (name, kw) => `${kw.greeting} ${name}`,
        stats: (xs) => ({ n: xs.length, mean: 0 }),
        lie: () => 1,
      });
      remote_calc() {
        return this.calc;
      }
    }
    const p = await pair(new R());
    const ref = (await p.client.remoteForName("root").callRemote("calc")) as RemoteReference;
    expect(await ref.callRemote("add", 2, new PyFloat(3))).toBe(5);
    expect(await ref.callRemote("greet", "bob")).toBe("hello bob");
    expect(await ref.callRemote("greet", "bob", kwargs({ greeting: "yo" }))).toBe("yo bob");
    const bad = (await ref.callRemote("add", "two", 3).catch((e) => e)) as CopiedFailure;
    expect(bad.type).toBe("twisted.spread.pb.Error");
    expect(bad.check(PBError)).toBe("twisted.spread.pb.Error");
    expect(bad.value).toBe("Calculator.add: arguments at [0]: Invalid input: expected number, received string");
    const extra = (await ref.callRemote("add", 1, 2, kwargs({ z: 1 })).catch((e) => e)) as CopiedFailure;
    expect(extra.value).toMatch(/unexpected keyword argument 'z'/);
    const badKw = (await ref.callRemote("greet", "bob", kwargs({ greeting: 5 })).catch((e) => e)) as CopiedFailure;
    expect(badKw.value).toMatch(/^Calculator\.greet: keyword arguments at \.greeting/);
    expect(await ref.callRemote("stats", tuple(1, 2))).toEqual(new Map<string, unknown>([["n", 2], ["mean", 0]]));
  });

  it("checks positional arguments one by one: too many, missing, optional and default", async () => {
    const Shapes = remoteInterface("Shapes", {
      box: method({ args: [z.number(), z.number().optional(), z.number().default(7)], result: z.array(z.unknown()) }),
    });
    const seen: unknown[][] = [];
    class R extends Root {
      shapes = typedReferenceable(Shapes, {
        box: (...args) => {
          seen.push(args);
          return args.map((a) => (a === undefined ? "undefined" : a));
        },
      });
      remote_shapes() {
        return this.shapes;
      }
    }
    const p = await pair(new R());
    const ref = (await p.client.remoteForName("root").callRemote("shapes")) as RemoteReference;
    // A missing argument with a default gets it; an absent optional one before it is passed as undefined.
    expect(await ref.callRemote("box", 1)).toEqual([1, "undefined", 7]);
    expect(await ref.callRemote("box", 1, 2, 3)).toEqual([1, 2, 3]);
    expect(seen).toEqual([[1, undefined, 7], [1, 2, 3]]);
    const tooMany = (await ref.callRemote("box", 1, 2, 3, 4).catch((e) => e)) as CopiedFailure;
    expect(tooMany.value).toBe("Shapes.box: arguments at (the value itself): expected at most 3 arguments, received 4");
    const missing = (await ref.callRemote("box").catch((e) => e)) as CopiedFailure;
    expect(missing.value).toBe("Shapes.box: arguments at [0]: missing: 0 of 3 arguments given");
    const deep = (await ref.callRemote("box", 1, "x").catch((e) => e)) as CopiedFailure;
    expect(deep.value).toBe("Shapes.box: arguments at [1]: Invalid input: expected number, received string");
    expect(seen).toHaveLength(2);

    const Opt = remoteInterface("Opt", { f: method({ args: [z.string(), z.string().optional()], result: z.number() }) });
    class O extends Root {
      opt = typedReferenceable(Opt, { f: (...args) => args.length });
      remote_opt() {
        return this.opt;
      }
    }
    const q = await pair(new O());
    const o = (await q.client.remoteForName("root").callRemote("opt")) as RemoteReference;
    // An absent optional last argument stays absent (as zod's tuples leave it).
    expect(await o.callRemote("f", "a")).toBe(1);
    expect(await o.callRemote("f", "a", "b")).toBe(2);
  });

  it("checks Copyable state before any user code sees it", async () => {
    class Point extends Copyable {
      static pythonType = "app.Point";
      constructor(
        public x: unknown,
        public y: unknown,
      ) {
        super();
      }
    }
    const seen: unknown[] = [];
    class RemotePoint extends RemoteCopy {
      static stateSchema = z.object({ x: z.number(), y: z.number() });
      override setCopyableState(state: unknown) {
        seen.push(state);
        super.setCopyableState(state);
      }
    }
    class R extends Root {
      remote_good() {
        return new Point(1, 2);
      }
      remote_bad() {
        return new Point(1, "two");
      }
    }
    const registry = new UnjellyableRegistry(copyRegistry).setUnjellyableForClass("app.Point", RemotePoint);
    const p = await pair(new R(), {}, { registry });
    const root = p.client.remoteForName("root");
    expect(await root.callRemote("good")).toMatchObject({ x: 1, y: 2 });
    await expect(root.callRemote("bad")).rejects.toThrow("RemotePoint.setCopyableState: state at .y: Invalid input: expected number, received string");
    expect(seen).toHaveLength(1);
  });
});
