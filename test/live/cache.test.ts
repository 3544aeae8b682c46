// Live: Cacheable / RemoteCache, Publishable / RemotePublished, pagers and typed interfaces
// against real Twisted 22.4, both ways:
// - our client (PBClient) against a Twisted server holding the Cacheables (interop/peer.py serve cache:
//   the "cache" root of interop/conformance/roots.json);
// - a Twisted client (interop/peer.py cache-client) against our server (PBServer) holding them.
// Each test names the test of twisted/spread/test/test_pb.py it mirrors. Everything runs on
// 127.0.0.1 with ports chosen by the OS; every process and connection is stopped in afterAll.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  Cacheable,
  CopiedFailure,
  Copyable,
  FilePublishedStore,
  PBClient,
  PBConnectionLost,
  PBServer,
  Publishable,
  Referenceable,
  RemoteCache,
  RemoteCacheObserver,
  RemoteCopy,
  RemotePublished,
  RemoteReference,
  RemoteValidationError,
  StringPager,
  filePager,
  getAllPages,
  joinPages,
  method,
  remoteInterface,
  setUnjellyableForClass,
  typedReferenceable,
  typedRemote,
  whenReady,
  type Broker,
  type IterablePager,
  type LogEntry,
  type PBRoot,
} from "../../src/index.ts";
import { PyProcess, spawnPeer, stopAllPeers, tempDir, type PyEvent } from "../../interop/pbpeers.ts";
import { canonicalDesc, toDesc } from "../../interop/valuedesc.ts";
import { sleep, until } from "./common.ts";

const HOST = "127.0.0.1";
const tmp = tempDir("twisted-pb-cache-");
const gc = (globalThis as { gc?: () => void }).gc;
const clients: PBClient[] = [];
const servers: PBServer[] = [];

afterAll(async () => {
  for (const c of clients) c.socket.destroy();
  await stopAllPeers();
  await Promise.all(servers.map((s) => s.close(200)));
  tmp.cleanup();
});

async function connect(port: number, logs?: LogEntry[]): Promise<PBClient> {
  const c = await PBClient.connect({ host: HOST, port }, logs ? { log: (e) => logs.push(e) } : {});
  clients.push(c);
  return c;
}

/** n bytes 0, 1, ... 250, 0, 1, ... (interop/peers/cache_server.py / cache_client.py `pattern`). */
function pattern(n: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => i % 251);
}

/** More than banana's 640 KiB string limit: it can only travel in pages. */
const BIG = 700_000;

const desc = (v: unknown) => canonicalDesc(toDesc(v));

/** Byte equality (toEqual walks a large Uint8Array element by element, for seconds). */
function expectBytes(got: Uint8Array, want: Uint8Array): void {
  expect(got.length).toBe(want.length);
  expect(Buffer.from(got.buffer, got.byteOffset, got.length).equals(Buffer.from(want.buffer, want.byteOffset, want.length))).toBe(true);
}

/** Runs the garbage collector until `done` (a decache/decref has to travel and be answered). */
async function collectUntil(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  if (!gc) throw new Error("run with --expose-gc (vitest.config.ts does)");
  for (let i = 0; i < 100; i++) {
    if (await done()) return;
    gc();
    await sleep(20);
  }
  throw new Error(`still waiting for ${what} after garbage collection`);
}

// ---- the holder's classes for the Twisted server's Cacheables (test_pb.py) ------------------

/** test_pb.py SimpleLocalCache, for SimpleCache. */
class SimpleLocalCache extends RemoteCache {
  declare x: number;
  declare y: Map<string, string>;
  declare z: string[];
  checkSelf() {
    return this;
  }
  checkMethod() {
    return this.check.bind(this);
  }
  check() {
    return 1;
  }
}
setUnjellyableForClass("__main__.SimpleCache", SimpleLocalCache);

/** What the holder's copies saw, wherever they are (the copy itself may be collected). */
const baroqueEvents: string[] = [];

