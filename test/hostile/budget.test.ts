// Hostile: the per-message budget (maxMessageNodes, maxMessageReferences, maxRenderedText), in
// PBLimits with defaults sized from Twisted's SIZE_LIMIT and overridable per connection. A
// message past its budget is refused as a whole: a call is answered with an error, an answer
// fails its call and drops the connection. Walks that cannot follow sharing (schema checks,
// copying a state shared by many copies) are charged to the same budget.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Sexp } from "../../src/banana/index.ts";
import {
  CopiedFailure, DEFAULT_PB_LIMITS, method, pbLimits, RemoteCopy, remoteInterface, Root, copyRegistry, typedReferenceable, type PBServer, type RemoteReference,
} from "../../src/index.ts";
import { BudgetExceeded, DEFAULT_JELLY_BUDGET, dumps, JellyError, loads, unjelly, UnjellyableRegistry } from "../../src/jelly/index.ts";
import { pair } from "../pb/support.ts";
import { call, failureWith, listen, maliciousServer, memoryAfterGC, MiB, pbBytes, pinger, RawPeer, timed, victimClient } from "./support.ts";

const REPLY_MS = 1000;
const PING_MS = 250;

const ints = (n: number): Sexp => ["list", ...Array.from({ length: n }, (_, i) => i & 0x7f)];
const refs = (n: number): Sexp => ["list", ...Array.from({ length: n }, (_, i) => ["reference", i + 1, ["list"]] as Sexp)];

describe("the budget's limits", () => {
  it("are in PBLimits with defaults sized from SIZE_LIMIT, and checked when overridden", () => {
    expect(DEFAULT_PB_LIMITS.maxMessageNodes).toBe(4 * 640 * 1024);
    expect(DEFAULT_PB_LIMITS.maxMessageReferences).toBe(640 * 1024);
    expect(DEFAULT_PB_LIMITS.maxRenderedText).toBe(64 * 1024);
    expect(DEFAULT_JELLY_BUDGET.maxMessageNodes).toBe(DEFAULT_PB_LIMITS.maxMessageNodes);
    expect(pbLimits({ maxMessageNodes: 10 }).maxMessageNodes).toBe(10);
    expect(() => pbLimits({ maxMessageReferences: 0 })).toThrow(RangeError);
  });

  it("counts every node and reference of one unjelly, and refuses one past the limit", () => {
    expect(unjelly(ints(99), { limits: { maxMessageNodes: 100 } })).toHaveLength(99);
    expect(() => unjelly(ints(100), { limits: { maxMessageNodes: 100 } })).toThrow(BudgetExceeded);
    expect(unjelly(refs(10), { limits: { maxMessageReferences: 10 } })).toHaveLength(10);
    expect(() => unjelly(refs(11), { limits: { maxMessageReferences: 10 } })).toThrow(/more than 10 references/);
    expect(new BudgetExceeded("x")).toBeInstanceOf(JellyError);
  });

  it("reach loads() with banana's limits in one object", () => {
    const bytes = dumps([1, 2, 3]);
    expect(loads(bytes, { limits: { maxMessageNodes: 4, sizeLimit: 10 } })).toEqual([1, 2, 3]);
    expect(() => loads(bytes, { limits: { maxMessageNodes: 3 } })).toThrow(BudgetExceeded);
    expect(() => loads(bytes, { limits: { sizeLimit: 2 } })).toThrow(/List too long/);
  });

  // Construction: one message with just more references than the default allows (655,361).
  it("refuses a message with more references than the default, in bounded time", () => {
    const message = refs(640 * 1024 + 1);
    const t = performance.now();
    expect(() => unjelly(message)).toThrow(BudgetExceeded);
    expect(performance.now() - t).toBeLessThan(5000);
  });
});

