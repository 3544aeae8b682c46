// The server's per-connection deadlines: the handshake timer, then the first-message timer. One
// Timeout serves both (re-armed when the two limits are equal), so these pin down when each
// fires, counted from the right moment: the accept for the handshake, the handshake for the
// first message.
import * as net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { encode } from "../../src/banana/index.ts";
import { HandshakeTimeout, IdleTimeout, Root, PBServer, type Broker } from "../../src/index.ts";

class EchoRoot extends Root {
  remote_echo(x: unknown) {
    return x;
  }
}

const turn = () => new Promise((r) => setImmediate(r));

/** Waits for `check` turn by turn (setImmediate: the tests fake setTimeout), at most `ms` of real time. */
async function until(check: () => unknown, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await turn();
  }
}

const opened: net.Socket[] = [];
const servers: PBServer[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of opened.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.close(200);
});

async function serve(options: { handshakeTimeout?: number; firstMessageTimeout?: number }) {
  const server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot(), ...options });
  servers.push(server);
  const reasons: (Error | undefined)[] = [];
  server.on("disconnect", (_b: Broker, reason) => reasons.push(reason));
  return { server, reasons };
}

/** A raw TCP peer that has received the server's dialect offer and answered nothing yet. */
async function rawPeer(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  opened.push(socket);
  socket.on("error", () => {});
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  let received = 0;
  socket.on("data", (d: Buffer) => (received += d.length));
  await new Promise<void>((r, j) => socket.once("connect", () => r()).once("error", j));
  await until(() => received > 0, 2000, "the dialect offer");
  const seen = received;
  return {
    socket,
    closed,
    /** Chooses the dialect and sends PB's version; resolves once the server's version came back. */
    async handshake() {
      socket.write(encode("pb", { dialect: null }));
      socket.write(encode(["version", 6], { dialect: "pb" }));
      await until(() => received > seen, 2000, "the server's version");
    },
  };
}


describe("server deadlines per connection", () => {
  for (const [handshakeTimeout, firstMessageTimeout] of [
    [1000, 1000],
    [1000, 3000],
    [3000, 1000],
  ]) {
    it(`handshakeTimeout ${handshakeTimeout}, firstMessageTimeout ${firstMessageTimeout}: the first-message deadline counts from the handshake`, async () => {
      const { server, reasons } = await serve({ handshakeTimeout, firstMessageTimeout });
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const peer = await rawPeer(server.port);
      vi.advanceTimersByTime(600);
      await turn();
      expect(peer.socket.destroyed).toBe(false);
      await peer.handshake();
      // Past the handshake deadline counted from the accept, but within firstMessageTimeout of the handshake.
      vi.advanceTimersByTime(firstMessageTimeout - 1);
      await turn();
      await turn();
      expect(peer.socket.destroyed).toBe(false);
      expect(reasons).toEqual([]);
      vi.advanceTimersByTime(1);
      await peer.closed;
      vi.useRealTimers();
      await until(() => reasons.length === 1, 2000, "the disconnect event");
      expect(reasons[0]).toBeInstanceOf(IdleTimeout);
      expect(reasons[0]!.message).toBe(`no PB message within ${firstMessageTimeout} ms of the handshake`);
    });
  }

  it("a peer that never completes the handshake is closed with HandshakeTimeout at handshakeTimeout", async () => {
    const { server, reasons } = await serve({ handshakeTimeout: 1000, firstMessageTimeout: 1000 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const peer = await rawPeer(server.port);
    vi.advanceTimersByTime(999);
    await turn();
    expect(peer.socket.destroyed).toBe(false);
    vi.advanceTimersByTime(1);
    await peer.closed;
    vi.useRealTimers();
    await until(() => reasons.length === 1, 2000, "the disconnect event");
    expect(reasons[0]).toBeInstanceOf(HandshakeTimeout);
    expect(reasons[0]!.message).toBe("no PB handshake within 1000 ms");
  });

  it("firstMessageTimeout 0: after the handshake no deadline is left (the handshake's is cleared)", async () => {
    const { server } = await serve({ handshakeTimeout: 1000, firstMessageTimeout: 0 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const peer = await rawPeer(server.port);
    await peer.handshake();
    vi.advanceTimersByTime(60_000);
    await turn();
    await turn();
    expect(peer.socket.destroyed).toBe(false);
    expect(server.connectionCount).toBe(1);
  });
});
