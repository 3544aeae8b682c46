// Letting go of what the peer sent, one copy at a time as Twisted counts it; references that
// compare equal when they are the same remote object; `using` to let go at the end of a scope.
import { describe, expect, it } from "vitest";
import { UnjellyableRegistry } from "../../src/jelly/index.ts";
import { Cacheable, copyRegistry, Referenceable, RemoteCache, RemoteReference, type RemoteCacheObserver } from "../../src/pb/index.ts";
import { pair, tick, TakingRoot } from "./support.ts";

/** A [decache, luid] message (decache is banana vocabulary 30). */
const DECACHE = / 02 80 1e 87 [0-9a-f]{2} 81$/;

class Board extends Cacheable {
  static pythonType = "test.Board";
  score = 0;
  observers: RemoteCacheObserver[] = [];
  stopped = 0;
  override getStateToCacheAndObserveFor(_p: unknown, observer: RemoteCacheObserver) {
    this.observers.push(observer);
    return { score: this.score };
  }
  override stoppedObserving(_p: unknown, observer: RemoteCacheObserver) {
    this.stopped++;
    this.observers = this.observers.filter((o) => o !== observer);
  }
  score_(n: number) {
    this.score = n;
    return Promise.all(this.observers.map((o) => o.callRemote("score", n)));
  }
}

class BoardCopy extends RemoteCache {
  score!: number;
  observe_score(n: number) {
    this.score = n;
  }
}

const registry = new UnjellyableRegistry(copyRegistry).setUnjellyableForClass("test.Board", BoardCopy);

class Thing extends Referenceable {}

class GameRoot extends TakingRoot {
  board = new Board();
  thing = new Thing();
  other = new Thing();
  remote_board() {
    return this.board;
  }
  remote_thing() {
    return this.thing;
  }
  remote_other() {
    return this.other;
  }
}

/** `holder` receives `owner`'s Board through `fetch`; `direction` filters the wire log to the holder's writes. */
async function setup(role: "client" | "server") {
  const root = new GameRoot();
  const p = await pair(root, { registry }, { registry });
  if (role === "client") {
    const r = p.client.remoteForName("root");
    return { p, owner: root, fetch: (name: string) => r.callRemote(name), holderWrites: () => p.writes.filter((w) => w.startsWith("C->S")), holder: p.client, ownerBroker: p.server };
  }
  const mine = new GameRoot();
  await p.client.remoteForName("root").callRemote("take", mine);
  return { p, owner: mine, fetch: (name: string) => root.client!.callRemote(name), holderWrites: () => p.writes.filter((w) => w.startsWith("S->C")), holder: p.server, ownerBroker: p.client };
}

describe.each(["client", "server"] as const)("per-copy release of a cached object (%s holding)", (role) => {
  it("each receipt is a copy; releasing one sends one decache and the owner keeps observing the other", async () => {
    const { p, owner, fetch, holderWrites, holder, ownerBroker } = await setup(role);
    const first = (await fetch("board")) as BoardCopy;
    const second = (await fetch("board")) as BoardCopy;
    expect(first.copiesHeld).toBe(2);
    first.releaseCopy();
    await tick();
    expect(holderWrites().filter((w) => DECACHE.test(w))).toHaveLength(1);
    expect(ownerBroker.remotelyCachedCount).toBe(1);
    expect(owner.board.stopped).toBe(0);
    // Still observed: the update reaches the copy still held.
    await owner.board.score_(7);
    expect(second.score).toBe(7);
    second.releaseCopy();
    await tick();
    await tick();
    expect(holderWrites().filter((w) => DECACHE.test(w))).toHaveLength(2);
    expect(ownerBroker.remotelyCachedCount).toBe(0);
    expect(owner.board.stopped).toBe(1);
    expect(holder.locallyCachedCount).toBe(0);
    // Letting go again sends nothing more.
    second.releaseCopy();
    second.release();
    await tick();
    expect(holderWrites().filter((w) => DECACHE.test(w))).toHaveLength(2);
    p.close();
  });

  it("release() lets go of every copy; `using` lets go of one at the end of its scope", async () => {
    const { p, owner, fetch, holderWrites, ownerBroker } = await setup(role);
    const held = (await fetch("board")) as BoardCopy;
    {
      using scoped = (await fetch("board")) as BoardCopy;
      expect(scoped.copiesHeld).toBe(2);
    }
    await tick();
    expect(holderWrites().filter((w) => DECACHE.test(w))).toHaveLength(1);
    expect(owner.board.stopped).toBe(0);
    await fetch("board");
    await fetch("board");
    expect(held.copiesHeld).toBe(3);
    held.release();
    await tick();
    await tick();
    expect(holderWrites().filter((w) => DECACHE.test(w))).toHaveLength(4);
    expect(ownerBroker.remotelyCachedCount).toBe(0);
    p.close();
  });
});

describe.each(["client", "server"] as const)("RemoteReference equality and disposal (%s holding)", (role) => {
  it("two receipts of the same object are equal and share a Map key; others are not", async () => {
    const { p, fetch } = await setup(role);
    const a = (await fetch("thing")) as RemoteReference;
    const b = (await fetch("thing")) as RemoteReference;
    const c = (await fetch("other")) as RemoteReference;
    expect(a).not.toBe(b);
    expect(a.equals(b)).toBe(true);
    expect(a.key).toBe(b.key);
    expect(a.equals(c)).toBe(false);
    expect(a.key).not.toBe(c.key);
    const names = new Map([[a.key, "thing"]]);
    expect(names.get(b.key)).toBe("thing");
    // The same luid over another connection is another object.
    const q = await setup(role);
    const elsewhere = (await q.fetch("thing")) as RemoteReference;
    expect(elsewhere.luid).toBe(a.luid);
    expect(elsewhere.equals(a)).toBe(false);
    expect(elsewhere.key).not.toBe(a.key);
    p.close();
    q.p.close();
  });

  it("`using` and `await using` release the reference (one decref) at the end of the scope", async () => {
    const { p, fetch, holderWrites } = await setup(role);
    const before = holderWrites().length;
    {
      using ref = (await fetch("thing")) as RemoteReference;
      expect(ref.isReleased).toBe(false);
    }
    {
      await using ref = (await fetch("other")) as RemoteReference;
      expect(ref.isReleased).toBe(false);
    }
    await tick();
    // [decref, luid]: decref is banana vocabulary 29.
    const decrefs = holderWrites().slice(before).filter((w) => / 02 80 1d 87 [0-9a-f]{2} 81$/.test(w));
    expect(decrefs).toHaveLength(2);
    p.close();
  });

  it("Symbol.dispose and Symbol.asyncDispose are the well-known symbols", () => {
    expect(typeof Symbol.dispose).toBe("symbol");
    expect(typeof RemoteReference.prototype[Symbol.dispose]).toBe("function");
    expect(typeof RemoteReference.prototype[Symbol.asyncDispose]).toBe("function");
    expect(typeof RemoteCache.prototype[Symbol.dispose]).toBe("function");
  });
});
