// PB over Node sockets: TCP, TLS and Unix sockets, client (PBClientFactory) and server
// (PBServerFactory). The only place brokers meet real connections.
import * as net from "node:net";
import * as tls from "node:tls";
import { Broker, type BrokerOptions } from "../pb/broker.ts";
import { PORTNO, ROOT_NAME } from "../pb/constants.ts";
import { PBConnectionLost } from "../pb/errors.ts";
import type { PBRoot } from "../pb/flavors.ts";
import type { RemoteReference } from "../pb/remote.ts";
import type { Transport } from "../pb/transport.ts";
import { PortalRoot, login, loginAnonymous } from "../cred/pbportal.ts";
import { Portal } from "../cred/portal.ts";

export { filePager, FilePublishedStore } from "./files.ts";

/** Broker options for a connection made by {@link PBClient} or accepted by {@link PBServer}. */
export type ConnectionOptions = Omit<BrokerOptions, "role" | "root" | "onReady">;

/** Where to connect or listen: TCP host/port (optionally TLS) or a Unix socket path. */
export interface Endpoint {
  host?: string;
  port?: number;
  /** Unix socket path (instead of host/port). */
  path?: string;
  /** TLS options (true for defaults). */
  tls?: tls.ConnectionOptions | tls.TlsOptions | true;
}

/** Up to this many bytes, a turn's writes are copied into one buffer; above, handed over as they are. */
const COPY_LIMIT = 64 * 1024;

// A settled promise: then() on it queues a microtask (cheaper than queueMicrotask in Node).
const resolved = Promise.resolve();

/** Adapts a Node socket to the broker's Transport, with pull-producer flow control. */
export function socketTransport(socket: net.Socket): Transport {
  let producer: (() => void) | null = null;
  let scheduled = false;
  const pump = () => {
    scheduled = false;
    if (!producer || socket.destroyed) return;
    producer();
    flush();
    if (!producer) return;
    if (socket.writableNeedDrain) socket.once("drain", schedule);
    else schedule();
  };
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(pump);
    }
  };
  // Writes made in one turn of the event loop leave in one socket write (Twisted, too, writes
  // what a reactor iteration produced at once): a chunk of 100 calls gets its 100 answers in
  // one syscall instead of 100. The bytes and their order are the same. The flush is a
  // nextTick queued from a microtask, so it runs once the promise jobs of the turn have all
  // run: answers of async methods, and calls made by code awaiting an answer (a login's
  // second step), leave with the rest.
  let queued: Uint8Array[] = [];
  let queuedBytes = 0;
  const flush = () => {
    const chunks = queued;
    if (chunks.length === 0) return;
    const size = queuedBytes;
    queued = [];
    queuedBytes = 0;
    if (socket.destroyed) return;
    if (chunks.length === 1) {
      socket.write(chunks[0]);
      return;
    }
    if (size > COPY_LIMIT) {
      // Big messages are not copied: the socket gathers them in one writev.
      socket.cork();
      for (let i = 0; i < chunks.length; i++) socket.write(chunks[i]);
      socket.uncork();
      return;
    }
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = 0; i < chunks.length; i++) {
      out.set(chunks[i], at);
      at += chunks[i].length;
    }
    socket.write(out);
  };
  const flushSoon = () => process.nextTick(flush);
  // Whoever ends the socket (PBClient.disconnect, PBServer.close, or code holding
  // client.socket), what was queued goes out before the end, as it did unqueued.
  const end = socket.end;
  socket.end = function (this: net.Socket, ...args: unknown[]) {
    flush();
    return (end as (...a: unknown[]) => net.Socket).apply(this, args);
  } as net.Socket["end"];
  return {
    write(data) {
      if (socket.destroyed) return;
      // After the end nothing is queued: the socket refuses the write (and says so) as before.
      if (socket.writableEnded) return void socket.write(data);
      if (queued.length === 0) void resolved.then(flushSoon);
      queued.push(data);
      queuedBytes += data.length;
      // Big messages go at once: holding them saves no syscall, and the peer can start on them.
      if (queuedBytes > COPY_LIMIT) flush();
    },
    loseConnection(reason) {
      // What was written before the hang-up still goes out first (socket.end flushes too).
      if (reason) {
        flush();
        socket.destroy();
      } else socket.end();
    },
    registerProducer(resume) {
      producer = resume;
      schedule();
    },
    unregisterProducer() {
      producer = null;
    },
  };
}