describe("a broker receiving a call", () => {
  let server: PBServer;
  beforeAll(async () => {
    server = await listen({ limits: { maxMessageNodes: 10_000, maxMessageReferences: 100 } });
  });
  afterAll(async () => {
    await server.close(500);
  });

  // Construction: calls with 20,000 ints, or 200 references, against a connection whose budget
  // is 10,000 nodes and 100 references; the arguments and keyword arguments share one budget.
  it("answers calls past the connection's budget with an error, and serves calls within it", async () => {
    const good = await pinger(server.port);
    const peer = await RawPeer.connect(server.port);
    const { ms, value } = await timed(async () => {
      peer.send(call(1, "echo", ints(20_000)));
      const r1 = await peer.reply(1);
      peer.send(call(2, "echo", refs(200)));
      const r2 = await peer.reply(2);
      peer.send(pbBytes(["message", 3, "root", "echo", 1, ["tuple", ints(6000)], ["dictionary", [["unicode", "k"], ints(6000)]]]));
      const r3 = await peer.reply(3);
      peer.send(call(4, "echo", ints(5000)));
      const r4 = await peer.reply(4);
      return [r1, r2, r3, r4];
    });
    const { max } = await good.stop();
    peer.close();
    expect(value).toEqual(["error", "error", "error", "answer"]);
    expect(ms).toBeLessThan(4 * REPLY_MS);
    expect(max).toBeLessThan(PING_MS);
  });

  // Construction: one state dictionary of 5,000 entries sent once, and 5,000 copies of a
  // registered RemoteCopy whose state is [dereference] to it: copying the state into each copy
  // is 25 million property definitions unless charged to the message's node budget (8 nodes
  // each: the default budget stops it after about 330,000).
  it("charges copies that share one state to the budget", () => {
    class Thing extends RemoteCopy {}
    const registry = new UnjellyableRegistry(copyRegistry);
    registry.setUnjellyableForClass("test.Thing", Thing);
    const state: Sexp = ["dictionary", ...Array.from({ length: 5000 }, (_, i) => [["unicode", `k${i}`], i] as Sexp)];
    const copies: Sexp = ["list", ["test.Thing", ["reference", 1, state]], ...Array.from({ length: 4999 }, () => ["test.Thing", ["dereference", 1]] as Sexp)];
    const t = performance.now();
    expect(() => unjelly(copies, { registry })).toThrow(BudgetExceeded);
    expect(performance.now() - t).toBeLessThan(REPLY_MS);
    // Within the budget the copies are made.
    const few: Sexp = ["list", ["test.Thing", ["reference", 1, state]], ["test.Thing", ["dereference", 1]]];
    const [a, b] = unjelly(few, { registry }) as Thing[];
    expect((a as unknown as Record<string, number>).k4999).toBe(4999);
    expect((b as unknown as Record<string, number>).k0).toBe(0);
  });

  // Construction: a typed method whose schema is a recursive tree, called with 30 levels of
  // doubling (2**30 leaves for zod to walk, and to copy).
  it("refuses a doubling argument to a schema-checked method before zod walks it", async () => {
    type Tree = string | Tree[];
    const Tree: z.ZodType<Tree> = z.lazy(() => z.union([z.string(), z.array(Tree)]));
    const Trees = remoteInterface("Trees", { count: method({ args: [Tree], result: z.number() }) });
    const typed = typedReferenceable(Trees, { count: () => 1 });
    class TypedRoot extends Root {
      remote_trees() {
        return typed;
      }
    }
    const p = await pair(new TypedRoot());
    try {
      const ref = (await p.client.remoteForName("root").callRemote("trees")) as RemoteReference;
      let tree: Tree = "x";
      for (let i = 0; i < 30; i++) tree = [tree, tree];
      const { ms, value: err } = await timed(() => ref.callRemote("count", tree).then(() => null, (e: unknown) => e));
      expect(ms).toBeLessThan(REPLY_MS);
      expect(err).toBeInstanceOf(CopiedFailure);
      expect((err as CopiedFailure).value).toMatch(/expands to more than/);
      expect(await ref.callRemote("count", [["x", "y"], "z"])).toBe(1);
    } finally {
      p.close();
    }
  });
});

describe("a broker receiving an answer", () => {
  // Construction: a malicious server answering with 20,000 ints to a client whose budget is
  // 10,000 nodes, and with a failure whose type is 1,000 distinct 100-character strings to a
  // client whose text budget is 1,000 characters.
  it("fails the call and drops the connection past the node budget", async () => {
    const evil = await maliciousServer((id) => pbBytes(["answer", id, ints(20_000)]));
    const before = memoryAfterGC();
    const { client, root } = await victimClient(evil.port);
    const { client: c2, root: r2 } = await (async () => {
      const { PBClient } = await import("../../src/index.ts");
      const c = await PBClient.connect({ host: "127.0.0.1", port: evil.port }, { limits: { maxMessageNodes: 10_000 } });
      return { client: c, root: await c.getRootObject() };
    })();
    try {
      // The default budget takes it.
      expect(await root.callRemote("a")).toHaveLength(20_000);
      const { ms, value: err } = await timed(() => r2.callRemote("a").then(() => null, (e: unknown) => e));
      expect(err).toBeInstanceOf(BudgetExceeded);
      expect(ms).toBeLessThan(REPLY_MS);
      expect(await c2.closed).toBeInstanceOf(BudgetExceeded);
      expect(memoryAfterGC() - before).toBeLessThan(32 * MiB);
    } finally {
      await client.disconnect();
      await c2.disconnect();
      await evil.close();
    }
  });

  it("cuts the text made from a failure at the connection's text budget", async () => {
    const long: Sexp = ["list", ...Array.from({ length: 1000 }, (_, i) => ["unicode", String(i).padStart(100, "x")] as Sexp)];
    const evil = await maliciousServer((id) => pbBytes(["error", id, failureWith(long, long)]));
    const { PBClient } = await import("../../src/index.ts");
    const client = await PBClient.connect({ host: "127.0.0.1", port: evil.port }, { limits: { maxRenderedText: 1000 } });
    try {
      const root = await client.getRootObject();
      const err = (await root.callRemote("a").then(() => null, (e: unknown) => e)) as CopiedFailure;
      expect(err).toBeInstanceOf(CopiedFailure);
      // One budget for the whole message: the type takes it, the value gets what is left (nothing).
      expect(err.type.length).toBeLessThanOrEqual(1003);
      expect(err.type.endsWith("...")).toBe(true);
      expect(err.value).toBe("");
    } finally {
      await client.disconnect();
      await evil.close();
    }
  });
});
