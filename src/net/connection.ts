// Where a broker meets a socket (both roles): endpoints, socket options and the wiring.
import * as net from "node:net";
import * as tls from "node:tls";
import type { Broker, BrokerOptions } from "../pb/broker.ts";
import { PORTNO } from "../pb/constants.ts";
import { PBConnectionLost } from "../pb/errors.ts";
import { brokerTransport, type SocketTransport } from "./transport.ts";

/** Broker options a connection takes, plus the socket options both roles share. */
export interface ConnectionOptions extends Omit<BrokerOptions, "role" | "root" | "onReady"> {
  /**
   * TCP keepalive: true (the default) probes an idle connection after 60 s, a number sets that
   * delay in milliseconds, false turns it off. It notices a peer whose host vanished; behind a
   * proxy it only checks the proxy (see the client's `liveness`).
   */
  keepAlive?: boolean | number;
}

/** Where to connect or listen: TCP host/port (optionally TLS) or a Unix socket path. */
export interface Endpoint {
  host?: string;
  port?: number;
  /** Unix socket path (instead of host/port). */
  path?: string;
  /** TLS options (true for defaults). */
  tls?: tls.ConnectionOptions | tls.TlsOptions | true;
}

/** TCP keepalive's first probe after this long idle, unless told otherwise. */
export const DEFAULT_KEEPALIVE_MS = 60_000;

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

/**
 * The socket transport of the (first) broker attached to a socket (for its buffered output),
 * read from the socket's attachment: no table entry per connection.
 */
export function transportOf(socket: net.Socket, broker: Broker): SocketTransport | undefined {
  const a = (socket as Partial<AttachedSocket>)[ATTACHMENT];
  return a?.broker === broker ? a.transport : undefined;
}

/** Runs a broker over a connected socket, with keepalive and the broker's output limits. */
export function attachBroker(socket: net.Socket, broker: Broker, options: Pick<ConnectionOptions, "keepAlive"> = {}): Broker {
  attach(socket, broker, options.keepAlive, null);
  return broker;
}

/** A socket's attachment: what its shared listeners need (no closures made per connection). */
interface Attachment {
  readonly broker: Broker;
  readonly transport: SocketTransport;
  /** The socket's last error: the reason its close gives. */
  error: Error | undefined;
  /** Called after the broker was told of the close (the server's bookkeeping). */
  readonly closed: ((broker: Broker) => void) | null;
}

const ATTACHMENT = Symbol("twisted-pb.attachment");
type AttachedSocket = net.Socket & { [ATTACHMENT]: Attachment };

function dataFor(a: Attachment, chunk: Buffer): void {
  const before = a.transport.bytesAccepted;
  a.broker.dataReceived(chunk);
  a.transport.inputHandled(before);
}

function closeFor(a: Attachment): void {
  a.broker.connectionLost(a.error ?? closedCleanly());
  a.closed?.(a.broker);
}

function onSocketData(this: AttachedSocket, chunk: Buffer): void {
  dataFor(this[ATTACHMENT], chunk);
}

function onSocketError(this: AttachedSocket, error: Error): void {
  this[ATTACHMENT].error = error;
}

function onSocketClose(this: AttachedSocket): void {
  closeFor(this[ATTACHMENT]);
}

/**
 * attachBroker, with `closed` called once the broker has been told the socket closed (one close
 * listener per socket instead of one per party). The listeners are shared functions that find
 * the connection's state on the socket. `optionsSet`: the socket was opened with TCP_NODELAY and
 * keepalive already asked for (openClientSocket).
 * @internal
 */
export function attach(socket: net.Socket, broker: Broker, keepAlive: boolean | number | undefined, closed: ((broker: Broker) => void) | null, optionsSet = false): void {
  if (!optionsSet) {
    socket.setNoDelay(true);
    const k = keepAlive ?? true;
    if (k !== false) socket.setKeepAlive(true, k === true ? DEFAULT_KEEPALIVE_MS : k);
  }
  // The output limits end the connection at once (not at the socket's close event, a turn
  // later): the rest of a chunk of pipelined calls then finds the broker disconnected.
  const transport = brokerTransport(socket, broker.limits, broker);
  const a: Attachment = { broker, transport, error: undefined, closed };
  const attached = socket as AttachedSocket;
  const shared = attached[ATTACHMENT] === undefined;
  if (shared) attached[ATTACHMENT] = a;
  broker.makeConnection(transport);
  if (shared) {
    socket.on("data", onSocketData);
    socket.on("error", onSocketError);
    socket.on("close", onSocketClose);
  } else {
    // A second broker on the same socket: listeners of its own, as every broker had before.
    socket.on("data", (chunk: Buffer) => dataFor(a, chunk));
    socket.on("error", (e: Error) => (a.error = e));
    socket.on("close", () => closeFor(a));
  }
}

const CONNECTED = Symbol("twisted-pb.connected");
type ConnectingSocket = net.Socket & { [CONNECTED]?: true };

function onClientConnected(this: ConnectingSocket): void {
  this[CONNECTED] = true;
}

/**
 * The client's socket for an endpoint, and whether its options (TCP_NODELAY, keepalive) are
 * already set: for plain TCP, Node sets them once connected (net.connect's noDelay and keepAlive
 * options), so the broker can be attached at once, without waiting for the connect event (set on
 * a socket still connecting, libuv would set them twice, keepalive's delay first as 60 s). TLS
 * and Unix sockets are opened by connectSocket, their options set by attach once connected.
 * socketConnected() tells afterwards whether it ever connected.
 * @internal
 */
export function openClientSocket(endpoint: Endpoint, keepAlive: boolean | number | undefined): { socket: net.Socket; optionsSet: boolean } {
  if (endpoint.tls || endpoint.path) return { socket: connectSocket(endpoint), optionsSet: false };
  const k = keepAlive ?? true;
  const socket = net.connect({
    host: endpoint.host ?? "127.0.0.1",
    port: endpoint.port ?? PORTNO,
    noDelay: true,
    keepAlive: k !== false,
    keepAliveInitialDelay: k === true ? DEFAULT_KEEPALIVE_MS : k === false ? 0 : k,
  });
  socket.on("connect", onClientConnected);
  return { socket, optionsSet: true };
}

/** Whether a socket from openClientSocket (plain TCP) has connected. */
export function socketConnected(socket: net.Socket): boolean {
  return (socket as ConnectingSocket)[CONNECTED] === true;
}

/** Opens the socket for an endpoint (TLS, TCP or a Unix socket path). */
export function connectSocket(endpoint: Endpoint): net.Socket {
  if (endpoint.tls) {
    const opts = endpoint.tls === true ? {} : (endpoint.tls as tls.ConnectionOptions);
    return endpoint.path ? tls.connect({ ...opts, path: endpoint.path }) : tls.connect({ host: endpoint.host ?? "127.0.0.1", port: endpoint.port ?? PORTNO, ...opts });
  }
  return endpoint.path ? net.connect({ path: endpoint.path }) : net.connect({ host: endpoint.host ?? "127.0.0.1", port: endpoint.port ?? PORTNO });
}
