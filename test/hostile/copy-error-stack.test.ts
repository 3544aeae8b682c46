// Hostile: many RemoteCopyError copies in one message. Every copy received is an Error; capturing
// and formatting a stack for each (a deep decoder stack, ~1 KB of text) cost ~30 times the copy
// itself: 300,000 copies sharing one empty state (6.6 MB) took 10 s. The stack is now made when
// read.
import { describe, expect, it } from "vitest";
import type { Sexp } from "../../src/banana/index.ts";
import { copyRegistry, RemoteCopyError } from "../../src/index.ts";
import { unjelly, UnjellyableRegistry } from "../../src/jelly/index.ts";
import { memoryAfterGC, MiB } from "./support.ts";

class HostileError extends RemoteCopyError {}

describe("RemoteCopyError copies", () => {
  // Construction: 100,000 copies of a registered RemoteCopyError sharing one empty state
  // (["reference", 1, ["dictionary"]] once, then ["dereference", 1]): 2.2 MB on the wire.
  it("cost about what plain copies do: bounded time and memory, stack made when read", () => {
    const registry = new UnjellyableRegistry(copyRegistry);
    registry.setUnjellyableForClass("hostile.Error", HostileError);
    const n = 100_000;
    const list: Sexp[] = ["list", ["hostile.Error", ["reference", 1, ["dictionary"]]]];
    for (let i = 1; i < n; i++) list.push(["hostile.Error", ["dereference", 1]]);
    const before = memoryAfterGC();
    const t = performance.now();
    const copies = unjelly(list, { registry }) as HostileError[];
    const ms = performance.now() - t;
    // Held, as a caller would hold them: each must stay small.
    const grown = memoryAfterGC() - before;
    expect(copies).toHaveLength(n);
    expect(ms).toBeLessThan(1000);
    expect(grown).toBeLessThan(40 * MiB);
    const e = copies[n - 1];
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("HostileError");
    expect(e.stack).toMatch(/^HostileError: HostileError from the peer\n/);
    e.stack = "set by the user";
    expect(e.stack).toBe("set by the user");
    expect(copies[0].stack).toMatch(/^HostileError/);
  });
});
