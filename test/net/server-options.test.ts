// Server options: handshake timeout, idle timeout, connection cap, and close() that says
// goodbye to connected peers and resolves when they are gone; `await using` on both roles.
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it, vi } from "vitest";
import { makeSelfSignedCert, tempDir } from "../../interop/pbpeers.ts";
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_SERVER_HANDSHAKE_TIMEOUT, HandshakeTimeout, IdleTimeout, PBClient, PBConnectionLost, PBServer, Root, type Broker } from "../../src/index.ts";
import { rawConnect, sleep, until } from "./support.ts";

class EchoRoot extends Root {
  remote_echo(x: unknown) {
    return x;
  }
  remote_never() {
    return new Promise(() => {});
  }
}

const listen = (options: Partial<Parameters<typeof PBServer.listen>[1]> = {}) => PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot(), ...options });

describe("handshake timeout", () => {
  it("closes a connection that never answers the dialect offer, and keeps one that did", async () => {
    await using server = await listen({ handshakeTimeout: 150 });
    const reasons: (Error | undefined)[] = [];
    server.on("disconnect", (_b, r) => reasons.push(r));
    const raw = await rawConnect(server.port);
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const closed = new Promise((r) => raw.once("close", r));
    await closed;
    await until(() => reasons.length === 1, 2000, "the disconnect event");
    expect(reasons[0]).toBeInstanceOf(HandshakeTimeout);
    await sleep(200);
    expect(await (await client.getRootObject()).callRemote("echo", 1)).toBe(1);
    await client.disconnect();
  });
});

