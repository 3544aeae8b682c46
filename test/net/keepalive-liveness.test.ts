// TCP keepalive is on by default in both roles; the optional PB-level liveness check notices a
// server that is gone behind a proxy that keeps the TCP connection up.
import * as net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_KEEPALIVE_MS, LivenessTimeout, PBClient, PBServer, Root } from "../../src/index.ts";
import { freezableProxy, sleep, tapReceived, until } from "./support.ts";

class EchoRoot extends Root {
  remote_echo(x: unknown) {
    return x;
  }
}

let server: PBServer;
beforeAll(async () => {
  server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot() });
});
afterAll(async () => {
  await server.close(200);
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("TCP keepalive", () => {
  it("is on by default on the client's and the server's sockets, and can be tuned or turned off", async () => {
    const calls: [boolean | undefined, number | undefined][] = [];
    vi.spyOn(net.Socket.prototype, "setKeepAlive").mockImplementation(function (this: net.Socket, enable?: boolean, delay?: number) {
      calls.push([enable, delay]);
      return this;
    });
    const accepted = new Promise<void>((r) => server.once("connection", () => r()));
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    await accepted;
    // one for the client's socket, one for the server's
    expect(calls).toEqual([
      [true, DEFAULT_KEEPALIVE_MS],
      [true, DEFAULT_KEEPALIVE_MS],
    ]);
    await client.disconnect();
    calls.length = 0;
    const accepted2 = new Promise<void>((r) => server.once("connection", () => r()));
    const tuned = await PBClient.connect({ host: "127.0.0.1", port: server.port }, { keepAlive: 5000 });
    await accepted2;
    // the client's socket as told, the server's at its default
    expect(calls.sort()).toEqual([
      [true, 5000],
      [true, DEFAULT_KEEPALIVE_MS],
    ]);
    await tuned.disconnect();
    calls.length = 0;
    const quiet = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot(), keepAlive: false });
    const off = await PBClient.connect({ host: "127.0.0.1", port: quiet.port }, { keepAlive: false });
    await sleep(20);
    expect(calls).toEqual([]);
    await off.disconnect();
    await quiet.close(200);
  });
});

describe("PB-level liveness check", () => {
  it("drops the connection with LivenessTimeout when the server stops answering behind a proxy", async () => {
    const proxy = await freezableProxy(server.port);
    const watched = await PBClient.connect({ host: "127.0.0.1", port: proxy.port }, { liveness: { interval: 100, timeout: 300 } });
    const unwatched = await PBClient.connect({ host: "127.0.0.1", port: proxy.port });
    expect(await (await watched.getRootObject()).callRemote("echo", 1)).toBe(1);
    proxy.freeze();
    const t = performance.now();
    const reason = await watched.closed;
    expect(reason).toBeInstanceOf(LivenessTimeout);
    expect(performance.now() - t).toBeLessThan(3000);
    // without the check, the client cannot tell
    expect(unwatched.broker.isDisconnected).toBe(false);
    unwatched.socket.destroy();
    await proxy.close();
  });

  it("rejects bad liveness options before connecting", async () => {
    let accepted = 0;
    const count = () => accepted++;
    server.on("connection", count);
    await expect(PBClient.connect({ host: "127.0.0.1", port: server.port }, { liveness: { interval: 0 } })).rejects.toThrow(RangeError);
    await sleep(50);
    server.off("connection", count);
    expect(accepted).toBe(0);
  });

  it("keeps a healthy idle connection, and sends no check while the server is talking", async () => {
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port }, { liveness: { interval: 50, timeout: 1000 } });
    const seen = tapReceived(client);
    await until(() => seen.length >= 2, 3000, "two liveness answers");
    expect(seen.every(([head]) => head === "error")).toBe(true);
    expect(client.broker.isDisconnected).toBe(false);
    // while answers keep coming, no check goes out
    const root = await client.getRootObject();
    seen.length = 0;
    const end = Date.now() + 300;
    while (Date.now() < end) await root.callRemote("echo", 0);
    expect(seen.filter(([head]) => head === "error").length).toBeLessThanOrEqual(1);
    await client.disconnect();
  });
});
