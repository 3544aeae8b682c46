// Bounded walks over received values: describeValue, valueText, treeSize, idiomatic, and the
// per-message budget as unjelly applies it.
import { describe, expect, it } from "vitest";
import type { Sexp } from "../../src/banana/index.ts";
import {
  activeBudget, describeValue, FrozenSet, idiomatic, MessageBudget, PyDateTime, PyFloat, PyInstance, treeSize, tuple, unjelly, UnjellyableRegistry, valueText,
} from "../../src/jelly/index.ts";

/** A list holding the level below twice, `levels` deep: 2**levels leaves as a tree. */
function doubled(levels: number): unknown[] {
  let x: unknown[] = ["x"];
  for (let i = 0; i < levels; i++) x = [x, x];
  return x;
}

describe("describeValue", () => {
  it("writes Python-like text for every kind of value", () => {
    const m = new Map<unknown, unknown>([["k", null], [1, tuple(2)]]);
    expect(describeValue([1, "a", new Uint8Array([0x61, 0x27, 0]), true, undefined, 2n ** 70n, new PyFloat(1), m])).toBe(
      `[1, "a", b'a\\'\\x00', True, None, 1180591620717411303424, 1.0, {"k": None, 1: (2,)}]`,
    );
    expect(describeValue(new Set([1]))).toBe("{1}");
    expect(describeValue(new FrozenSet())).toBe("frozenset()");
    expect(describeValue(new FrozenSet([1]))).toBe("frozenset({1})");
    expect(describeValue(new PyDateTime(2020, 1, 2))).toBe("2020-01-02 00:00:00");
    expect(describeValue(new PyInstance("m.C", new Map([["a", 1]])))).toBe(`<m.C {"a": 1}>`);
    const dict: Record<string, unknown> = Object.create(null);
    dict.__proto__ = 1;
    expect(describeValue(dict)).toBe(`{"__proto__": 1}`);
    class Custom {
      toString() {
        throw new Error("never called");
      }
    }
    expect(describeValue(new Custom())).toBe("<Custom>");
  });

  it("writes a shared object once and marks where it is reached again, cycles included", () => {
    const inner = [1];
    expect(describeValue([inner, inner])).toBe("[[1], <repeated list>]");
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(describeValue(cyclic)).toBe("[<repeated list>]");
  });

  it("renders 2**40 leaves of doubling in one step per level", () => {
    const t = performance.now();
    const text = describeValue(doubled(40));
    expect(performance.now() - t).toBeLessThan(100);
    expect(text.length).toBeLessThan(40 * 20);
    expect(text.match(/<repeated list>/g)).toHaveLength(40);
  });

  it("writes containers nested deeper than 100 levels as ...", () => {
    let deep: unknown[] = [1];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const text = describeValue(deep);
    expect(text).toBe("[".repeat(100) + "..." + "]".repeat(100));
  });

  it("stops at maxLength, quoting only what it shows of a long string", () => {
    const long = "y".repeat(1_000_000);
    const many = Array.from({ length: 1000 }, () => long);
    const t = performance.now();
    const text = describeValue(many, 100);
    expect(performance.now() - t).toBeLessThan(100);
    expect(text.length).toBe(103);
    expect(text.endsWith("...")).toBe(true);
    expect(describeValue("abc", 2)).toBe(`"a...`);
  });
});

describe("valueText", () => {
  it("gives text as it is, decodes bytes, and renders structures", () => {
    expect(valueText("builtins.ValueError")).toBe("builtins.ValueError");
    expect(valueText(new TextEncoder().encode("é"))).toBe("é");
    expect(valueText(Uint8Array.of(0xff))).toBe("\u00ff");
    expect(valueText(null)).toBe("");
    expect(valueText(5)).toBe("5");
    expect(valueText(["a"])).toBe(`["a"]`);
  });

  it("takes the text of structures from a message's budget, shared by every call", () => {
    const budget = new MessageBudget({ maxRenderedText: 30 });
    expect(valueText(["a".repeat(20)], budget)).toHaveLength(24);
    expect(budget.textLeft).toBe(6);
    expect(valueText(["b".repeat(20)], budget)).toBe(`["bbbb...`);
    expect(budget.textLeft).toBe(0);
    expect(valueText(["c"], budget)).toBe("");
    // Text is not made, only passed on: it costs nothing.
    expect(valueText("d".repeat(100), budget)).toHaveLength(100);
  });
});

describe("treeSize", () => {
  it("counts nodes as a tree, shared objects each time, in one step per object", () => {
    expect(treeSize(1)).toBe(1);
    expect(treeSize([1, [2, 3]])).toBe(5);
    expect(treeSize(new Map([["a", [1]]]))).toBe(4);
    const t = performance.now();
    expect(treeSize(doubled(20), 10_000_000)).toBe(3 * 2 ** 20 - 1);
    expect(treeSize(doubled(60), 1000)).toBe(1001);
    expect(performance.now() - t).toBeLessThan(200);
  });

  it("counts a reference back to a container once", () => {
    const cyclic: unknown[] = [1];
    cyclic.push(cyclic);
    expect(treeSize(cyclic)).toBe(3);
  });
});

describe("idiomatic", () => {
  it("converts a shared input once: the output shares it too", () => {
    const t = performance.now();
    const out = idiomatic(unjelly(doublingSexp(40))) as unknown[];
    expect(performance.now() - t).toBeLessThan(100);
    expect(out[0]).toBe(out[1]);
  });
});

function doublingSexp(levels: number): Sexp {
  let e: Sexp = ["tuple", ["unicode", "x"]];
  for (let k = 1; k <= levels; k++) e = ["tuple", ["reference", k, e], ["dereference", k]];
  return e;
}

describe("the message budget in unjelly", () => {
  it("is active while a message is unjellied (for handlers), and not after", () => {
    let seen: MessageBudget | null = null;
    const registry = new UnjellyableRegistry().register("m.Probe", () => (seen = activeBudget()));
    const budget = new MessageBudget();
    unjelly(["list", 1, ["m.Probe"]], { budget, registry });
    expect(seen).toBe(budget);
    expect(budget.nodes).toBe(3);
    expect(activeBudget()).toBe(null);
  });

  it("is shared by two unjellies of one message", () => {
    const budget = new MessageBudget({ maxMessageNodes: 5 });
    unjelly(["list", 1, 2], { budget });
    expect(() => unjelly(["list", 1, 2], { budget })).toThrow(/more than 5 jelly nodes/);
  });
});
