// A transparent TCP proxy that prints the PB conversation passing through it. Every byte is
// forwarded unchanged and before it is decoded; a decoding failure only shows up in the transcript.
import { closeSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from "node:fs";
import { createConnection, createServer, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Capture, CaptureWrite } from "./capture.ts";
import { DEFAULT_LIMITS, FULL_LIMITS } from "./pretty.ts";
import { entryJson, entryText } from "./render.ts";
import { Session, type Dir, type Entry } from "./session.ts";

export interface HostPort {
  host: string;
  port: number;
}

/** Where the proxy listens, where it forwards, and how it prints. */
export interface ProxyOptions {
  listen: HostPort;
  target: HostPort;
  /** JSON Lines instead of text. */
  json?: boolean;
  hex?: boolean;
  full?: boolean;
  color?: boolean;
  /** Directory for the raw bytes: conn-N/c2s.bin, conn-N/s2c.bin and conn-N/capture.json. */
  save?: string;
  /** Where transcript lines go. */
  out: (line: string) => void;
  /** Where status lines go (connection errors). */
  log?: (line: string) => void;
}

/** A running capture proxy. */
export interface RunningProxy {
  address: HostPort;
  /** Stops listening, closes open connections and prints their summaries. */
  close(): Promise<void>;
}

/** Parses HOST:PORT, [v6]:PORT or PORT (host 127.0.0.1). */
export function parseHostPort(s: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s) ?? /^()()(\d+)$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`expected HOST:PORT, got ${JSON.stringify(s)}`);
  return { host: m[1] || m[2] || "127.0.0.1", port };
}

class Connection {
  private readonly t0 = performance.now();
  private readonly started = new Date();
  private readonly session: Session;
  private readonly writes: CaptureWrite[] = [];
  private readonly files: Partial<Record<Dir, number>> = {};
  private readonly dir?: string;
  private closedSockets = 0;
  private finished = false;
  readonly upstream: Socket;

  constructor(
    readonly id: number,
    readonly client: Socket,
    private readonly opts: ProxyOptions,
    private readonly onDone: (c: Connection) => void,
  ) {
    this.session = new Session({ start: "connection", limits: opts.full ? FULL_LIMITS : DEFAULT_LIMITS });
    if (opts.save) {
      this.dir = join(opts.save, `conn-${id}`);
      mkdirSync(this.dir, { recursive: true });
      for (const d of ["c2s", "s2c"] as const) this.files[d] = openSync(join(this.dir, `${d}.bin`), "w");
    }
    const from = `${client.remoteAddress}:${client.remotePort}`;
    const to = `${opts.target.host}:${opts.target.port}`;
    this.status(`connection ${id}: ${from} -> ${to}, opened ${this.started.toISOString()}`, { kind: "connect", from, to, time: this.started.toISOString() });
    this.upstream = createConnection({ host: opts.target.host, port: opts.target.port, allowHalfOpen: true });
    this.pipe(client, this.upstream, "c2s");
    this.pipe(this.upstream, client, "s2c");
    this.upstream.on("error", (e) => {
      this.opts.log?.(`pb-inspect: connection ${id}: ${to}: ${e.message}`);
      this.status(`connection ${id}: target ${to}: ${e.message}`, { kind: "target-error", error: e.message });
      client.destroy();
    });
    client.on("error", (e) => {
      this.status(`connection ${id}: client: ${e.message}`, { kind: "client-error", error: e.message });
      this.upstream.destroy();
    });
  }

  private pipe(from: Socket, to: Socket, dir: Dir): void {
    from.on("data", (chunk: Buffer) => {
      // Forward first: the transcript never holds the traffic up.
      if (!to.destroyed && !to.write(chunk)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
      this.record(dir, chunk);
    });
    from.on("end", () => {
      if (!to.destroyed) to.end();
    });
    from.on("close", () => {
      if (!to.destroyed) to.destroy();
      if (++this.closedSockets === 2) this.finish();
    });
  }

  private now(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  private record(dir: Dir, chunk: Buffer): void {
    const t = this.now();
    if (this.dir) {
      writeSync(this.files[dir]!, chunk);
      this.writes.push({ dir, hex: chunk.toString("hex"), t });
    }
    this.print(this.session.push({ dir, bytes: Uint8Array.from(chunk), t }));
  }

  private print(entries: Entry[]): void {
    for (const e of entries) {
      if (this.opts.json) this.opts.out(entryJson(e, { conn: this.id }));
      else this.opts.out(entryText(e, { color: this.opts.color ?? false, times: true, hex: this.opts.hex ?? false, prefix: `[${this.id}] ` }));
    }
  }

  private status(text: string, json: Record<string, unknown>): void {
    if (this.opts.json) this.opts.out(JSON.stringify({ conn: this.id, ...json, t: this.now() }));
    else this.opts.out(`== ${text}`);
  }

  /** Both sockets are closed (or the proxy stops): summary, capture file. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.client.destroy();
    this.upstream.destroy();
    this.print(this.session.end(this.now()));
    if (this.dir) {
      for (const d of ["c2s", "s2c"] as const) closeSync(this.files[d]!);
      const capture: Capture = { name: `conn-${this.id}`, title: `pb-inspect proxy, connection ${this.id}`, started: this.started.toISOString(), challenge: null, writes: this.writes };
      writeFileSync(join(this.dir, "capture.json"), JSON.stringify(capture, null, 1) + "\n");
    }
    this.status(`connection ${this.id} closed`, { kind: "close" });
    this.onDone(this);
  }
}

/** Starts pb-inspect's transparent proxy: forwards every byte both ways and prints the decoded conversation. */
export function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const open = new Set<Connection>();
  let count = 0;
  if (opts.save) {
    // Never overwrite an earlier run: numbering goes on after the conn-N directories already there.
    mkdirSync(opts.save, { recursive: true });
    for (const name of readdirSync(opts.save)) {
      const m = /^conn-(\d+)$/.exec(name);
      if (m) count = Math.max(count, Number(m[1]));
    }
  }
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) => {
    const c = new Connection(++count, socket, opts, (done) => open.delete(done));
    open.add(c);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off("error", reject);
      const a = server.address() as AddressInfo;
      resolve({
        address: { host: a.address, port: a.port },
        close: () =>
          new Promise<void>((done) => {
            for (const c of [...open]) c.finish();
            server.close(() => done());
          }),
      });
    });
  });
}
