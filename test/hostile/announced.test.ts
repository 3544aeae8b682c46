// Hostile: announced sizes. A banana string header announces its length before the bytes come;
// a 4-byte header announcing 640 KiB used to reserve 640 KiB at once, so a peer paying a few
// bytes per connection made us hold 640 KiB each (1,000 connections: +629 MB). Memory now
// follows the bytes that arrived.
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { encode, SIZE_LIMIT } from "../../src/banana/index.ts";
import { PBClient, type PBServer } from "../../src/index.ts";
import { header } from "../../scripts/fuzz-hostile.ts";
import { arrayBuffersAfterGC, listenAround, maliciousServer, MiB, pinger } from "./support.ts";

const PING_MS = 250;
const CONNECTIONS = 200;

/** The start of a call whose method name is a string announced at SIZE_LIMIT, with 10 bytes of it. */
function announcedCall(): Uint8Array {
  // A 7-element list's header, then "message", 1, "root", then the method name announced at
  // 640 KiB and only 10 of its bytes.
  const head = Uint8Array.of(7, 0x80);
  const items = [encode("message", { dialect: "pb" }), encode(1), encode("root", { dialect: "pb" })];
  return Buffer.concat([head, ...items, header(SIZE_LIMIT, 0x82), Buffer.alloc(10, 0x61)]);
}

let server: PBServer;
listenAround((s) => (server = s));

describe("a broker receiving a call", () => {
  // Construction: 200 connections, each negotiating and then sending a call whose method name
  // is announced at 640 KiB, followed by 10 bytes of it, and nothing more.
  it("holds what 200 connections sent, not the 128 MiB they announced", async () => {
    // The test's own full collections (arrayBuffersAfterGC) pause this process too: they stay out of the pinger's window.
    const before = arrayBuffersAfterGC();
    const good = await pinger(server.port);
    const sockets: net.Socket[] = [];
    try {
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          const s = net.connect(server.port, "127.0.0.1");
          s.on("error", () => {});
          sockets.push(s);
          await new Promise<void>((r) => s.once("data", () => r()));
          s.write(encode("pb", { dialect: null }));
          s.write(announcedCall());
        }),
      );
      // Every connection's bytes have been read when its broker has fed them to its decoder.
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && [...server.brokers].filter((b) => b.negotiatedDialect === "pb").length < CONNECTIONS) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 100));
      const { max, count } = await good.stop();
      const grown = arrayBuffersAfterGC() - before;
      expect([...server.brokers].filter((b) => b.negotiatedDialect === "pb").length).toBeGreaterThanOrEqual(CONNECTIONS);
      expect(grown).toBeLessThan(16 * MiB);
      expect(count).toBeGreaterThan(0);
      expect(max).toBeLessThan(PING_MS);
    } finally {
      for (const s of sockets) s.destroy();
      // Until the server has let go of them, so the next test's baseline does not include them.
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && server.brokers.size > 0) await new Promise((r) => setTimeout(r, 20));
    }
  });
});

describe("a broker receiving an answer", () => {
  // Construction: a malicious server answering every call with a string announced at 640 KiB,
  // 10 bytes of it, and nothing more; 100 clients call it.
  it("holds what 100 malicious answers sent, not the 64 MiB they announced", async () => {
    const evil = await maliciousServer((id) => Buffer.concat([Uint8Array.of(3, 0x80), encode("answer", { dialect: "pb" }), encode(id), header(SIZE_LIMIT, 0x82), Buffer.alloc(10, 0x61)]));
    const before = arrayBuffersAfterGC();
    const clients = await Promise.all(Array.from({ length: 100 }, () => PBClient.connect({ host: "127.0.0.1", port: evil.port })));
    try {
      const roots = await Promise.all(clients.map((c) => c.getRootObject()));
      for (const r of roots) r.callRemote("x").catch(() => {});
      // Until every answer has been written, and every byte written has been read by a client.
      const deadline = Date.now() + 10_000;
      const read = () => clients.reduce((n, c) => n + c.socket.bytesRead, 0);
      while (Date.now() < deadline && (evil.replies() < clients.length || read() < evil.bytesWritten())) await new Promise((r) => setTimeout(r, 20));
      expect(evil.replies()).toBe(clients.length);
      expect(read()).toBe(evil.bytesWritten());
      await new Promise((r) => setImmediate(r));
      const grown = arrayBuffersAfterGC() - before;
      expect(grown).toBeLessThan(16 * MiB);
    } finally {
      await Promise.all(clients.map((c) => c.disconnect()));
      await evil.close();
    }
  });
});