describe("handshake timeout over TLS", () => {
  const tmp = tempDir("twisted-pb-net-");
  afterAll(() => tmp.cleanup());
  const made = makeSelfSignedCert(tmp.path);
  const skip = "skip" in made ? made.skip : "";
  it.skipIf(!!skip)(`covers the TLS handshake: a TCP connection that never starts TLS is closed${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    if ("skip" in made) return;
    const tls = { cert: readFileSync(made.cert), key: readFileSync(made.key) };
    await using server = await PBServer.listen({ host: "127.0.0.1", port: 0, tls }, { root: new EchoRoot(), handshakeTimeout: 200 });
    const raw = await rawConnect(server.port);
    const closed = new Promise((r) => raw.once("close", r));
    const t = performance.now();
    await closed;
    expect(performance.now() - t).toBeLessThan(3000);
    // a TLS client that does the handshake is served
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port, tls: { ca: made.certPem, servername: "localhost" } });
    expect(await (await client.getRootObject()).callRemote("echo", "tls")).toBe("tls");
    await client.disconnect();
  });
});

describe("defaults a public service can live with", () => {
  it("a 30 s handshake timeout and a 10,000 connection cap unless told otherwise", async () => {
    expect([DEFAULT_SERVER_HANDSHAKE_TIMEOUT, DEFAULT_MAX_CONNECTIONS]).toEqual([30_000, 10_000]);
    await using server = await listen();
    expect(server.server.maxConnections).toBe(10_000);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const raw = await rawConnect(server.port);
      const closed = new Promise((r) => raw.once("close", r));
      // setImmediate is not faked: poll with it until the server has the connection (and its timer)
      for (let i = 0; i < 10_000 && server.connectionCount === 0; i++) await new Promise((r) => setImmediate(r));
      expect(server.connectionCount).toBe(1);
      vi.advanceTimersByTime(29_999);
      await new Promise((r) => setImmediate(r));
      expect(server.connectionCount).toBe(1);
      vi.advanceTimersByTime(1);
      vi.useRealTimers();
      await closed;
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("accept errors", () => {
  it("an error of the listening socket (EMFILE under a flood) is logged, or emitted when listened for, never thrown", async () => {
    const logged: string[] = [];
    await using server = await listen({ log: (e) => logged.push(e.message) });
    const emfile = Object.assign(new Error("accept EMFILE"), { code: "EMFILE" });
    expect(() => server.server.emit("error", emfile)).not.toThrow();
    expect(logged).toEqual(["PB server: accept EMFILE"]);
    const seen: Error[] = [];
    server.on("error", (e) => seen.push(e));
    server.server.emit("error", emfile);
    expect(seen).toEqual([emfile]);
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    expect(await (await client.getRootObject()).callRemote("echo", 1)).toBe(1);
    await client.disconnect();
  });
});

describe("idle timeout", () => {
  it("closes a connection silent for idleTimeout in both directions; a talking one stays", async () => {
    await using server = await listen({ idleTimeout: 200 });
    const idle = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const busy = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const root = await busy.getRootObject();
    const reasons: (Error | undefined)[] = [];
    server.on("disconnect", (_b, r) => reasons.push(r));
    const end = Date.now() + 500;
    while (Date.now() < end) {
      await root.callRemote("echo", 0);
      await sleep(50);
    }
    expect(idle.broker.isDisconnected).toBe(true);
    expect(reasons[0]).toBeInstanceOf(IdleTimeout);
    expect(busy.broker.isDisconnected).toBe(false);
    await busy.disconnect();
  });

  it("is off by default (PB sessions may idle for hours, as with Twisted)", async () => {
    await using server = await listen();
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    await sleep(300);
    expect(client.broker.isDisconnected).toBe(false);
    await client.disconnect();
  });
});

describe("connection cap", () => {
  it("closes connections past maxConnections at once (drop event) and accepts again once one leaves", async () => {
    await using server = await listen({ maxConnections: 3 });
    let drops = 0;
    server.on("drop", () => drops++);
    const clients = await Promise.all([0, 1, 2].map(() => PBClient.connect({ host: "127.0.0.1", port: server.port })));
    const refused = await PBClient.connect({ host: "127.0.0.1", port: server.port }, { timeout: 2000 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    expect(drops).toBe(1);
    expect(server.connectionCount).toBe(3);
    await clients[0].disconnect();
    await until(() => server.connectionCount === 2, 2000, "the server to see the hang-up");
    const again = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    expect(await (await again.getRootObject()).callRemote("echo", "in")).toBe("in");
    for (const c of [again, clients[1], clients[2]]) await c.disconnect();
  });
});

describe("close()", () => {
  it("closes every connection cleanly, fails their pending calls, and resolves once they are gone", async () => {
    const server = await listen();
    const brokers: Broker[] = [];
    server.on("connection", (b) => brokers.push(b));
    const clients = await Promise.all([0, 1, 2].map(() => PBClient.connect({ host: "127.0.0.1", port: server.port })));
    const roots = await Promise.all(clients.map((c) => c.getRootObject()));
    const pending = roots[0].callRemote("never").catch((e: unknown) => e);
    expect(await roots[1].callRemote("echo", "before")).toBe("before");
    await until(() => brokers.length === 3, 2000, "three connections");
    await server.close();
    expect(server.connectionCount).toBe(0);
    expect(brokers.every((b) => b.isDisconnected)).toBe(true);
    expect(await pending).toBeInstanceOf(PBConnectionLost);
    for (const c of clients) expect((await c.closed)?.message).toBe("Connection was closed cleanly.");
    // a second close is the same promise, and the port is free
    await server.close();
    expect(server.server.listening).toBe(false);
  });

  it("cuts off a peer that does not close its side within the grace period", async () => {
    const server = await listen();
    const raw = await rawConnect(server.port);
    raw.pause(); // never reads, never ends: only the grace timer ends it
    await sleep(20);
    const t = performance.now();
    await server.close(200);
    expect(performance.now() - t).toBeLessThan(2000);
    expect(server.connectionCount).toBe(0);
    raw.destroy();
  });
});

describe("await using", () => {
  it("disconnects a client and closes a server at the end of the block", async () => {
    let outer: PBServer;
    let inner: PBClient;
    {
      await using server = await listen();
      outer = server;
      {
        await using client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
        inner = client;
        expect(await (await client.getRootObject()).callRemote("echo", 2)).toBe(2);
      }
      expect(inner.broker.isDisconnected).toBe(true);
    }
    expect(outer.server.listening).toBe(false);
  });
});
