import { describe, expect, it } from "vitest";
import { encode } from "../../src/banana/index.ts";
import {
  AttributeError, Avatar, CallAbandoned, CopiedFailure, Copyable, DeadReferenceError, kwargs, Kwargs, PBConnectionLost, PBError,
  Referenceable, RemoteCopy, RemoteReference, Root, Viewable, AsReferenceable, copyRegistry,
} from "../../src/pb/index.ts";
import { tuple, Tuple, UnjellyableRegistry } from "../../src/jelly/index.ts";
import { hex, pair, rawBroker, tick } from "./support.ts";

const unhex = (h: string) => Uint8Array.from(h.replace(/\s+/g, "").match(/../g) ?? [], (x) => parseInt(x, 16));

class Thing extends Referenceable {
  remote_hello(x: unknown) {
    return x;
  }
}

class Point extends Copyable {
  static pythonType = "__main__.Point";
  constructor(
    public x = 0,
    public y = 0,
  ) {
    super();
  }
}
class RemotePoint extends RemoteCopy {
  x!: number;
  y!: number;
}

class MyError extends PBError {
  static override pythonType = "app.MyError";
}

class TestRoot extends Root {
  thing = new Thing();
  notes: unknown[] = [];
  remote_echo(...a: unknown[]) {
    return tuple(...a);
  }
  remote_add(a: number, b: number) {
    return a + b;
  }
  remote_kw(a: unknown, kw?: Kwargs) {
    return tuple(a, kw ?? null);
  }
  remote_fail() {
    throw new RangeError("bad value");
  }
  async remote_failLater() {
    throw new MyError("later");
  }
  remote_getThing() {
    return this.thing;
  }
  remote_isThing(t: unknown) {
    return t === this.thing;
  }
  remote_note(x: unknown) {
    this.notes.push(x);
  }
  remote_getPoint() {
    return new Point(1, 2);
  }
  remote_slow() {
    return new Promise((r) => setTimeout(() => r("done"), 50));
  }
  remote_many(n: number) {
    return Array.from({ length: n }, () => new Thing());
  }
}

