// A small TCP capture proxy: forwards bytes between a client and a server, unchanged, and
// records every chunk it forwards ({dir, t, hex}) and which side closed first.
import * as net from "node:net";

export type Dir = "c2s" | "s2c";

export interface CaptureEvent {
  dir: Dir;
  /** Milliseconds since the client connected. */
  t: number;
  /** The bytes of one chunk as read from the socket (absent for a close). */
  hex?: string;
  /** The side the direction starts from closed its end (c2s: the client, s2c: the server). */
  close?: true;
}

export class CaptureProxy {
  readonly events: CaptureEvent[] = [];
  private readonly sockets = new Set<net.Socket>();
  private connections = 0;

  private constructor(
    private readonly server: net.Server,
    readonly targetPort: number,
    readonly targetHost: string,
  ) {}

  /** Listens on 127.0.0.1 (a port chosen by the OS) and forwards to targetHost:targetPort. */
  static start(targetPort: number, targetHost = "127.0.0.1"): Promise<CaptureProxy> {
    let proxy: CaptureProxy;
    const server = net.createServer({ allowHalfOpen: true }, (client) => proxy.accept(client));
    proxy = new CaptureProxy(server, targetPort, targetHost);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve(proxy);
      });
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Both directions' bytes joined, for a quick look. */
  bytes(dir: Dir): Buffer {
    return Buffer.concat(this.events.filter((e) => e.dir === dir && e.hex).map((e) => Buffer.from(e.hex!, "hex")));
  }

  private accept(client: net.Socket): void {
    this.connections++;
    const start = performance.now();
    const t = () => Math.round((performance.now() - start) * 1000) / 1000;
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.on("close", () => this.sockets.delete(s));
    }
    const pipe = (from: net.Socket, to: net.Socket, dir: Dir) => {
      from.on("data", (chunk: Buffer) => {
        this.events.push({ dir, t: t(), hex: chunk.toString("hex") });
        if (!to.destroyed && to.writable) to.write(chunk);
      });
      from.on("end", () => {
        this.events.push({ dir, t: t(), close: true });
        if (!to.destroyed) to.end();
      });
      from.on("error", () => {
        if (!this.events.some((e) => e.dir === dir && e.close)) this.events.push({ dir, t: t(), close: true });
        to.destroy();
      });
      from.on("close", () => {
        // a reset or an abort: the other side goes too
        setTimeout(() => to.destroy(), 50).unref();
      });
    };
    pipe(client, upstream, "c2s");
    pipe(upstream, client, "s2c");
  }

  /** How many clients connected. */
  get connectionCount(): number {
    return this.connections;
  }

  /** Stops listening and drops whatever is still connected. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
