// Errors a developer can see: an unexpected exception in a remote method is reported on the side
// it happened by default (stderr, as Twisted's log.err), through a logger that can be replaced;
// NODE_DEBUG=twisted-pb traces every message.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  Cacheable, consoleLogger, describeMessage, PBError, Referenceable, RemoteCache, RemoteReference, setDefaultLogger,
  setUnjellyableForClass, type LogEntry, type RemoteCacheObserver,
} from "../../src/pb/index.ts";
import { pair, tick, TakingRoot } from "./support.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

class Oops extends Referenceable {
  remote_crash(): never {
    throw new RangeError("index out of range in crash");
  }
  remote_refuse(): never {
    throw new PBError("no, on purpose");
  }
  async remote_crashLater(): Promise<never> {
    await tick();
    throw new TypeError("late crash");
  }
}

class Watched extends Cacheable {
  static pythonType = "test.Watched";
  observer: RemoteCacheObserver | null = null;
  override getStateToCacheAndObserveFor(_p: unknown, observer: RemoteCacheObserver): unknown {
    this.observer = observer;
    return { n: 1 };
  }
}
class WatchedCopy extends RemoteCache {
  observe_boom(): never {
    throw new Error("observer blew up");
  }
}
setUnjellyableForClass("test.Watched", WatchedCopy);

class ErrRoot extends TakingRoot {
  oops = new Oops();
  watched = new Watched();
  remote_oops() {
    return this.oops;
  }
  remote_watched() {
    return this.watched;
  }
}

afterEach(() => {
  vi.restoreAllMocks();
  setDefaultLogger(consoleLogger);
});

function stderrText(spy: { mock: { calls: unknown[][] } }): string {
  return spy.mock.calls.map((args) => args.map((a: unknown) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(" ")).join("\n");
}

describe("unexpected exceptions in remote methods are reported by default", () => {
  it("server role: remote_ raising a non-pb.Error is written to stderr; a pb.Error is not", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const root = new ErrRoot();
    const p = await pair(root);
    const oops = (await p.client.remoteForName("root").callRemote("oops")) as RemoteReference;
    await expect(oops.callRemote("crash")).rejects.toMatchObject({ type: "builtins.ValueError" });
    const text = stderrText(spy);
    expect(text).toContain("Peer will receive following PB traceback:");
    expect(text).toContain("RangeError: index out of range in crash");
    spy.mockClear();
    await expect(oops.callRemote("refuse")).rejects.toBeDefined();
    expect(spy).not.toHaveBeenCalled();
    await expect(oops.callRemote("crashLater")).rejects.toBeDefined();
    expect(stderrText(spy)).toContain("TypeError: late crash");
    p.close();
  });

  it("client role: a method the server calls on our object is reported on our side", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const root = new ErrRoot();
    const p = await pair(root);
    await p.client.remoteForName("root").callRemote("take", new Oops());
    await expect(root.client!.callRemote("crash")).rejects.toBeDefined();
    expect(stderrText(spy)).toContain("RangeError: index out of range in crash");
    p.close();
  });

  it("observe_ on a cache copy raising is reported on the holder's side", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const root = new ErrRoot();
    const p = await pair(root);
    const copy = await p.client.remoteForName("root").callRemote("watched");
    expect(copy).toBeInstanceOf(WatchedCopy);
    await expect(root.watched.observer!.callRemote("boom")).rejects.toBeDefined();
    expect(stderrText(spy)).toContain("observer blew up");
    p.close();
  });

  it("the default logger can be replaced (and an explicit log option wins)", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const seen: LogEntry[] = [];
    setDefaultLogger((e) => seen.push(e));
    const p = await pair(new ErrRoot());
    const oops = (await p.client.remoteForName("root").callRemote("oops")) as RemoteReference;
    await expect(oops.callRemote("crash")).rejects.toBeDefined();
    expect(seen.map((e) => e.message)).toContain("Peer will receive following PB traceback:");
    expect(seen.find((e) => e.error instanceof RangeError)).toBeDefined();
    expect(spy).not.toHaveBeenCalled();
    const mine: LogEntry[] = [];
    const q = await pair(new ErrRoot(), { log: (e) => mine.push(e) });
    const oops2 = (await q.client.remoteForName("root").callRemote("oops")) as RemoteReference;
    seen.length = 0;
    await expect(oops2.callRemote("crash")).rejects.toBeDefined();
    expect(mine).toHaveLength(1);
    expect(seen).toHaveLength(0);
    p.close();
    q.close();
  });
});

describe("NODE_DEBUG=twisted-pb", () => {
  const script = `
    import { Broker, Root, connectInMemory } from "./src/index.ts";
    class R extends Root { remote_add(a, b) { return a + b; } }
    const server = new Broker({ role: "listener", root: new R() });
    const client = new Broker({ role: "initiator" });
    connectInMemory(client, server);
    await client.ready;
    console.log("answer", await client.remoteForName("root").callRemote("add", 2, 3));
  `;
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env } });

  it("traces every message both ways through debuglog", () => {
    const r = run({ NODE_DEBUG: "twisted-pb" });
    expect(r.stdout).toContain("answer 5");
    expect(r.stderr).toMatch(/TWISTED-PB \d+: initiator -> \["message", 1, "root", "add", 1, \["tuple", 2, 3\], \["dictionary"\]\]/);
    expect(r.stderr).toMatch(/TWISTED-PB \d+: listener <- \["message", 1/);
    expect(r.stderr).toMatch(/TWISTED-PB \d+: listener -> \["answer", 1, 5\]/);
    expect(r.stderr).toMatch(/TWISTED-PB \d+: initiator <- \["answer", 1, 5\]/);
  }, 60_000);

  it("is silent without it", () => {
    const r = run({ NODE_DEBUG: "" });
    expect(r.stdout).toContain("answer 5");
    expect(r.stderr).not.toContain("TWISTED-PB");
  }, 60_000);

  it("renders a message in bounded length whatever it holds", () => {
    const huge = ["message", 1, new Uint8Array(100_000).fill(0x41), Array.from({ length: 10_000 }, (_, i) => i)] as const;
    const line = describeMessage(huge as never, 200);
    expect(line.length).toBeLessThanOrEqual(203);
    expect(line.startsWith(`["message", 1, b'AAAA`)).toBe(true);
    expect(describeMessage([new Uint8Array([0x27, 0x00, 0x41])])).toBe(`[b'\\x27\\x00A']`);
  });
});
