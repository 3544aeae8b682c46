// The client side of one connection (Twisted's PBClientFactory): connect with a deadline, the
// root object, login with credentials objects, an optional PB-level liveness check.
import type * as net from "node:net";
import { Broker } from "../pb/broker.ts";
import { ROOT_NAME } from "../pb/constants.ts";
import { PBConnectionLost } from "../pb/errors.ts";
import type { RemoteReference } from "../pb/remote.ts";
import { login, loginAnonymous, loginWith, type LoginCredentials } from "../cred/pbportal.ts";
import { attach, openClientSocket, socketConnected, transportOf, type ConnectionOptions, type Endpoint } from "./connection.ts";
import { deadline, type WaitOptions } from "./deadline.ts";
import { armTimer, cancelTimer, timeoutError } from "../pb/timeout.ts";
import { ConnectAborted } from "./errors.ts";
import { LivenessTimeout } from "./errors.ts";

/** How long connecting plus PB's handshake (dialect and version) may take unless told otherwise. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;

/**
 * The object name the liveness check sends its call to. No PB peer registers it, so every
 * Twisted version answers at once with a pb.Error "Invalid Object ID" (an `error` message) and
 * does nothing else: no method runs, nothing is logged, no table changes.
 */
export const LIVENESS_OBJECT_NAME = "twisted-pb.liveness";

/** A PB-level round trip every `interval` ms of silence from the peer; no answer within `timeout` drops the connection. */
export interface LivenessOptions {
  /** Milliseconds of silence from the peer before a check is sent. */
  interval: number;
  /** Milliseconds to wait for its answer (default: `interval`). */
  timeout?: number;
}

/** Options for PBClient.connect: the connection's, a deadline for connecting, and the liveness check. */
export interface ClientOptions extends ConnectionOptions, WaitOptions {
  /**
   * For `connect`: `timeout` bounds the TCP (and TLS) connect plus PB's handshake, by default
   * DEFAULT_HANDSHAKE_TIMEOUT (30 s); 0 waits for ever. `signal` gives the connect up.
   */
  timeout?: number;
  /** Notice a dead server even behind a proxy that keeps the TCP connection up. Off by default. */
  liveness?: LivenessOptions;
}

function checkLivenessOptions({ interval, timeout = interval }: LivenessOptions): void {
  if (!(interval > 0) || !(timeout > 0)) throw new RangeError("liveness interval and timeout must be positive numbers of milliseconds");
}

function describeEndpoint(endpoint: Endpoint): string {
  return endpoint.path ?? `${endpoint.host ?? "127.0.0.1"}:${endpoint.port ?? ""}`;
}

/** How long disconnect() lets the server take to close its side before the socket is destroyed. */
const DISCONNECT_GRACE_MS = 2000;

function destroySocket(socket: net.Socket): void {
  socket.destroy();
}

/**
 * Resolves with `made()` when the broker is ready; rejects if the connection goes first: with
 * the socket's own error if it never connected (refused, unreachable), else with PBConnectionLost.
 */
function handshake<T>(broker: Broker, socket: net.Socket | null, made: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    broker.ready.then(() => {
      settled = true;
      // (What the handshake's wait resolves with is made here: no further promise hop per connect.)
      try {
        resolve(made());
      } catch (e) {
        reject(e);
      }
    });
    broker.closed.then((e) => {
      if (settled) return;
      settled = true;
      if (socket !== null && e !== undefined && !socketConnected(socket)) reject(e);
      else reject(new PBConnectionLost(e?.message ?? "connection lost", { cause: e }));
    });
  });
}

/** Waits for a socket of connectSocket (TLS, Unix) to connect; rejects with its error. */
function connected(s: net.Socket, endpoint: Endpoint): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const event = endpoint.tls ? "secureConnect" : "connect";
    const onError = (e: Error) => reject(e);
    s.once("error", onError);
    s.once(event, () => {
      s.off("error", onError);
      resolve();
    });
  });
}

/**
 * The client side of one connection (Twisted's PBClientFactory): the root reference once
 * connected, and login with credentials or anonymously. `await using client = await
 * PBClient.connect(...)` disconnects at the end of the block.
 */
export class PBClient {
  private constructor(
    readonly broker: Broker,
    readonly socket: net.Socket,
    /** The connect timeout, also the default of getRootObject and login (0: no limit). */
    private readonly defaultTimeout: number = DEFAULT_HANDSHAKE_TIMEOUT,
  ) {}

  private waitOptions(options: WaitOptions | undefined): WaitOptions {
    return { timeout: options?.timeout ?? this.defaultTimeout, signal: options?.signal };
  }

  /** The root reference, made at once: a PBClient exists only once PB's handshake is done. */
  private root(): RemoteReference {
    return this.broker.remoteForName(ROOT_NAME);
  }