/**
 * The reason a clean hang-up gives. Made without a stack, which would only show Node's socket
 * internals: capturing one costs more (about 10 us) than the rest of the hang-up.
 */
function closedCleanly(): PBConnectionLost {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new PBConnectionLost("Connection was closed cleanly.");
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Runs a broker over a connected socket. */
export function attachBroker(socket: net.Socket, broker: Broker): Broker {
  socket.setNoDelay(true);
  broker.makeConnection(socketTransport(socket));
  let error: Error | undefined;
  socket.on("data", (chunk: Buffer) => broker.dataReceived(chunk));
  socket.on("error", (e) => (error = e));
  socket.on("close", () => broker.connectionLost(error ?? closedCleanly()));
  return broker;
}

function connectSocket(endpoint: Endpoint): net.Socket {
  if (endpoint.tls) {
    const opts = endpoint.tls === true ? {} : (endpoint.tls as tls.ConnectionOptions);
    return endpoint.path ? tls.connect({ ...opts, path: endpoint.path }) : tls.connect({ host: endpoint.host ?? "127.0.0.1", port: endpoint.port ?? PORTNO, ...opts });
  }
  return endpoint.path ? net.connect({ path: endpoint.path }) : net.connect({ host: endpoint.host ?? "127.0.0.1", port: endpoint.port ?? PORTNO });
}

/**
 * The client side of one connection (Twisted's PBClientFactory): the root reference once
 * connected, and login with a password or anonymously.
 */
export class PBClient {
  private constructor(
    readonly broker: Broker,
    readonly socket: net.Socket,
  ) {}

  /** Connects and resolves once the connection is established (the dialect may still be in flight). */
  static connect(endpoint: Endpoint = {}, options: ConnectionOptions = {}): Promise<PBClient> {
    return new Promise((resolve, reject) => {
      const socket = connectSocket(endpoint);
      const event = endpoint.tls ? "secureConnect" : "connect";
      const onError = (e: Error) => reject(e);
      socket.once("error", onError);
      socket.once(event, () => {
        socket.off("error", onError);
        const broker = attachBroker(socket, new Broker({ ...options, role: "initiator" }));
        resolve(new PBClient(broker, socket));
      });
    });
  }

  /** The server's root object (never reference-counted). */
  async getRootObject(): Promise<RemoteReference> {
    // The first of ready and closed decides. The error is made only if closed comes first (not
    // at every hang-up after the root was handed out: making an Error takes its stack).
    const broker = this.broker;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      broker.ready.then(() => {
        settled = true;
        resolve();
      });
      broker.closed.then((e) => {
        if (settled) return;
        settled = true;
        reject(new PBConnectionLost(e?.message ?? "connection lost"));
      });
    });
    return broker.remoteForName(ROOT_NAME);
  }

  /** Logs in with a username and password; resolves with the avatar (a perspective reference). */
  async login(username: string | Uint8Array, password: string | Uint8Array, mind: unknown = null): Promise<RemoteReference> {
    return login(await this.getRootObject(), username, password, mind);
  }

  /** Logs in anonymously; resolves with the avatar. */
  async loginAnonymous(mind: unknown = null): Promise<RemoteReference> {
    return loginAnonymous(await this.getRootObject(), mind);
  }

  /** Closes the connection and waits until it is gone. */
  async disconnect(): Promise<void> {
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 2000);
    await this.broker.closed;
    clearTimeout(timer);
  }

  /** Resolves when the connection is gone, with the reason when it was not a clean close. */
  get closed(): Promise<Error | undefined> {
    return this.broker.closed;
  }
}

/** Options of {@link PBServer.listen}. */
export interface ServeOptions extends ConnectionOptions {
  /** A fixed root, one root per connection (PBRoot), or a Portal for login. */
  root: PBRoot | Portal;
}

