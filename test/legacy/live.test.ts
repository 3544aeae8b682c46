// Live, both roles, against every Twisted version we have: 16.6, 18.9 and 20.3 on Python 2.7,
// Debian's 22.4, 24.7 and 24.10rc1 on Python 3 (../shared/legacy-twisted; LEGACY_TWISTED or
// ~/.cache/twisted-legacy). Per version, one Python process serves (interop/peer.py serve legacy) and
// one runs as a client (interop/peer.py legacy-client) against our server, both from one source.
// Versions that are not set up here are skipped, and say why.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AllowAnonymousAccess, Avatar, Cacheable, CopiedFailure, Copyable, InMemoryPasswordChecker, IPerspective, PBClient, PBServer, Portal,
  Referenceable, RemoteCache, RemoteCacheObserver, RemoteCopy, RemoteReference, StringPager, getAllPages, kwargs, setUnjellyableForClass,
  splitArgs, tuple, type AvatarId, type Broker, type LoginResult, type Realm,
} from "../../src/index.ts";
import { AttributeError } from "../../src/pb/index.ts";
import { PyUnicode } from "../../src/jelly/index.ts";
import type { PyEvent, PyProcess } from "../../interop/pbpeers.ts";
import { TWISTED_VARIANTS, launcherFor, probe, spawnWith, type TwistedLauncher } from "../../interop/twisted-versions.ts";

const HOST = "127.0.0.1";
const PEER = join(dirname(fileURLToPath(import.meta.url)), "../../interop/peer.py");
const utf8 = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const PAGES = 100_000;
const pattern = (n: number) => new Uint8Array(n).map((_, i) => i % 251);

