// A transparent TCP proxy that prints the PB conversation passing through it. Every byte is
// forwarded unchanged and before it is decoded; a decoding failure only shows up in the transcript.
import { closeSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from "node:fs";
import { createConnection, createServer, isIP, type AddressInfo, type Socket } from "node:net";
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions } from "node:tls";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { captureTraffic, type Capture, type CaptureWrite } from "./capture.ts";
import { htmlPage } from "./html.ts";
import { DEFAULT_LIMITS, FULL_LIMITS } from "./pretty.ts";
import { entryJson, entryText } from "./render.ts";
import { Session, type Dir, type Entry } from "./session.ts";

export interface HostPort {
  host: string;
  port: number;
  /** A Unix socket path instead of host and port (then `host` is "" and `port` 0). */
  path?: string;
}

/** TLS on the listening side: the proxy terminates TLS with this certificate. */
export interface ProxyTlsServer {
  cert: string | Buffer;
  key: string | Buffer;
}

/** TLS towards the target. */
export interface ProxyTlsClient {
  /** Certificates to trust (default: the system's). */
  ca?: string | Buffer;
  /** Name to check the target's certificate against (default: the target host). */
  servername?: string;
  /** Do not check the target's certificate (a debugging aid; says so on every connection). */
  insecure?: boolean;
}

/** Where the proxy listens, where it forwards, and how it prints. */
export interface ProxyOptions {
  listen: HostPort;
  target: HostPort;
  /** Terminate TLS from clients with this certificate and key. */
  tls?: ProxyTlsServer;
  /** Connect onward with TLS. */
  targetTls?: ProxyTlsClient;
  /** JSON Lines instead of text. */
  json?: boolean;
  hex?: boolean;
  full?: boolean;
  color?: boolean;
  /** Directory for the raw bytes: conn-N/c2s.bin, conn-N/s2c.bin and conn-N/capture.json. */
  save?: string;
  /** Write the conversations as an HTML page (html.ts) to this file, again each time a connection closes. */
  html?: string;
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

/** Text for an endpoint: host:port, [v6]:port or unix:path. */
export function endpointName(e: HostPort): string {
  if (e.path !== undefined) return `unix:${e.path}`;
  return e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** Parses HOST:PORT, [v6]:PORT, PORT (host 127.0.0.1) or unix:PATH. */
export function parseHostPort(s: string): HostPort {
  if (s.startsWith("unix:")) {
    if (s.length === 5) throw new Error(`expected unix:PATH, got ${JSON.stringify(s)}`);
    return { host: "", port: 0, path: s.slice(5) };
  }
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s) ?? /^()()(\d+)$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`expected HOST:PORT, got ${JSON.stringify(s)}`);
  return { host: m[1] || m[2] || "127.0.0.1", port };
}

class Connection {
  private readonly t0 = performance.now();
  private readonly started = new Date();
  private readonly session: Session;
  readonly writes: CaptureWrite[] = [];
  readonly from: string;
  readonly to: string;
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
    const from = client.remoteAddress ? `${client.remoteAddress}:${client.remotePort}` : opts.listen.path !== undefined ? `unix:${opts.listen.path}` : "?";
    const to = endpointName(opts.target);
    this.from = from;
    this.to = to;
    const how = [opts.tls ? "TLS from the client" : "", opts.targetTls ? `TLS to the target${opts.targetTls.insecure ? " (its certificate NOT checked)" : ""}` : ""].filter(Boolean).join(", ");
    this.status(`connection ${id}: ${from} -> ${to}${how ? ` (${how})` : ""}, opened ${this.started.toISOString()}`, { kind: "connect", from, to, time: this.started.toISOString(), ...(how ? { tls: how } : {}) });
    this.upstream = connectTarget(opts);
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
    if (this.dir) writeSync(this.files[dir]!, chunk);
    if (this.dir || this.opts.html) this.writes.push({ dir, hex: chunk.toString("hex"), t });
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

function connectTarget(opts: ProxyOptions): Socket {
  const t = opts.target;
  const where = t.path !== undefined ? { path: t.path } : { host: t.host, port: t.port };
  if (!opts.targetTls) return createConnection({ ...where, allowHalfOpen: true });
  const v = opts.targetTls;
  const o: ConnectionOptions = { ...where, rejectUnauthorized: !v.insecure };
  if (v.ca !== undefined) o.ca = v.ca;
  // An IP address is checked against the certificate's IP names (Node does so without a servername).
  if (v.servername !== undefined) o.servername = v.servername;
  else if (t.path === undefined && !isIP(t.host)) o.servername = t.host;
  const s = tlsConnect(o);
  s.allowHalfOpen = true;
  return s;
}

/** The page of every closed connection (rewritten when one more closes). */
function writeHtml(opts: ProxyOptions, conns: Connection[]): void {
  const convs = conns.map((c) => ({
    title: `connection ${c.id}: ${c.from} → ${c.to}`,
    traffic: captureTraffic({ writes: c.writes }, `connection ${c.id}`),
  }));
  try {
    writeFileSync(opts.html!, htmlPage(convs, { title: `pb-inspect proxy ${endpointName(opts.listen)} → ${endpointName(opts.target)}` }));
  } catch (e) {
    opts.log?.(`pb-inspect: cannot write ${opts.html}: ${(e as Error).message}`);
  }
}

/** Starts pb-inspect's transparent proxy: forwards every byte both ways and prints the decoded conversation. */
export function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const open = new Set<Connection>();
  const closed: Connection[] = [];
  let count = 0;
  if (opts.save) {
    // Never overwrite an earlier run: numbering goes on after the conn-N directories already there.
    mkdirSync(opts.save, { recursive: true });
    for (const name of readdirSync(opts.save)) {
      const m = /^conn-(\d+)$/.exec(name);
      if (m) count = Math.max(count, Number(m[1]));
    }
  }
  const onSocket = (socket: Socket) => {
    const c = new Connection(++count, socket, opts, (done) => {
      open.delete(done);
      if (opts.html) writeHtml(opts, [...closed, done]);
      closed.push(done);
    });
    open.add(c);
  };
  const server = opts.tls ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key, allowHalfOpen: true }, onSocket) : createServer({ allowHalfOpen: true, pauseOnConnect: false }, onSocket);
  if (opts.tls) {
    // A client that fails the handshake never becomes a connection: say so, keep listening.
    server.on("tlsClientError", (e: Error) => opts.log?.(`pb-inspect: TLS handshake with a client failed: ${e.message}`));
  }
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const ready = () => {
      server.off("error", reject);
      const a = server.address();
      resolve({
        address: typeof a === "string" || a === null ? { host: "", port: 0, path: opts.listen.path ?? String(a) } : { host: (a as AddressInfo).address, port: (a as AddressInfo).port },
        close: () =>
          new Promise<void>((done) => {
            for (const c of [...open]) c.finish();
            server.close(() => done());
          }),
      });
    };
    if (opts.listen.path !== undefined) server.listen(opts.listen.path, ready);
    else server.listen(opts.listen.port, opts.listen.host, ready);
  });
}
