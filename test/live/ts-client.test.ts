// Live: our client (PBClient, RemoteReference, login, ReconnectingPBClient) against a real
// Twisted 22.4 PB server (interop/peer.py serve live-root / live-portal) over TCP, TLS and Unix sockets.
import { TLSSocket } from "node:tls";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CallAbandoned,
  CopiedFailure,
  DeadReferenceError,
  FrozenSet,
  NoSuchMethod,
  PBClient,
  PBConnectionLost,
  PBError,
  PyFloat,
  ReconnectingPBClient,
  RemoteReference,
  Tuple,
  UnauthorizedLogin,
  kwargs,
  tuple,
  type LogEntry,
} from "../../src/index.ts";
import { canonicalDesc } from "../../interop/valuedesc.ts";
import { makeSelfSignedCert, startPyServer, stopAllPeers, tempDir, type PyServer } from "../../interop/pbpeers.ts";
import { Callback, Label, manyValues, Point, RemoteCopyableDenied, RemotePoint, RemoteSecret, desc, methodsCalled, sleep, unexpectedLogged, until } from "./common.ts";

const HOST = "127.0.0.1";
const gc = (globalThis as { gc?: () => void }).gc;
const tmp = tempDir();
const clients: PBClient[] = [];

async function connect(port: number, logs?: LogEntry[], extra: Parameters<typeof PBClient.connect>[0] = {}): Promise<PBClient> {
  const c = await PBClient.connect({ host: HOST, port, ...extra }, logs ? { log: (e) => logs.push(e) } : {});
  clients.push(c);
  return c;
}

function failureOf(p: Promise<unknown>): Promise<CopiedFailure> {
  return p.then(
    (v) => {
      throw new Error(`expected a failure, got ${String(v)}`);
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(CopiedFailure);
      return e as CopiedFailure;
    },
  );
}

afterAll(async () => {
  for (const c of clients) c.socket.destroy();
  await stopAllPeers();
  tmp.cleanup();
});

