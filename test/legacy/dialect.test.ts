// Per-connection peer dialect, in memory: lossless strings for Python 2 peers, the string mode
// followed per connection, and failures named and worded as the peer's Python does.
import { describe, expect, it } from "vitest";
import { decode, encode } from "../../src/banana/index.ts";
import { dumps, jelly, loads, PyUnicode, tuple, unjelly } from "../../src/jelly/index.ts";
import { AttributeError, CopiedFailure, kwargs, NoSuchMethod, PBError, pythonShownBy, Referenceable, Root, builtinExceptionMro, copyableFailureState, pythonTypeOf } from "../../src/pb/index.ts";
import { hex, pair } from "../pb/support.ts";

const unhex = (h: string) => Uint8Array.from(h.replace(/\s+/g, "").match(/../g) ?? [], (x) => parseInt(x, 16));
const utf8 = (s: string) => new TextEncoder().encode(s);

// The echo call of Twisted 16.6/18.9/20.3 (fixtures/versions DIFFERENCES.md, write #09).
const PY2_ECHO =
  "07 80 1a 87 03 81 02 81 04 82 65 63 68 6f 01 81 02 80 0b 87 0b 80 0b 87 01 81 02 82 68 69 02 80 07 82 75 6e 69 63 6f 64 65 03 82 68 c3 a9 03 82 72 61 77 84 40 04 00 00 00 00 00 00 01 80 01 87 02 80 07 82 62 6f 6f 6c 65 61 6e 04 82 74 72 75 65 02 80 08 87 01 81 02 80 0b 87 01 81 02 80 05 87 02 80 01 82 6b 01 81 02 80 05 87 02 80 03 82 6b 65 79 02 82 6b 77";

describe("bytes string mode is lossless", () => {
  it("a unicode from a Python 2 peer goes back as unicode, a str as a byte string (args and kwargs of Twisted 20.3's echo)", () => {
    const [msg] = decode(unhex(PY2_ECHO), { dialect: "pb" }) as unknown[][];
    for (const part of [msg[5], msg[6]]) {
      const value = unjelly(part as never, { strings: "bytes" });
      expect(hex(encode(jelly(value, { strings: "bytes" })))).toBe(hex(encode(part as never)));
      // What the issue saw: without the bytes mode on the way in, u"h\xe9" went back as a byte string.
      if (part === msg[5]) expect(hex(encode(jelly(unjelly(part as never), { strings: "bytes" })))).not.toBe(hex(encode(part as never)));
    }
    const args = (unjelly(msg[5] as never, { strings: "bytes" }) as unknown[][])[0];
    expect(args[2]).toEqual(new PyUnicode("h\u00e9"));
    expect(args[1]).toEqual(utf8("hi"));
  });

  it("dumps(loads(wire, bytes), bytes) gives the wire back, keys and nested values included", () => {
    const value = new Map<unknown, unknown>([
      [new PyUnicode("k\u00e9"), [new PyUnicode("x"), utf8("y"), tuple(new PyUnicode(""), utf8(""))]],
      [utf8("plain"), new Map([[new PyUnicode("inner"), new PyUnicode("h\u00e9")]])],
    ]);
    const wire = dumps(value, { strings: "bytes" });
    expect(dumps(loads(wire, { strings: "bytes" }), { strings: "bytes" })).toEqual(wire);
    // Text is text on the wire: ["unicode", "h\xc3\xa9"], not the byte string "h\xc3\xa9".
    expect(Buffer.from(wire).includes(Buffer.from("\x07\x82unicode\x03\x82h\xc3\xa9", "latin1"))).toBe(true);
  });

  it("js mode with bytesAsText: str is a JS string, unicode a PyUnicode, both go back as they came", () => {
    const wire = dumps(new Map<unknown, unknown>([["a", new PyUnicode("b")], [new PyUnicode("c"), "d"]]), { strings: "bytes" });
    const v = loads(wire, { strings: "bytes", mode: "js", bytesAsText: true }) as Map<unknown, unknown>;
    expect(v.get("a")).toEqual(new PyUnicode("b"));
    expect(dumps(v, { strings: "bytes" })).toEqual(wire);
  });
});

