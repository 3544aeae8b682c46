// Nothing waits forever on the client: connect, getRootObject, login and loginAnonymous take
// { timeout, signal } and connect has a default handshake timeout.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CallAbandoned, ConnectAborted, ConnectTimeout, DEFAULT_HANDSHAKE_TIMEOUT, PBClient, PBConnectionLost, PBServer, Portal, Referenceable, Root, UsernamePassword, type Realm } from "../../src/index.ts";
import { neverLoginServer, silentServer, timed } from "./support.ts";

let silent: Awaited<ReturnType<typeof silentServer>>;
beforeAll(async () => {
  silent = await silentServer();
});
afterAll(async () => {
  await silent.close();
});

describe("against a server that accepts TCP and never sends its dialect", () => {
  it("connect rejects with ConnectTimeout within its timeout and closes the socket", async () => {
    const t = performance.now();
    const err = await PBClient.connect({ host: "127.0.0.1", port: silent.port }, { timeout: 150 }).catch((e: unknown) => e);
    const ms = performance.now() - t;
    expect(err).toBeInstanceOf(ConnectTimeout);
    expect(err).toBeInstanceOf(CallAbandoned);
    expect((err as Error).message).toMatch(/connecting to 127\.0\.0\.1:\d+: no result within 150 ms/);
    expect(ms).toBeGreaterThanOrEqual(140);
    expect(ms).toBeLessThan(2000);
    // the half-open connection is not left behind
    await new Promise((r) => setTimeout(r, 50));
    expect(silent.sockets.size).toBe(0);
  });

  it("connect rejects with ConnectAborted when its signal fires, with the signal's reason as cause", async () => {
    const controller = new AbortController();
    const p = PBClient.connect({ host: "127.0.0.1", port: silent.port }, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("shutting down")), 50);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectAborted);
    expect(((err as Error).cause as Error).message).toBe("shutting down");
    await expect(PBClient.connect({ host: "127.0.0.1", port: silent.port }, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ConnectAborted);
  });

  it("with no options, connect gives up after DEFAULT_HANDSHAKE_TIMEOUT (30 s)", async () => {
    expect(DEFAULT_HANDSHAKE_TIMEOUT).toBe(30_000);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const p = PBClient.connect({ host: "127.0.0.1", port: silent.port });
      const settled = p.then(
        () => "connected",
        (e: unknown) => e,
      );
      vi.advanceTimersByTime(29_999);
      await Promise.resolve();
      expect(await Promise.race([settled, new Promise((r) => setImmediate(() => r("pending")))])).toBe("pending");
      vi.advanceTimersByTime(1);
      expect(await settled).toBeInstanceOf(ConnectTimeout);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("against a server that trickles its dialect offer", () => {
  it("connect still rejects within its timeout: the deadline is overall, not reset by each byte", async () => {
    // Construction: a server that sends a list header announcing 1,000 dialects, then one byte
    // of a dialect name every 30 ms, for ever.
    const net = await import("node:net");
    const sockets = new Set<import("node:net").Socket>();
    const timers = new Set<ReturnType<typeof setInterval>>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on("error", () => {});
      s.write(Uint8Array.of(0x68, 0x07, 0x80)); // list of 1000 items
      s.write(Uint8Array.of(0x7f, 0x7f, 0x82)); // a string announced at 16,383 bytes
      const t = setInterval(() => s.destroyed || s.write(Uint8Array.of(0x61)), 30);
      timers.add(t);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as import("node:net").AddressInfo).port;
    const ms = await timed(async () => {
      await expect(PBClient.connect({ host: "127.0.0.1", port }, { timeout: 300 })).rejects.toBeInstanceOf(ConnectTimeout);
    });
    expect(ms).toBeLessThan(2000);
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe("against a server that completes the handshake but never answers a login", () => {
  let server: PBServer;
  beforeAll(async () => {
    server = await neverLoginServer();
  });
  afterAll(async () => {
    await server.close(200);
  });

  it("login and loginAnonymous reject with ConnectTimeout; the connection stays usable", async () => {
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    await expect(client.login(new UsernamePassword("alice", "pw"), null, { timeout: 100 })).rejects.toBeInstanceOf(ConnectTimeout);
    await expect(client.login("alice", "pw", null, { timeout: 100 })).rejects.toBeInstanceOf(ConnectTimeout);
    await expect(client.loginAnonymous(null, { timeout: 100 })).rejects.toBeInstanceOf(ConnectTimeout);
    const controller = new AbortController();
    const p = client.loginAnonymous(null, { signal: controller.signal });
    controller.abort();
    await expect(p).rejects.toBeInstanceOf(ConnectAborted);
    expect(client.broker.isDisconnected).toBe(false);
    const root = await client.getRootObject({ timeout: 1000 });
    expect(root).toBeDefined();
    await client.disconnect();
  });
});

describe("against a working server", () => {
  it("connect resolves after the handshake; the timeouts do not fire later", async () => {
    class R extends Root {
      remote_echo(x: unknown) {
        return x;
      }
    }
    const server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new R() });
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port }, { timeout: 200 });
    expect(client.broker.negotiatedDialect).toBe("pb");
    const root = await client.getRootObject({ timeout: 200 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await root.callRemote("echo", 5)).toBe(5);
    expect(client.broker.isDisconnected).toBe(false);
    await client.disconnect();
    // Our own clean disconnect gives the same reason as the peer's clean close.
    const reason = await client.closed;
    expect(reason).toBeInstanceOf(PBConnectionLost);
    expect(reason?.message).toBe("Connection was closed cleanly.");
    await server.close(200);
  });

  it("login with a timeout succeeds when the server answers in time", async () => {
    class Avatar extends Referenceable {}
    const realm: Realm = { requestAvatar: (id) => ["twisted.spread.pb.IPerspective", new Avatar(), () => {}] };
    const { InMemoryPasswordChecker } = await import("../../src/index.ts");
    const server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [new InMemoryPasswordChecker({ alice: "pw" })]) });
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const ms = await timed(() => client.login(new UsernamePassword("alice", "pw"), null, { timeout: 5000 }));
    expect(ms).toBeLessThan(5000);
    await client.disconnect();
    await server.close(200);
  });
});
