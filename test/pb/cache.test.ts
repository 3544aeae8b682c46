import { describe, expect, it } from "vitest";
import { Cacheable, RemoteCache, RemoteCacheObserver, Root, copyRegistry, type RemoteReference } from "../../src/pb/index.ts";
import { UnjellyableRegistry } from "../../src/jelly/index.ts";
import { pair, tick } from "./support.ts";

class Counter extends Cacheable {
  static pythonType = "__main__.Counter";
  value = 0;
  observers: RemoteCacheObserver[] = [];
  stopped: RemoteCacheObserver[] = [];
  override getStateToCacheAndObserveFor(_p: unknown, observer: RemoteCacheObserver) {
    this.observers.push(observer);
    return { value: this.value };
  }
  override stoppedObserving(_p: unknown, observer: RemoteCacheObserver) {
    this.stopped.push(observer);
    this.observers = this.observers.filter((o) => o !== observer);
  }
  set(v: number) {
    this.value = v;
    return Promise.all(this.observers.map((o) => o.callRemote("set", v)));
  }
}

class RemoteCounter extends RemoteCache {
  value!: number;
  updates = 0;
  observe_set(v: number) {
    this.value = v;
    this.updates++;
  }
}

class CounterRoot extends Root {
  counter = new Counter();
  remote_getCounter() {
    return this.counter;
  }
  remote_twice() {
    return [this.counter, this.counter];
  }
  remote_isCounter(c: unknown) {
    return c === this.counter;
  }
}

const registry = new UnjellyableRegistry(copyRegistry).setUnjellyableForClass("__main__.Counter", RemoteCounter);

describe("Cacheable / RemoteCache", () => {
  it("sends the state once, then [cached, luid], keeping one object on the receiving side (B10)", async () => {
    const root = new CounterRoot();
    const p = await pair(root, {}, { registry });
    const r = p.client.remoteForName("root");
    const first = (await r.callRemote("getCounter")) as RemoteCounter;
    expect(first).toBeInstanceOf(RemoteCounter);
    expect(first.value).toBe(0);
    expect(p.writes.at(-1)).toBe(
      "S->C 03 80 1b 87 01 81 03 80 10 82 5f 5f 6d 61 69 6e 5f 5f 2e 43 6f 75 6e 74 65 72 01 81 02 80 05 87 02 80 02 80 07 82 75 6e 69 63 6f 64 65 05 82 76 61 6c 75 65 00 81",
    );
    const second = await r.callRemote("getCounter");
    expect(p.writes.at(-1)).toBe("S->C 03 80 1b 87 02 81 02 80 0f 87 01 81");
    expect(second).toBe(first);
    expect(root.counter.observers).toHaveLength(1);
  });

  it("keeps copies in sync through cachemessage and observe_ methods (B11)", async () => {
    const root = new CounterRoot();
    const p = await pair(root, {}, { registry });
    const copy = (await p.client.remoteForName("root").callRemote("getCounter")) as RemoteCounter;
    await root.counter.set(42);
    expect(copy.value).toBe(42);
    expect(copy.updates).toBe(1);
    expect(p.writes.at(-2)).toBe("S->C 07 80 19 87 01 81 01 81 03 82 73 65 74 01 81 02 80 0b 87 2a 81 01 80 05 87");
    expect(p.writes.at(-1)).toBe("C->S 03 80 1b 87 01 81 01 80 01 87");
  });

  it("repeats inside the first message are dereferences; later repeats count one reference each", async () => {
    const root = new CounterRoot();
    const p = await pair(root, {}, { registry });
    const r = p.client.remoteForName("root");
    const [a, b] = (await r.callRemote("twice")) as RemoteCounter[];
    expect(a).toBe(b);
    expect(p.writes.at(-1)).toContain("03 87 01 81");
    const [c, d] = (await r.callRemote("twice")) as RemoteCounter[];
    expect(c).toBe(a);
    expect(d).toBe(a);
    expect(p.writes.at(-1)).toBe("S->C 03 80 1b 87 02 81 03 80 08 87 02 80 0f 87 01 81 02 80 0f 87 01 81");
    // 1 (first message) + 2 (second): three decaches when the copy goes.
    a.release();
    await tick();
    expect(p.writes.filter((w) => w === "C->S 02 80 1e 87 01 81")).toHaveLength(3);
    expect(p.writes.at(-1)).toBe("S->C 02 80 1f 87 01 81");
    expect(root.counter.stopped).toHaveLength(1);
    expect(p.server.remotelyCachedCount).toBe(0);
    expect(p.client.locallyCachedCount).toBe(0);
  });

  it("sends a copy back as [lcache, luid], arriving as the original Cacheable", async () => {
    const root = new CounterRoot();
    const p = await pair(root, {}, { registry });
    const r = p.client.remoteForName("root");
    const copy = await r.callRemote("getCounter");
    expect(await r.callRemote("isCounter", copy)).toBe(true);
    expect(p.writes.at(-2)).toContain("02 80 12 87 01 81");
  });

  it("calls stoppedObserving for every cached object when the connection drops, and refuses observer calls after uncache", async () => {
    const root = new CounterRoot();
    const p = await pair(root, {}, { registry });
    const copy = (await p.client.remoteForName("root").callRemote("getCounter")) as RemoteCounter;
    const observer = root.counter.observers[0];
    copy.release();
    await tick();
    await expect(observer.callRemote("set", 1)).rejects.toThrow("hasn't been given to the peer yet");
    const again = (await p.client.remoteForName("root").callRemote("getCounter")) as RemoteCounter;
    expect(again.value).toBe(0);
    p.close();
    await tick();
    expect(root.counter.stopped).toHaveLength(2);
  });

  it("sends the decaches when the copy is garbage collected", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error("run with --expose-gc");
    const root = new CounterRoot();
    const p = await pair(root, {}, { registry });
    await (async () => {
      await p.client.remoteForName("root").callRemote("getCounter");
    })();
    for (let i = 0; i < 10 && p.server.remotelyCachedCount > 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(p.writes).toContain("C->S 02 80 1e 87 01 81");
    expect(p.server.remotelyCachedCount).toBe(0);
    expect(root.counter.stopped).toHaveLength(1);
  });

  it("sends the decref when a RemoteReference is garbage collected", async () => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    class R extends Root {
      remote_thing() {
        return new (class extends Root {})();
      }
    }
    const p = await pair(new R());
    await (async () => {
      const t = (await p.client.remoteForName("root").callRemote("thing")) as RemoteReference;
      expect(t.luid).toBe(1);
    })();
    for (let i = 0; i < 10 && p.server.localObjectCount > 1; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(p.writes).toContain("C->S 02 80 1d 87 01 81");
    expect(p.server.localObjectCount).toBe(1);
  });
});
