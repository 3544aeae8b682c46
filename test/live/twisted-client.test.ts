// Live: a real Twisted 22.4 PB client (interop/peer.py live-client) against our server (PBServer with
// a per-connection root, or a Portal) over TCP, TLS and Unix sockets.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ANONYMOUS,
  AllowAnonymousAccess,
  Avatar,
  CopiedFailure,
  DeadReferenceError,
  IPerspective,
  InMemoryPasswordChecker,
  MD5PasswordChecker,
  PBConnectionLost,
  PBServer,
  Portal,
  Referenceable,
  RemoteReference,
  Root,
  Viewable,
  md5,
  splitArgs,
  tuple,
  type AvatarId,
  type Broker,
  type LogEntry,
  type LoginResult,
  type PBRoot,
  type Realm,
} from "../../src/index.ts";
import { canonicalDesc, toDesc, type Desc } from "../../interop/valuedesc.ts";
import { makeSelfSignedCert, runPyClient, startPyClient, stopAllPeers, tempDir, type PyReport, type StepResult } from "../../interop/pbpeers.ts";
import { Callback, Label, Point, RemotePoint, desc, manyValues, sleep, unexpectedLogged, until } from "./common.ts";

const HOST = "127.0.0.1";
const tmp = tempDir();
const servers: PBServer[] = [];

afterAll(async () => {
  await stopAllPeers();
  await Promise.all(servers.map((s) => s.close(200)));
  tmp.cleanup();
});

async function listen(...args: Parameters<typeof PBServer.listen>): Promise<PBServer> {
  const s = await PBServer.listen(...args);
  servers.push(s);
  return s;
}

// ---- scenario helpers (see interop/peers/live_client.py) -----------------------------------------

const v = (x: unknown): Desc => toDesc(x);
const ref = (name: string): Desc => ["var", name];
type Step = Record<string, unknown>;
const connect = (save = "root"): Step => ({ op: "connect", save, label: `connect:${save}` });
function call(label: string, method: string, args: Desc[] = [], extra: Step = {}): Step {
  return { op: "call", label, method, args, ...extra };
}

function ok(r: PyReport, label: string): Desc {
  const s = r.step(label);
  if (!s.ok) throw new Error(`step ${label} failed: ${JSON.stringify(s.failure)}`);
  return canonicalDesc(s.value!);
}

function failed(r: PyReport, label: string): StepResult & { failure: NonNullable<StepResult["failure"]> } {
  const s = r.step(label);
  if (s.ok) throw new Error(`step ${label} succeeded: ${JSON.stringify(s.value)}`);
  return s as StepResult & { failure: NonNullable<StepResult["failure"]> };
}

/** The text a step returned (a JSON string from our side). */
function json(r: PyReport, label: string): unknown {
  const d = ok(r, label);
  expect(d[0]).toBe("str");
  return JSON.parse(d[1] as string);
}

const TAIL = ["builtins.Exception", "builtins.BaseException", "builtins.object"];
const FAILURE_KEYS = ["count", "type", "value", "captureVars", "frames", "stack", "tb", "parents", "unsafeTracebacks", "traceback"];

// ---- the server side, written as an application would ------------------------------------

class Thing extends Referenceable {
  constructor(readonly name: string) {
    super();
  }
  remote_hello(who: unknown) {
    return `hello ${String(who)} from ${this.name}`;
  }
}

class Board extends Viewable {
  readonly posts: [unknown, unknown][] = [];
  view_post(perspective: unknown, text: unknown) {
    const name = perspective instanceof User ? perspective.name : null;
    this.posts.push([name, text]);
    return tuple(name, text);
  }
}

const board = new Board();

/** (args, kwargs) as a Python echo(*a, **kw) returning (a, kw) would. */
function echo(all: unknown[]) {
  const [args, kw] = splitArgs(all);
  return tuple(tuple(...args), kw ? kw.toMap() : new Map());
}

/** One root per connection (IPBRoot), recording what it is asked. */
class TestRoot extends Referenceable {
  readonly notes: unknown[][] = [];
  readonly kept: RemoteReference[] = [];
  readonly things = new Map<string, Thing>();
  readonly disconnectNotices: string[] = [];
  slowCall: Promise<unknown> | null = null;
  peerRef: RemoteReference | null = null;