  /**
   * Connects and resolves once PB's handshake is done. Rejects with ConnectTimeout if that takes
   * longer than `options.timeout` (30 s by default), with ConnectAborted if `options.signal`
   * fires, and with PBConnectionLost if the server hangs up first.
   */
  static connect(endpoint: Endpoint = {}, options: ClientOptions = {}): Promise<PBClient> {
    try {
      if (options.liveness) checkLivenessOptions(options.liveness);
    } catch (e) {
      return Promise.reject(e);
    }
    let socket: net.Socket | null = null;
    const what = `connecting to ${describeEndpoint(endpoint)}`;
    return deadline(
      what,
      { timeout: options.timeout ?? DEFAULT_HANDSHAKE_TIMEOUT, signal: options.signal },
      () => {
        // (Made first: a socket must not be left connecting, with no error listener, if this throws.)
        const broker = new Broker({ ...options, role: "initiator" });
        const opened = openClientSocket(endpoint, options.keepAlive);
        const s = (socket = opened.socket);
        const made = () => {
          const client = new PBClient(broker, s, options.timeout ?? DEFAULT_HANDSHAKE_TIMEOUT);
          if (options.liveness) client.checkLiveness(options.liveness);
          return client;
        };
        // Plain TCP: the broker is attached at once (nothing arrives before the connect), and
        // the handshake's wait covers the connect's too (one promise, no async steps between).
        if (opened.optionsSet) {
          attach(s, broker, options.keepAlive, null, true);
          return handshake(broker, s, made);
        }
        // TLS and Unix sockets connect first.
        return connected(s, endpoint).then(() => {
          attach(s, broker, options.keepAlive, null, false);
          return handshake(broker, null, made);
        });
      },
      () => socket?.destroy(),
    );
  }

  /** The server's root object (never reference-counted). `timeout` defaults to the connect timeout. */
  getRootObject(options: WaitOptions = {}): Promise<RemoteReference> {
    // The handshake is done before a PBClient exists: nothing to wait for, only the options to check.
    const bad = timeoutError(options.timeout);
    if (bad) return Promise.reject(bad);
    if (options.signal?.aborted) return Promise.reject(new ConnectAborted("getRootObject aborted", options.signal.reason));
    return Promise.resolve(this.root());
  }

  /**
   * Logs in (PBClientFactory.login) and resolves with the avatar (a perspective reference).
   * `credentials` is a UsernamePassword, an Anonymous, or a UsernameMD5Credentials (which
   * holds only the password's md5); the old form `login(username, password, mind)` still works.
   * `mind` is what the server's realm receives (usually a Referenceable it can call back).
   * `options.timeout` defaults to the connect timeout (30 s unless `connect` was given another;
   * 0 or Infinity: no limit): a server that never answers makes it reject with ConnectTimeout.
   */
  login(credentials: LoginCredentials, mind?: unknown, options?: WaitOptions): Promise<RemoteReference>;
  login(username: string | Uint8Array, password: string | Uint8Array, mind?: unknown, options?: WaitOptions): Promise<RemoteReference>;
  login(first: LoginCredentials | string | Uint8Array, ...rest: unknown[]): Promise<RemoteReference> {
    if (typeof first === "string" || first instanceof Uint8Array) {
      const [password, mind = null, options = {}] = rest as [string | Uint8Array, unknown, WaitOptions | undefined];
      return deadline("login", this.waitOptions(options), (signal) => login(this.root(), first, password, mind, { signal }));
    }
    const [mind = null, options = {}] = rest as [unknown, WaitOptions | undefined];
    return deadline("login", this.waitOptions(options), (signal) => loginWith(this.root(), first, mind, { signal }));
  }

  /** Logs in anonymously (PBClientFactory.login with Anonymous()); `options.timeout` defaults as login's. */
  loginAnonymous(mind: unknown = null, options: WaitOptions = {}): Promise<RemoteReference> {
    return deadline("loginAnonymous", this.waitOptions(options), (signal) => loginAnonymous(this.root(), mind, { signal }));
  }

  /** Closes the connection (what was written still goes out) and waits until it is gone. */
  disconnect(): Promise<void> {
    this.socket.end();
    const timer = armTimer(DISCONNECT_GRACE_MS, destroySocket, this.socket);
    // (A plain then, not an async function: one promise and one hop fewer per disconnect.)
    return this.broker.closed.then(() => cancelTimer(timer));
  }

  /** `await using client = ...` disconnects when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  /**
   * Resolves when the connection is gone, with why: the socket's error, or a PBConnectionLost
   * "Connection was closed cleanly." when either side closed it cleanly (disconnect() included).
   */
  get closed(): Promise<Error | undefined> {
    return this.broker.closed;
  }

  /** Bytes written and not yet taken by the kernel (the server is slow to read them). */
  get bufferedAmount(): number {
    return transportOf(this.socket, this.broker)?.bufferedAmount ?? 0;
  }

  /**
   * The liveness check: after `interval` ms without a byte from the server, one call to an
   * object no peer has (LIVENESS_OBJECT_NAME); any answer, the error included, proves the
   * server alive. No answer within `timeout` destroys the socket with LivenessTimeout.
   */
  private checkLiveness({ interval, timeout = interval }: LivenessOptions): void {
    const broker = this.broker;
    const socket = this.socket;
    let lastHeard = Date.now();
    let probing = false;
    socket.on("data", () => (lastHeard = Date.now()));
    const probe = broker.remoteForName(LIVENESS_OBJECT_NAME);
    const timer = setInterval(() => {
      if (probing || broker.isDisconnected || Date.now() - lastHeard < interval) return;
      probing = true;
      // Our own timer, not the call's: any answer (the expected error included) settles it.
      const answered = () => {
        probing = false;
        clearTimeout(deadline);
      };
      const deadline = setTimeout(() => {
        if (probing && !broker.isDisconnected) socket.destroy(new LivenessTimeout(`no answer to the liveness check within ${timeout} ms`));
      }, timeout);
      deadline.unref();
      probe.call("ping").then(answered, answered);
    }, interval);
    timer.unref();
    void broker.closed.then(() => clearInterval(timer));
  }
}