describe("what a peer's messages show of its Python", () => {
  it("keyword keys, instance state keys and failure type names", () => {
    const kw2 = ["message", 1, 1, "echo", 1, ["tuple"], ["dictionary", [utf8("key"), 1]]];
    const kw3 = ["message", 1, 1, "echo", 1, ["tuple"], ["dictionary", [["unicode", "key"], 1]]];
    expect(pythonShownBy(kw2 as never)).toBe(2);
    expect(pythonShownBy(kw3 as never)).toBe(3);
    expect(pythonShownBy(["message", 1, 1, "echo", 1, ["tuple", utf8("hi")], ["dictionary"]] as never)).toBe(null);
    expect(pythonShownBy(["answer", 5, ["__main__.Point", ["dictionary", [utf8("y"), 2]]]] as never)).toBe(2);
    expect(pythonShownBy(["answer", 5, ["__main__.Counter", 3, ["dictionary", [["unicode", "value"], 0]]]] as never)).toBe(3);
    // A dict whose value is a dict is not an instance: {b"name": {b"x": 1}} from Python 3 shows nothing.
    expect(pythonShownBy(["answer", 5, ["dictionary", [utf8("name"), ["dictionary", [utf8("x"), 1]]]]] as never)).toBe(null);
    const failure = (typeKey: unknown, type: string) => ["error", 3, ["twisted.spread.pb.CopyableFailure", ["dictionary", [typeKey, utf8(type)]]]];
    expect(pythonShownBy(failure(["unicode", "type"], "exceptions.ValueError") as never)).toBe(2);
    expect(pythonShownBy(failure(utf8("type"), "builtins.ValueError") as never)).toBe(3);
  });
});

describe("looking for the peer's Python is bounded", () => {
  it("a deep or wide message is looked into only so far, without recursion, and shows nothing", () => {
    let deep: unknown = ["dictionary", [utf8("k"), 1]];
    for (let i = 0; i < 200_000; i++) deep = ["list", deep];
    expect(pythonShownBy(["answer", 1, deep] as never)).toBe(null);
    const wide = ["list", ...Array.from({ length: 200_000 }, () => ["list", 1])];
    // The evidence at the end lies past the bound (10,000 expressions): not reached, so nothing shown.
    expect(pythonShownBy(["answer", 1, [...wide, ["x.Point", ["dictionary", [utf8("y"), 1]]]]] as never)).toBe(null);
    expect(pythonShownBy(["answer", 1, ["list", ["x.Point", ["dictionary", [utf8("y"), 1]]], ...wide]] as never)).toBe(2);
  });

  it("stops looking once settled: a fixed or shown Python is never changed by later messages", async () => {
    const { PeerDialect } = await import("../../src/pb/index.ts");
    const p = new PeerDialect("auto");
    p.observe(["message", 1, 1, "m", 1, ["tuple"], ["dictionary", [["unicode", "k"], 1]]] as never);
    expect([p.python, p.source]).toEqual([3, "shown"]);
    p.observe(["message", 2, 1, "m", 1, ["tuple"], ["dictionary", [utf8("k"), 1]]] as never);
    expect(p.python).toBe(3);
    p.assume(2);
    expect([p.python, p.source, p.strings]).toEqual([2, "fixed", "bytes"]);
  });
});