  constructor(
    readonly broker: Broker,
    readonly id: number,
  ) {
    super();
  }
  remote_echo(...all: unknown[]) {
    return echo(all);
  }
  remote_describe(...all: unknown[]) {
    const [args, kw] = splitArgs(all);
    return JSON.stringify(toDesc([args, kw ? kw.toMap() : new Map()]));
  }
  remote_sample() {
    const values = manyValues();
    return tuple(values, JSON.stringify(toDesc(values)));
  }
  remote_connectionId() {
    return this.id;
  }
  remote_fail(kind: unknown) {
    return new Callback("root").remote_boom(kind);
  }
  remote_getThing(name: string) {
    const t = new Thing(name);
    this.things.set(name, t);
    return t;
  }
  remote_getThings(n: number) {
    return Array.from({ length: n }, (_, i) => new Thing(`t${i}`));
  }
  remote_isThing(obj: unknown, name: string) {
    return obj === this.things.get(name);
  }
  remote_localCount() {
    return this.broker.localObjectCount;
  }
  remote_touch(_x: unknown) {
    return null; // the RemoteReference is garbage once this returns
  }
  async remote_collect() {
    (globalThis as { gc?: () => void }).gc?.();
    await sleep(5);
    return null;
  }
  remote_returnIt(x: unknown) {
    return x;
  }
  remote_keep(...refs: RemoteReference[]) {
    this.kept.push(...refs);
    return this.kept.length;
  }
  remote_forget() {
    const n = this.kept.length;
    for (const r of this.kept.splice(0)) r.release();
    return n;
  }
  remote_callMeBack(ref: RemoteReference, method: string, ...args: unknown[]) {
    return ref.callRemote(method, ...args);
  }
  remote_callNoAnswer(ref: RemoteReference, method: string, ...args: unknown[]) {
    ref.callRemoteNoAnswer(method, ...args);
    return null;
  }
  async remote_callAndCheck(ref: RemoteReference, method: string, names: string[], ...args: unknown[]) {
    try {
      return new Map<string, unknown>([["ok", await ref.callRemote(method, ...args)]]);
    } catch (e) {
      if (!(e instanceof CopiedFailure)) throw e;
      return new Map<string, unknown>([
        ["type", e.type],
        ["value", e.value],
        ["parents", e.parents],
        ["trapped", e.check(...names)],
        ["keys", [...e.state.keys()]],
      ]);
    }
  }
  remote_note(...all: unknown[]) {
    this.notes.push(all);
    return "ignored";
  }
  remote_getPoint(x: number, y: number) {
    return new Point(x, y);
  }
  remote_takePoint(p: unknown) {
    return tuple(p instanceof RemotePoint ? "RemotePoint" : typeof p, p instanceof RemotePoint, (p as RemotePoint).x, (p as RemotePoint).y);
  }
  remote_getLabel(text: string) {
    return new Label(text, "never sent");
  }
  remote_getViewable() {
    return board;
  }
  async remote_slow(ms: number, value: unknown) {
    await sleep(ms);
    return value;
  }
  remote_dropSoon(ms: number) {
    setTimeout(() => this.broker.loseConnection(), ms);
    return true;
  }
  remote_startSlowCall(peer: RemoteReference) {
    this.peerRef = peer;
    peer.notifyOnDisconnect(() => this.disconnectNotices.push("peer"));
    this.slowCall = peer.callRemote("slow", 10, "never");
    this.slowCall.catch(() => {});
    return true;
  }
}

class PerConnectionRoot implements PBRoot {
  readonly roots: TestRoot[] = [];
  rootObject(broker: Broker): TestRoot {
    const r = new TestRoot(broker, this.roots.length + 1);
    this.roots.push(r);
    return r;
  }
}

class User extends Avatar {
  constructor(
    readonly name: string,
    readonly mind: RemoteReference | null,
  ) {
    super();
  }
  perspective_whoami() {
    return this.name;
  }
  perspective_echo(...all: unknown[]) {
    return echo(all);
  }
  perspective_getBoard() {
    return board;
  }
  perspective_getLabel(text: string) {
    return new Label(text, "never sent");
  }
  perspective_pingMind(n: number) {
    return this.mind!.callRemote("ping", n);
  }
  perspective_fail() {
    throw new RangeError("avatar failed");
  }
}

/** A Referenceable avatar: used as is, with remote_ methods (no AsReferenceable wrapper). */
class RefUser extends Referenceable {
  constructor(readonly name: string) {
    super();
  }
  remote_whoami() {
    return `${this.name} (referenceable)`;
  }
}