/** test_pb.py RatherBaroqueCache, for VeryVeryComplicatedCacheable. */
class RatherBaroqueCache extends RemoteCache {
  declare x: number;
  declare y: number;
  declare foo: number;
  observe_foo(newFoo: number) {
    this.foo = newFoo;
    baroqueEvents.push(`foo ${newFoo}`);
  }
  observe_end() {
    baroqueEvents.push(`end ${String(this.luid)}`);
  }
}
setUnjellyableForClass("__main__.VeryVeryComplicatedCacheable", RatherBaroqueCache);

/** test_pb.py NewStyleCacheCopy is both sides; here the sending side ... */
class NewStyleCacheable extends Cacheable {
  static pythonType = "__main__.NewStyleCacheCopy";
  stopped = 0;
  constructor(public s: string) {
    super();
  }
  override getStateToCacheAndObserveFor() {
    return new Map([["s", this.s]]);
  }
  override stoppedObserving() {
    this.stopped++;
  }
}
/** ... and the receiving side. */
class NewStyleCacheCopy extends RemoteCache {
  declare s: string;
}
setUnjellyableForClass("__main__.NewStyleCacheCopy", NewStyleCacheCopy);

// ---- publish.py (test_pb.py DumbPublishable / DumbPub) ------------------------------------------

const pubDir = join(tmp.path, "pub");

class DumbPub extends RemotePublished {
  static override store = new FilePublishedStore(pubDir);
  activateCalled = 0;
  declare yayIGotPublished: number;
  override activated() {
    this.activateCalled = 1;
  }
}
setUnjellyableForClass("__main__.DumbPublishable", DumbPub);

// ---- typed interfaces ---------------------------------------------------------------------------

const Shapes = remoteInterface("Shapes", {
  add: method({ args: [z.number(), z.number()], result: z.number() }),
  addOk: method({ args: [z.number(), z.number()], result: z.number() }),
  stats: method({ args: [z.array(z.number())], result: z.object({ n: z.number(), mean: z.number() }) }),
  user: method({ args: [], result: z.object({ name: z.string(), tags: z.array(z.string()) }) }),
});

/** Receives __main__.TypedPoint; its schema refuses a bad state before any user code sees it. */
class RemoteTypedPoint extends RemoteCopy {
  static stateSchema = z.object({ x: z.number(), y: z.number() });
  static seen = 0;
  declare x: number;
  declare y: number;
  override setCopyableState(state: unknown) {
    RemoteTypedPoint.seen++;
    super.setCopyableState(state);
  }
}
setUnjellyableForClass("__main__.TypedPoint", RemoteTypedPoint);

// =================================================================================================

