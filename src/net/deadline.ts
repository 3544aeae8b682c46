// One timeout and one AbortSignal over a multi-step wait (connect, handshake, login).
import { ConnectAborted, ConnectTimeout } from "./errors.ts";
import { armTimer, cancelTimer, timeoutError, timeoutLimit, type TimerHandle } from "../pb/timeout.ts";

/** How long a wait may take, and a signal that gives it up. */
export interface WaitOptions {
  /**
   * Milliseconds before the wait rejects with ConnectTimeout (0 or Infinity: no limit; negative
   * or NaN: RangeError). Values past 2**31-1 ms are honoured, not fired at once.
   */
  timeout?: number;
  /** Rejects the wait with ConnectAborted when it fires. */
  signal?: AbortSignal;
}

// GiveUpSignal lives in pb (pending calls listen to it directly); the client's waits make it.
export { GiveUpSignal } from "../pb/giveup.ts";
import { GiveUpSignal } from "../pb/giveup.ts";

/**
 * Runs `work` with a signal that fires when the wait is given up; the result rejects with
 * ConnectTimeout or ConnectAborted at that moment, whatever `work` does afterwards.
 * `onGiveUp` undoes what `work` started (closes a half-open socket).
 */
export function withDeadline<T>(what: string, options: WaitOptions, work: (signal: AbortSignal) => Promise<T>, onGiveUp?: (reason: Error) => void): Promise<T> {
  return race(what, options, work, onGiveUp, false);
}

/**
 * withDeadline for the client's own waits: `work` gets a GiveUpSignal (typed as the AbortSignal
 * the calls take), and nothing is made for a limit or a signal that was not given.
 * @internal
 */
export function deadline<T>(what: string, options: WaitOptions, work: (signal: AbortSignal) => Promise<T>, onGiveUp?: (reason: Error) => void): Promise<T> {
  return race(what, options, work, onGiveUp, true);
}

/** One wait given up by its timeout or its caller's signal; the state lives here, not in closures made per wait. */
class Wait<T> {
  done = false;
  timer: TimerHandle | null = null;
  limit = 0;
  giveUpSignal: GiveUpSignal | AbortController;
  constructor(
    readonly what: string,
    readonly signal: AbortSignal | undefined,
    readonly onGiveUp: ((reason: Error) => void) | undefined,
    readonly resolve: (value: T) => void,
    readonly reject: (reason: unknown) => void,
    lite: boolean,
  ) {
    this.giveUpSignal = lite ? new GiveUpSignal() : new AbortController();
  }

  /** The caller's signal fired (an EventListener object: no closure per wait). */
  handleEvent(): void {
    this.giveUp(new ConnectAborted(`${this.what} aborted`, this.signal?.reason));
  }

  finish(): void {
    this.done = true;
    if (this.timer !== null) cancelTimer(this.timer);
    this.timer = null;
    this.signal?.removeEventListener("abort", this);
  }

  giveUp(reason: Error): void {
    if (this.done) return;
    this.finish();
    this.giveUpSignal.abort(reason);
    try {
      this.onGiveUp?.(reason);
    } finally {
      this.reject(reason);
    }
  }

  settled(value: T): void {
    if (this.done) return;
    this.finish();
    this.resolve(value);
  }

  failed(error: unknown): void {
    if (this.done) return;
    this.finish();
    this.reject(error);
  }
}

function waitTimedOut<T>(wait: Wait<T>): void {
  wait.timer = null;
  wait.giveUp(new ConnectTimeout(`${wait.what}: no result within ${wait.limit} ms`));
}

function race<T>(what: string, options: WaitOptions, work: (signal: AbortSignal) => Promise<T>, onGiveUp: ((reason: Error) => void) | undefined, lite: boolean): Promise<T> {
  const { timeout, signal } = options;
  const badTimeout = timeoutError(timeout);
  if (badTimeout) return Promise.reject(badTimeout);
  const limit = timeoutLimit(timeout);
  if (signal?.aborted) return Promise.reject(new ConnectAborted(`${what} aborted`, signal.reason));
  return new Promise<T>((resolve, reject) => {
    const wait = new Wait<T>(what, signal, onGiveUp, resolve, reject, lite);
    signal?.addEventListener("abort", wait, { once: true });
    if (limit !== undefined) {
      wait.limit = limit;
      wait.timer = armTimer(limit, waitTimedOut, wait);
    }
    const g = wait.giveUpSignal;
    let working: Promise<T>;
    try {
      working = work(g instanceof GiveUpSignal ? (g as unknown as AbortSignal) : g.signal);
    } catch (e) {
      return wait.failed(e);
    }
    working.then(
      (value) => wait.settled(value),
      (error: unknown) => wait.failed(error),
    );
  });
}