describe("TS client -> Twisted server (root object)", () => {
  let server: PyServer;
  let client: PBClient;
  let root: RemoteReference;
  const logs: LogEntry[] = [];

  beforeAll(async () => {
    server = await startPyServer({ mode: "root" });
    client = await connect(server.port, logs);
    root = await client.getRootObject();
  });

  it("negotiates dialect pb and version 6; a call pipelined before Twisted's version is answered", async () => {
    // getRootObject resolves once our version is sent, before Twisted's arrives: this call is pipelined.
    const answer = root.callRemote("echo", "first");
    expect(await answer).toEqual(tuple(tuple("first"), new Map()));
    expect(client.broker.negotiatedDialect).toBe("pb");
    expect(client.broker.isDisconnected).toBe(false);
  });

  it("echoes many types losslessly, and Twisted receives exactly what was sent", async () => {
    const values = manyValues();
    const [args, kw] = (await root.callRemote("echo", ...values)) as [Tuple, Map<string, unknown>];
    expect(args).toBeInstanceOf(Tuple);
    expect(kw).toEqual(new Map());
    expect(desc(args)).toEqual(desc(tuple(...values)));
    // shared and cyclic structure survives the round trip
    const back = args[args.length - 2] as unknown[][];
    expect(back[0]).toBe(back[1]);
    const cyc = args[args.length - 1] as unknown[];
    expect(cyc[1]).toBe(cyc);

    const described = JSON.parse((await root.callRemote("describe", ...values)) as string);
    expect(canonicalDesc(described)).toEqual(desc([values, new Map()]));
  });

  it("receives every Python type losslessly", async () => {
    const [value, pyDesc] = (await root.callRemote("sample")) as [Map<unknown, unknown>, string];
    expect(value).toBeInstanceOf(Map);
    expect(desc(value)).toEqual(canonicalDesc(JSON.parse(pyDesc)));
    const ints = value.get("ints") as unknown[];
    expect(ints[ints.length - 1]).toBe(2n ** 448n - 1n);
    expect((value.get("floats") as unknown[])[1]).toEqual(new PyFloat(1));
    expect(value.get("tuple")).toBeInstanceOf(Tuple);
    expect(value.get("frozenset")).toBeInstanceOf(FrozenSet);
  });

  it("sends keyword arguments (trailing kwargs() and call({kwargs}))", async () => {
    expect(await root.callRemote("echo", 1, kwargs({ key: "v", n: 2 }))).toEqual(
      tuple(tuple(1), new Map<string, unknown>([["key", "v"], ["n", 2]])),
    );
    expect(await root.call("echo", { args: ["a"], kwargs: { flag: true, none: null } })).toEqual(
      tuple(tuple("a"), new Map<string, unknown>([["flag", true], ["none", null]])),
    );
  });

  it("no-answer calls (answerRequired 0) run remotely; request ids are numbered as Twisted numbers them", async () => {
    root.callRemoteNoAnswer("note", 5, "five");
    root.callRemoteNoAnswer("note", 6, kwargs({ k: "w" }));
    const notes = JSON.parse((await root.callRemote("notes")) as string) as unknown[];
    expect(notes).toContainEqual(desc([[5, "five"], new Map()]));
    expect(notes).toContainEqual(desc([[6], new Map([["k", "w"]])]));
    const requests = (await root.callRemote("requests")) as [number, unknown, string, number][];
    // every message, answered or not, takes the next id from 1 on
    expect(requests.map((r) => r[0])).toEqual(requests.map((_, i) => i + 1));
    const noted = requests.filter((r) => r[2] === "note");
    expect(noted.map((r) => r[3])).toEqual([0, 0]);
    expect(requests.filter((r) => r[2] !== "note").every((r) => r[3] === 1)).toBe(true);
    expect(requests.every((r) => r[1] === "root")).toBe(true);
  });

  it("references from Twisted: call them, send them back as [local, luid], release() sends decref", async () => {
    const thing = (await root.callRemote("getThing", "a")) as RemoteReference;
    expect(thing).toBeInstanceOf(RemoteReference);
    expect(typeof thing.luid).toBe("number");
    expect(await thing.callRemote("hello", "ts")).toBe("hello ts from a");
    expect(await root.callRemote("isThing", thing, "a")).toBe(true);
    expect(await root.callRemote("luids")).toContain(thing.luid);
    thing.release();
    thing.release(); // once only
    await until(async () => !((await root.callRemote("luids")) as number[]).includes(thing.luid as number), 5000, "the decref");
    const decrefs = (await root.callRemote("decrefs")) as number[];
    expect(decrefs.filter((l) => l === thing.luid)).toEqual([thing.luid]);
  });

  it("a RemoteReference that is garbage collected sends decref (global.gc)", async () => {
    expect(typeof gc, "vitest must run with --expose-gc (vitest.config.ts execArgv)").toBe("function");
    const luid = await (async () => ((await root.callRemote("getThing", "collected")) as RemoteReference).luid)();
    expect(await root.callRemote("luids")).toContain(luid);
    await until(
      async () => {
        gc!();
        await sleep(5);
        return !((await root.callRemote("luids")) as number[]).includes(luid as number);
      },
      10_000,
      "the decref of a collected reference",
    );
    expect(await root.callRemote("decrefs")).toContain(luid);
  });

  it("our Referenceables: Twisted calls them back (with kwargs), sends them back as themselves, decrefs them", async () => {
    const cb = new Callback("ts-cb");
    expect(await root.callRemote("callMeBack", cb, "called", 1, "x", kwargs({ k: 2 }))).toEqual(
      tuple(tuple(1, "x"), new Map([["k", 2]])),
    );
    expect(cb.calls[0]).toEqual({ method: "called", args: [1, "x"], kwargs: new Map([["k", 2]]) });
    // Twisted keeps one reference and returns another: [local, luid] comes back as our object
    expect(await root.callRemote("keepAndReturn", cb)).toBe(cb);
    expect(await root.callRemote("keep", cb, cb)).toBe(3);
    expect(client.broker.localObjectCount).toBe(1);
    expect(await root.callRemote("forget")).toBe(3);
    await until(() => client.broker.localObjectCount === 0, 5000, "Twisted's decrefs");
  });

  it("Twisted calls our Referenceable with pbanswer=False", async () => {
    const cb = new Callback("no-answer");
    expect(await root.callRemote("callNoAnswer", cb, "called", 7)).toBe(null);
    await until(() => cb.calls.length === 1, 5000, "the no-answer call");
    expect(cb.calls[0].args).toEqual([7]);
  });

  it("Copyable both ways: registered RemoteCopy classes, default and custom copy tags, getStateToCopyFor", async () => {
    const p = (await root.callRemote("getPoint", 1, -2)) as RemotePoint;
    expect(p).toBeInstanceOf(RemotePoint);
    expect([p.x, p.y, p.norm1()]).toEqual([1, -2, 3]);
    expect(await root.callRemote("takePoint", new Point(3, 4))).toEqual(tuple("RemotePoint", true, 3, 4, 7));
    const copy = JSON.parse((await root.callRemote("takeCopy", new Label("hi", "hidden"))) as string);
    expect(copy).toEqual(["copy", "__main__.RemoteLabel", desc(new Map<string, unknown>([["text", "hi"], ["for", null]]))]);
  });

  it("a Viewable returned outside a perspective: view_ gets None", async () => {
    const board = (await root.callRemote("getViewable")) as RemoteReference;
    expect(await board.callRemote("post", "m")).toEqual(tuple(null, "m"));
  });

  it("Python exceptions arrive as CopiedFailure with check/trap by qualified name", async () => {
    const f = await failureOf(root.callRemote("fail", "bad thing"));
    expect(f.type).toBe("builtins.ValueError");
    expect(f.value).toBe("bad thing");
    expect(f.parents).toEqual(["builtins.ValueError", "builtins.Exception", "builtins.BaseException", "builtins.object"]);
    expect(f.traceback).toBe("Traceback unavailable\n");
    expect([...f.state.keys()]).toEqual(["count", "type", "value", "captureVars", "frames", "stack", "tb", "parents", "unsafeTracebacks", "traceback"]);
    expect(f.check("builtins.KeyError", "builtins.ValueError")).toBe("builtins.ValueError");
    expect(f.check(RangeError)).toBe("builtins.ValueError"); // JS twin of ValueError
    expect(f.check("builtins.KeyError")).toBe(null);
    expect(f.trap("builtins.Exception")).toBe("builtins.Exception");
    expect(() => f.trap("builtins.KeyError")).toThrow(f);

    // pickled=1 only for a failure Twisted cleaned: a Deferred that had already failed
    const failed = await failureOf(root.callRemote("failDeferred", "failed"));
    expect([failed.type, failed.value, failed.state.get("pickled")]).toEqual(["builtins.ValueError", "failed", 1]);
    const later = await failureOf(root.callRemote("failLater", "later"));
    expect([later.type, later.value, later.state.has("pickled")]).toEqual(["builtins.ValueError", "later", false]);

    const denied = await failureOf(root.callRemote("failPB", "no way"));
    expect(denied.type).toBe("__main__.Denied");
    expect(denied.check(PBError)).toBe("twisted.spread.pb.Error");

    const missing = await failureOf(root.callRemote("missing", 1));
    expect([missing.type, missing.value]).toEqual(["twisted.spread.flavors.NoSuchMethod", "No such method: remote_missing"]);
    expect(missing.check(NoSuchMethod)).toBe("twisted.spread.flavors.NoSuchMethod");
    expect(missing.check("builtins.AttributeError")).toBe("builtins.AttributeError");

    // a pb.Error that is Copyable is sent as itself
    const copied = await root.callRemote("failCopyable", "as itself").catch((e: unknown) => e);
    expect(copied).toBeInstanceOf(RemoteCopyableDenied);
    expect(copied).toBeInstanceOf(Error);
    expect((copied as RemoteCopyableDenied).reason).toBe("as itself");

    // Twisted logged the ValueErrors and NoSuchMethod (an AttributeError) as unexpected, never
    // the pb.Error subclasses
    await server.waitForEvent("log", (e) => e.failure === "twisted.spread.flavors.NoSuchMethod");
    const logged = server.eventsOf("log").filter((e) => e.failure);
    expect(logged.map((e) => e.failureValue)).toEqual(["bad thing", "failed", "later", "No such method: remote_missing"]);
  });

  it("errors thrown in TypeScript reach Twisted as failures it can trap() by name; pb.Error subclasses are not logged", async () => {
    const cb = new Callback("thrower");
    const trap = async (kind: string, names: string[], method = "boom") => {
      const r = (await root.callRemote("callAndTrap", cb, method, names, kind)) as Map<string, unknown>;
      expect(r.get("ok")).toBe(false);
      return JSON.parse(r.get("failure") as string) as { copied: boolean; type: string; value: string; parents: string[]; trapped: string | null; pickled: number | null; keys: string[] };
    };
    const range = await trap("range", ["builtins.ValueError"]);
    expect(range).toMatchObject({ copied: true, type: "builtins.ValueError", value: "out of range", trapped: "builtins.ValueError", pickled: null });
    expect(range.keys).toEqual(["count", "type", "value", "captureVars", "frames", "stack", "tb", "parents", "unsafeTracebacks", "traceback"]);
    expect((await trap("type", ["builtins.TypeError"])).trapped).toBe("builtins.TypeError");
    const quota = await trap("quota", ["builtins.RuntimeError"]);
    expect(quota).toMatchObject({ type: "tsapp.errors.QuotaExceeded", trapped: "builtins.RuntimeError" });
    expect(quota.parents).toEqual(["tsapp.errors.QuotaExceeded", "builtins.RuntimeError", "builtins.Exception", "builtins.BaseException", "builtins.object"]);
    const refused = await trap("refused", ["twisted.spread.pb.Error"]);
    expect(refused).toMatchObject({ type: "tsapp.errors.Refused", value: "refused on purpose", trapped: "twisted.spread.pb.Error" });
    expect((await trap("plain", ["builtins.KeyError"])).trapped).toBe(null);
    const later = await trap("async", ["builtins.ValueError"]);
    expect(later).toMatchObject({ value: "later", trapped: "builtins.ValueError", pickled: 1 });
    const nosuch = await trap("x", ["twisted.spread.flavors.NoSuchMethod"], "nosuch");
    expect(nosuch).toMatchObject({ type: "twisted.spread.flavors.NoSuchMethod", value: "No such method: remote_nosuch", trapped: "twisted.spread.flavors.NoSuchMethod" });

    const logged = unexpectedLogged(logs);
    expect(logged.some((e) => e instanceof RangeError)).toBe(true);
    expect(logged.some((e) => e instanceof PBError)).toBe(false);
    // as in Twisted, NoSuchMethod is an AttributeError, not a pb.Error: it is logged
    expect(logged.some((e) => e instanceof NoSuchMethod)).toBe(true);
  });

  it("a timeout or an AbortSignal gives up locally; the late answer is dropped and the connection goes on", async () => {
    await expect(root.call("slow", { args: [0.2, "late"], timeout: 30 })).rejects.toBeInstanceOf(CallAbandoned);
    const ac = new AbortController();
    const aborted = root.call("slow", { args: [0.2, "late"], signal: ac.signal });
    ac.abort(new Error("changed my mind"));
    await expect(aborted).rejects.toBeInstanceOf(CallAbandoned);
    await sleep(300);
    expect(client.broker.pendingCallCount).toBe(0);
    expect(await root.call("slow", { args: [0.01, "in time"], timeout: 5000 })).toBe("in time");
  });

  it("MAX_BROKER_REFS: Twisted refuses a 1025th reference, and so do we, as Twisted does", async () => {
    const c = await connect(server.port);
    const r = await c.getRootObject();
    // Twisted's table holds root + 1024 luids
    const things = (await r.callRemote("getThings", 1024)) as RemoteReference[];
    expect(things).toHaveLength(1024);
    expect(new Set(things.map((t) => t.luid)).size).toBe(1024);
    const over = await failureOf(r.callRemote("getThings", 1));
    expect([over.type, over.value]).toEqual(["twisted.spread.pb.Error", "Maximum PB reference count exceeded."]);
    // an initiator has no root: 1025 luids fit, the next new one is refused before anything is sent
    const mine = Array.from({ length: 1025 }, (_, i) => new Callback(`r${i}`));
    expect(await r.callRemote("keep", ...mine)).toBe(1025);
    const refused = await r.callRemote("keep", new Callback("one too many")).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PBError);
    expect((refused as Error).message).toBe("Maximum PB reference count exceeded.");
    expect(await r.callRemote("keep", mine[0])).toBe(1026); // already registered: still fine
    // Twisted hangs up at its 4th violation
    for (let i = 2; i <= 3; i++) expect((await failureOf(r.callRemote("getThings", 1))).value).toBe("Maximum PB reference count exceeded.");
    // the error is written before the connection closes
    const last = await failureOf(r.callRemote("getThings", 1));
    expect([last.type, last.value]).toEqual(["twisted.spread.pb.Error", "Maximum PB reference count exceeded.  Goodbye."]);
    await c.closed;
  });

  it("disconnect: pending calls reject with PBConnectionLost, notifyOnDisconnect fires, later calls get DeadReferenceError", async () => {
    const c = await connect(server.port);
    const r = await c.getRootObject();
    const thing = (await r.callRemote("getThing", "d")) as RemoteReference;
    const notified: string[] = [];
    thing.notifyOnDisconnect(() => notified.push("thing"));
    const unwanted = () => notified.push("removed");
    thing.notifyOnDisconnect(unwanted);
    thing.dontNotifyOnDisconnect(unwanted);
    const pending = r.callRemote("slow", 10, "never");
    expect(await r.callRemote("dropSoon", 0.05)).toBe(true);
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PBConnectionLost);
    expect(notified).toEqual(["thing"]);
    expect(c.broker.isDisconnected).toBe(true);
    await expect(r.callRemote("echo", 1)).rejects.toBeInstanceOf(DeadReferenceError);
    await expect(thing.callRemote("hello", "x")).rejects.toBeInstanceOf(DeadReferenceError);
    await server.waitForEvent("connectionLost");
  });
});

