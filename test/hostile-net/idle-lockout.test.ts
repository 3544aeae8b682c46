// Idle connections locking every client out: peers that complete PB's handshake and then never
// send a message used to be held for ever (the handshake timer stops once the dialect is chosen,
// idleTimeout defaults to off), so CAP of them filled the server and a real client was refused.
// Now a connection must send its first message within firstMessageTimeout (30 s by default)
// after the handshake, and maxConnectionsPerAddress optionally caps one address.
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_FIRST_MESSAGE_TIMEOUT, IdleTimeout, PBClient, type Broker, type PBServer } from "../../src/index.ts";
import { call, listen, RawPeer } from "../hostile/support.ts";
import { sleep, until } from "../net/support.ts";

const peers: RawPeer[] = [];
const servers: PBServer[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const p of peers.splice(0)) p.close();
  for (const s of servers.splice(0)) await s.close(200);
});

async function server(options: Parameters<typeof listen>[0]) {
  const s = await listen(options);
  servers.push(s);
  return s;
}

describe("peers that handshake and never send a message", () => {
  it("CAP silent peers are closed after firstMessageTimeout with IdleTimeout; then a real client gets in", async () => {
    const CAP = 5;
    const s = await server({ maxConnections: CAP, firstMessageTimeout: 300 });
    const reasons: (Error | undefined)[] = [];
    s.on("disconnect", (_b: Broker, reason) => reasons.push(reason));
    for (let i = 0; i < CAP; i++) peers.push(await RawPeer.connect(s.port));
    expect(s.connectionCount).toBe(CAP);
    await Promise.all(peers.map((p) => p.closed));
    await until(() => s.connectionCount === 0, 2000, "the silent peers to go");
    expect(reasons.every((r) => r instanceof IdleTimeout && /no PB message within 300 ms/.test(r.message))).toBe(true);
    const client = await PBClient.connect({ host: "127.0.0.1", port: s.port }, { timeout: 2000 });
    const root = await client.getRootObject();
    expect(await root.callRemote("echo", 7)).toBe(7);
    await client.disconnect();
  });

  it("a peer that has sent one message may then idle past the deadline (PB sessions idle for hours)", async () => {
    const s = await server({ firstMessageTimeout: 200 });
    const peer = await RawPeer.connect(s.port);
    peers.push(peer);
    peer.send(call(1, "echo", 1));
    expect(await peer.reply(1)).toBe("answer");
    await sleep(600);
    expect(peer.socket.destroyed).toBe(false);
    peer.send(call(2, "echo", 2));
    expect(await peer.reply(2)).toBe("answer");
  });

  it("by default the deadline is DEFAULT_FIRST_MESSAGE_TIMEOUT (30 s); firstMessageTimeout: 0 turns it off", async () => {
    expect(DEFAULT_FIRST_MESSAGE_TIMEOUT).toBe(30_000);
    const withDefault = await server({});
    const off = await server({ firstMessageTimeout: 0 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const a = await RawPeer.connect(withDefault.port);
    const b = await RawPeer.connect(off.port);
    peers.push(a, b);
    const turn = () => new Promise((r) => setImmediate(r));
    await turn();
    vi.advanceTimersByTime(29_000);
    await turn();
    expect(a.socket.destroyed).toBe(false);
    vi.advanceTimersByTime(1_000);
    await a.closed;
    vi.advanceTimersByTime(10 * 60_000);
    await turn();
    await turn();
    expect(b.socket.destroyed).toBe(false);
  });
});

describe("maxConnectionsPerAddress", () => {
  it("refuses connections from one address past the cap (drop event); a slot frees when one closes", async () => {
    const s = await server({ maxConnectionsPerAddress: 3 });
    const drops: unknown[] = [];
    s.on("drop", (d) => drops.push(d));
    for (let i = 0; i < 3; i++) peers.push(await RawPeer.connect(s.port));
    const refused = await RawPeer.connect(s.port);
    await refused.closed;
    expect(refused.items).toEqual([]); // closed before the dialect offer
    expect(drops).toHaveLength(1);
    peers[0].close();
    await until(() => s.connectionCount === 2, 2000, "the slot to free");
    peers.push(await RawPeer.connect(s.port));
    expect(s.connectionCount).toBe(3);
  });
});
