// The socket transport queues the writes of one event-loop turn and sends them in one write:
// nothing written before a hang-up may be lost, whoever hangs up.
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PBClient, PBServer, Root } from "../../src/index.ts";
import { socketTransport } from "../../src/net/transport.ts";

class NotesRoot extends Root {
  notes: unknown[] = [];
  remote_note(x: unknown) {
    this.notes.push(x);
  }
  remote_echo(x: unknown) {
    return x;
  }
}

const root = new NotesRoot();
let server: PBServer;
beforeAll(async () => {
  server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root });
});
afterAll(async () => {
  await server.close(500);
});

async function until(pred: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}


/** A server that keeps what it receives (done: the client ended), and a socket connected to it. */
async function connectedSink(): Promise<{ received: Buffer[]; done: Promise<void>; sink: net.Server; socket: net.Socket }> {
  const received: Buffer[] = [];
  let ended!: () => void;
  const done = new Promise<void>((r) => (ended = r));
  const sink = net.createServer((s) => {
    s.on("data", (d: Buffer) => received.push(d));
    s.on("end", () => ended());
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
  const socket = net.connect((sink.address() as net.AddressInfo).port, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  return { received, done, sink, socket };
}
/** The sizes of the socket's writes, in order, as they are made. */
function writeSizes(socket: net.Socket): number[] {
  const writes: number[] = [];
  const write = socket.write.bind(socket) as (chunk: Uint8Array) => boolean;
  socket.write = ((chunk: Uint8Array) => {
    writes.push(chunk.length);
    return write(chunk);
  }) as net.Socket["write"];
  return writes;
}

describe("socket transport", () => {
  it("sends what was written in the same turn before disconnect()", async () => {
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const ref = await client.getRootObject();
    for (let i = 0; i < 3; i++) ref.callRemoteNoAnswer("note", `disconnect-${i}`);
    await client.disconnect();
    await until(() => root.notes.includes("disconnect-2"));
    expect(root.notes.filter((n) => String(n).startsWith("disconnect-"))).toEqual(["disconnect-0", "disconnect-1", "disconnect-2"]);
  });

  it("sends what was written in the same turn before the socket is ended directly", async () => {
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const ref = await client.getRootObject();
    ref.callRemoteNoAnswer("note", "direct-end");
    client.socket.end();
    await client.closed;
    await until(() => root.notes.includes("direct-end"));
  });

  it("answers a chunk of pipelined calls in order, in fewer writes than calls", async () => {
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const ref = await client.getRootObject();
    let reads = 0;
    (client.socket as net.Socket).on("data", () => reads++);
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => ref.callRemote("echo", i)));
    expect(answers).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(reads).toBeLessThan(200);
    await client.disconnect();
  });

  it("sends a turn of many messages in slices of 32 writes, the bytes unchanged and in order", async () => {
    const { received, done, sink, socket } = await connectedSink();
    const writes = writeSizes(socket);
    const transport = socketTransport(socket);
    const messages = Array.from({ length: 100 }, (_, i) => Uint8Array.of(i, i, i));
    for (const m of messages) transport.write(m);
    // Three full slices went while the turn was writing; the rest leaves at the end of the turn.
    expect(writes).toEqual([96, 96, 96]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([96, 96, 96, 12]);
    socket.end();
    await done;
    expect(Buffer.concat(received)).toEqual(Buffer.concat(messages));
    sink.close();
  });
  it("what a turn writes, while a chunk is handled and in the promise jobs after it, leaves in one write", async () => {
    // A Twisted peer keeps Nagle's algorithm on: two small writes where there was one (a
    // client's dialect choice, then its login call a promise job later) let the peer answer the
    // first alone, and its next small answer then waits for our delayed ACK (~40 ms a login).
    const { received, done, sink, socket } = await connectedSink();
    const writes = writeSizes(socket);
    const transport = socketTransport(socket);
    const before = transport.bytesAccepted;
    transport.write(Uint8Array.of(1, 2));
    transport.inputHandled(before);
    await Promise.resolve();
    transport.write(Uint8Array.of(3));
    await Promise.resolve().then(() => transport.write(Uint8Array.of(4)));
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([4]);
    // A small message (V8 keeps it on its heap) goes out as a copy: the bytes are the same.
    const small = new Uint8Array(60).map((_, i) => i);
    transport.write(small);
    await new Promise((r) => setImmediate(r));
    socket.end();
    await done;
    expect([...Buffer.concat(received)]).toEqual([1, 2, 3, 4, ...small]);
    sink.close();
  });

  it("pausing and resuming many times leaves no listeners behind (one close listener at most)", async () => {
    const sink = net.createServer((s) => s.resume());
    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
    const socket = net.connect((sink.address() as net.AddressInfo).port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const closeBefore = socket.listenerCount("close");
    const drainBefore = socket.listenerCount("drain");
    const transport = socketTransport(socket, { limits: { outputHighWaterMark: 0, outputStallTimeout: 60_000 } });
    for (let i = 0; i < 15; i++) {
      const before = transport.bytesAccepted;
      transport.write(Uint8Array.of(1, 2, 3));
      // Answering this input left unsent bytes above the mark: reading pauses.
      transport.inputHandled(before);
      expect(transport.readingPaused).toBe(true);
      await new Promise((r) => setImmediate(r));
      socket.emit("drain");
      expect(transport.readingPaused).toBe(false);
      expect(socket.listenerCount("drain")).toBe(drainBefore);
    }
    expect(socket.listenerCount("close")).toBeLessThanOrEqual(closeBefore + 1);
    socket.destroy();
    sink.close();
  });

  it("two transports on one socket: ending the socket sends what both queued (the end is wrapped once per transport)", async () => {
    const { received, done, sink, socket } = await connectedSink();
    const first = socketTransport(socket);
    const second = socketTransport(socket);
    first.write(Uint8Array.of(1, 2));
    second.write(Uint8Array.of(3, 4));
    // Ended in the same turn: neither transport has flushed yet.
    socket.end();
    await done;
    expect([...Buffer.concat(received)].sort()).toEqual([1, 2, 3, 4]);
    sink.close();
  });
});