describe("broker: calls", () => {
  it("speaks Twisted's bytes for negotiation, version and a call (wire-examples B1, B2)", async () => {
    const p = await pair(new TestRoot());
    const root = p.client.remoteForName("root");
    expect(await root.callRemote("echo", 1, "hi", 2.5, null, true)).toEqual(tuple(1, "hi", 2.5, null, true));
    expect(p.writes.slice(0, 6)).toEqual([
      "S->C 02 80 02 82 70 62 04 82 6e 6f 6e 65",
      "C->S 02 82 70 62",
      "C->S 02 80 13 87 06 81",
      "S->C 02 80 13 87 06 81",
      "C->S 07 80 1a 87 01 81 04 82 72 6f 6f 74 04 82 65 63 68 6f 01 81 06 80 0b 87 01 81 02 80 07 82 75 6e 69 63 6f 64 65 02 82 68 69 84 40 04 00 00 00 00 00 00 01 80 01 87 02 80 07 82 62 6f 6f 6c 65 61 6e 04 82 74 72 75 65 01 80 05 87",
      "S->C 03 80 1b 87 01 81 06 80 0b 87 01 81 02 80 07 82 75 6e 69 63 6f 64 65 02 82 68 69 84 40 04 00 00 00 00 00 00 01 80 01 87 02 80 07 82 62 6f 6f 6c 65 61 6e 04 82 74 72 75 65",
    ]);
  });

  it("sends keyword arguments as a dictionary of unicode keys and delivers them as a trailing Kwargs", async () => {
    const p = await pair(new TestRoot());
    const root = p.client.remoteForName("root");
    const [a, kw] = (await root.callRemote("kw", 7, kwargs({ key: "v" }))) as Tuple<unknown>;
    expect(a).toBe(7);
    expect(kw).toEqual(new Map([["key", "v"]]));
    expect(p.writes.at(-2)).toBe(
      "C->S 07 80 1a 87 01 81 04 82 72 6f 6f 74 02 82 6b 77 01 81 02 80 0b 87 07 81 02 80 05 87 02 80 02 80 07 82 75 6e 69 63 6f 64 65 03 82 6b 65 79 02 80 07 82 75 6e 69 63 6f 64 65 01 82 76",
    );
    expect(await root.call("kw", { args: [1], kwargs: { z: 2 } })).toEqual(tuple(1, new Map([["z", 2]])));
  });

  it("sends pbanswer=False calls with answerRequired 0 and gets nothing back (B6)", async () => {
    const r = new TestRoot();
    const p = await pair(r);
    const root = p.client.remoteForName("root");
    expect(root.callRemoteNoAnswer("note", 5)).toBeUndefined();
    expect(root.callRemote("note", 6, kwargs({ pbanswer: false }))).toBeUndefined();
    await tick();
    expect(r.notes).toEqual([5, 6]);
    expect(p.writes.at(-2)).toBe("C->S 07 80 1a 87 01 81 04 82 72 6f 6f 74 04 82 6e 6f 74 65 00 81 02 80 0b 87 05 81 01 80 05 87");
    expect(p.writes.at(-1)?.startsWith("C->S")).toBe(true);
  });

  it("passes references both ways: remote, call on it, local back, decref on release (B7, B8)", async () => {
    const p = await pair(new TestRoot());
    const root = p.client.remoteForName("root");
    const thing = (await root.callRemote("getThing")) as RemoteReference;
    expect(thing).toBeInstanceOf(RemoteReference);
    expect(thing.luid).toBe(1);
    expect(await thing.callRemote("hello", new Uint8Array([120]))).toEqual(new Uint8Array([120]));
    expect(await root.callRemote("isThing", thing)).toBe(true);
    expect(p.server.localObjectCount).toBe(2);
    thing.release();
    thing.release();
    await tick();
    expect(p.writes.filter((w) => w === "C->S 02 80 1d 87 01 81")).toHaveLength(1);
    expect(p.server.localObjectCount).toBe(1);
  });

  it("counts one reference per occurrence, as Twisted", async () => {
    class R extends Root {
      t = new Thing();
      remote_two() {
        return [this.t, this.t];
      }
    }
    const p = await pair(new R());
    const [a, b] = (await p.client.remoteForName("root").callRemote("two")) as RemoteReference[];
    expect(a).not.toBe(b);
    expect(a.luid).toBe(b.luid);
    a.release();
    await tick();
    expect(p.server.localObjectCount).toBe(2);
    b.release();
    await tick();
    expect(p.server.localObjectCount).toBe(1);
  });

  it("copies Copyables into registered RemoteCopy classes (B9)", async () => {
    const registry = new UnjellyableRegistry(copyRegistry).setUnjellyableForClass("__main__.Point", RemotePoint);
    const p = await pair(new TestRoot(), {}, { registry });
    const point = await p.client.remoteForName("root").callRemote("getPoint");
    expect(point).toBeInstanceOf(RemotePoint);
    expect(point).toMatchObject({ x: 1, y: 2 });
    expect(p.writes.at(-1)).toBe(
      "S->C 03 80 1b 87 01 81 02 80 0e 82 5f 5f 6d 61 69 6e 5f 5f 2e 50 6f 69 6e 74 03 80 05 87 02 80 02 80 07 82 75 6e 69 63 6f 64 65 01 82 78 01 81 02 80 02 80 07 82 75 6e 69 63 6f 64 65 01 82 79 02 81",
    );
  });

  it("runs view_ methods with the perspective first, and perspective_ methods on avatars", async () => {
    class Board extends Viewable {
      view_who(perspective: unknown, x: unknown) {
        return tuple(perspective === avatar, x);
      }
    }
    const board = new Board();
    class User extends Avatar {
      perspective_board() {
        return board;
      }
      perspective_hi(name: string) {
        return `hi ${name}`;
      }
    }
    const avatar = new User();
    class R extends Root {
      remote_avatar() {
        return new AsReferenceable(avatar, "perspective");
      }
    }
    const p = await pair(new R());
    const av = (await p.client.remoteForName("root").callRemote("avatar")) as RemoteReference;
    expect(await av.callRemote("hi", "bob")).toBe("hi bob");
    const view = (await av.callRemote("board")) as RemoteReference;
    expect(await view.callRemote("who", 3)).toEqual(tuple(true, 3));
    const again = (await av.callRemote("board")) as RemoteReference;
    expect(again.luid).toBe(view.luid);
    const err = (await av.callRemote("missing").catch((e) => e)) as CopiedFailure;
    expect(err.type).toBe("builtins.AttributeError");
    expect(err.value).toBe("'User' object has no attribute 'perspective_missing'");
    expect(err.check(AttributeError)).toBe("builtins.AttributeError");
  });
});