describe("failures named as the peer's Python names them", () => {
  it("built-ins: exceptions.* with StandardError on Python 2, builtins.* on Python 3", () => {
    expect(builtinExceptionMro("ValueError", 2)).toEqual(["exceptions.ValueError", "exceptions.StandardError", "exceptions.Exception", "exceptions.BaseException", "__builtin__.object"]);
    expect(builtinExceptionMro("ValueError", 3)).toEqual(["builtins.ValueError", "builtins.Exception", "builtins.BaseException", "builtins.object"]);
    expect(pythonTypeOf(new RangeError("x"), 2).type).toBe("exceptions.ValueError");
    expect(pythonTypeOf(new AttributeError("x"), 2).parents).toEqual(builtinExceptionMro("AttributeError", 2));
    expect(pythonTypeOf(new NoSuchMethod("x"), 2).parents).toEqual(["twisted.spread.flavors.NoSuchMethod", ...builtinExceptionMro("AttributeError", 2)]);
    expect(pythonTypeOf(new NoSuchMethod("x"), 3).parents).toEqual(["twisted.spread.flavors.NoSuchMethod", ...builtinExceptionMro("AttributeError", 3)]);
  });

  it("a declared parents list is sent exactly as declared, to either Python", () => {
    class Quota extends Error {
      static pythonType = "app.Quota";
      static pythonParents = ["app.Quota", "exceptions.RuntimeError"];
    }
    for (const py of [2, 3] as const) expect(pythonTypeOf(new Quota("q"), py)).toEqual({ type: "app.Quota", parents: ["app.Quota", "exceptions.RuntimeError"] });
    class Plain extends PBError {}
    expect(pythonTypeOf(new Plain("p"), 2).parents).toEqual(["__main__.Plain", "twisted.spread.pb.Error", ...builtinExceptionMro("Exception", 2)]);
  });

  it("Python 2's state: byte-string keys in Twisted 20.3's order; Python 3's: Twisted 22.4's", () => {
    const s2 = copyableFailureState(new RangeError("bad value"), { python: 2, count: 6 });
    expect([...s2.keys()]).toEqual(["count", "captureVars", "type", "traceback", "value", "unsafeTracebacks", "parents", "frames", "tb", "stack"]);
    const s3 = copyableFailureState(new RangeError("bad value"), { python: 3, count: 5 });
    expect([...s3.keys()]).toEqual(["count", "type", "value", "captureVars", "frames", "stack", "tb", "parents", "unsafeTracebacks", "traceback"]);
  });
});

class Svc extends Referenceable {
  remote_echo(...a: unknown[]) {
    return tuple(...a);
  }
  remote_greet() {
    return "hello";
  }
  remote_named(x: unknown) {
    return x;
  }
  remote_fail() {
    throw new RangeError("bad value");
  }
  remote_add(a: number, b: number) {
    return a + b;
  }
}

class SvcRoot extends Root {
  svc = new Svc();
  remote_get() {
    return this.svc;
  }
}