/** A listening PB server (Twisted's PBServerFactory on a port). */
export class PBServer {
  readonly brokers = new Set<Broker>();
  private constructor(
    readonly server: net.Server,
    private readonly sockets: Set<net.Socket>,
  ) {}

  /** Listens on `endpoint`; each accepted connection gets a broker serving `options.root`. */
  static listen(endpoint: Endpoint, options: ServeOptions): Promise<PBServer> {
    const root: PBRoot = options.root instanceof Portal ? new PortalRoot(options.root) : options.root;
    const brokerOptions: BrokerOptions = { ...options, role: "listener", root };
    const sockets = new Set<net.Socket>();
    let pb: PBServer;
    const onSocket = (socket: net.Socket) => {
      sockets.add(socket);
      const broker = attachBroker(socket, new Broker(brokerOptions));
      pb.brokers.add(broker);
      socket.on("close", () => {
        sockets.delete(socket);
        pb.brokers.delete(broker);
      });
    };
    const server = endpoint.tls ? tls.createServer(endpoint.tls === true ? {} : (endpoint.tls as tls.TlsOptions), onSocket) : net.createServer(onSocket);
    pb = new PBServer(server, sockets);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      const ready = () => {
        server.off("error", reject);
        resolve(pb);
      };
      if (endpoint.path) server.listen(endpoint.path, ready);
      else server.listen(endpoint.port ?? PORTNO, endpoint.host ?? "127.0.0.1", ready);
    });
  }

  /** The TCP port (or socket path) actually listened on. */
  get address(): net.AddressInfo | string {
    return this.server.address() as net.AddressInfo | string;
  }

  /** The TCP port listened on (0 for a Unix socket). */
  get port(): number {
    const a = this.server.address();
    return typeof a === "object" && a ? a.port : 0;
  }

  /** Stops listening and closes every connection (gracefully, then by force after `graceMs`). */
  async close(graceMs = 2000): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.end();
    const timer = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }
}

/** Options of {@link ReconnectingPBClient}. */
export interface ReconnectOptions extends ConnectionOptions {
  /** Logs in after every connect; without it the client only fetches the root. */
  credentials?: { username: string | Uint8Array; password: string | Uint8Array } | "anonymous";
  mind?: unknown;
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Told of every (re)connection with the root and, when logging in, the avatar. */
  onConnect?: (session: { client: PBClient; root: RemoteReference; avatar: RemoteReference | null }) => void;
  /** Told when a connection is lost or an attempt fails, with the delay before the next try. */
  onDisconnect?: (error: Error | undefined, retryInMs: number) => void;
}

/** A client that reconnects (and logs in again) with exponential backoff until stopped. */
export class ReconnectingPBClient {
  private stopped = false;
  private delay: number;
  private timer: NodeJS.Timeout | null = null;
  current: PBClient | null = null;

  constructor(
    readonly endpoint: Endpoint,
    readonly options: ReconnectOptions = {},
  ) {
    this.delay = options.initialDelayMs ?? 100;
  }

  /** Starts connecting; returns this. */
  start(): this {
    void this.attempt();
    return this;
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    let client: PBClient | null = null;
    try {
      client = await PBClient.connect(this.endpoint, this.options);
      const root = await client.getRootObject();
      const creds = this.options.credentials;
      const avatar = !creds ? null : creds === "anonymous" ? await client.loginAnonymous(this.options.mind) : await client.login(creds.username, creds.password, this.options.mind);
      if (this.stopped) return void (await client.disconnect());
      this.current = client;
      this.delay = this.options.initialDelayMs ?? 100;
      this.options.onConnect?.({ client, root, avatar });
      const reason = await client.closed;
      this.current = null;
      this.retry(reason);
    } catch (e) {
      if (client) client.socket.destroy();
      this.retry(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private retry(reason: Error | undefined): void {
    if (this.stopped) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * (this.options.factor ?? 2), this.options.maxDelayMs ?? 30_000);
    this.options.onDisconnect?.(reason, wait);
    this.timer = setTimeout(() => void this.attempt(), wait);
  }

  /** Stops reconnecting and closes the current connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current?.disconnect();
  }
}