describe("TS client -> Twisted server holding the Cacheables (interop/peer.py serve cache)", () => {
  let server: PyProcess;
  let port: number;

  beforeAll(async () => {
    server = spawnPeer("serve(cache)", "serve", ["cache", "--lifetime", "120"]);
    const e = await server.waitForEvent("listening", () => true, 15_000);
    port = e.cache as number;
  });

  async function session(logs?: LogEntry[]) {
    const client = await connect(port, logs);
    const root = await client.getRootObject();
    const conn = (await root.callRemote("conn")) as number;
    const state = async () => (await root.callRemote("cacheState")) as Map<string, unknown>;
    return { client, root, conn, state };
  }

  it("mirrors test_pb.py BrokerTests.test_cache: one object per cache, observer updates, lcache, decache after collection, uncache, stoppedObserving calling the copy", async () => {
    const { client, root, conn, state } = await session();
    const luids = await (async () => {
      const coll = [(await root.callRemote("getCache")) as SimpleLocalCache[], (await root.callRemote("getCache")) as SimpleLocalCache[]];
      const complex = [(await root.callRemote("getComplex")) as RatherBaroqueCache, (await root.callRemote("getComplex")) as RatherBaroqueCache];
      // "worst things first"
      expect(complex[0]).toBeInstanceOf(RatherBaroqueCache);
      expect([complex[0].x, complex[0].y, complex[0].foo]).toEqual([1, 2, 3]);
      // A cache sent again is the same object here (Twisted: a borg copy sharing the state).
      expect(complex[1]).toBe(complex[0]);
      // The observer update is written before the answer to setFoo4.
      await root.callRemote("setFoo4");
      expect(complex[0].foo).toBe(4);
      expect(baroqueEvents).toEqual(["foo 4"]);
      expect(coll).toHaveLength(2);
      const cp = coll[0][0];
      expect(cp).toBeInstanceOf(SimpleLocalCache);
      expect(coll[0][1]).toBe(cp);
      expect(coll[1][0]).toBe(cp);
      expect(coll[1][1]).toBe(cp);
      expect([cp.x, cp.y, cp.z]).toEqual([1, new Map([["Hello", "World"]]), ["test"]]);
      expect(cp.checkSelf()).toBe(cp);
      expect(cp.checkMethod()()).toBe(1);
      // The objects were the same (lcache identity).
      expect(await root.callRemote("putCache", cp)).toBe(true);
      expect(root.remoteMethod("getCache").methodName).toBe(root.remoteMethod("getCache").methodName);
      const before = await state();
      expect(before.get("remotelyCached")).toEqual([cp.luid, complex[0].luid]);
      expect(client.broker.locallyCachedCount).toBe(2);
      return { simple: cp.luid!, complex: complex[0].luid! };
    })();
    // Now refcounting: the copies are garbage; each received occurrence sends its decache.
    await collectUntil(async () => ((await state()).get("remotelyCached") as unknown[]).length === 0, "the server to uncache both");
    const after = await state();
    expect(after.get("observerIsNone")).toBe(true);
    expect(client.broker.locallyCachedCount).toBe(0);
    // [x, x] (a dereference inside the first message) counts 1, then [cached, cached] 2: 3 decaches;
    // the complex cache was received twice: 2. As a Twisted client (one borg per occurrence) sends.
    const decaches = server.eventsOf("decache").filter((e) => e.conn === conn);
    expect(decaches.filter((e) => e.luid === luids.simple)).toHaveLength(3);
    expect(decaches.filter((e) => e.luid === luids.complex)).toHaveLength(2);
    // stoppedObserving called the copy's observe_end, which still ran: the uncache came after it.
    expect(server.eventsOf("stoppedObserving").filter((e) => e.conn === conn)).toEqual([
      { event: "stoppedObserving", conn, what: "complex", connected: true },
    ]);
    expect(baroqueEvents).toEqual(["foo 4", `end ${luids.complex}`]);
  });

  it("mirrors test_pb.py NewStyleCachedTests.test_newStyleCache: retrieved and re-retrieved over one connection; our own Cacheable cached by Twisted and let go", async () => {
    const { client, root, conn } = await session();
    const mine = new NewStyleCacheable("mine");
    const res = (await root.callRemote("giveMeCache", mine)) as NewStyleCacheCopy;
    expect(res).toBeInstanceOf(NewStyleCacheCopy);
    expect(res.s).toBe("value");
    expect(res).not.toBe(mine);
    const again = (await root.callRemote("giveMeCache", mine)) as NewStyleCacheCopy;
    expect(again).toBe(res);
    expect(again.s).toBe("value");
    // Twisted made a NewStyleCacheCopy of ours each time, and let go of it after the call.
    expect(await root.callRemote("given")).toEqual([
      ["NewStyleCacheCopy", "mine", false],
      ["NewStyleCacheCopy", "mine", false],
    ]);
    await until(() => client.broker.remotelyCachedCount === 0, 5000, "Twisted's decache of our Cacheable");
    expect(mine.stopped).toBeGreaterThanOrEqual(1);
    expect(server.eventsOf("decache").filter((e) => e.conn === conn)).toEqual([]);
  });

  it("calls stoppedObserving when the connection goes (pb.Broker.connectionLost; test_pb.py has no test of its own for it)", async () => {
    const { client, root, conn } = await session();
    const complex = (await root.callRemote("getComplex")) as RatherBaroqueCache;
    expect(complex.foo).toBe(3);
    await client.disconnect();
    const e = await server.waitForEvent("stoppedObserving", (x) => x.conn === conn);
    expect(e.connected).toBe(false);
    await server.waitForEvent("connectionLost", (x) => x.conn === conn);
    // Our copy is no longer updated, and letting it go sends nothing to a dead connection.
    complex.release();
    expect(client.broker.locallyCachedCount).toBe(0);
  });

  it("mirrors test_pb.py PagingTests.test_pagingWithCallback: a StringPager of 700,000 bytes (over banana's 640 KiB limit), then the callback", async () => {
    const { root, conn } = await session();
    const pages = await getAllPages(root, "getPages", BIG, true);
    expect(pages).toHaveLength(Math.ceil(BIG / 8192));
    expectBytes(joinPages(pages), pattern(BIG));
    const done = await server.waitForEvent("pagerDone", (e) => e.conn === conn);
    expect(done.kind).toBe("string");
    expect(canonicalDesc(done.args as never)).toEqual(desc(["hello"]));
    expect(canonicalDesc(done.kw as never)).toEqual(desc(new Map([["value", 10]])));
  });

  it("mirrors test_pb.py PagingTests.test_pagingWithoutCallback", async () => {
    const { root } = await session();
    const pages = await getAllPages(root, "getPages", BIG, false);
    expectBytes(joinPages(pages), pattern(BIG));
  });

  it("mirrors test_pb.py PagingTests.test_emptyFilePaging (Twisted's FilePager)", async () => {
    const { root } = await session();
    const empty = join(tmp.path, "empty.bin");
    writeFileSync(empty, new Uint8Array(0));
    const pages = await getAllPages(root, "getFilePages", empty, false);
    expectBytes(joinPages(pages), new Uint8Array(0));
  });

  it("mirrors test_pb.py PagingTests.test_filePagingWithCallback (Twisted's FilePager keeps no chunks)", async () => {
    const { root, conn } = await session();
    const path = join(tmp.path, "file-cb.bin");
    writeFileSync(path, pattern(100_000));
    const pages = await getAllPages(root, "getFilePages", path, true);
    expect(pages).toHaveLength(Math.ceil(100_000 / 16384));
    expectBytes(joinPages(pages), pattern(100_000));
    const done = await server.waitForEvent("pagerDone", (e) => e.conn === conn && e.kind === "file");
    expect(canonicalDesc(done.args as never)).toEqual(desc(["frodo"]));
    expect(canonicalDesc(done.kw as never)).toEqual(desc(new Map([["value", 9]])));
    expect(done.chunks).toBe(0);
  });

  it("mirrors test_pb.py PagingTests.test_filePagingWithoutCallback", async () => {
    const { root } = await session();
    const path = join(tmp.path, "file-nocb.bin");
    writeFileSync(path, pattern(40_000));
    const pages = await getAllPages(root, "getFilePages", path, false);
    expectBytes(joinPages(pages), pattern(40_000));
    expect(await root.callRemote("filePagerChunks")).toBe(0);
  });

  it("mirrors test_pb.py BrokerTests.test_publishable: fetched and activated, then clean from the stored .pub on the next connection", async () => {
    const first = await session();
    const obj = (await whenReady(first.root.callRemote("getPub"))) as DumbPub;
    expect(obj).toBeInstanceOf(DumbPub);
    expect(obj.activateCalled).toBe(1);
    expect(obj.isActivated).toBe(true);
    expect(obj.yayIGotPublished).toBe(1);
    // timestamp's dirty, we don't have a cache file
    expect(obj.wasCleanWhenLoaded).toBe(false);
    expect(obj.getFileName()).toBe("None-None-TESTING.pub");
    await until(() => existsSync(join(pubDir, "None-None-TESTING.pub")), 5000, "the .pub file");
    const second = await session();
    const obj2 = (await whenReady(second.root.callRemote("getPub"))) as DumbPub;
    // timestamp's clean, our cache file is up-to-date
    expect(obj2.wasCleanWhenLoaded).toBe(true);
    expect(obj2.yayIGotPublished).toBe(1);
    expect(obj2.activateCalled).toBe(1);
  });

  it("typedRemote (no test_pb.py counterpart): a Twisted server answering the wrong type rejects with RemoteValidationError naming the method and the path", async () => {
    const { root } = await session();
    const shapes = typedRemote(root, Shapes);
    expect(await shapes.addOk(1, 2)).toBe(3);
    const add = (await shapes.add(1, 2).catch((e: unknown) => e)) as RemoteValidationError;
    expect(add).toBeInstanceOf(RemoteValidationError);
    expect([add.interfaceName, add.method, add.part]).toEqual(["Shapes", "add", "result"]);
    expect(add.message).toBe("Shapes.add: result at (the value itself): Invalid input: expected number, received string");
    const stats = (await shapes.stats([1, 2]).catch((e: unknown) => e)) as RemoteValidationError;
    expect(stats.message).toMatch(/^Shapes\.stats: result at \.mean: /);
    const user = (await shapes.user().catch((e: unknown) => e)) as RemoteValidationError;
    expect(user.message).toMatch(/^Shapes\.user: result at \.tags\[1\]: Invalid input: expected string, received number/);
    // The connection is still fine.
    expect(await shapes.addOk(2, 3)).toBe(5);
  });

  it("stateSchema (no test_pb.py counterpart; cf. BrokerTests.test_copy): a RemoteCopy refuses bad state from Twisted before setCopyableState runs", async () => {
    const logs: LogEntry[] = [];
    const { client, root } = await session(logs);
    const good = (await root.callRemote("goodPoint")) as RemoteTypedPoint;
    expect(good).toBeInstanceOf(RemoteTypedPoint);
    expect([good.x, good.y]).toEqual([1, 2]);
    const seen = RemoteTypedPoint.seen;
    const bad = (await root.callRemote("badPoint").catch((e: unknown) => e)) as RemoteValidationError;
    expect(bad).toBeInstanceOf(RemoteValidationError);
    expect(bad.message).toBe("RemoteTypedPoint.setCopyableState: state at .y: Invalid input: expected number, received string");
    expect(RemoteTypedPoint.seen).toBe(seen);
    // As with any answer that cannot be unjellied (Twisted drops the connection too, PROTOCOL.md 3.8).
    await client.closed;
    expect(client.broker.isDisconnected).toBe(true);
  });
});