/** Calls the mind several times before answering, as a CI master does with a worker. */
class TestRealm implements Realm {
  readonly logins: { name: string; mindCalls: unknown[] }[] = [];
  readonly logouts: string[] = [];
  readonly mindsLost: string[] = [];
  async requestAvatar(avatarId: AvatarId, mind: unknown, ...interfaces: string[]): Promise<LoginResult> {
    expect(interfaces).toContain(IPerspective);
    const name = avatarId === ANONYMOUS ? "anonymous" : avatarId;
    const results: unknown[] = [];
    if (mind instanceof RemoteReference) {
      results.push(await mind.callRemote("print", `welcome ${name}`));
      results.push(await mind.callRemote("getInfo"));
      results.push(await mind.callRemote("ping", 1));
      results.push(await mind.callRemote("ping", 2));
      mind.notifyOnDisconnect(() => this.mindsLost.push(name));
    }
    this.logins.push({ name, mindCalls: results });
    const avatar = name === "bob" ? new RefUser(name) : new User(name, mind instanceof RemoteReference ? mind : null);
    return [IPerspective, avatar, () => this.logouts.push(name)];
  }
}

// ---------------------------------------------------------------------------------------

describe("Twisted client -> TS server (per-connection root)", () => {
  const roots = new PerConnectionRoot();
  const logs: LogEntry[] = [];
  let server: PBServer;

  beforeAll(async () => {
    server = await listen({ host: HOST, port: 0 }, { root: roots, log: (e) => logs.push(e) });
  });

  /** Our root object of the connection a scenario asked "connectionId" on. */
  function rootOf(r: PyReport): TestRoot {
    const id = Number(ok(r, "connectionId")[1]);
    const root = roots.roots.find((x) => x.id === id);
    if (!root) throw new Error(`no root ${id}`);
    return root;
  }

  it("values, kwargs, no-answer calls, references both ways, copies, views, failures and didNotUnderstand", async () => {
    const values = manyValues();
    const r = await runPyClient({
      port: server.port,
      steps: [
        connect(),
        call("echo", "echo", values.map(v)),
        call("describe", "describe", values.map(v), { kwargs: { key: v("v") } }),
        call("sample", "sample"),
        call("kwargs", "echo", [v(1)], { kwargs: { key: v("v"), n: v(2) } }),
        call("note", "note", [v(5), v("five")], { noAnswer: true }),
        call("connectionId", "connectionId"),
        // a Referenceable of ours: call it, send it back, drop it
        call("getThing", "getThing", [v("a")], { save: "thing" }),
        call("hello", "hello", [v("py")], { on: "thing" }),
        call("isThing", "isThing", [ref("thing"), v("a")]),
        call("countWithThing", "localCount"),
        { op: "release", var: "thing" },
        call("countAfterRelease", "localCount"),
        // a Referenceable of theirs: we call it back, send it back, keep it, release it
        { op: "referenceable", name: "cb", save: "cb" },
        call("callMeBack", "callMeBack", [ref("cb"), v("called"), v(1), v("x")], { kwargs: { k: v(2) } }),
        call("returnIt", "returnIt", [ref("cb")]),
        { op: "referenceable", name: "kept", save: "kept" },
        call("keep", "keep", [ref("kept"), ref("kept")]),
        { op: "luids", label: "luidsKept" },
        call("forget", "forget"),
        { op: "sleep", seconds: 0.1 },
        { op: "luids", label: "luidsForgotten" },
        call("callNoAnswer", "callNoAnswer", [ref("cb"), v("called"), v(7)]),
        { op: "sleep", seconds: 0.1 },
        { op: "received", label: "received" },
        // copies and views
        call("getPoint", "getPoint", [v(1), v(-2)]),
        call("takePoint", "takePoint", [["copy", "Point", { x: v(3), y: v(4) }]]),
        call("getLabel", "getLabel", [v("hi")]),
        call("getViewable", "getViewable", [], { save: "board" }),
        call("post", "post", [v("m")], { on: "board" }),
        // failures: ours, trapped by Twisted
        call("failRange", "fail", [v("range")], { trap: ["builtins.ValueError"] }),
        call("failType", "fail", [v("type")], { trap: ["builtins.TypeError"] }),
        call("failQuota", "fail", [v("quota")], { trap: ["builtins.RuntimeError"] }),
        call("failRefused", "fail", [v("refused")], { trap: ["twisted.spread.pb.Error"] }),
        call("failPlain", "fail", [v("plain")], { trap: ["builtins.KeyError"] }),
        call("failAsync", "fail", [v("async")], { trap: ["builtins.ValueError"] }),
        call("missing", "missing", [v(1)], { trap: ["twisted.spread.flavors.NoSuchMethod"] }),
        // failures: theirs, checked by us
        call("theirFailure", "callAndCheck", [ref("cb"), v("boom"), v(["builtins.ValueError"]), v("python says no")]),
        // an unknown command gets didNotUnderstand (Twisted itself would drop the connection)
        { op: "raw", exp: ["bogus", 1], label: "bogus" },
        call("afterBogus", "echo", [v("still here")]),
      ],
    });
    expect(r.timedOut).toBe(false);
    const root = rootOf(r);

    // values both ways, exactly
    expect(ok(r, "echo")).toEqual(desc(tuple(tuple(...values), new Map())));
    expect(canonicalDesc(json(r, "describe") as Desc)).toEqual(desc([values, new Map([["key", "v"]])]));
    const sample = ok(r, "sample") as unknown as [string, null, Desc[]];
    expect(sample[2][0]).toEqual(desc(values));
    expect(ok(r, "kwargs")).toEqual(desc(tuple(tuple(1), new Map<string, unknown>([["key", "v"], ["n", 2]]))));
    // the no-answer call ran and nothing came back for it
    expect(root.notes).toEqual([[5, "five"]]);

    // references to our objects
    expect(ok(r, "getThing")[0]).toBe("remoteref");
    expect(ok(r, "hello")).toEqual(v("hello py from a"));
    expect(ok(r, "isThing")).toEqual(v(true));
    // root + thing, then the thing's decref (Python collected it)
    expect(ok(r, "countWithThing")).toEqual(v(2));
    expect(ok(r, "countAfterRelease")).toEqual(v(1));

    // references to theirs
    expect(ok(r, "callMeBack")).toEqual(desc(tuple(tuple(1, "x"), new Map([["k", 2]]))));
    expect(ok(r, "returnIt")).toEqual(["local", "cb"]);
    expect(ok(r, "keep")).toEqual(v(2));
    // luids op: [[luid, name], ...] of the Python broker's table
    const names = (label: string) => (ok(r, label)[2] as Desc[]).map((pair) => (pair as Desc[])[2] as Desc[]).map((p) => p[1][1]);
    expect(names("luidsKept")).toContain("kept");
    expect(ok(r, "forget")).toEqual(v(2));
    expect(names("luidsForgotten")).not.toContain("kept");
    // our calls to their objects, as Twisted received them: ids from 1, answerRequired 0 for the no-answer one
    const received = (ok(r, "received")[2] as Desc[]).map((t) => ((t as Desc[])[2] as Desc[]).map((f) => f[1]));
    expect(received).toEqual([
      ["1", expect.any(String), "called", "1"],
      ["2", expect.any(String), "called", "0"],
    ]);
    expect(r.calls.filter((c) => c.name === "cb").map((c) => [c.method, c.args])).toEqual([
      ["called", desc([1, "x"])],
      ["called", desc([7])],
      ["boom", desc(["python says no"])],
    ]);

    // copies and views
    expect(ok(r, "getPoint")).toEqual(["copy", "__main__.RemotePoint", desc(new Map([["x", 1], ["y", -2]]))]);
    expect(ok(r, "takePoint")).toEqual(desc(tuple("RemotePoint", true, 3, 4)));
    expect(ok(r, "getLabel")).toEqual(["copy", "twisted.spread.flavors.RemoteCopy", desc(new Map<string, unknown>([["text", "hi"], ["for", null]]))]);
    expect(ok(r, "post")).toEqual(desc(tuple(null, "m")));

    // our errors, as Twisted sees them
    const expectFailure = (label: string, type: string, value: string, trapped: string | null, parents?: string[]) => {
      const s = failed(r, label);
      expect(s.failure).toMatchObject({ copied: true, type, value });
      expect(s.trapped).toBe(trapped);
      if (parents) expect(s.failure.parents).toEqual([...parents, ...TAIL]);
      return s.failure;
    };
    const range = expectFailure("failRange", "builtins.ValueError", "out of range", "builtins.ValueError", ["builtins.ValueError"]);
    expect(range.keys).toEqual(FAILURE_KEYS);
    expect(range.traceback).toBe("Traceback unavailable\n");
    expectFailure("failType", "builtins.TypeError", "wrong type", "builtins.TypeError");
    // A declared MRO is sent exactly as declared (QuotaExceeded declares all of it).
    expectFailure("failQuota", "tsapp.errors.QuotaExceeded", "quota exceeded", "builtins.RuntimeError", ["tsapp.errors.QuotaExceeded", "builtins.RuntimeError"]);
    expectFailure("failRefused", "tsapp.errors.Refused", "refused on purpose", "twisted.spread.pb.Error", ["tsapp.errors.Refused", "twisted.spread.pb.Error"]);
    expectFailure("failPlain", "builtins.Exception", "plain plain", null);
    expect(expectFailure("failAsync", "builtins.ValueError", "later", "builtins.ValueError").pickled).toBe(1);
    expectFailure("missing", "twisted.spread.flavors.NoSuchMethod", "No such method: remote_missing", "twisted.spread.flavors.NoSuchMethod", [
      "twisted.spread.flavors.NoSuchMethod",
      "builtins.AttributeError",
    ]);
    // pb.Error subclasses are expected errors: not logged as the peer's traceback
    const logged = unexpectedLogged(logs);
    expect(logged.some((e) => e instanceof RangeError)).toBe(true);
    expect(logged.some((e) => (e as Error).message === "refused on purpose")).toBe(false);

    // their error, as we see it
    const theirs = ok(r, "theirFailure");
    expect(theirs).toEqual(
      desc(
        new Map<string, unknown>([
          ["type", "builtins.ValueError"],
          ["value", "python says no"],
          ["parents", ["builtins.ValueError", ...TAIL]],
          ["trapped", "builtins.ValueError"],
          ["keys", FAILURE_KEYS],
        ]),
      ),
    );

    // didNotUnderstand reached Twisted, which logged it; the connection went on
    expect(r.step("bogus").ok).toBe(true);
    expect(r.events.some((e) => e.event === "log" && String(e.text).includes("Didn't understand command: b'bogus'"))).toBe(true);
    expect(ok(r, "afterBogus")).toEqual(desc(tuple(tuple("still here"), new Map())));
  });

  it("a RemoteReference we hold that is garbage collected sends decref to Twisted (global.gc)", async () => {
    expect(typeof (globalThis as { gc?: unknown }).gc, "vitest must run with --expose-gc (vitest.config.ts execArgv)").toBe("function");
    const r = await runPyClient({
      port: server.port,
      steps: [
        connect(),
        { op: "referenceable", name: "dropme", save: "dropme" },
        call("touch", "touch", [ref("dropme")]),
        { op: "luids", label: "before" },
        { op: "untilGone", name: "dropme", call: "collect", timeout: 10, label: "gone" },
      ],
    });
    const names = (ok(r, "before")[2] as Desc[]).map((pair) => ((pair as Desc[])[2] as Desc[])[1][1]);
    expect(names).toContain("dropme");
    expect(r.step("gone").ok).toBe(true);
  });

  it("one root per connection (IPBRoot)", async () => {
    const r = await runPyClient({
      port: server.port,
      steps: [connect("root"), call("first", "connectionId"), connect("root2"), call("second", "connectionId", [], { on: "root2" }), call("again", "connectionId")],
    });
    const [a, b, c] = ["first", "second", "again"].map((l) => ok(r, l));
    expect(a).not.toEqual(b);
    expect(c).toEqual(a);
  });

  it("a fixed root object is shared by every connection", async () => {
    class Counter extends Root {
      n = 0;
      remote_next() {
        return ++this.n;
      }
    }
    const counter = new Counter();
    const fixed = await listen({ host: HOST, port: 0 }, { root: counter });
    const r = await runPyClient({
      port: fixed.port,
      steps: [connect("root"), call("a", "next"), connect("root2"), call("b", "next", [], { on: "root2" }), call("c", "next")],
    });
    expect(["a", "b", "c"].map((l) => ok(r, l))).toEqual([v(1), v(2), v(3)]);
    await fixed.close();
  });

  it("MAX_BROKER_REFS: a 1025th reference is refused as Twisted refuses it; the 4th violation hangs up", async () => {
    const r = await runPyClient({
      port: server.port,
      steps: [
        connect(),
        call("many", "getThings", [v(1024)], { save: "things" }),
        ...[1, 2, 3, 4].map((i) => call(`over${i}`, "getThings", [v(1)], { trap: ["twisted.spread.pb.Error"] })),
        { op: "waitLost", label: "lost", timeout: 5 },
      ],
    });
    expect((ok(r, "many")[2] as Desc[]).length).toBe(1024);
    for (const i of [1, 2, 3]) {
      const s = failed(r, `over${i}`);
      expect([s.failure.type, s.failure.value, s.trapped]).toEqual(["twisted.spread.pb.Error", "Maximum PB reference count exceeded.", "twisted.spread.pb.Error"]);
    }
    // as Twisted: the 4th violation's error is still written, then the connection closes
    const last = failed(r, "over4");
    expect([last.failure.type, last.failure.value]).toEqual(["twisted.spread.pb.Error", "Maximum PB reference count exceeded.  Goodbye."]);
    expect(r.step("lost").ok).toBe(true);
  });

  it("disconnect: Twisted's pending call fails with PBConnectionLost; ours too; notifyOnDisconnect fires; later calls DeadReferenceError", async () => {
    const r = await runPyClient({
      port: server.port,
      steps: [
        connect(),
        call("connectionId", "connectionId"),
        { op: "referenceable", name: "peer", save: "peer" },
        call("startSlowCall", "startSlowCall", [ref("peer")]),
        call("thing", "getThing", [v("d")], { save: "thing" }),
        { op: "notifyOnDisconnect", on: "thing" },
        call("dropSoon", "dropSoon", [v(50)]),
        call("pending", "slow", [v(3000), v("never")], { trap: ["twisted.spread.pb.PBConnectionLost"] }),
        call("afterwards", "echo", [v(1)], { trap: ["twisted.spread.pb.DeadReferenceError"] }),
      ],
    });
    const pending = failed(r, "pending");
    expect([pending.failure.type, pending.trapped]).toEqual(["twisted.spread.pb.PBConnectionLost", "twisted.spread.pb.PBConnectionLost"]);
    const afterwards = failed(r, "afterwards");
    expect([afterwards.failure.type, afterwards.sync]).toEqual(["twisted.spread.pb.DeadReferenceError", true]);
    expect(r.calls.some((c) => c.name === "thing" && c.method === "notified")).toBe(true);
    expect(r.calls.some((c) => c.name === "peer" && c.method === "slow")).toBe(true);

    // our side of the same connection
    const root = rootOf(r);
    expect(root.broker.isDisconnected).toBe(true);
    await expect(root.slowCall).rejects.toBeInstanceOf(PBConnectionLost);
    expect(root.disconnectNotices).toEqual(["peer"]);
    await expect(root.peerRef!.callRemote("ping", 1)).rejects.toBeInstanceOf(DeadReferenceError);
  });

  it("a Twisted client that only knows dialect 'none', and one that speaks another PB version", async () => {
    const none = await runPyClient({
      port: server.port,
      dialects: ["none"],
      steps: [connect(), call("echo", "echo", [v(new TextEncoder().encode("None")), v("remote")])],
    });
    expect(ok(none, "echo")).toEqual(desc(tuple(tuple(new TextEncoder().encode("None"), "remote"), new Map())));

    const before = logs.length;
    const v5 = await runPyClient({ port: server.port, version: 5, steps: [connect(), call("echo", "echo", [v(1)])] });
    const s = failed(v5, "echo");
    expect(s.failure.type).toBe("twisted.spread.pb.PBConnectionLost");
    expect(logs.slice(before).some((e) => e.level === "error" && e.message.includes("Version Incompatibility: 6 5"))).toBe(true);
  });

  it("close() lets connected Twisted clients go cleanly", async () => {
    const own = await listen({ host: HOST, port: 0 }, { root: new PerConnectionRoot() });
    const client = startPyClient({ port: own.port, steps: [connect(), call("echo", "echo", [v(1)]), { op: "waitLost", label: "lost", timeout: 10 }] });
    await client.waitForEvent("step", (e) => e.label === "echo");
    await own.close();
    const r = await client.report;
    expect(ok(r, "echo")).toEqual(desc(tuple(tuple(1), new Map())));
    expect(ok(r, "lost")).toEqual(v("Connection was closed cleanly."));
  });
});

