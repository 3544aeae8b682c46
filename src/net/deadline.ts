// One timeout and one AbortSignal over a multi-step wait (connect, handshake, login).
import { ConnectAborted, ConnectTimeout } from "./errors.ts";

/** How long a wait may take, and a signal that gives it up. */
export interface WaitOptions {
  /** Milliseconds before the wait rejects with ConnectTimeout (0 or Infinity: no limit). */
  timeout?: number;
  /** Rejects the wait with ConnectAborted when it fires. */
  signal?: AbortSignal;
}

/**
 * Runs `work` with a signal that fires when the wait is given up; the result rejects with
 * ConnectTimeout or ConnectAborted at that moment, whatever `work` does afterwards.
 * `onGiveUp` undoes what `work` started (closes a half-open socket).
 */
export function withDeadline<T>(what: string, options: WaitOptions, work: (signal: AbortSignal) => Promise<T>, onGiveUp?: (reason: Error) => void): Promise<T> {
  const { timeout, signal } = options;
  if (timeout !== undefined && (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0)) {
    return Promise.reject(new RangeError(`timeout must be a non-negative number of milliseconds, got ${String(timeout)}`));
  }
  if (signal?.aborted) return Promise.reject(new ConnectAborted(`${what} aborted`, signal.reason));
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const finish = () => {
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const giveUp = (reason: Error) => {
      if (done) return;
      finish();
      controller.abort(reason);
      try {
        onGiveUp?.(reason);
      } finally {
        reject(reason);
      }
    };
    const onAbort = () => giveUp(new ConnectAborted(`${what} aborted`, signal?.reason));
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeout && Number.isFinite(timeout)) timer = setTimeout(() => giveUp(new ConnectTimeout(`${what}: no result within ${timeout} ms`)), timeout);
    work(controller.signal).then(
      (value) => {
        if (done) return;
        finish();
        resolve(value);
      },
      (error: unknown) => {
        if (done) return;
        finish();
        reject(error);
      },
    );
  });
}
