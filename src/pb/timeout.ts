// Timeouts in milliseconds, with one meaning everywhere (calls, connect, login): undefined, 0 and
// Infinity set no limit; a negative number, NaN or a non-number is a RangeError; any finite
// positive value is honoured, including those past setTimeout's 2**31-1 ms, which Node would
// otherwise fire at once with a TimeoutOverflowWarning.

/** The longest delay one setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The RangeError a bad timeout option gets, or null when it is fine. */
export function timeoutError(timeout: unknown): RangeError | null {
  if (timeout === undefined) return null;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
    return new RangeError(`timeout must be a non-negative number of milliseconds (0 or Infinity: no limit), got ${String(timeout)}`);
  }
  return null;
}

/** The limit a valid timeout sets, or undefined for none (undefined, 0 and Infinity). */
export function timeoutLimit(timeout: number | undefined): number | undefined {
  return timeout === undefined || timeout === 0 || timeout === Infinity ? undefined : timeout;
}

/** Calls `fn` after `ms` milliseconds, however long that is; returns what cancels it. */
export function startTimer(ms: number, fn: () => void): () => void {
  let timer: ReturnType<typeof setTimeout>;
  // Past the longest single delay, chain timers (counting what is left, not reading the clock,
  // so fake timers in tests behave as real ones).
  const arm = (left: number) => {
    const step = Math.min(left, MAX_TIMER_MS);
    timer = setTimeout(() => (left > step ? arm(left - step) : fn()), step);
  };
  arm(ms);
  return () => clearTimeout(timer);
}

/** A timer armTimer started: what cancelTimer takes. */
export type TimerHandle = ReturnType<typeof setTimeout> | (() => void);

/**
 * Calls `fn(arg)` after `ms` milliseconds, however long that is. Within one setTimeout's range
 * (every realistic timeout) no closure is made: for waits armed once per call or per login.
 */
export function armTimer<A>(ms: number, fn: (arg: A) => void, arg: A): TimerHandle {
  return ms <= MAX_TIMER_MS ? setTimeout(fn, ms, arg) : startTimer(ms, () => fn(arg));
}

/** Cancels a timer armTimer started. */
export function cancelTimer(handle: TimerHandle): void {
  if (typeof handle === "function") handle();
  else clearTimeout(handle);
}
