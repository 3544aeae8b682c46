// A broker makes its tables (references, caches, views, pending calls) at their first use, not
// per connection: most connections (a login server's) never use most of them. These pin down that
// a fresh broker holds none of the unused ones, and that each one still works when it is first
// needed, on either side, and that a connection that never made them closes cleanly.
import { describe, expect, it } from "vitest";
import { Cacheable, CallTimeout, RemoteCache, Referenceable, Root, Viewable, copyRegistry, type Broker, type RemoteCacheObserver, type RemoteReference } from "../../src/pb/index.ts";
import { UnjellyableRegistry } from "../../src/jelly/index.ts";
import { getAllPages, joinPages, StringPager } from "../../src/pb/index.ts";
import { pair, tick } from "./support.ts";

class Counter extends Cacheable {
  static pythonType = "__main__.LazyCounter";
  observers: RemoteCacheObserver[] = [];
  override getStateToCacheAndObserveFor(_p: unknown, observer: RemoteCacheObserver) {
    this.observers.push(observer);
    return { value: 1 };
  }
}
class RemoteCounter extends RemoteCache {
  value!: number;
  observe_set(v: number) {
    this.value = v;
  }
}
const registry = new UnjellyableRegistry(copyRegistry).setUnjellyableForClass("__main__.LazyCounter", RemoteCounter);

class Board extends Viewable {
  view_who(perspective: unknown) {
    return perspective === null ? "nobody" : "someone";
  }
}

class Callback extends Referenceable {
  remote_hello() {
    return "hi";
  }
  remote_slow() {
    return new Promise((r) => setTimeout(() => r("late"), 80));
  }
}

class LazyRoot extends Root {
  counter = new Counter();
  board = new Board();
  callback: RemoteReference | null = null;
  remote_counter() {
    return this.counter;
  }
  remote_board() {
    return this.board;
  }
  remote_take(ref: RemoteReference) {
    this.callback = ref;
  }
  remote_echo(x: unknown) {
    return x;
  }
}

/** The tables' internal state: null while unmade. */
function tables(b: Broker) {
  const x = b as unknown as {
    references: { objectsMade: unknown; luidsMade: unknown; cleanups: unknown };
    sentCachesMade: { objectsMade: unknown; luidsMade: unknown } | null;
    receivedCachesMade: { entriesMade: unknown } | null;
    pagersMade: unknown;
    disconnects: unknown;
    viewPoints: unknown;
    pending: { waitingMade: unknown; abandonedMade: unknown };
  };
  return {
    references: x.references.objectsMade !== null,
    referenceIds: x.references.luidsMade !== null,
    cleanups: x.references.cleanups !== null,
    sentCaches: x.sentCachesMade !== null,
    sentCacheEntries: x.sentCachesMade !== null && (x.sentCachesMade.objectsMade !== null || x.sentCachesMade.luidsMade !== null),
    receivedCaches: x.receivedCachesMade !== null,
    receivedCacheEntries: x.receivedCachesMade?.entriesMade != null,
    pagers: x.pagersMade !== null,
    disconnectNotifiers: x.disconnects !== null,
    viewPoints: x.viewPoints !== null,
    pending: x.pending.waitingMade !== null,
    abandoned: x.pending.abandonedMade !== null,
  };
}

const none = {
  references: false,
  referenceIds: false,
  cleanups: false,
  sentCaches: false,
  sentCacheEntries: false,
  receivedCaches: false,
  receivedCacheEntries: false,
  pagers: false,
  disconnectNotifiers: false,
  viewPoints: false,
  pending: false,
  abandoned: false,
};