describe("TS client -> Twisted server: connection variants", () => {
  it("unsafeTracebacks: the server's traceback comes along", async () => {
    const server = await startPyServer({ mode: "root", unsafeTracebacks: true });
    const c = await connect(server.port);
    const f = await failureOf((await c.getRootObject()).callRemote("fail", "with traceback"));
    expect(f.state.get("unsafeTracebacks")).toBe(true);
    expect(f.traceback).toContain("Traceback (most recent call last)");
    expect(f.traceback).toContain("ValueError: with traceback");
    await c.disconnect();
    await server.stop();
  });

  it("a peer speaking another PB version is dropped with a clear error", async () => {
    const server = await startPyServer({ mode: "root", pbVersion: 5 });
    const logs: LogEntry[] = [];
    const c = await connect(server.port, logs);
    const r = await c.getRootObject();
    const pending = r.callRemote("echo", 1).catch((e: unknown) => e);
    const reason = await c.closed;
    expect(reason?.message).toBe("Version Incompatibility: 6 5");
    const err = await pending;
    expect(err).toBeInstanceOf(PBConnectionLost);
    expect((err as Error).message).toContain("Version Incompatibility: 6 5");
    expect(logs.some((e) => e.level === "error" && e.message.includes("Version Incompatibility"))).toBe(true);
    await server.waitForEvent("peerVersion", (e) => e.version === 6);
    await server.waitForEvent("connectionLost");
    await server.stop();
  });

  it("dialect negotiation picks 'none' when that is all the server knows", async () => {
    const server = await startPyServer({ mode: "root", dialects: ["none"] });
    const c = await connect(server.port);
    const r = await c.getRootObject();
    const words = ["None", "remote", "version"].map((w) => new TextEncoder().encode(w));
    expect(desc(await r.callRemote("echo", ...words, "text"))).toEqual(desc(tuple(tuple(...words, "text"), new Map())));
    expect(c.broker.negotiatedDialect).toBe("none");
    await c.disconnect();
    await server.stop();
  });

  const cert = makeSelfSignedCert(tmp.path);
  const tlsReason = "skip" in cert ? cert.skip : "";
  it.skipIf(!!tlsReason)(`TLS with a self-signed certificate${tlsReason ? ` (skipped: ${tlsReason})` : ""}`, async () => {
    if ("skip" in cert) return;
    const server = await startPyServer({ mode: "root", tls: { cert: cert.cert, key: cert.key } });
    const c = await connect(server.port, undefined, { tls: { ca: cert.certPem, servername: "localhost" } });
    expect(c.socket).toBeInstanceOf(TLSSocket);
    expect((c.socket as TLSSocket).authorized).toBe(true);
    const r = await c.getRootObject();
    expect(await r.callRemote("echo", "over tls")).toEqual(tuple(tuple("over tls"), new Map()));
    const thing = (await r.callRemote("getThing", "tls")) as RemoteReference;
    expect(await thing.callRemote("hello", "secure")).toBe("hello secure from tls");
    await c.disconnect();
    await server.stop();
  });

  it("Unix socket", async () => {
    const path = join(tmp.path, "pb.sock");
    const server = await startPyServer({ mode: "root", unix: path });
    expect(server.path).toBe(path);
    const c = await PBClient.connect({ path });
    clients.push(c);
    const r = await c.getRootObject();
    expect(await r.callRemote("echo", "over unix")).toEqual(tuple(tuple("over unix"), new Map()));
    const cb = new Callback("unix");
    expect(await r.callRemote("callMeBack", cb, "ping", 3)).toEqual(tuple("pong", 3));
    await c.disconnect();
    await server.stop();
  });
});

