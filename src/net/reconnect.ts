// A client that reconnects (and logs in again) with exponential backoff, reporting what happens
// as events. A refused login is not retried for ever: by default it stops with the error.
import { EventEmitter } from "node:events";
import type { RemoteReference } from "../pb/remote.ts";
import type { LoginCredentials } from "../cred/pbportal.ts";
import { PBClient, type ClientOptions } from "./client.ts";
import type { Endpoint } from "./connection.ts";

/** One established session: the client, the root and, when logging in, the avatar. */
export interface Session {
  client: PBClient;
  root: RemoteReference;
  avatar: RemoteReference | null;
}

/** Options for ReconnectingPBClient: connecting, logging in, backing off and giving up. */
export interface ReconnectOptions extends Omit<ClientOptions, "signal"> {
  /**
   * Logs in after every connect: a credentials object (UsernamePassword, Anonymous,
   * UsernameMD5Credentials), `{ username, password }`, or "anonymous". Without it the client
   * only fetches the root.
   */
  credentials?: LoginCredentials | "anonymous";
  mind?: unknown;
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Gives up after this many failed attempts in a row (default: never). */
  maxAttempts?: number;
  /**
   * What a refused login (UnauthorizedLogin or another LoginFailed from the server) does:
   * "stop" (default) emits "giveUp" with the error and stops; "retry" backs off and tries again.
   */
  onLoginRefused?: "stop" | "retry";
  /** Told of every (re)connection (the "login" event says the same). */
  onConnect?: (session: Session) => void;
  /** Told when a connection is lost or an attempt fails, with the delay before the next try. */
  onDisconnect?: (error: Error | undefined, retryInMs: number) => void;
}

/** Events a ReconnectingPBClient emits. */
export interface ReconnectEvents {
  /** Connected and PB's handshake done (before login). */
  connect: [client: PBClient];
  /** Logged in (or, without credentials, the root fetched): the session is usable. */
  login: [session: Session];
  /** An established session's connection was lost. */
  disconnect: [reason: Error | undefined];
  /** An attempt failed or a session ended; the next attempt starts in `delayMs`. */
  retry: [info: { attempt: number; delayMs: number; error: Error | undefined }];
  /** Stopped trying: the login was refused, or maxAttempts failed in a row. */
  giveUp: [error: Error];
}

/** True for a failure the server sent because the credentials were refused. */
export function isLoginRefused(error: unknown): boolean {
  const e = error as { check?: (...names: string[]) => string | null; name?: unknown };
  if (typeof e?.check === "function") return e.check("twisted.cred.error.LoginFailed", "twisted.cred.error.UnauthorizedLogin", "twisted.cred.error.Unauthorized") !== null;
  return e instanceof Error && ["UnauthorizedLogin", "LoginFailed", "LoginDenied", "UnhandledCredentials"].includes(String(e.name));
}

/**
 * A client that reconnects (and logs in again) with exponential backoff until stopped or until
 * it gives up. A connection that never completes PB's handshake within `timeout`, or whose
 * login (or root fetch) gets no answer within `timeout`, counts as a failed attempt. `await using` stops it.
 */
export class ReconnectingPBClient extends EventEmitter<ReconnectEvents> {
  private stopped = false;
  private delay: number;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly abort = new AbortController();
  current: PBClient | null = null;
  /** Set when the client gave up (the "giveUp" event's error). */
  gaveUp: Error | null = null;

  constructor(
    readonly endpoint: Endpoint,
    readonly options: ReconnectOptions = {},
  ) {
    super();
    this.delay = options.initialDelayMs ?? 100;
  }

  /** Starts connecting (and reconnecting); returns this client. */
  start(): this {
    void this.attempt();
    return this;
  }

  /** True once stop() was called or the client gave up. */
  get isStopped(): boolean {
    return this.stopped;
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    let client: PBClient | null = null;
    let connected = false;
    try {
      const signal = this.abort.signal;
      client = await PBClient.connect(this.endpoint, { ...this.options, signal });
      this.emit("connect", client);
      // The attempt's timeout bounds the login too: a server that never answers it is a failed attempt.
      const wait = { signal, timeout: this.options.timeout };
      const root = await client.getRootObject(wait);
      const creds = this.options.credentials;
      const avatar = !creds ? null : creds === "anonymous" ? await client.loginAnonymous(this.options.mind, wait) : await client.login(creds, this.options.mind, wait);
      if (this.stopped) return void (await client.disconnect());
      connected = true;
      this.current = client;
      this.failures = 0;
      this.delay = this.options.initialDelayMs ?? 100;
      const session = { client, root, avatar };
      this.options.onConnect?.(session);
      this.emit("login", session);
      const reason = await client.closed;
      this.current = null;
      this.emit("disconnect", reason);
      this.retry(reason, false);
    } catch (e) {
      if (client && !connected) client.socket.destroy();
      if (this.stopped) return;
      const error = e instanceof Error ? e : new Error(String(e));
      if (isLoginRefused(error) && (this.options.onLoginRefused ?? "stop") === "stop") return this.giveUp(error);
      this.retry(error, true);
    }
  }

  private retry(reason: Error | undefined, failed: boolean): void {
    if (this.stopped) return;
    if (failed) this.failures++;
    const max = this.options.maxAttempts;
    if (failed && max !== undefined && this.failures >= max) {
      return this.giveUp(new Error(`gave up after ${this.failures} failed attempts: ${reason?.message ?? "unknown reason"}`, { cause: reason }));
    }
    const wait = this.delay;
    this.delay = Math.min(this.delay * (this.options.factor ?? 2), this.options.maxDelayMs ?? 30_000);
    this.options.onDisconnect?.(reason, wait);
    this.emit("retry", { attempt: this.failures + 1, delayMs: wait, error: reason });
    this.timer = setTimeout(() => void this.attempt(), wait);
  }

  private giveUp(error: Error): void {
    this.stopped = true;
    this.gaveUp = error;
    this.emit("giveUp", error);
  }

  /** Stops reconnecting, gives up an attempt in progress and disconnects the current session. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new Error("ReconnectingPBClient stopped"));
    if (this.timer) clearTimeout(this.timer);
    await this.current?.disconnect();
  }

  /** `await using client = new ReconnectingPBClient(...).start()` stops it when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