describe("broker tables made on first use", () => {
  it("a fresh connection holds only what it used: the server its root's entry, neither side a cache, view or pending table", async () => {
    const p = await pair(new LazyRoot());
    expect(tables(p.client)).toEqual(none);
    expect(tables(p.server)).toEqual({ ...none, references: true });
    for (const b of [p.client, p.server]) {
      expect(b.pendingCallCount).toBe(0);
      expect(b.remotelyCachedCount).toBe(0);
      expect(b.locallyCachedCount).toBe(0);
    }
    expect(p.client.localObjectCount).toBe(0);
    expect(p.server.localObjectCount).toBe(1);
    // An unmade table answers lookups: a call to an object id nobody registered is refused as before.
    await expect(p.server.remoteForName("root").callRemote("echo", 1)).rejects.toThrow(/Invalid Object ID/);
    p.close();
  });

  it("each table works from its first use: calls both ways, references, a Cacheable, a Viewable", async () => {
    const root = new LazyRoot();
    const p = await pair(root, {}, { registry });
    const r = p.client.remoteForName("root");
    expect(await r.callRemote("echo", 5)).toBe(5);
    expect(tables(p.client).pending).toBe(true);
    expect(p.client.pendingCallCount).toBe(0);
    // The client's first registered object, then the server's first call.
    await r.callRemote("take", new Callback());
    expect(p.client.localObjectCount).toBe(1);
    expect(await root.callback!.callRemote("hello")).toBe("hi");
    expect(tables(p.server).pending).toBe(true);
    // The first Cacheable: the owner's table and the holder's.
    const copy = (await r.callRemote("counter")) as RemoteCounter;
    expect(copy).toBeInstanceOf(RemoteCounter);
    expect(copy.value).toBe(1);
    expect(p.server.remotelyCachedCount).toBe(1);
    expect(p.client.locallyCachedCount).toBe(1);
    expect(tables(p.server).sentCacheEntries).toBe(true);
    expect(tables(p.client).receivedCacheEntries).toBe(true);
    await root.counter.observers[0].callRemote("set", 9);
    expect(copy.value).toBe(9);
    // The first Viewable, twice: one ViewPoint, so one luid.
    const view = (await r.callRemote("board")) as RemoteReference;
    const again = (await r.callRemote("board")) as RemoteReference;
    expect(again.luid).toBe(view.luid);
    expect(await view.callRemote("who")).toBe("nobody");
    expect(tables(p.server).viewPoints).toBe(true);
    p.close();
  });

  it("the first pager of a connection makes the scheduler and sends every page; a disconnect notifier added and removed leaves none", async () => {
    class Pages extends Root {
      remote_pages(collector: RemoteReference) {
        new StringPager(collector, new Uint8Array(20_000).fill(7), 8192);
        return null;
      }
    }
    const p = await pair(new Pages());
    expect(tables(p.server).pagers).toBe(false);
    expect(p.server.activePagerCount).toBe(0);
    const got = await getAllPages(p.client.remoteForName("root"), "pages");
    expect(got).toHaveLength(3);
    expect(joinPages(got)).toEqual(new Uint8Array(20_000).fill(7));
    expect(tables(p.server).pagers).toBe(true);
    expect(p.server.activePagerCount).toBe(0);
    const notify = () => {};
    p.client.notifyOnDisconnect(notify);
    p.client.dontNotifyOnDisconnect(notify);
    let told = 0;
    p.server.notifyOnDisconnect(() => told++);
    p.close();
    await tick();
    expect(told).toBe(1);
  });

  it("the first call given up on: its late answer is recognised and dropped, not a protocol error", async () => {
    const root = new LazyRoot();
    const p = await pair(root);
    await p.client.remoteForName("root").callRemote("take", new Callback());
    const late = root.callback!.call("slow", { timeout: 20 });
    await expect(late).rejects.toBeInstanceOf(CallTimeout);
    expect(tables(p.server).abandoned).toBe(true);
    await new Promise((r) => setTimeout(r, 120));
    expect(p.server.isDisconnected).toBe(false);
    expect(await root.callback!.callRemote("hello")).toBe("hi");
    p.close();
  });

  it("a connection that never made its tables closes cleanly, and still fails a call made after with the stale-broker error", async () => {
    const p = await pair(new LazyRoot());
    p.close();
    await tick();
    expect(p.client.isDisconnected).toBe(true);
    expect(await p.client.closed).toBeUndefined();
    expect(tables(p.client)).toEqual(none);
    await expect(p.client.remoteForName("root").callRemote("echo", 1)).rejects.toThrow(/Stale Broker/);
  });
});