// =================================================================================================
// A Twisted client (interop/peer.py cache-client) against our server holding the Cacheables.

/** test_pb.py SimpleCache (its __init___ typo fixed: the state is x, y, z). */
class SimpleCache extends Cacheable {
  static pythonType = "__main__.SimpleCache";
  x = 1;
  y = new Map([["Hello", "World"]]);
  z = ["test"];
}

/** test_pb.py VeryVeryComplicatedCacheable. */
class VeryVeryComplicatedCacheable extends Cacheable {
  static pythonType = "__main__.VeryVeryComplicatedCacheable";
  x = 1;
  y = 2;
  foo = 3;
  observer: RemoteCacheObserver | null = null;
  /** One entry per stoppedObserving: whether the connection was still up. */
  stopped: boolean[] = [];
  setFoo4() {
    this.foo = 4;
    void this.observer!.callRemote("foo", 4);
  }
  override getStateToCacheAndObserveFor(_p: unknown, observer: RemoteCacheObserver) {
    this.observer = observer;
    return new Map([
      ["x", this.x],
      ["y", this.y],
      ["foo", this.foo],
    ]);
  }
  override stoppedObserving(_p: unknown, observer: RemoteCacheObserver) {
    const connected = !observer.broker.isDisconnected;
    this.stopped.push(connected);
    // As test_pb's class: tell the copy, which still exists until our uncache.
    if (connected) observer.callRemote("end").catch(() => {});
    if (this.observer?.equals(observer)) this.observer = null;
  }
}

