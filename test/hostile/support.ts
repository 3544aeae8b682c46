// Shared pieces of the hostile tests: hostile constructions, raw PB peers over 127.0.0.1 that
// send whatever bytes they like, a well-behaved client measuring answer times, and heap figures.
import * as net from "node:net";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { BananaDecoder, encode, type Sexp } from "../../src/banana/index.ts";
import { PBClient, PBServer, Root, type RemoteReference } from "../../src/index.ts";
import { afterAll, beforeAll } from "vitest";

/**
 * Reference doubling: level k is a list holding level k-1 twice, once as [reference, id, ...]
 * and once as [dereference, id]. About 16 bytes a level; walked as a tree it has 2**levels leaves.
 */
export function doubling(levels: number, firstId = 1, leaf: Sexp = ["unicode", "x"]): Sexp {
  let e: Sexp = leaf;
  for (let k = 0; k < levels; k++) {
    const id = firstId + k;
    e = ["list", ["reference", id, e], ["dereference", id]];
  }
  return e;
}

/** A CopyableFailure whose `type` (normally the qualified class name, as text) is `type`. */
export function failureWith(type: Sexp, value: Sexp = ["unicode", "boom"]): Sexp {
  return [
    "twisted.spread.pb.CopyableFailure",
    ["dictionary", [["unicode", "type"], type], [["unicode", "value"], value], [["unicode", "traceback"], ["unicode", "Traceback unavailable\n"]]],
  ];
}

/** Bytes of one PB expression in dialect pb. */
export const pbBytes = (sexp: Sexp): Uint8Array => encode(sexp, { dialect: "pb" });

/** The root every victim server serves. */
export class VictimRoot extends Root {
  remote_ping(): number {
    return 1;
  }
  remote_echo(x: unknown): unknown {
    return x;
  }
  /** What a server that logs its arguments does. */
  remote_log(x: unknown): string {
    return String(x).slice(0, 100);
  }
}

export function listen(options: Partial<Parameters<typeof PBServer.listen>[1]> = {}): Promise<PBServer> {
  return PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new VictimRoot(), ...options });
}

/**
 * A listen() server for the tests of the enclosing file or describe block: started before them
 * (handed to `use`), closed after them.
 */
export function listenAround(use: (server: PBServer) => void): void {
  let server: PBServer | undefined;
  beforeAll(async () => {
    server = await listen();
    use(server);
  });
  afterAll(async () => {
    await server?.close(500);
  });
}

/**
 * A well-behaved client calling `ping` back to back on its own connection until stopped: the
 * slowest answer tells whether the event loop stayed responsive.
 */
export async function pinger(port: number): Promise<{ stop(): Promise<{ max: number; count: number }> }> {
  const client = await PBClient.connect({ host: "127.0.0.1", port });
  const root = await client.getRootObject();
  await root.callRemote("ping");
  let running = true;
  let max = 0;
  let count = 0;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      await root.callRemote("ping");
      max = Math.max(max, performance.now() - t);
      count++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.disconnect();
      return { max, count };
    },
  };
}

/** A raw PB client: negotiates like Twisted, then sends any expression; collects what comes back. */
export class RawPeer {
  readonly items: Sexp[] = [];
  readonly closed: Promise<void>;
  private readonly decoder = new BananaDecoder((item) => this.received(item));
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: net.Socket) {
    this.closed = new Promise((r) => socket.once("close", () => r()));
    socket.on("error", () => {});
    socket.on("data", (d) => {
      try {
        this.decoder.feed(d);
      } catch {
        socket.destroy();
      }
    });
  }

  static async connect(port: number): Promise<RawPeer> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise<void>((r, j) => socket.once("connect", r).once("error", j));
    const peer = new RawPeer(socket);
    await peer.next((x) => Array.isArray(x)); // the dialect offer
    socket.write(encode("pb", { dialect: null }));
    peer.decoder.dialect = "pb";
    socket.write(pbBytes(["version", 6]));
    await peer.next((x) => Array.isArray(x) && x[0] === "version");
    return peer;
  }

  private received(item: Sexp): void {
    this.items.push(item);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The first item (from now on, or already received) matching `match`; null if the connection closes first. */
  async next(match: (x: Sexp) => boolean): Promise<Sexp | null> {
    let from = 0;
    for (;;) {
      for (; from < this.items.length; from++) if (match(this.items[from])) return this.items.splice(from, 1)[0];
      if (this.socket.destroyed) return null;
      const closedFirst = await Promise.race([new Promise<boolean>((r) => this.waiters.push(() => r(false))), this.closed.then(() => true)]);
      if (closedFirst && from >= this.items.length) return null;
    }
  }

  /** Waits for the answer or error to request `id`; "closed" when the connection went first. */
  async reply(id: number): Promise<"answer" | "error" | "closed"> {
    const r = await this.next((x) => Array.isArray(x) && (x[0] === "answer" || x[0] === "error") && x[1] === id);
    return r === null ? "closed" : ((r as Sexp[])[0] as "answer" | "error");
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A call to the root object, as a Twisted client sends it. */
export function call(id: number, method: string, ...args: Sexp[]): Uint8Array {
  return pbBytes(["message", id, "root", method, 1, ["tuple", ...args], ["dictionary"]]);
}

/**
 * A malicious PB server: negotiates, then answers every call with `reply(requestId)` (the whole
 * expression to send). Returns its port.
 */
export async function maliciousServer(reply: (id: number) => Uint8Array): Promise<{ port: number; close(): Promise<void>; replies(): number; bytesWritten(): number }> {
  const sockets = new Set<net.Socket>();
  let replies = 0;
  let written = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let negotiated = false;
    const decoder = new BananaDecoder((item) => {
      if (!negotiated) {
        negotiated = true;
        decoder.dialect = "pb";
        socket.write(pbBytes(["version", 6]));
        return;
      }
      if (Array.isArray(item) && item[0] === "message") {
        const bytes = reply(item[1] as number);
        written += bytes.length;
        replies++;
        socket.write(bytes);
      }
    });
    socket.on("data", (d) => {
      try {
        decoder.feed(d);
      } catch {
        socket.destroy();
      }
    });
    const offer = encode(["pb", "none"], { dialect: null });
    written += offer.length + pbBytes(["version", 6]).length;
    socket.write(offer);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    replies: () => replies,
    /** Every byte written to every connection so far. */
    bytesWritten: () => written,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A reference to the malicious server's root through a real PBClient (the victim). */
export async function victimClient(port: number): Promise<{ client: PBClient; root: RemoteReference }> {
  const client = await PBClient.connect({ host: "127.0.0.1", port });
  return { client, root: await client.getRootObject() };
}

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/** Heap used plus array buffers, in bytes, after a full collection. */
export function memoryAfterGC(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Array buffers still referenced, in bytes, after a full collection. */
export function arrayBuffersAfterGC(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

export const MiB = 1024 * 1024;

/** Milliseconds `fn` takes (awaited). */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}