describe("broker: failures", () => {
  it("sends a thrown error as a CopyableFailure Twisted can trap, with Twisted's key order", async () => {
    const p = await pair(new TestRoot());
    const root = p.client.remoteForName("root");
    const e = (await root.callRemote("fail").catch((x) => x)) as CopiedFailure;
    expect(e).toBeInstanceOf(CopiedFailure);
    expect(e.type).toBe("builtins.ValueError");
    expect(e.value).toBe("bad value");
    expect(e.parents).toEqual(["builtins.ValueError", "builtins.Exception", "builtins.BaseException", "builtins.object"]);
    expect(e.traceback).toBe("Traceback unavailable\n");
    expect([...e.state.keys()]).toEqual(["count", "type", "value", "captureVars", "frames", "stack", "tb", "parents", "unsafeTracebacks", "traceback"]);
    expect(e.trap("builtins.Exception")).toBe("builtins.Exception");
    expect(() => e.trap("builtins.KeyError")).toThrow(e);
  });

  it("marks failures of async methods as pickled and keeps pb.Error subclasses trappable", async () => {
    const logs: string[] = [];
    const p = await pair(new TestRoot(), { log: (l) => logs.push(l.message) });
    const e = (await p.client.remoteForName("root").callRemote("failLater").catch((x) => x)) as CopiedFailure;
    expect(e.type).toBe("app.MyError");
    expect(e.parents.slice(0, 2)).toEqual(["app.MyError", "twisted.spread.pb.Error"]);
    expect(e.state.get("pickled")).toBe(1);
    expect(e.check(PBError)).toBe("twisted.spread.pb.Error");
    expect(logs).toEqual([]);
    await p.client.remoteForName("root").callRemote("fail").catch(() => {});
    expect(logs).toContain("Peer will receive following PB traceback:");
  });

  it("answers unknown methods with NoSuchMethod (B5) and unknown objects with pb.Error", async () => {
    const p = await pair(new TestRoot());
    const e = (await p.client.remoteForName("root").callRemote("missing").catch((x) => x)) as CopiedFailure;
    expect(e.type).toBe("twisted.spread.flavors.NoSuchMethod");
    expect(e.value).toBe("No such method: remote_missing");
    expect(e.parents[1]).toBe("builtins.AttributeError");
    const ghost = new RemoteReference(null, p.client, 99, false);
    const g = (await ghost.callRemote("x").catch((x) => x)) as CopiedFailure;
    expect([g.type, g.value]).toEqual(["twisted.spread.pb.Error", "Invalid Object ID"]);
  });

  it("answers a call with the wrong number of arguments with Python's TypeError", async () => {
    const p = await pair(new TestRoot());
    const root = p.client.remoteForName("root");
    const tooMany = (await root.callRemote("add", 1, 2, 3).catch((x) => x)) as CopiedFailure;
    expect(tooMany.type).toBe("builtins.TypeError");
    // Worded as Python words it for `def remote_add(self, a, b)` on class TestRoot.
    expect(tooMany.value).toBe("TestRoot.remote_add() takes 3 positional arguments but 4 were given");
    const tooFew = (await root.callRemote("add", 1).catch((x) => x)) as CopiedFailure;
    expect(tooFew.value).toBe("TestRoot.remote_add() missing 1 required positional argument: 'b'");
    const none = (await root.callRemote("add").catch((x) => x)) as CopiedFailure;
    expect(none.value).toBe("TestRoot.remote_add() missing 2 required positional arguments: 'a' and 'b'");
    const kw = (await root.callRemote("add", 1, 2, kwargs({ c: 3 })).catch((x) => x)) as CopiedFailure;
    expect(kw.value).toBe("TestRoot.remote_add() got an unexpected keyword argument 'c'");
    const twice = (await root.callRemote("add", 1, kwargs({ a: 3 })).catch((x) => x)) as CopiedFailure;
    expect(twice.value).toBe("TestRoot.remote_add() got multiple values for argument 'a'");
    expect(await root.callRemote("add", 1, 2)).toBe(3);
  });

  it("places keyword arguments on the parameters they name, as Python does", async () => {
    const p = await pair(new TestRoot());
    const root = p.client.remoteForName("root");
    expect(await root.callRemote("add", 1, kwargs({ b: 2 }))).toBe(3);
    expect(await root.callRemote("add", kwargs({ b: 2, a: 5 }))).toBe(7);
    // Names the method does not have travel as a trailing Kwargs when there is room for one.
    expect(await root.callRemote("kw", 1, kwargs({ a2: 2 }))).toEqual(tuple(1, new Map([["a2", 2]])));
  });

  it("sends real tracebacks only with unsafeTracebacks", async () => {
    const p = await pair(new TestRoot(), { unsafeTracebacks: true });
    const e = (await p.client.remoteForName("root").callRemote("fail").catch((x) => x)) as CopiedFailure;
    expect(e.traceback).toMatch(/^Traceback \(most recent call last\):\nRangeError: bad value\n/);
    expect(e.state.get("unsafeTracebacks")).toBe(true);
  });

  it("answers a result that cannot be serialized with an error instead of dropping the connection", async () => {
    class R extends Root {
      remote_bad() {
        return () => 1;
      }
      remote_huge() {
        return 2n ** 500n;
      }
    }
    const p = await pair(new R());
    const root = p.client.remoteForName("root");
    expect(((await root.callRemote("bad").catch((x) => x)) as CopiedFailure).type).toBe("builtins.ValueError");
    expect(((await root.callRemote("huge").catch((x) => x)) as CopiedFailure).type).toBe("twisted.spread.banana.BananaError");
    expect(p.server.isDisconnected).toBe(false);
  });
});

