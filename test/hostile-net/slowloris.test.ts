// Slowloris and idle floods against the server's handshake timeout, idle timeout and
// connection cap (issue 12). Each test names its construction; a well-behaved client on another
// connection must still be answered, and every hostile connection must go.
import type * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HandshakeTimeout, IdleTimeout, PBClient, PBServer, Root } from "../../src/index.ts";
import { rawConnect, sleep, timed, until } from "../net/support.ts";

class EchoRoot extends Root {
  remote_echo(x: unknown) {
    return x;
  }
}

const open: net.Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
});

/** Opens `n` raw TCP connections in batches (the listen backlog is finite); each never sends a byte. */
async function idleSockets(port: number, n: number): Promise<net.Socket[]> {
  const made: net.Socket[] = [];
  for (let i = 0; i < n; i += 200) {
    const batch = await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => rawConnect(port).catch(() => null)));
    for (const s of batch) if (s) made.push(s);
  }
  open.push(...made);
  return made;
}

describe("slowloris: 2,000 connections that never send a byte", () => {
  it("are served no further than the handshake timeout, while a good client is answered promptly", async () => {
    // Construction: 2,000 TCP connections that receive the dialect offer and never answer it.
    await using server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot(), handshakeTimeout: 4000, maxConnections: 2500 });
    let most = 0;
    let accepted = 0;
    server.on("connection", () => {
      accepted++;
      most = Math.max(most, server.connectionCount);
    });
    const reasons = new Map<string, number>();
    server.on("disconnect", (_b, r) => reasons.set(r?.name ?? "none", (reasons.get(r?.name ?? "none") ?? 0) + 1));
    const good = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const root = await good.getRootObject();
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const sockets = await idleSockets(server.port, 2000);
    expect(sockets.length).toBe(2000);
    await until(() => accepted >= 2001, 10_000, "every connection to be accepted");
    // Most of them at once (opening 2,000 takes a while on a loaded machine: the first may
    // already be timed out when the last arrive).
    expect(most).toBeGreaterThan(1000);
    const heapDuring = process.memoryUsage().heapUsed;
    // Both sides of 2,000 connections live in this process: the bound is loose on purpose.
    expect(heapDuring - heapBefore).toBeLessThan(100 * 1024 * 1024);
    for (let i = 0; i < 5; i++) expect(await timed(() => root.callRemote("echo", i))).toBeLessThan(250);
    await until(() => server.connectionCount === 1, 15_000, "the handshake timeout to close them");
    await until(() => (reasons.get("HandshakeTimeout") ?? 0) === 2000, 2000, "2,000 HandshakeTimeout reasons");
    expect(good.broker.isDisconnected).toBe(false);
    expect(await root.callRemote("echo", "after")).toBe("after");
    await good.disconnect();
  });

  it("past the connection cap are closed as they arrive, and the server never holds more than the cap", async () => {
    // Construction: 2,000 idle TCP connections against maxConnections 100.
    await using server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot(), maxConnections: 100 });
    let drops = 0;
    let most = 0;
    server.on("drop", () => drops++);
    server.on("connection", () => (most = Math.max(most, server.connectionCount)));
    const sockets = await idleSockets(server.port, 2000);
    await until(() => drops + server.connectionCount >= sockets.length, 5000, "every connection to be accepted or dropped");
    expect(most).toBeLessThanOrEqual(100);
    expect(server.connectionCount).toBe(100);
    expect(drops).toBeGreaterThanOrEqual(1900);
    // once the flood goes, a good client gets in
    for (const s of open.splice(0)) s.destroy();
    await until(() => server.connectionCount === 0, 5000, "the flood to go");
    const good = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    expect(await (await good.getRootObject()).callRemote("echo", 1)).toBe(1);
    await good.disconnect();
  });
});

describe("trickle: the handshake sent one byte at a time", () => {
  it("50 connections trickling their dialect choice every 150 ms are dropped by the handshake timeout", async () => {
    // Construction: each connection sends the 4 bytes of its dialect choice ("pb") one byte
    // every 150 ms, so that every byte arrives before an idle timer would fire.
    await using server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot(), handshakeTimeout: 400, idleTimeout: 300 });
    let dropped = 0;
    server.on("disconnect", (_b, r) => r instanceof HandshakeTimeout && dropped++);
    const sockets = await idleSockets(server.port, 50);
    const choice = [0x02, 0x82, 0x70, 0x62];
    const timer = setInterval(() => {
      const b = choice.shift();
      if (b === undefined) return;
      for (const s of sockets) if (!s.destroyed) s.write(Uint8Array.of(b));
    }, 150);
    try {
      await until(() => dropped === 50, 5000, "every trickling connection to be dropped");
    } finally {
      clearInterval(timer);
    }
    expect(server.connectionCount).toBe(0);
  });
});

describe("idle after the handshake", () => {
  it("300 connections that complete the handshake and go silent are closed by the idle timeout; a talking client stays", async () => {
    // Construction: 300 PB clients connect (handshake done) and never send another byte.
    await using server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot(), idleTimeout: 600 });
    let idleClosed = 0;
    server.on("disconnect", (_b, r) => r instanceof IdleTimeout && idleClosed++);
    const good = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const root = await good.getRootObject();
    // The good client talks from the start, every 100 ms: connecting the 300 others can take
    // longer than the idle timeout on a loaded machine, and a client that said nothing for that
    // long is rightly closed too. Latencies are checked once the 300 are in.
    let flooding = true;
    let talking = true;
    const latencies: number[] = [];
    const talker = (async () => {
      while (talking) {
        const during = flooding;
        const ms = await timed(() => root.callRemote("echo", 0));
        if (!during) latencies.push(ms);
        await sleep(100);
      }
    })();
    const idle: PBClient[] = [];
    try {
      for (let i = 0; i < 300; i += 50) idle.push(...(await Promise.all(Array.from({ length: 50 }, () => PBClient.connect({ host: "127.0.0.1", port: server.port })))));
      flooding = false;
      await until(() => idleClosed >= 300, 10_000, "the idle timeout to close the 300");
      latencies.push(await timed(() => root.callRemote("echo", 1)));
    } finally {
      talking = false;
      await talker;
    }
    for (const ms of latencies) expect(ms).toBeLessThan(250);
    expect(idleClosed).toBe(300);
    expect(idle.every((c) => c.broker.isDisconnected)).toBe(true);
    expect(good.broker.isDisconnected).toBe(false);
    await good.disconnect();
  });
});
