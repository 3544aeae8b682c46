// A listening PB server (Twisted's PBServerFactory on a port), with the limits a public service
// needs: a handshake timeout, a deadline for the first message, an optional idle timeout,
// connection caps (total, per address), and a close() that
// says goodbye to every peer and resolves once they are gone.
import { EventEmitter } from "node:events";
import * as net from "node:net";
import * as tls from "node:tls";
import { Broker, type BrokerOptions } from "../pb/broker.ts";
import { checkRoot } from "../pb/root.ts";
import { PORTNO } from "../pb/constants.ts";
import type { PBRoot } from "../pb/broker.ts";
import { PortalRoot, type PortalRootOptions } from "../cred/pbportal.ts";
import { Portal } from "../cred/portal.ts";
import { attach, type ConnectionOptions, type Endpoint } from "./connection.ts";
import { HandshakeTimeout, IdleTimeout } from "./errors.ts";
import { keepTimerList } from "../pb/timeout.ts";

/** How long a peer may take to finish PB's handshake unless told otherwise. */
export const DEFAULT_SERVER_HANDSHAKE_TIMEOUT = 30_000;
/** Most connections a server holds at once unless told otherwise. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/**
 * How long a peer may stay silent after PB's handshake before its first call, unless told
 * otherwise: a connection that has never sent a message holds a slot and does nothing.
 */
export const DEFAULT_FIRST_MESSAGE_TIMEOUT = 30_000;

/** Options for PBServer.listen: the root, the connections' options, and the server's limits. */
export interface ServeOptions extends ConnectionOptions {
  /** A fixed root, one root per connection (PBRoot), or a Portal for login. */
  root: PBRoot | Portal;
  /** With a Portal root: its login limits (user name length, unanswered challenges per connection). */
  login?: PortalRootOptions;
  /** Milliseconds a peer may take to complete PB's dialect and version exchange (default 30 s; 0: no limit). */
  handshakeTimeout?: number;
  /**
   * Milliseconds without a byte in either direction after which a connection is closed
   * (default 0: never, as Twisted; PB sessions are often idle for hours). Set it for a public
   * service, above the clients' keepalive or liveness interval.
   */
  idleTimeout?: number;
  /** Most connections held at once; more are closed as they arrive (default 10,000; 0: no cap). */
  maxConnections?: number;
  /**
   * Milliseconds after PB's handshake within which the peer must send its first message (a
   * login, a call...), or it is closed with IdleTimeout (default 30 s; 0: no limit, as Twisted).
   * Once a peer has sent one message it may idle as long as `idleTimeout` allows.
   */
  firstMessageTimeout?: number;
  /**
   * Most connections held at once from one remote address; more from it are closed as they
   * arrive (`drop` event). Default 0: no cap (clients behind one NAT share an address).
   */
  maxConnectionsPerAddress?: number;
}

/** Events a PBServer emits. */
export interface PBServerEvents {
  /** A connection was accepted and its broker attached. */
  connection: [broker: Broker, socket: net.Socket];
  /** A connection was refused because the server was at its cap. */
  drop: [address: { remoteAddress?: string; remotePort?: number }];
  /** A connection ended. */
  disconnect: [broker: Broker, reason: Error | undefined];
  /**
   * The listening socket failed after it was listening (accept failing with EMFILE under a
   * flood, say). Without a listener it goes to the `log` option: it never crashes the process.
   */
  error: [error: Error];
}

/** One served connection: what its timer and handlers need. */
class Served {
  /** The handshake timer, then (the same Timeout refreshed when both limits are equal) the first-message timer. */
  timer: ReturnType<typeof setTimeout> | null = null;
  /** Whether the timer is the first-message one (the handshake is done). */
  handshaken = false;
  /** Tells the server's listeners the connection ended, with the broker's reason. */
  readonly disconnected: (reason: Error | undefined) => void;
  constructor(
    readonly socket: net.Socket,
    readonly broker: Broker,
    /** The remote address, when connections are counted per address (reading it is a system call). */
    readonly address: string | null,
    readonly limits: ConnectionTimeouts,
    server: PBServer,
  ) {
    this.disconnected = (reason) => server.emit("disconnect", broker, reason);
  }
}

/** The per-connection deadlines of one server. */
interface ConnectionTimeouts {
  readonly handshakeMs: number;
  readonly firstMessageMs: number;
}

function connectionTimerFired(conn: Served): void {
  conn.timer = null;
  if (!conn.handshaken) {
    conn.socket.destroy(new HandshakeTimeout(`no PB handshake within ${conn.limits.handshakeMs} ms`));
  } else if (conn.broker.messagesReceived <= 1) {
    conn.socket.destroy(new IdleTimeout(`no PB message within ${conn.limits.firstMessageMs} ms of the handshake`));
  }
}

/**
 * A listening PB server (Twisted's PBServerFactory on a port). `await using server = await
 * PBServer.listen(...)` closes it at the end of the block.
 */
export class PBServer extends EventEmitter<PBServerEvents> {
  readonly brokers = new Set<Broker>();
  private closing: Promise<void> | null = null;
  private constructor(
    readonly server: net.Server,
    private readonly sockets: Set<net.Socket>,
  ) {
    super();
  }