describe("broker: giving up and disconnecting", () => {
  it("gives up locally on timeout or abort, and swallows the late answer", async () => {
    const p = await pair(new TestRoot());
    const root = p.client.remoteForName("root");
    await expect(root.call("slow", { timeout: 5 })).rejects.toBeInstanceOf(CallAbandoned);
    const ac = new AbortController();
    const pending = root.call("slow", { signal: ac.signal });
    ac.abort();
    await expect(pending).rejects.toBeInstanceOf(CallAbandoned);
    await new Promise((r) => setTimeout(r, 80));
    expect(p.client.isDisconnected).toBe(false);
    expect(p.client.pendingCallCount).toBe(0);
    expect(await root.callRemote("add", 2, 3)).toBe(5);
  });

  it("rejects pending calls with PBConnectionLost, later ones with DeadReferenceError, and notifies once", async () => {
    const p = await pair(new TestRoot());
    const root = p.client.remoteForName("root");
    const thing = (await root.callRemote("getThing")) as RemoteReference;
    const seen: string[] = [];
    const cb = () => seen.push("thing");
    thing.notifyOnDisconnect(cb);
    thing.notifyOnDisconnect(() => seen.push("second"));
    thing.dontNotifyOnDisconnect(cb);
    const slow = root.callRemote("slow");
    p.close();
    await expect(slow).rejects.toBeInstanceOf(PBConnectionLost);
    await expect(root.callRemote("add", 1, 2)).rejects.toBeInstanceOf(DeadReferenceError);
    expect(seen).toEqual(["second"]);
  });
});

