// TCP keepalive is on by default in both roles; the optional PB-level liveness check notices a
// server that is gone behind a proxy that keeps the TCP connection up.
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

/**
 * What a client socket was told to set once connected (TCP_NODELAY, keepalive and its delay in
 * seconds): PBClient opens plain TCP sockets with net.connect's noDelay and keepAlive options,
 * which Node keeps under these symbols and applies to the handle once connected.
 */
function connectOptions(socket: net.Socket): { noDelay: unknown; keepAlive: unknown; delaySeconds: unknown } {
  const value = (name: string) => {
    const symbol = Object.getOwnPropertySymbols(socket).find((s) => s.description === name);
    expect(symbol, `Node keeps ${name} on the socket`).toBeDefined();
    return (socket as unknown as Record<symbol, unknown>)[symbol!];
  };
  return { noDelay: value("kSetNoDelay"), keepAlive: value("kSetKeepAlive"), delaySeconds: value("kSetKeepAliveInitialDelay") };
}

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
    // The server's socket (setKeepAlive once accepted); the client's was opened with the options.
    expect(calls).toEqual([[true, DEFAULT_KEEPALIVE_MS]]);
    expect(connectOptions(client.socket)).toEqual({ noDelay: true, keepAlive: true, delaySeconds: DEFAULT_KEEPALIVE_MS / 1000 });
    await client.disconnect();
    calls.length = 0;
    const accepted2 = new Promise<void>((r) => server.once("connection", () => r()));
    const tuned = await PBClient.connect({ host: "127.0.0.1", port: server.port }, { keepAlive: 5000 });
    await accepted2;
    // the client's socket as told, the server's at its default
    expect(calls).toEqual([[true, DEFAULT_KEEPALIVE_MS]]);
    expect(connectOptions(tuned.socket)).toEqual({ noDelay: true, keepAlive: true, delaySeconds: 5 });
    await tuned.disconnect();
    calls.length = 0;
    const quiet = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot(), keepAlive: false });
    const off = await PBClient.connect({ host: "127.0.0.1", port: quiet.port }, { keepAlive: false });
    await sleep(20);
    expect(calls).toEqual([]);
    // TCP_NODELAY stays on whatever keepalive says.
    expect(connectOptions(off.socket)).toMatchObject({ noDelay: true, keepAlive: false });
    await off.disconnect();
    await quiet.close(200);
  });

  it("a TLS or Unix-socket client sets them once connected, as before", async () => {
    const calls: [boolean | undefined, number | undefined][] = [];
    const noDelay: (boolean | undefined)[] = [];
    vi.spyOn(net.Socket.prototype, "setKeepAlive").mockImplementation(function (this: net.Socket, enable?: boolean, delay?: number) {
      calls.push([enable, delay]);
      return this;
    });
    vi.spyOn(net.Socket.prototype, "setNoDelay").mockImplementation(function (this: net.Socket, enable?: boolean) {
      noDelay.push(enable);
      return this;
    });
    const dir = mkdtempSync(join(tmpdir(), "pb-unix-"));
    const unix = await PBServer.listen({ path: join(dir, "s") }, { root: new EchoRoot(), keepAlive: false });
    const client = await PBClient.connect({ path: join(dir, "s") }, { keepAlive: 7000 });
    expect(await (await client.getRootObject()).callRemote("echo", 3)).toBe(3);
    // The server's socket (keepalive off) and the client's: TCP_NODELAY both, keepalive the client's.
    expect(noDelay).toEqual([true, true]);
    expect(calls).toEqual([[true, 7000]]);
    await client.disconnect();
    await unix.close(200);
    rmSync(dir, { recursive: true, force: true });
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
