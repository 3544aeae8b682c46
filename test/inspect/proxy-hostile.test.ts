// The proxy with malformed traffic: every byte is still forwarded unchanged, both ways, and the
// transcript shows the decoding error at its offset. The peers here are plain sockets.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProxy, type RunningProxy } from "../../src/inspect/proxy.ts";

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ""), "hex");
const OFFER = hex("02800282706204826e6f6e65");

interface Peer {
  server: Server;
  port: number;
  received: Buffer[];
  sockets: Socket[];
}

/** A fake PB server: offers dialects, then answers whatever arrives with `reply` and closes. */
async function fakeServer(reply: Buffer): Promise<Peer> {
  const peer: Peer = { server: createServer(), port: 0, received: [], sockets: [] };
  peer.server.on("connection", (s) => {
    peer.sockets.push(s);
    s.write(OFFER);
    let replied = false;
    s.on("data", (d) => {
      peer.received.push(d);
      if (!replied) {
        replied = true;
        s.write(reply);
      }
    });
    s.on("end", () => s.end());
    s.on("error", () => {});
  });
  await new Promise<void>((r) => peer.server.listen(0, "127.0.0.1", r));
  peer.port = (peer.server.address() as { port: number }).port;
  return peer;
}

/** Connects through the proxy, sends `chunks` (a pause between them), half-closes, and collects what comes back. */
function client(port: number, chunks: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const s = createConnection({ port, host: "127.0.0.1", allowHalfOpen: true });
    s.on("data", (d) => got.push(d));
    s.on("error", reject);
    s.on("close", () => resolve(Buffer.concat(got)));
    s.once("data", async () => {
      for (const c of chunks) {
        s.write(c);
        await new Promise((r) => setTimeout(r, 20));
      }
      s.end();
    });
    setTimeout(() => s.destroy(new Error("client timed out")), 10_000).unref();
  });
}

async function waitFor(pred: () => boolean, ms = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("proxy with malformed traffic", () => {
  const reply = hex("028013870681 ff 0102030405");
  const sent = [hex("02827062 028013870681"), hex("07801a870181 88 0102"), Buffer.alloc(100_000, 0xee)];
  let peer: Peer;
  let proxy: RunningProxy;
  let jsonProxy: RunningProxy;
  const lines: string[] = [];
  const json: string[] = [];
  let save: string;

  beforeAll(async () => {
    save = mkdtempSync(join(tmpdir(), "pb-inspect-"));
    peer = await fakeServer(reply);
    const target = { host: "127.0.0.1", port: peer.port };
    proxy = await startProxy({ listen: { host: "127.0.0.1", port: 0 }, target, out: (l) => lines.push(l), save });
    jsonProxy = await startProxy({ listen: { host: "127.0.0.1", port: 0 }, target, json: true, out: (l) => json.push(l) });
  });

  afterAll(async () => {
    await proxy?.close();
    await jsonProxy?.close();
    for (const s of peer?.sockets ?? []) s.destroy();
    await new Promise<void>((r) => (peer ? peer.server.close(() => r()) : r()));
    rmSync(save, { recursive: true, force: true });
  });

  it("forwards every byte both ways and shows where decoding failed", async () => {
    const back = await client(proxy.address.port, sent);
    expect(back.equals(Buffer.concat([OFFER, reply]))).toBe(true);
    await waitFor(() => Buffer.concat(peer.received).length === Buffer.concat(sent).length);
    expect(Buffer.concat(peer.received).equals(Buffer.concat(sent))).toBe(true);
    await waitFor(() => lines.some((l) => l.startsWith("== connection 1 closed")));

    const text = lines.join("\n").replace(/^\[1\] +\d+\.\d{6} {2}/gm, "[1] T  ");
    const body = text.split("\n").slice(1).join("\n");
    expect(lines[0]).toMatch(/^== connection 1: 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+, opened \d{4}-\d\d-\d\dT/);
    expect(body).toBe(
      [
        "[1] T  S->C  dialects offered: pb, none",
        "[1] T  C->S  dialect chosen: pb",
        "[1] T  C->S  version 6",
        "[1] T  S->C  version 6",
        "[1] T  S->C  decode error at byte 18: Invalid Type Byte 0xff",
        "                         in the item starting at byte 18; bytes up to the failing one: ff",
        "                       ! Twisted logs this and drops the connection; the rest of this direction is not decoded",
        "[1] T  C->S  decode error at byte 16: Invalid Type Byte 0x88",
        "                         in the item starting at byte 10; bytes up to the failing one: 07 80 1a 87 01 81 88",
        "                       ! Twisted logs this and drops the connection; the rest of this direction is not decoded",
        "[1] T  -- end of capture",
        "                       C->S: 100019 bytes, 2 items; 100009 bytes from byte 10 on not decoded (decode error at byte 16)",
        "                       S->C: 24 bytes, 2 items; 6 bytes from byte 18 on not decoded (decode error at byte 18)",
        "== connection 1 closed",
      ].join("\n"),
    );
    // --save kept the bytes exactly.
    expect(readFileSync(join(save, "conn-1", "c2s.bin")).equals(Buffer.concat(sent))).toBe(true);
    expect(readFileSync(join(save, "conn-1", "s2c.bin")).equals(Buffer.concat([OFFER, reply]))).toBe(true);
    const capture = JSON.parse(readFileSync(join(save, "conn-1", "capture.json"), "utf8"));
    expect(capture.writes.every((w: { t: unknown }) => typeof w.t === "number")).toBe(true);
    // A second proxy saving to the same directory does not overwrite conn-1.
    const again = await startProxy({ listen: { host: "127.0.0.1", port: 0 }, target: { host: "127.0.0.1", port: peer.port }, out: () => {}, save });
    try {
      await client(again.address.port, [hex("02827062")]);
      await waitFor(() => existsSync(join(save, "conn-2", "capture.json")));
      expect(readFileSync(join(save, "conn-1", "c2s.bin")).equals(Buffer.concat(sent))).toBe(true);
    } finally {
      await again.close();
    }
  });

  it("--json: the error as an object with its offset and bytes", async () => {
    await client(jsonProxy.address.port, sent);
    await waitFor(() => json.some((l) => JSON.parse(l).kind === "close"));
    const objs = json.map((l) => JSON.parse(l));
    expect(objs[0]).toMatchObject({ conn: 1, kind: "connect" });
    const errors = objs.filter((o) => o.kind === "decode-error");
    expect(errors).toEqual([
      expect.objectContaining({ conn: 1, dir: "s2c", offset: 18, text: "decode error at byte 18: Invalid Type Byte 0xff", hex: "ff" }),
      expect.objectContaining({ conn: 1, dir: "c2s", offset: 10, text: "decode error at byte 16: Invalid Type Byte 0x88", hex: "07801a87018188" }),
    ]);
    for (const o of objs) expect(typeof o.t).toBe("number");
  });

  it("a target that is not there: the client is disconnected, the transcript says why", async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const port = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const out: string[] = [];
    const p = await startProxy({ listen: { host: "127.0.0.1", port: 0 }, target: { host: "127.0.0.1", port }, out: (l) => out.push(l) });
    try {
      const s = createConnection({ port: p.address.port, host: "127.0.0.1" });
      await new Promise<void>((r) => s.on("close", () => r()).on("error", () => {}));
      await waitFor(() => out.some((l) => l.includes("closed")));
      expect(out.join("\n")).toMatch(/target 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    } finally {
      await p.close();
    }
  });
});