describe("broker: hostile peers", () => {
  const serve = () => rawBroker({ role: "listener", root: new TestRoot() });
  const start = (b: ReturnType<typeof serve>) => {
    b.broker.dataReceived(unhex("02 82 70 62 02 80 13 87 06 81"));
  };

  it("answers calls that arrive pipelined before the peer's version", () => {
    const b = serve();
    b.broker.dataReceived(unhex("02 82 70 62"));
    b.broker.dataReceived(encode(["message", 1, "root", "add", 1, ["tuple", 2, 3], ["dictionary"]], { dialect: "pb" }));
    expect(hex(b.out.at(-1)!)).toBe("03 80 1b 87 01 81 05 81");
  });

  it("drops a peer with another version, with a clear error", async () => {
    const b = serve();
    b.broker.dataReceived(unhex("02 82 70 62 02 80 13 87 05 81"));
    expect(b.closed.value).toBe(true);
    expect(b.closed.reason?.message).toBe("Version Incompatibility: 6 5");
  });

  it.each([
    ["a non-list expression", "05 81", "Non-list expression received."],
    ["an answer to no request", "03 80 1b 87 09 81 01 81", "answer for unknown request 9"],
    ["a decref of an unknown luid", "02 80 1d 87 09 81", "decref for unknown object 9"],
    ["a message with the wrong number of fields", "03 80 1a 87 01 81 01 81", "message takes 6 arguments, got 2"],
    ["an unknown dialect", null, "didn't suggest"],
    ["garbage", "ff", "Invalid Type Byte 0xff"],
    ["a string over the limit", "01 00 28 82", "String too long"],
  ])("drops %s", (_name, bytes, message) => {
    const b = serve();
    if (bytes === null) b.broker.dataReceived(unhex("03 82 66 6f 6f"));
    else {
      start(b);
      b.broker.dataReceived(unhex(bytes));
    }
    expect(b.closed.value).toBe(true);
    expect(b.closed.reason?.message).toContain(message);
  });

  it("answers an unknown command with didNotUnderstand (Twisted 22.4 drops instead) and carries on", () => {
    const b = serve();
    start(b);
    b.broker.dataReceived(encode(["frobnicate", 1], { dialect: "pb" }));
    expect(b.closed.value).toBe(false);
    expect(b.out.at(-1)).toEqual(encode(["didNotUnderstand", "frobnicate"], { dialect: "pb" }));
  });

  it("answers a call whose arguments are insecure with an InsecureJelly failure", async () => {
    const b = serve();
    start(b);
    b.broker.dataReceived(encode(["message", 1, "root", "echo", 1, ["tuple", ["os.system", "x"]], ["dictionary"]], { dialect: "pb" }));
    expect(b.closed.value).toBe(false);
    const out = hex(b.out.at(-1)!);
    expect(out.startsWith("03 80 1c 87 01 81")).toBe(true);
    expect(Buffer.from(b.out.at(-1)!).toString("latin1")).toContain("twisted.spread.jelly.InsecureJelly");
  });

  it("enforces MAX_BROKER_REFS: 1024 luids, then pb.Error, then Goodbye on the 4th violation", async () => {
    const p = await pair(new TestRoot(), { limits: { maxBrokerRefs: 10 } });
    const root = p.client.remoteForName("root");
    const refs = (await root.callRemote("many", 10)) as RemoteReference[];
    expect(refs).toHaveLength(10);
    expect(p.server.localObjectCount).toBe(11);
    for (let i = 1; i <= 3; i++) {
      const e = (await root.callRemote("many", 1).catch((x) => x)) as CopiedFailure;
      expect([e.type, e.value]).toEqual(["twisted.spread.pb.Error", "Maximum PB reference count exceeded."]);
      expect(p.server.localObjectCount).toBe(11);
    }
    await root.callRemote("many", 1).catch(() => {});
    await tick();
    expect(p.server.isDisconnected).toBe(true);
  });

  it("rolls back references registered by a serialization that failed", async () => {
    class R extends Root {
      remote_half() {
        return [new Thing(), new Thing(), () => 0];
      }
    }
    const p = await pair(new R());
    await p.client.remoteForName("root").callRemote("half").catch(() => {});
    expect(p.server.localObjectCount).toBe(1);
  });
});
