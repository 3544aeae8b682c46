// A RemoteReference (or a cached copy's facade) the garbage collector takes sends its decref (or
// decaches); watching for that must not keep the connection's objects alive once it is gone. V8 holds a FinalizationRegistry's targets
// through young-generation collections, so a registered reference that pointed at its broker kept
// every closed connection (socket, buffers, tables) alive until the next full collection.
import { describe, expect, it, vi } from "vitest";
import { UnjellyableRegistry } from "../../src/jelly/index.ts";
import { Broker, Cacheable, connectInMemory, copyRegistry, Referenceable, RemoteCache, RemoteReference, Root } from "../../src/pb/index.ts";

type Gc = (options?: { type: "minor" | "major" }) => void;
const gc = (globalThis as { gc?: Gc }).gc;

class Thing extends Referenceable {}
class Things extends Root {
  remote_thing() {
    return new Thing();
  }
}

class Board extends Cacheable {
  static pythonType = "test.Board";
  override getStateToCacheAndObserveFor() {
    return { score: 1 };
  }
}
class BoardCopy extends RemoteCache {}
class Boards extends Root {
  remote_board() {
    return new Board();
  }
}
const boards = new UnjellyableRegistry(copyRegistry).setUnjellyableForClass("test.Board", BoardCopy);

/** One connection that receives a counted reference (or a cached copy), made heavy by 64 KiB of its own, then closed. */
async function connectionWithReference(kept: object[], what: "reference" | "cache" = "reference"): Promise<void> {
  const server = new Broker({ role: "listener", root: what === "cache" ? new Boards() : new Things() });
  const client = new Broker({ role: "initiator", registry: boards });
  const conn = connectInMemory(client, server);
  await client.ready;
  const thing = (await client.remoteForName("root").callRemote(what === "cache" ? "board" : "thing")) as object;
  if (what === "cache") expect(thing).toBeInstanceOf(BoardCopy);
  else expect((thing as RemoteReference).doRefCount).toBe(true);
  (client as unknown as { ballast: number[] }).ballast = new Array<number>(8192).fill(1.5);
  conn.close();
  await client.closed;
  kept.push(thing);
  // A real connection spans turns of the event loop; this one would not. (A WeakRef's target, as a
  // cached copy's facade is held, stays alive until the turn that made the WeakRef ends.)
  await new Promise((r) => setTimeout(r, 0));
}

describe("the collection watches (a RemoteReference's decref, a cached copy's decaches)", () => {
  for (const what of ["reference", "cache"] as const) {
    it(`lets young collections free a closed connection whose ${what === "cache" ? "cached copies" : "references"} are gone`, async () => {
      if (!gc) throw new Error("run with --expose-gc");
      for (let i = 0; i < 20; i++) await connectionWithReference([], what);
      gc();
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 200; i++) await connectionWithReference([], what);
      for (let i = 0; i < 3; i++) gc({ type: "minor" });
      const grown = process.memoryUsage().heapUsed - before;
      // 200 connections of more than 64 KiB each: retained, they would be 13 MiB or more.
      expect(grown).toBeLessThan(4 * 1024 * 1024);
    });
  }

  it("still sends the decref of a reference collected while connected, and nothing once disconnected", async () => {
    if (!gc) throw new Error("run with --expose-gc");
    const server = new Broker({ role: "listener", root: new Things() });
    const client = new Broker({ role: "initiator" });
    const writes: string[] = [];
    const conn = connectInMemory(client, server, (from, d) => from === "a" && writes.push(Buffer.from(d).toString("hex")));
    await client.ready;
    await (async () => {
      await client.remoteForName("root").callRemote("thing");
    })();
    for (let i = 0; i < 10 && server.localObjectCount > 1; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(server.localObjectCount).toBe(1);
    expect(writes.filter((w) => w.includes("801d87"))).toHaveLength(1);
    // A reference still held at the disconnect, collected afterwards, sends nothing.
    let late: RemoteReference | null = (await client.remoteForName("root").callRemote("thing")) as RemoteReference;
    const decrefs = vi.spyOn(client, "sendDecRef");
    conn.close();
    await client.closed;
    expect(late.doRefCount).toBe(true);
    late = null;
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(decrefs).not.toHaveBeenCalled();
  });
});