describe("TS client -> Twisted portal server (cred login)", () => {
  let server: PyServer;

  beforeAll(async () => {
    server = await startPyServer({ mode: "portal", mindCalls: 4 });
  });

  it("logs in with a password; the realm calls the mind several times before it answers", async () => {
    const c = await connect(server.port);
    const mind = new Callback("worker");
    const avatar = await c.login("alice", "secret", mind);
    // everything the master asked happened before the login answer
    expect(methodsCalled(mind)).toEqual(["print", "getInfo", "ping", "ping"]);
    expect(mind.calls[0].args).toEqual(["welcome alice"]);
    expect(mind.calls.slice(2).map((x) => x.args)).toEqual([[1], [2]]);
    expect(avatar).toBeInstanceOf(RemoteReference);
    expect(await avatar.callRemote("whoami")).toBe("alice");
    expect(await avatar.callRemote("echo", 1, kwargs({ a: "b" }))).toEqual(tuple(tuple(1), new Map([["a", "b"]])));
    const results = JSON.parse((await avatar.callRemote("mindResults")) as string);
    expect(results).toEqual([
      ["print", ["none"]],
      ["getInfo", desc(new Map([["name", "worker"], ["runtime", "node"]]))],
      ["ping", desc(tuple("pong", 1))],
      ["ping", desc(tuple("pong", 2))],
    ]);
    // the master pings the mind later on, too
    expect(await avatar.callRemote("pingMind", 9)).toEqual(tuple("pong", 9));
    expect(mind.calls.at(-1)).toMatchObject({ method: "ping", args: [9] });
    await server.waitForEvent("login", (e) => e.user === "alice");

    // a Viewable sees the avatar as perspective; a Copyable is copied for it
    const board = (await avatar.callRemote("getBoard")) as RemoteReference;
    expect(await board.callRemote("post", "hi")).toEqual(tuple("alice", "hi"));
    expect(await board.callRemote("whoami")).toBe("alice");
    const secret = (await avatar.callRemote("getSecret", "s3")) as RemoteSecret;
    expect(secret).toBeInstanceOf(RemoteSecret);
    expect([secret.text, secret.owner, secret.shout]).toEqual(["s3", "alice", "S3"]);

    const f = await failureOf(avatar.callRemote("fail", "from avatar"));
    expect([f.type, f.value]).toEqual(["builtins.ValueError", "from avatar"]);
    const missing = await failureOf(avatar.callRemote("nope"));
    expect(missing.type).toBe("builtins.AttributeError");

    // logout runs when the connection goes
    await c.disconnect();
    await server.waitForEvent("logout", (e) => e.user === "alice");
  });

  it("a wrong password or an unknown user fails with UnauthorizedLogin, as Twisted sends it", async () => {
    const c = await connect(server.port);
    for (const [user, pw] of [["alice", "wrong"], ["mallory", "secret"]]) {
      const f = await failureOf(c.login(user, pw));
      expect(f.type).toBe("twisted.cred.error.UnauthorizedLogin");
      expect(f.check(UnauthorizedLogin)).toBe("twisted.cred.error.UnauthorizedLogin");
      expect(f.parents).toEqual([
        "twisted.cred.error.UnauthorizedLogin",
        "twisted.cred.error.LoginFailed",
        "twisted.cred.error.Unauthorized",
        "builtins.Exception",
        "builtins.BaseException",
        "builtins.object",
      ]);
      expect(f.value).toBe("");
      expect(f.state.get("pickled")).toBe(1);
    }
    // Twisted logs a failed login as the peer's traceback (UnauthorizedLogin is not a pb.Error)
    await server.waitForEvent("log", (e) => e.failure === "twisted.cred.error.UnauthorizedLogin");
    // the connection is still good
    const bob = await c.login("bob", "hunter2");
    expect(await bob.callRemote("whoami")).toBe("bob");
    await c.disconnect();
  });

  it("anonymous login, with and without a mind", async () => {
    const c = await connect(server.port);
    const anon = await c.loginAnonymous();
    expect(await anon.callRemote("whoami")).toBe("anonymous");
    const mind = new Callback("anon-mind");
    const anon2 = await c.loginAnonymous(mind);
    expect(await anon2.callRemote("whoami")).toBe("anonymous");
    expect(methodsCalled(mind)).toEqual(["print", "getInfo", "ping", "ping"]);
    await c.disconnect();
  });

  it("releasing the avatar logs it out on the server while the connection stays", async () => {
    const c = await connect(server.port);
    const bob = await c.login("bob", "hunter2");
    expect(await bob.callRemote("whoami")).toBe("bob");
    const before = server.eventsOf("logout").filter((e) => e.user === "bob").length;
    bob.release();
    await until(() => server.eventsOf("logout").filter((e) => e.user === "bob").length === before + 1, 5000, "bob's logout");
    expect(c.broker.isDisconnected).toBe(false);
    const again = await c.login("bob", "hunter2");
    expect(await again.callRemote("whoami")).toBe("bob");
    await c.disconnect();
  });

  it("anonymous login without an anonymous checker fails with UnhandledCredentials", async () => {
    const strict = await startPyServer({ mode: "portal", anonymous: false });
    const c = await connect(strict.port);
    const f = await failureOf(c.loginAnonymous());
    expect(f.type).toBe("twisted.cred.error.UnhandledCredentials");
    expect(f.check("twisted.cred.error.LoginFailed")).toBe("twisted.cred.error.LoginFailed");
    await c.disconnect();
    await strict.stop();
  });

  it("the reconnecting client logs in again after the server restarts, and tells the application", async () => {
    const first = await startPyServer({ mode: "portal", mindCalls: 2 });
    const port = first.port;
    const mind = new Callback("reconnecting-mind");
    const sessions: RemoteReference[] = [];
    const drops: number[] = [];
    const rc = new ReconnectingPBClient(
      { host: HOST, port },
      {
        credentials: { username: "alice", password: "secret" },
        mind,
        initialDelayMs: 50,
        maxDelayMs: 200,
        onConnect: (s) => sessions.push(s.avatar!),
        onDisconnect: (_e, retryInMs) => drops.push(retryInMs),
      },
    ).start();
    try {
      await until(() => sessions.length === 1, 10_000, "the first login");
      expect(await sessions[0].callRemote("whoami")).toBe("alice");
      await first.stop();
      await until(() => drops.length >= 1, 10_000, "the disconnect notice");
      const second = await startPyServer({ mode: "portal", mindCalls: 2, port });
      await until(() => sessions.length === 2, 15_000, "the second login");
      expect(await sessions[1].callRemote("whoami")).toBe("alice");
      await second.waitForEvent("login", (e) => e.user === "alice");
      expect(methodsCalled(mind)).toEqual(["print", "getInfo", "print", "getInfo"]);
      expect(drops[0]).toBe(50);
      await expect(sessions[0].callRemote("whoami")).rejects.toBeInstanceOf(DeadReferenceError);
      await rc.stop();
      await second.waitForEvent("logout", (e) => e.user === "alice");
      await second.stop();
    } finally {
      await rc.stop();
    }
  });
});