describe("Twisted client -> TS server: connection variants", () => {
  it("unsafeTracebacks sends our stack", async () => {
    const server = await listen({ host: HOST, port: 0 }, { root: new PerConnectionRoot(), unsafeTracebacks: true });
    const r = await runPyClient({ port: server.port, steps: [connect(), call("fail", "fail", [v("range")], { trap: ["builtins.ValueError"] })] });
    const f = failed(r, "fail").failure;
    expect(f.unsafeTracebacks).toBe(true);
    expect(f.traceback).toContain("Traceback (most recent call last)");
    expect(f.traceback).toContain("RangeError: out of range");
    await server.close();
  });

  const cert = makeSelfSignedCert(tmp.path);
  const tlsReason = "skip" in cert ? cert.skip : "";
  it.skipIf(!!tlsReason)(`TLS with a self-signed certificate${tlsReason ? ` (skipped: ${tlsReason})` : ""}`, async () => {
    if ("skip" in cert) return;
    const server = await listen({ host: HOST, port: 0, tls: { cert: cert.certPem, key: readFileSync(cert.key, "utf8") } }, { root: new PerConnectionRoot() });
    const r = await runPyClient({
      port: server.port,
      tls: { ca: cert.cert, hostname: "localhost" },
      steps: [connect(), call("echo", "echo", [v("over tls")]), call("thing", "getThing", [v("t")], { save: "t" }), call("hello", "hello", [v("tls")], { on: "t" })],
    });
    expect(ok(r, "echo")).toEqual(desc(tuple(tuple("over tls"), new Map())));
    expect(ok(r, "hello")).toEqual(v("hello tls from t"));
    await server.close();
  });

  it("Unix socket", async () => {
    const path = join(tmp.path, "ts.sock");
    const server = await listen({ path }, { root: new PerConnectionRoot() });
    const r = await runPyClient({
      unix: path,
      steps: [connect(), call("echo", "echo", [v("over unix")]), { op: "referenceable", name: "cb", save: "cb" }, call("back", "callMeBack", [ref("cb"), v("ping"), v(4)])],
    });
    expect(ok(r, "echo")).toEqual(desc(tuple(tuple("over unix"), new Map())));
    expect(ok(r, "back")).toEqual(desc(tuple("pong", 4)));
    await server.close();
  });
});