  /** Listens on `endpoint` (TCP, TLS or a Unix socket) and serves each connection with `options`. */
  static listen(endpoint: Endpoint, options: ServeOptions): Promise<PBServer> {
    let root: PBRoot;
    try {
      root = options.root instanceof Portal ? new PortalRoot(options.root, options.login) : checkRoot(options.root);
    } catch (e) {
      return Promise.reject(e);
    }
    const handshakeMs = options.handshakeTimeout ?? DEFAULT_SERVER_HANDSHAKE_TIMEOUT;
    const idleMs = options.idleTimeout ?? 0;
    const firstMessageMs = options.firstMessageTimeout ?? DEFAULT_FIRST_MESSAGE_TIMEOUT;
    const perAddress = options.maxConnectionsPerAddress ?? 0;
    const byAddress = new Map<string, number>();
    const sockets = new Set<net.Socket>();
    let pb: PBServer;
    // Each connection's state is one Served record; its timer and handlers are shared functions,
    // and the broker says when it is ready (onReady).
    const served = new Map<Broker, Served>();
    const timeouts: ConnectionTimeouts = { handshakeMs, firstMessageMs };
    // (An onReady given in the options, though not part of them, is still called.)
    const theirs = (options as BrokerOptions).onReady;
    const onReady = (broker: Broker) => {
      theirs?.(broker);
      const conn = served.get(broker);
      if (!conn) return;
      conn.handshaken = true;
      // The peer's "version" is its first message; a call or login is the second.
      const wantTimer = firstMessageMs > 0 && broker.messagesReceived <= 1;
      const timer = conn.timer;
      if (timer && wantTimer && handshakeMs === firstMessageMs) {
        // The same deadline again from now: the handshake's Timeout, re-armed (none made).
        timer.refresh();
        return;
      }
      if (timer) clearTimeout(timer);
      if (wantTimer) keepTimerList(firstMessageMs);
      conn.timer = wantTimer ? setTimeout(connectionTimerFired, firstMessageMs, conn) : null;
    };
    const brokerOptions: BrokerOptions = { ...options, role: "listener", root, onReady };
    const onClose = (broker: Broker) => {
      const conn = served.get(broker);
      if (!conn) return;
      if (conn.timer) clearTimeout(conn.timer);
      conn.timer = null;
      sockets.delete(conn.socket);
      pb.brokers.delete(broker);
      served.delete(broker);
      if (conn.address !== null) {
        const n = (byAddress.get(conn.address) ?? 1) - 1;
        if (n > 0) byAddress.set(conn.address, n);
        else byAddress.delete(conn.address);
      }
    };
    const onSocket = (socket: net.Socket) => {
      let address: string | null = null;
      if (perAddress > 0) {
        address = socket.remoteAddress ?? "";
        const held = byAddress.get(address) ?? 0;
        if (held >= perAddress) {
          socket.destroy();
          pb.emit("drop", { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort });
          return;
        }
        byAddress.set(address, held + 1);
      }
      sockets.add(socket);
      const broker = new Broker(brokerOptions);
      const conn = new Served(socket, broker, address, timeouts, pb);
      served.set(broker, conn);
      pb.brokers.add(broker);
      if (handshakeMs > 0) {
        keepTimerList(handshakeMs);
        conn.timer = setTimeout(connectionTimerFired, handshakeMs, conn);
      }
      attach(socket, broker, options.keepAlive, onClose);
      if (idleMs > 0) {
        socket.setTimeout(idleMs);
        socket.on("timeout", () => socket.destroy(new IdleTimeout(`idle for ${idleMs} ms`)));
      }
      void broker.closed.then(conn.disconnected);
      pb.emit("connection", broker, socket);
    };
    // A TLS handshake is part of the handshake: the same timeout applies (unless the TLS options set their own).
    const tlsOptions = (): tls.TlsOptions => ({ ...(handshakeMs > 0 ? { handshakeTimeout: handshakeMs } : {}), ...(endpoint.tls === true ? {} : (endpoint.tls as tls.TlsOptions)) });
    const server = endpoint.tls ? tls.createServer(tlsOptions(), onSocket) : net.createServer(onSocket);
    // Node closes connections past the cap before they reach us (its 'drop' event).
    const cap = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (cap > 0) server.maxConnections = cap;
    pb = new PBServer(server, sockets);
    server.on("drop", (data) => pb.emit("drop", { remoteAddress: data?.remoteAddress, remotePort: data?.remotePort }));
    // After listen, an accept error (EMFILE when file descriptors run out) is emitted on the
    // server: with nobody listening, Node would throw it and end the process.
    server.on("error", (error) => {
      if (!pb.server.listening && !pb.closing) return; // listen() itself failed: its promise says so
      if (pb.listenerCount("error") > 0) pb.emit("error", error);
      else options.log?.({ level: "error", message: `PB server: ${error.message}`, error });
    });
    // A TLS handshake that fails is that connection's problem, not the server's.
    server.on("tlsClientError", (_e, socket) => socket.destroy());
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

  /** The TCP port listened on (useful with port 0). */
  get port(): number {
    const a = this.server.address();
    return typeof a === "object" && a ? a.port : 0;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  /**
   * Stops listening and says goodbye to every peer: what was written to it still goes out, then
   * its connection is closed cleanly (its pending calls fail with PBConnectionLost). A peer that
   * does not close its side within `graceMs` is cut off. Resolves once every connection is gone.
   */
  close(graceMs = 2000): Promise<void> {
    if (this.closing) return this.closing;
    const listening = new Promise<void>((r) => this.server.close(() => r()));
    const gone = [...this.sockets].map((s) => new Promise<void>((r) => (s.destroyed && s.closed ? r() : s.once("close", () => r()))));
    const closed = Promise.all([listening, ...gone]);
    for (const s of this.sockets) s.end();
    const timer = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    this.closing = closed.then(() => clearTimeout(timer));
    return this.closing;
  }

  /** `await using server = ...` closes it when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
