// One timeout and one AbortSignal over a multi-step wait (connect, handshake, login).
import { ConnectAborted, ConnectTimeout } from "./errors.ts";
import { startTimer, timeoutError, timeoutLimit } from "../pb/timeout.ts";

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

/**
 * Runs `work` with a signal that fires when the wait is given up; the result rejects with
 * ConnectTimeout or ConnectAborted at that moment, whatever `work` does afterwards.
 * `onGiveUp` undoes what `work` started (closes a half-open socket).
 */
export function withDeadline<T>(what: string, options: WaitOptions, work: (signal: AbortSignal) => Promise<T>, onGiveUp?: (reason: Error) => void): Promise<T> {
  const { timeout, signal } = options;
  const badTimeout = timeoutError(timeout);
  if (badTimeout) return Promise.reject(badTimeout);
  const limit = timeoutLimit(timeout);
  if (signal?.aborted) return Promise.reject(new ConnectAborted(`${what} aborted`, signal.reason));
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let cancelTimer: (() => void) | undefined;
    let done = false;
    const finish = () => {
      done = true;
      cancelTimer?.();
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
    if (limit !== undefined) cancelTimer = startTimer(limit, () => giveUp(new ConnectTimeout(`${what}: no result within ${limit} ms`)));
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