async function until<T>(check: () => T | Promise<T>, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// ---- classes both roles share with interop/peer.py ------------------------------------------

class LPoint extends Copyable {
  static pythonType = "__main__.LPoint";
  constructor(
    public x: number,
    public y: number,
    public label: string,
  ) {
    super();
  }
}

class RemoteLPoint extends RemoteCopy {
  declare x: number;
  declare y: number;
  declare label: unknown;
}
setUnjellyableForClass("__main__.LPoint", RemoteLPoint);

class LCounter extends Cacheable {
  static pythonType = "__main__.LCounter";
  value = 0;
  readonly observers: RemoteCacheObserver[] = [];
  override getStateToCacheAndObserveFor(_p: unknown, observer: RemoteCacheObserver): unknown {
    this.observers.push(observer);
    return new Map<string, unknown>([
      ["value", this.value],
      ["name", "ctr"],
    ]);
  }
  bump(): Promise<unknown> {
    this.value++;
    return Promise.all(this.observers.map((o) => o.callRemote("setValue", this.value)));
  }
}

class RemoteLCounter extends RemoteCache {
  declare value: number;
  declare name: unknown;
  readonly updates: number[] = [];
  observe_setValue(v: number) {
    this.value = v;
    this.updates.push(v);
  }
}
setUnjellyableForClass("__main__.LCounter", RemoteLCounter);

/** The login mind of our client: Python's server calls it. */
class Mind extends Referenceable {
  remote_ping(...all: unknown[]) {
    const [args, kw] = splitArgs(all);
    return tuple("pong", ...args, kw?.get("tag") ?? null);
  }
  remote_boom() {
    throw new RangeError("ts failed");
  }
}

class Thing extends Referenceable {
  remote_hello(x: unknown) {
    return tuple("hello", x);
  }
}

/** Our server's avatar: the same methods as interop/peer.py's LAvatar (and Python's LUser's name). */
class LUser extends Avatar {
  readonly thing = new Thing();
  readonly counter = new LCounter();
  given = 0;
  released = 0;
  constructor(readonly mind: RemoteReference) {
    super();
  }
  perspective_echo(...all: unknown[]) {
    const [args, kw] = splitArgs(all);
    return tuple(tuple(...args), kw ? kw.toMap() : new Map());
  }
  perspective_getPoint() {
    return new LPoint(1, 2, "pt");
  }
  perspective_takePoint(p: RemoteLPoint) {
    return tuple(p.constructor.name, Number(p.x) + Number(p.y), p.label);
  }
  perspective_getCounter() {
    return this.counter;
  }
  perspective_bump() {
    return this.counter.bump();
  }
  perspective_fail() {
    throw new RangeError("bad value");
  }
  perspective_add(a: number, b: number) {
    return a + b;
  }
  perspective_giveRef() {
    if (this.given++ === 0) this.mind.broker.setLocalCleanup(this.thing, () => this.released++);
    return this.thing;
  }
  perspective_isSame(ref: unknown) {
    return ref === this.thing;
  }
  perspective_localCount() {
    return this.given > this.released ? 1 : 0;
  }
  async perspective_pingMind(n: number) {
    return this.mind.callRemote("ping", n, kwargs({ tag: "t" }));
  }
  async perspective_mindFail() {
    const f = (await this.mind.callRemote("boom").catch((e: unknown) => e)) as CopiedFailure;
    return JSON.stringify({ type: f.type, value: f.value, python: f.python });
  }
  perspective_getPages(collector: RemoteReference) {
    new StringPager(collector, pattern(PAGES), 8192);
  }
}

class LRealm implements Realm {
  /** The broker of every login: each follows its own peer's Python. */
  readonly brokers: Broker[] = [];
  async requestAvatar(_id: AvatarId, mind: unknown, ...interfaces: string[]): Promise<LoginResult> {
    expect(interfaces).toContain(IPerspective);
    this.brokers.push((mind as RemoteReference).broker as Broker);
    return [IPerspective, new LUser(mind as RemoteReference), () => {}];
  }
}

// ---- which versions run here ---------------------------------------------------------------

const launchers = new Map<string, TwistedLauncher | string>();
for (const v of TWISTED_VARIANTS) {
  const l = launcherFor(v);
  if ("missing" in l) launchers.set(v, l.missing);
  else launchers.set(v, probe(l) ?? `its Python cannot import Twisted (${l.command})`);
}
const skipped = [...launchers].filter(([, l]) => typeof l === "string");
if (skipped.length) {
  console.warn(`[legacy live] SKIPPED ${skipped.length} of ${TWISTED_VARIANTS.length} Twisted versions:\n${skipped.map(([v, why]) => `  ${v}: ${String(why)}`).join("\n")}`);
}

const CLIENT_STEPS = [
  "login", "echo", "echo-unicode", "copy-in", "copy-out", "cache", "failure-in", "arity", "no-such-method", "no-such-remote",
  "failure-out", "reference", "reference-back", "decref", "mind-call", "pager", "still-connected",
];

for (const variant of TWISTED_VARIANTS) {
  const launcher = launchers.get(variant)!;
  const present = typeof launcher !== "string";
  describe.skipIf(!present)(`Twisted ${variant}${present ? "" : ` (SKIPPED: ${launcher})`}`, () => {
    const l = launcher as TwistedLauncher;
    const py2 = l.python?.startsWith("2.") ?? false;
    const python = py2 ? 2 : 3;
    const procs: PyProcess[] = [];
    let server: PyProcess;
    let client: PBClient;
    let avatar: RemoteReference;
    let ours: PBServer;
    let pyClient: PyProcess;
    const realm = new LRealm();
    const peerLogs: string[] = [];

    beforeAll(async () => {
      // Both roles start at once: our server for Python's client, Python's server for our client.
      ours = await PBServer.listen({ host: HOST, port: 0 }, {
        root: new Portal(realm, [new InMemoryPasswordChecker({ alice: "secret" }), new AllowAnonymousAccess()]),
        log: (e) => peerLogs.push(e.message),
      });
      const port = (ours.server.address() as { port: number }).port;
      pyClient = spawnWith(l, `${variant} client`, PEER, ["legacy-client", "--port", String(port), "--timeout", "50"]);
      server = spawnWith(l, `${variant} server`, PEER, ["serve", "legacy", "--lifetime", "50"]);
      procs.push(pyClient, server);
      const listening = await server.waitForEvent("listening", () => true, 20_000);
      expect(listening).toMatchObject({ twisted: l.twisted, python: l.python });
      client = await PBClient.connect({ host: HOST, port: listening.legacy as number });
    });

    afterAll(async () => {
      client?.socket.destroy();
      await Promise.all(procs.map((p) => p.stop()));
      await ours?.close(200);
    });

    describe(`our client -> Twisted ${l.twisted ?? "?"} server (Python ${l.python ?? "?"})`, () => {
      it("logs in with a password and a mind", async () => {
        avatar = await client.login("alice", "secret", new Mind());
        expect(avatar).toBeInstanceOf(RemoteReference);
      });

      it("follows the peer's Python from its first Copyable, and reads it as that version means it", async () => {
        expect(client.broker.peer.source).toBe("assumed");
        const p = (await avatar.callRemote("getPoint")) as RemoteLPoint;
        expect(p).toBeInstanceOf(RemoteLPoint);
        expect(client.broker.peer.python).toBe(python);
        expect(client.broker.peer.source).toBe("shown");
        expect([p.x, p.y]).toEqual([1, 2]);
        expect(p.label).toEqual(py2 ? utf8("pt") : "pt"); // Python 2's str is bytes
      });

      it("calls with every value type, kwargs included, and gets them back as sent", async () => {
        const values = [
          0, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2n ** 70n, -(2n ** 70n), 2.5, -0, 1e100,
          "text", new PyUnicode("h\u00e9 \u4e2d"), utf8("raw\u0000"), "", null, true, false,
          [1, [2, ["x"]]], tuple(1, "t"), tuple(), new Map<unknown, unknown>([["k", 1], [7, utf8("int key")], [tuple(1, 2), null]]), new Set([1, 2]),
        ];
        const [args, kw] = (await avatar.callRemote("echo", ...values, kwargs({ key: "kw", n: 2n ** 70n, u: new PyUnicode("\u00e9") }))) as [unknown[], Map<unknown, unknown>];
        const echo = await server.waitForEvent("echo", () => true, 5000);
        const got = (echo.args as [string, unknown[]])[1];
        // What Python received: a JS string is that Python's native str, PyUnicode is unicode, bytes are bytes.
        expect(got[10]).toEqual(py2 ? ["bytes", "74657874"] : ["text", "text"]);
        expect(got[11]).toEqual(["text", "h\u00e9 \u4e2d"]);
        expect(got[12]).toEqual(["bytes", "72617700"]);
        expect(got[5]).toEqual(["int", String(2n ** 70n)]);
        expect(got[8]).toEqual(["float", "-0.0"]);
        expect(got[9]).toEqual(["float", "1e+100"]);
        const kwDesc = (echo.kw as [string, unknown[][]])[1];
        expect(kwDesc.map((kv) => kv[0])).toEqual(py2 ? [["bytes", "6b6579"], ["bytes", "6e"], ["bytes", "75"]] : [["text", "key"], ["text", "n"], ["text", "u"]]);
        // And back: unicode stays unicode (PyUnicode with a Python 2 peer), native str comes back as that Python's str.
        const native = (s: string) => (py2 ? utf8(s) : s);
        expect(args[10]).toEqual(native("text"));
        expect(args[11]).toEqual(py2 ? new PyUnicode("h\u00e9 \u4e2d") : "h\u00e9 \u4e2d");
        expect(args[12]).toEqual(utf8("raw\u0000"));
        expect(args.slice(0, 10).map(Number)).toEqual(values.slice(0, 10).map(Number));
        expect(Object.is(args[8], -0) || Object.is(Number(args[8]), -0)).toBe(true);
        expect(args[14]).toBe(null);
        expect(args.slice(15, 17)).toEqual([true, false]);
        expect(args[17]).toEqual([1, [2, [native("x")]]]);
        expect(args[18]).toEqual(tuple(1, native("t")));
        expect(args[21]).toEqual(new Set([1, 2]));
        // Python 2 sends dicts in hash order: compare sorted.
        const kwEntries = [...kw].map(([k, v]) => [k instanceof Uint8Array ? new TextDecoder().decode(k) : k, v]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
        expect(kwEntries).toEqual([
          ["key", native("kw")],
          ["n", 2n ** 70n],
          ["u", py2 ? new PyUnicode("\u00e9") : "\u00e9"],
        ]);
      });

      it("sends a Copyable that Twisted receives as its RemoteCopy", async () => {
        const r = (await avatar.callRemote("takePoint", new LPoint(3, 4, "tp"))) as unknown[];
        const native = (s: string) => (py2 ? utf8(s) : s);
        expect(r).toEqual(tuple(native("RemoteLPoint"), 7, native("tp")));
      });

      it("holds a Cacheable's copy and follows its observer updates", async () => {
        const c = (await avatar.callRemote("getCounter")) as RemoteLCounter;
        expect(c).toBeInstanceOf(RemoteLCounter);
        expect(c.value).toBe(0);
        expect(c.name).toEqual(py2 ? utf8("ctr") : "ctr");
        await avatar.callRemote("bump");
        await until(() => c.value === 1, "the observer update");
        expect(c.updates).toEqual([1]);
      });

      it("reads Twisted's failure as that Python names it, and traps it by our names too", async () => {
        const f = (await avatar.callRemote("fail").catch((e: unknown) => e)) as CopiedFailure;
        expect(f).toBeInstanceOf(CopiedFailure);
        expect(f.type).toBe(py2 ? "exceptions.ValueError" : "builtins.ValueError");
        expect(f.typeRaw).toEqual(utf8(f.type));
        expect(f.python).toBe(python);
        expect(f.value).toBe("bad value");
        expect(f.parents).toEqual(
          py2
            ? ["exceptions.ValueError", "exceptions.StandardError", "exceptions.Exception", "exceptions.BaseException", "__builtin__.object"]
            : ["builtins.ValueError", "builtins.Exception", "builtins.BaseException", "builtins.object"],
        );
        expect(f.check(RangeError)).toBe("builtins.ValueError");
        expect(f.check("builtins.ValueError", "exceptions.ValueError")).not.toBe(null);
        const missing = (await avatar.callRemote("nope").catch((e: unknown) => e)) as CopiedFailure;
        expect(missing.check(AttributeError)).not.toBe(null);
        expect(missing.value).toBe(py2 ? "LAvatar instance has no attribute 'perspective_nope'" : "'LAvatar' object has no attribute 'perspective_nope'");
      });

      it("sends our failure in the peer's names: Twisted traps it (and 24.7+ keeps the connection)", async () => {
        const got = JSON.parse(String(new TextDecoder().decode(asBytes(await avatar.callRemote("mindFail"))))) as Record<string, unknown>;
        expect(got).toEqual({ type: py2 ? "exceptions.ValueError" : "builtins.ValueError", value: "ts failed", parents: got.parents, trapsValueError: true });
        expect(got.parents).toEqual(
          py2
            ? ["exceptions.ValueError", "exceptions.StandardError", "exceptions.Exception", "exceptions.BaseException", "__builtin__.object"]
            : ["builtins.ValueError", "builtins.Exception", "builtins.BaseException", "builtins.object"],
        );
      });

      let thing: RemoteReference;
      it("passes a reference back: Twisted gets its own object", async () => {
        thing = (await avatar.callRemote("giveRef")) as RemoteReference;
        expect(thing).toBeInstanceOf(RemoteReference);
        expect(await thing.callRemote("hello", 1)).toEqual(tuple(py2 ? utf8("hello") : "hello", 1));
        expect(await avatar.callRemote("isSame", thing)).toBe(true);
      });

      it("decref: releasing the reference frees it in Twisted's broker", async () => {
        const before = (await avatar.callRemote("localCount")) as number;
        client.broker.releaseReference(thing);
        await until(async () => (await avatar.callRemote("localCount")) === before - 1, "the decref");
      });

      it("Twisted calls our mind with kwargs and gets its native types back", async () => {
        const [ok, got] = (await avatar.callRemote("pingMind", 5)) as [boolean, unknown];
        expect(got).toBeDefined();
        expect(ok).toBe(true);
      });

      it("an explicit strings option fixes the peer's Python from the first call (no evidence needed)", async () => {
        const fixed = await PBClient.connect({ host: HOST, port: (server.events[0].legacy as number) }, { strings: py2 ? "bytes" : "unicode" });
        try {
          const a = await fixed.login("alice", "secret", new Mind());
          expect(fixed.broker.peer.source).toBe("fixed");
          const n = server.eventsOf("echo").length;
          await a.callRemote("echo", "first");
          await until(() => server.eventsOf("echo").length > n, "the echo");
          const echo = server.eventsOf("echo")[n];
          expect((echo.args as [string, unknown[]])[1][0]).toEqual(py2 ? ["bytes", "6669727374"] : ["text", "first"]);
        } finally {
          fixed.socket.destroy();
        }
      });

      it("collects pages from Twisted's StringPager", async () => {
        const pages = (await getAllPages(avatar, "getPages")) as Uint8Array[];
        expect(pages.length).toBeGreaterThan(1);
        expect(Buffer.concat(pages).equals(Buffer.from(pattern(PAGES)))).toBe(true);
      });
    });

    describe(`Twisted ${l.twisted ?? "?"} client (Python ${l.python ?? "?"}) -> our server`, () => {
      let steps: Map<string, PyEvent>;
      beforeAll(async () => {
        const end = await pyClient.waitFor((e) => e.event === "done" || e.event === "error", 40_000, "the client's steps");
        steps = new Map(pyClient.eventsOf("step").map((e) => [String(e.name), e]));
        if (end.event === "error") console.warn(`[legacy live] ${variant} client stopped: ${String(end.text)}`);
      });

      it.each(CLIENT_STEPS)("%s", (name) => {
        const s = steps.get(name);
        expect(s, `step ${name} did not run${pyClient.diagnostics()}`).toBeDefined();
        expect(s!.ok, `${name}: ${JSON.stringify(s!.detail)}`).toBe(true);
      });

      it("each connection follows its own peer: this one was shown Python " + python, () => {
        expect(realm.brokers.length).toBe(1);
        expect(realm.brokers[0].peer.python).toBe(python);
        expect(realm.brokers[0].peer.source).toBe("shown");
      });
    });
  });
}

function asBytes(x: unknown): Uint8Array {
  if (x instanceof Uint8Array) return x;
  return utf8(String(x));
}

// The issue's case: one server, Python 2 clients and Twisted 24.7+ clients connected at once,
// each served as it expects (a server fixed to one string mode broke the other kind).
const present = TWISTED_VARIANTS.filter((v) => typeof launchers.get(v) !== "string");
describe.skipIf(present.length < 2)(`one server, ${present.length} Twisted versions' clients at once (${present.join(", ")})`, () => {
  const realm = new LRealm();
  let ours: PBServer;
  const clients: PyProcess[] = [];

  beforeAll(async () => {
    ours = await PBServer.listen({ host: HOST, port: 0 }, { root: new Portal(realm, [new InMemoryPasswordChecker({ alice: "secret" })]) });
    const port = (ours.server.address() as { port: number }).port;
    for (const v of present) clients.push(spawnWith(launchers.get(v) as TwistedLauncher, `${v} client`, PEER, ["legacy-client", "--port", String(port), "--timeout", "50"]));
    await Promise.all(clients.map((c) => c.waitFor((e) => e.event === "done" || e.event === "error", 40_000, "the client's steps")));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await ours?.close(200);
  });

  it.each(present.map((v, i) => [v, i] as const))("%s: every step passes", (_v, i) => {
    const steps = clients[i].eventsOf("step");
    expect(steps.map((s) => s.name)).toEqual(CLIENT_STEPS);
    for (const s of steps) expect(s.ok, `${String(s.name)}: ${JSON.stringify(s.detail)}`).toBe(true);
  });

  it("each connection settled on its own peer's Python", () => {
    const pythons = realm.brokers.map((b) => b.peer.python).sort();
    const expected = present.map((v) => ((launchers.get(v) as TwistedLauncher).python!.startsWith("2.") ? 2 : 3)).sort();
    expect(pythons).toEqual(expected);
  });
});