describe("the string mode belongs to the connection", () => {
  it("one server object serves a Python 2 style client and a Python 3 style client at once, each as it expects", async () => {
    const root = new SvcRoot();
    const py2 = await pair(root, {}, { strings: "bytes" });
    const py3 = await pair(root, {}, { strings: "unicode" });
    try {
      const r2 = await py2.client.remoteForName("root").callRemote("get");
      const r3 = await py3.client.remoteForName("root").callRemote("get");
      // Before the peer has shown anything the server assumes Python 3.
      expect(py2.server.peer.source).toBe("assumed");
      // Keyword keys show the Python: bytes from the first, unicode from the second.
      const e2 = await (r2 as { callRemote(...a: unknown[]): Promise<unknown> }).callRemote("echo", new PyUnicode("h\u00e9"), "s", kwargs({ k: 1 }));
      await (r3 as { callRemote(...a: unknown[]): Promise<unknown> }).callRemote("echo", "x");
      expect(py2.server.peer.python).toBe(2);
      expect(py3.server.peer.python).toBe(3);
      expect(py3.server.peer.source).toBe("assumed");
      // The unicode came back as unicode, the JS string (a Python 2 str) as a byte string.
      expect(e2).toEqual(tuple(new PyUnicode("h\u00e9"), utf8("s"), (e2 as unknown[])[2]));
      expect([...((e2 as unknown[])[2] as Map<unknown, unknown>).keys()]).toEqual([utf8("k")]);
      const g2 = await (r2 as { callRemote(m: string): Promise<unknown> }).callRemote("greet");
      const g3 = await (r3 as { callRemote(m: string): Promise<unknown> }).callRemote("greet");
      expect(g2).toEqual(utf8("hello")); // Python 2's str
      expect(g3).toBe("hello");
      const f2 = await (r2 as { callRemote(m: string): Promise<unknown> }).callRemote("fail").catch((e: unknown) => e);
      const f3 = await (r3 as { callRemote(m: string): Promise<unknown> }).callRemote("fail").catch((e: unknown) => e);
      expect((f2 as CopiedFailure).type).toBe("exceptions.ValueError");
      expect((f2 as CopiedFailure).typeRaw).toEqual(utf8("exceptions.ValueError"));
      expect((f2 as CopiedFailure).python).toBe(2);
      expect((f3 as CopiedFailure).parents).toEqual(builtinExceptionMro("ValueError", 3));
      // Failure state keys: byte strings to the Python 2 client, unicode to the Python 3 one (Twisted 24.7+ needs it).
      const lastError = (writes: string[]) => writes.filter((w) => w.startsWith("S->C") && w.includes("1c 87")).pop()!;
      expect(lastError(py2.writes)).toContain("07 82 70 61 72 65 6e 74 73"); // 'parents'
      expect(lastError(py2.writes)).not.toContain("75 6e 69 63 6f 64 65 07 82 70 61 72 65 6e 74 73");
      expect(lastError(py3.writes)).toContain("02 80 07 82 75 6e 69 63 6f 64 65 07 82 70 61 72 65 6e 74 73"); // ['unicode', 'parents']
    } finally {
      py2.close();
      py3.close();
    }
  });

  it("Python 2's words for the library's own errors: arity and a missing perspective method", async () => {
    const root = new SvcRoot();
    const p = await pair(root, { strings: "bytes" }, { strings: "bytes" });
    try {
      const svc = (await p.client.remoteForName("root").callRemote("get")) as { callRemote(...a: unknown[]): Promise<unknown> };
      const arity = (await svc.callRemote("add", 1).catch((e: unknown) => e)) as CopiedFailure;
      expect(arity.type).toBe("exceptions.TypeError");
      expect(arity.value).toBe("remote_add() takes exactly 3 arguments (2 given)");
      const many = (await svc.callRemote("add", 1, 2, 3).catch((e: unknown) => e)) as CopiedFailure;
      expect(many.value).toBe("remote_add() takes exactly 3 arguments (4 given)");
      const missing = (await svc.callRemote("nope").catch((e: unknown) => e)) as CopiedFailure;
      expect(missing.parents[0]).toBe("twisted.spread.flavors.NoSuchMethod");
      expect(missing.parents).toContain("exceptions.AttributeError");
    } finally {
      p.close();
    }
  });
});

describe("values: js with a Python 2 peer", () => {
  it("native str arrives as a JS string and goes back as a byte string; unicode kwargs keys are still keys", async () => {
    const root = new SvcRoot();
    const p = await pair(root, { strings: "bytes", values: "js" }, { strings: "bytes" });
    try {
      const svc = (await p.client.remoteForName("root").callRemote("get")) as { callRemote(...a: unknown[]): Promise<unknown> };
      // The client (Python 2 style) sends "hi" as a byte string; the js-mode server sees a JS string and echoes it as bytes.
      expect(await svc.callRemote("echo", "hi")).toEqual([utf8("hi")]);
      // A unicode keyword key (PyUnicode in this mode) still names a keyword argument.
      const kw = new Map([[new PyUnicode("x") as unknown as string, 41]]);
      expect(await svc.callRemote("named", kwargs(kw))).toBe(41);
    } finally {
      p.close();
    }
  });
});