/** test_pb.py DumbPublishable; one for every connection, so the timestamp stays the same. */
class DumbPublishable extends Publishable {
  static pythonType = "__main__.DumbPublishable";
  getStateToPublish() {
    return new Map([["yayIGotPublished", 1]]);
  }
}
const PUB = new DumbPublishable("TESTING");

const Calculator = remoteInterface("Calculator", {
  add: method({ args: [z.number(), z.number()], result: z.number() }),
  greet: method({ args: [z.string()], kwargs: z.object({ greeting: z.string().default("hello") }), result: z.string() }),
  stats: method({ args: [z.array(z.number())], result: z.object({ n: z.number(), mean: z.number() }) }),
});

const serverRoots: CacheServerRoot[] = [];

class CacheServerRoot extends Referenceable {
  simple = new SimpleCache();
  complex = new VeryVeryComplicatedCacheable();
  orig = new NewStyleCacheable("value");
  given: unknown[] = [];
  pagerDone: string[] = [];
  filePager: IterablePager | null = null;
  calc = typedReferenceable(Calculator, {
    add: (a, b) => a + b,
    greet: (name, kw) => `${kw.greeting} ${name}`,
    stats: (xs) => ({ n: xs.length, mean: xs.reduce((s, x) => s + x, 0) / xs.length }),
  });
  constructor(
    readonly broker: Broker,
    readonly id: number,
  ) {
    super();
  }
  remote_conn() {
    return this.id;
  }
  // test_cache (NestedCache, NestedComplicatedCache)
  remote_getCache() {
    return [this.simple, this.simple];
  }
  remote_putCache(cache: unknown) {
    return cache === this.simple;
  }
  remote_getComplex() {
    return this.complex;
  }
  remote_setFoo4() {
    this.complex.setFoo4();
  }
  remote_cacheState() {
    return new Map<string, unknown>([
      ["remotelyCached", this.broker.remotelyCachedCount],
      ["observerIsNone", this.complex.observer === null],
      ["stopped", this.complex.stopped],
    ]);
  }
  // test_newStyleCache (CachedReturner); the peer's Cacheable arrives as our NewStyleCacheCopy
  remote_giveMeCache(st: NewStyleCacheCopy) {
    this.given.push([st.constructor.name, st.s]);
    return this.orig;
  }
  remote_given() {
    return this.given;
  }
  remote_collect() {
    gc!();
  }
  // PagingTests (Pagerizer, FilePagerizer)
  remote_getPages(collector: RemoteReference, size: number, withCallback: boolean) {
    new StringPager(collector, pattern(size), 8192, withCallback ? () => this.pagerDone.push("string") : undefined);
  }
  remote_getFilePages(collector: RemoteReference, path: string, withCallback: boolean) {
    this.filePager = filePager(collector, path, withCallback ? () => this.pagerDone.push("file") : undefined);
  }
  remote_pagerDone() {
    return this.pagerDone;
  }
  // test_publishable (GetPublisher)
  remote_getPub() {
    return PUB;
  }
  // typed interfaces
  remote_calc() {
    return this.calc;
  }
  remote_takePoint(p: RemoteTypedPoint) {
    return p.x + p.y;
  }
}

