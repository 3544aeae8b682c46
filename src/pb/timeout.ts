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

// Node keeps one list of timers per duration and deletes it when its last timer goes: a client
// logging in over and over (a 30 s connect deadline, a 30 s login deadline, a 2 s disconnect
// guard, each cleared within a millisecond) made and deleted three lists per login, each time
// with a priority-queue update and a call into libuv to re-arm the loop's timer. A "keeper", one
// unref'd Node timer per busy duration that re-arms itself while timers of that duration keep
// being armed, holds the list: arming and clearing then only link and unlink. It never calls
// anything of ours and never keeps the process alive; it is made with node:timers' own
// setTimeout, so fake timers in tests neither see nor count it. Elsewhere (a browser) nothing.

/** Durations kept at once (a few are used over and over: the default deadlines). */
const MAX_KEEPERS = 8;
/** Shorter durations get no keeper: it would wake the process too often. */
const MIN_KEPT_MS = 100;

interface Keeper {
  readonly ms: number;
  /** A timer of this duration was armed since the keeper last fired. */
  used: boolean;
  timer: { refresh(): unknown } | null;
}

type NodeSetTimeout = (fn: (k: Keeper) => void, ms: number, k: Keeper) => { refresh(): unknown; unref(): unknown };
const keepers = new Map<number, Keeper>();
let nodeSetTimeout: NodeSetTimeout | null | undefined;

function keeperFired(k: Keeper): void {
  if (k.used) {
    k.used = false;
    k.timer!.refresh();
  } else keepers.delete(k.ms);
}

function findNodeSetTimeout(): NodeSetTimeout | null {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const timers = typeof p?.getBuiltinModule === "function" ? (p.getBuiltinModule("node:timers") as { setTimeout?: unknown } | undefined) : undefined;
  return typeof timers?.setTimeout === "function" ? (timers.setTimeout as NodeSetTimeout) : null;
}

/**
 * Timers of `ms` milliseconds are about to be armed and cleared again and again: keep Node's
 * list for that duration alive meanwhile (see above). Costs a table lookup when already kept.
 * @internal
 */
export function keepTimerList(ms: number): void {
  const k = keepers.get(ms);
  if (k !== undefined) {
    k.used = true;
    return;
  }
  // Node files a timer under its whole number of milliseconds.
  if (!(ms >= MIN_KEPT_MS && ms <= MAX_TIMER_MS) || ms !== Math.trunc(ms) || keepers.size >= MAX_KEEPERS) return;
  const make = nodeSetTimeout === undefined ? (nodeSetTimeout = findNodeSetTimeout()) : nodeSetTimeout;
  if (make === null) return;
  const keeper: Keeper = { ms, used: false, timer: null };
  const timer = make(keeperFired, ms, keeper);
  timer.unref();
  keeper.timer = timer;
  keepers.set(ms, keeper);
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
  if (ms > MAX_TIMER_MS) return startTimer(ms, () => fn(arg));
  keepTimerList(ms);
  return setTimeout(fn, ms, arg);
}

/** Cancels a timer armTimer started. */
export function cancelTimer(handle: TimerHandle): void {
  if (typeof handle === "function") handle();
  else clearTimeout(handle);
}