describe("Twisted client -> TS portal server (cred login)", () => {
  const realm = new TestRealm();
  let server: PBServer;
  const logs: LogEntry[] = [];

  beforeAll(async () => {
    const portal = new Portal(realm, [new InMemoryPasswordChecker({ alice: "secret", bob: "hunter2" }), new AllowAnonymousAccess()]);
    server = await listen({ host: HOST, port: 0 }, { root: portal, log: (e) => logs.push(e) });
  });

  it("login with a mind the realm calls several times first; perspectives, views, copies per perspective; logout", async () => {
    const r = await runPyClient({
      port: server.port,
      steps: [
        connect(),
        { op: "login", user: "alice", password: "secret", mind: "mind", save: "alice", label: "login" },
        call("whoami", "whoami", [], { on: "alice" }),
        call("echo", "echo", [v(1)], { on: "alice", kwargs: { a: v("b") } }),
        call("board", "getBoard", [], { on: "alice", save: "board" }),
        call("post", "post", [v("hi")], { on: "board" }),
        call("label", "getLabel", [v("for you")], { on: "alice" }),
        call("pingMind", "pingMind", [v(9)], { on: "alice" }),
        call("fail", "fail", [], { on: "alice", trap: ["builtins.ValueError"] }),
        call("missing", "nope", [], { on: "alice", trap: ["builtins.AttributeError"] }),
        { op: "login", user: "alice", password: "wrong", label: "badPassword", trap: ["twisted.cred.error.UnauthorizedLogin"] },
        { op: "login", user: "mallory", password: "secret", label: "unknownUser", trap: ["twisted.cred.error.UnauthorizedLogin"] },
        { op: "loginAnonymous", mind: "anonMind", save: "anon", label: "anonymous" },
        call("anonWhoami", "whoami", [], { on: "anon" }),
        { op: "login", user: "bob", password: "hunter2", save: "bob", label: "bob" },
        call("bobWhoami", "whoami", [], { on: "bob" }),
        { op: "release", var: "bob" },
        { op: "sleep", seconds: 0.1 },
        call("stillConnected", "whoami", [], { on: "alice" }),
        { op: "received", label: "received" },
      ],
    });
    // the mind was called (print, getInfo, ping, ping) before the login answer
    const login = r.step("login");
    expect(login.ok).toBe(true);
    const mindCalls = r.calls.filter((c) => c.name === "mind");
    expect(mindCalls.slice(0, 4).map((c) => c.method)).toEqual(["print", "getInfo", "ping", "ping"]);
    expect(mindCalls.slice(0, 4).every((c) => c.seq < login.seq)).toBe(true);
    expect(mindCalls[0].args).toEqual(desc(["welcome alice"]));
    const alice = realm.logins.find((l) => l.name === "alice")!;
    expect(alice.mindCalls.map(desc)).toEqual([
      desc(null),
      ["dict", null, expect.any(Array)],
      desc(tuple("pong", 1)),
      desc(tuple("pong", 2)),
    ]);

    expect(ok(r, "whoami")).toEqual(v("alice"));
    expect(ok(r, "echo")).toEqual(desc(tuple(tuple(1), new Map([["a", "b"]]))));
    expect(ok(r, "post")).toEqual(desc(tuple("alice", "hi")));
    expect(ok(r, "label")).toEqual(["copy", "twisted.spread.flavors.RemoteCopy", desc(new Map<string, unknown>([["text", "for you"], ["for", "alice"]]))]);
    expect(ok(r, "pingMind")).toEqual(desc(tuple("pong", 9)));
    expect(mindCalls.at(-1)).toMatchObject({ method: "ping", args: desc([9]) });
    expect(failed(r, "fail").trapped).toBe("builtins.ValueError");
    const missing = failed(r, "missing");
    expect([missing.failure.type, missing.failure.value]).toEqual(["builtins.AttributeError", "'User' object has no attribute 'perspective_nope'"]);

    for (const label of ["badPassword", "unknownUser"]) {
      const s = failed(r, label);
      expect(s.trapped).toBe("twisted.cred.error.UnauthorizedLogin");
      expect(s.failure.parents).toEqual(["twisted.cred.error.UnauthorizedLogin", "twisted.cred.error.LoginFailed", "twisted.cred.error.Unauthorized", ...TAIL]);
      expect(s.failure.value).toBe("");
      expect(s.failure.pickled).toBe(1);
      expect(s.failure.keys).toEqual([...FAILURE_KEYS.slice(0, 8), "pickled", ...FAILURE_KEYS.slice(8)]);
    }

    expect(ok(r, "anonWhoami")).toEqual(v("anonymous"));
    expect(r.calls.filter((c) => c.name === "anonMind").map((c) => c.method)).toEqual(["print", "getInfo", "ping", "ping"]);
    // a Referenceable avatar is sent as is and answers with remote_ methods
    expect(ok(r, "bobWhoami")).toEqual(v("bob (referenceable)"));
    expect(ok(r, "stillConnected")).toEqual(v("alice"));
    // what we sent the mind, as Twisted received it: request ids 1, 2, 3... in order, answer required
    const received = (ok(r, "received")[2] as Desc[]).map((t) => (t as Desc[])[2] as Desc[]).map((f) => [Number(f[0][1]), f[2][1], f[3][1]]);
    expect(received.map((x) => x[0])).toEqual(received.map((_, i) => i + 1));
    expect(received.map((x) => x[1])).toEqual(["print", "getInfo", "ping", "ping", "ping", "print", "getInfo", "ping", "ping"]);

    // bob's avatar was released (decref) while connected; the others went with the connection
    await until(() => realm.logouts.length === 3, 5000, "the logouts");
    expect(realm.logouts[0]).toBe("bob");
    expect([...realm.logouts].sort()).toEqual(["alice", "anonymous", "bob"]);
    expect([...realm.mindsLost].sort()).toEqual(["alice", "anonymous"]);
    // as Twisted does, errors that are not pb.Error are logged as the peer's traceback: the
    // perspective's RangeError, the missing method (AttributeError) and both failed logins
    expect(unexpectedLogged(logs).map((e) => (e as Error).name)).toEqual(["RangeError", "AttributeError", "UnauthorizedLogin", "UnauthorizedLogin"]);
  });

  it("an md5-only checker (stored digests) accepts Twisted's challenge response", async () => {
    const digestOf = (s: string) => Array.from(md5(new TextEncoder().encode(s)), (b) => b.toString(16).padStart(2, "0")).join("");
    const checker = new MD5PasswordChecker({ carol: digestOf("md5pw") });
    const server = await listen({ host: HOST, port: 0 }, { root: new Portal(new TestRealm(), [checker]) });
    const r = await runPyClient({
      port: server.port,
      steps: [
        connect(),
        { op: "login", user: "carol", password: "md5pw", save: "carol", label: "good" },
        call("whoami", "whoami", [], { on: "carol" }),
        { op: "login", user: "carol", password: "nope", label: "bad", trap: ["twisted.cred.error.UnauthorizedLogin"] },
        { op: "loginAnonymous", label: "anonymous", trap: ["twisted.cred.error.UnhandledCredentials"] },
      ],
    });
    expect(ok(r, "whoami")).toEqual(v("carol"));
    expect(failed(r, "bad").trapped).toBe("twisted.cred.error.UnauthorizedLogin");
    const anon = failed(r, "anonymous");
    expect(anon.trapped).toBe("twisted.cred.error.UnhandledCredentials");
    expect(anon.failure.parents).toContain("twisted.cred.error.LoginFailed");
    await server.close();
  });
});