const perConnection: PBRoot = {
  rootObject(broker: Broker) {
    const root = new CacheServerRoot(broker, serverRoots.length);
    serverRoots.push(root);
    return root;
  },
};

async function runCacheClient(port: number, scenario: string, extra: Record<string, unknown> = {}, timeoutMs = 20_000): Promise<Map<string, unknown>> {
  const proc = spawnPeer(`cache-client(${scenario})`, "cache-client", ["-"]);
  proc.child.stdin.end(`${JSON.stringify({ port, scenario, timeout: Math.floor(timeoutMs / 1000) - 2, ...extra })}\n`);
  try {
    const end = await proc.waitFor((e: PyEvent) => e.event === "done" || e.event === "crash", timeoutMs, "the end of the scenario");
    if (end.event === "crash") throw new Error(`cache_client ${scenario} failed: ${String(end.text)}${proc.diagnostics()}`);
    return new Map(proc.eventsOf("result").map((e) => [e.name as string, e.value]));
  } finally {
    await proc.stop();
  }
}

describe("Twisted client (interop/peer.py cache-client) -> our server holding the Cacheables", () => {
  let server: PBServer;
  const logs: LogEntry[] = [];

  beforeAll(async () => {
    server = await PBServer.listen({ host: HOST, port: 0 }, { root: perConnection, log: (e) => logs.push(e) });
    servers.push(server);
  });

  const lastRoot = () => serverRoots[serverRoots.length - 1];

  it("mirrors test_pb.py BrokerTests.test_cache: borg copies, observer update, lcache, decache per copy after gc.collect(), stoppedObserving calling observe_end, uncache", async () => {
    const r = await runCacheClient(server.port, "test_cache");
    expect(r.get("complexState")).toEqual(["RatherBaroqueCache", 1, 2, 3]);
    // Twisted hands out a borg copy per occurrence: different objects, one state.
    expect(r.get("complexSharesState")).toEqual([false, true]);
    expect(r.get("foo")).toBe(4);
    expect(r.get("simpleState")).toEqual(["SimpleLocalCache", 1, { Hello: "World" }, ["test"]]);
    expect(r.get("identity")).toEqual([true, true, true, true]);
    expect(r.get("putCache")).toBe(true);
    const before = r.get("locallyCachedBefore") as number[];
    expect(before).toHaveLength(2);
    expect(r.get("locallyCachedAfter")).toEqual([]);
    // Our server uncached both only once Twisted's decaches (3 + 2) brought the counts to 0.
    expect(r.get("serverState")).toEqual({ remotelyCached: 0, observerIsNone: true, stopped: [true] });
    expect(r.get("ends")).toEqual([before[1]]);
    const root = lastRoot();
    expect(root.complex.stopped).toEqual([true]);
    expect(root.broker.remotelyCachedCount).toBe(0);
  });

  it("mirrors test_pb.py NewStyleCachedTests.test_newStyleCache: retrieved and re-retrieved; Twisted's own Cacheable cached by us and decached after our GC", async () => {
    const r = await runCacheClient(server.port, "test_newStyleCache");
    expect(r.get("first")).toEqual([true, "value", false]);
    expect(r.get("again")).toEqual([true, "value", false, true]);
    expect(r.get("given")).toEqual([
      ["NewStyleCacheCopy", "value"],
      ["NewStyleCacheCopy", "value"],
    ]);
    expect(r.get("ownedBefore")).toBe(1);
    expect(r.get("ownedAfter")).toBe(0);
  });

  it("calls stoppedObserving when a Twisted client disconnects (pb.Broker.connectionLost; test_pb.py has no test of its own for it)", async () => {
    const r = await runCacheClient(server.port, "disconnect");
    expect(r.get("foo")).toBe(3);
    const root = serverRoots[r.get("conn") as number];
    await until(() => root.broker.isDisconnected, 5000, "our side of the disconnect");
    expect(root.complex.stopped).toEqual([false]);
    expect(root.broker.remotelyCachedCount).toBe(0);
  });

  it("mirrors test_pb.py PagingTests (test_pagingWithCallback, test_pagingWithoutCallback, test_emptyFilePaging, test_filePagingWithCallback, test_filePagingWithoutCallback): our StringPager and filePager to Twisted's getAllPages", async () => {
    const empty = join(tmp.path, "srv-empty.bin");
    const data = join(tmp.path, "srv-data.bin");
    writeFileSync(empty, new Uint8Array(0));
    writeFileSync(data, pattern(100_000));
    const r = await runCacheClient(server.port, "paging", { files: { empty, data } });
    expect(r.get("stringWithCallback")).toEqual([Math.ceil(BIG / 8192), true]);
    expect(r.get("stringWithoutCallback")).toEqual([Math.ceil(BIG / 8192), true]);
    expect(r.get("emptyFile")).toEqual([0, 0, true]);
    expect(r.get("fileWithCallback")).toEqual([Math.ceil(100_000 / 16384), 100_000, true]);
    expect(r.get("fileWithoutCallback")).toEqual([Math.ceil(100_000 / 16384), 100_000, true]);
    // The callbacks ran once each, for the pagers given one.
    expect(r.get("callbacks")).toEqual(["string", "file"]);
    // As FilePager's chunks: nothing kept once the file is sent.
    expect(lastRoot().filePager!["buffered"]).toEqual([]);
  });

  it("mirrors test_pb.py BrokerTests.test_publishable: Twisted's RemotePublished fetches our state, then loads it clean from its .pub file", async () => {
    const dir = join(tmp.path, "py-pub");
    mkdirSync(dir, { recursive: true });
    const r = await runCacheClient(server.port, "publishable", { dir });
    expect(r.get("first")).toEqual({
      class: "DumbPub",
      activateCalled: 1,
      isActivated: 1,
      yayIGotPublished: 1,
      wasCleanWhenLoaded: 0,
      fileName: "None-None-TESTING.pub",
      fileExists: true,
    });
    expect(r.get("second")).toEqual({ activateCalled: 1, yayIGotPublished: 1, wasCleanWhenLoaded: 1 });
  });

  it("typedReferenceable (no test_pb.py counterpart): a Twisted client sending wrong argument types gets a failure it can trap(pb.Error); a stateSchema refuses a bad Copyable argument", async () => {
    const r = await runCacheClient(server.port, "typed");
    const ok = (label: string) => {
      const o = r.get(label) as { ok: boolean; value: unknown };
      expect(o, label).toMatchObject({ ok: true });
      return canonicalDesc(o.value as never);
    };
    const refused = (label: string) => {
      const o = r.get(label) as { ok: boolean; failure: { type: string; value: string }; trapped: string | null };
      expect(o, label).toMatchObject({ ok: false, trapped: "twisted.spread.pb.Error" });
      expect(o.failure.type).toBe("twisted.spread.pb.Error");
      return o.failure.value;
    };
    expect(ok("add")).toEqual(desc(5));
    expect(ok("addFloat")).toEqual(desc(2.5));
    expect(ok("greet")).toEqual(desc("hello bob"));
    expect(ok("greetKw")).toEqual(desc("yo bob"));
    expect(ok("stats")).toEqual(desc(new Map<string, unknown>([["n", 3], ["mean", 2]])));
    expect(refused("addText")).toBe("Calculator.add: arguments at [0]: Invalid input: expected number, received string");
    expect(refused("addOneArg")).toMatch(/^Calculator\.add: arguments at /);
    expect(refused("addThreeArgs")).toMatch(/^Calculator\.add: arguments at /);
    expect(refused("addUnknownKw")).toBe("Calculator.add: unexpected keyword argument 'z'");
    expect(refused("greetBytes")).toMatch(/^Calculator\.greet: arguments at \[0\]: /);
    expect(refused("greetBadKw")).toMatch(/^Calculator\.greet: keyword arguments at \.greeting: /);
    expect(refused("statsBadItem")).toMatch(/^Calculator\.stats: arguments at \[0\]\[1\]: /);
    expect(refused("statsDict")).toMatch(/^Calculator\.stats: arguments at \[0\]: /);
    expect(ok("goodPoint")).toEqual(desc(3));
    expect(RemoteTypedPoint.seen).toBeGreaterThan(0);
    // The schema refused the state before any code of ours saw it; the failure is a pb.Error too.
    const seen = RemoteTypedPoint.seen;
    expect(refused("badPoint")).toBe("RemoteTypedPoint.setCopyableState: state at .y: Invalid input: expected number, received string");
    expect(RemoteTypedPoint.seen).toBe(seen);
    expect(ok("stillConnected")).toEqual(desc(9));
  });
});
