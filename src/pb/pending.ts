// Calls waiting for their answer (pb.py Broker.waitingForAnswers), each with the timeout and
// AbortSignal that let the caller give up on it locally.
import { describeValue } from "../jelly/describe.ts";
import type { Sexp } from "../banana/values.ts";
import type { CallOptions } from "./broker-api.ts";
import { CallAborted, CallTimeout, ProtocolError, type CallAbandoned } from "./errors.ts";
import { GiveUpSignal } from "./giveup.ts";
import { armTimer, cancelTimer, timeoutLimit, type TimerHandle } from "./timeout.ts";

export interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  abandoned: boolean;
  /** The call's timeout and signal, undone once it is answered or given up on. */
  cleanup?: { cleanup(): void };
}

/**
 * One call's timeout and AbortSignal. The signal's listener is this object (handleEvent) and the
 * timer a shared function with it as argument: no closures made per call.
 */
class CallWatch {
  private timer: TimerHandle | null = null;
  constructor(
    private readonly calls: PendingCalls,
    private readonly pending: Pending,
    private readonly id: number,
    private readonly name: string,
    private readonly signal: AbortSignal | undefined,
    private readonly limit: number | undefined,
  ) {
    if (limit !== undefined) this.timer = armTimer(limit, callTimedOut, this);
    // The client's own GiveUpSignal takes any number of listeners without a warning: listened to
    // directly, without the per-signal record an AbortSignal needs (see SignalWatch).
    if (signal instanceof GiveUpSignal) signal.addEventListener("abort", this);
    else if (signal) calls.watchSignal(signal, this);
  }

  timedOut(): void {
    this.timer = null;
    const limit = this.limit!;
    this.calls.abandon(this.pending, this.id, new CallTimeout(`no answer to ${this.name} within ${limit} ms`, limit));
  }

  /** The signal fired. */
  handleEvent(): void {
    this.calls.abandon(this.pending, this.id, new CallAborted(`call to ${this.name} aborted`, this.signal?.reason));
  }

  cleanup(): void {
    if (this.timer !== null) cancelTimer(this.timer);
    this.timer = null;
    const signal = this.signal;
    if (signal instanceof GiveUpSignal) signal.removeEventListener("abort", this);
    else if (signal) this.calls.unwatchSignal(signal, this);
  }
}

/**
 * The calls of one connection watching one AbortSignal, behind a single listener: a caller may
 * pass one signal to hundreds of calls, and a listener per call would make Node warn about a
 * possible leak (MaxListenersExceededWarning) at the eleventh.
 */
class SignalWatch {
  readonly watches = new Set<CallWatch>();
  constructor(
    private readonly calls: PendingCalls,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener("abort", this, { once: true });
  }

  handleEvent(): void {
    this.calls.signalFired(this.signal);
    // In the order the calls were made, as one listener per call fired them.
    for (const w of [...this.watches]) w.handleEvent();
  }

  stop(): void {
    this.signal.removeEventListener("abort", this);
  }
}

function callTimedOut(watch: CallWatch): void {
  watch.timedOut();
}

/** What take() returns for the late answer to a call given up on: the answer is read, then dropped. */
const ABANDONED: Pending = Object.freeze({ resolve() {}, reject() {}, abandoned: true });

/**
 * How many given-up request ids are remembered, so that their late answers are told from answers
 * to requests never made. Past it the oldest are forgotten and every id up to them counts as
 * given up: memory stays bounded when a peer never answers.
 */
const REMEMBERED_ABANDONED = 1024;

/** A request id from the wire. */
export function requestID(raw: Sexp): number {
  if (typeof raw !== "number" || !Number.isSafeInteger(raw)) throw new ProtocolError(`bad request id ${describeValue(raw)}`);
  return raw;
}

export class PendingCalls {
  /** Calls waiting for their answer by request id (made at the first call: a server may never make one). */
  private waitingMade: Map<number, Pending> | null = null;
  private current = 0;
  /** Ids given up on whose answer has not come yet (the newest REMEMBERED_ABANDONED; made at the first). */
  private abandonedMade: Set<number> | null = null;
  /** Every id up to this one that is not waiting was given up on (or answered). */
  private forgottenUpTo = 0;
  /** One listener per AbortSignal the waiting calls were given, made on first use. */
  private signals: Map<AbortSignal, SignalWatch> | null = null;

  /** A call starts watching `signal`. */
  watchSignal(signal: AbortSignal, watch: CallWatch): void {
    const signals = (this.signals ??= new Map());
    let w = signals.get(signal);
    if (!w) signals.set(signal, (w = new SignalWatch(this, signal)));
    w.watches.add(watch);
  }

  /** A call no longer watches `signal` (answered or given up): the listener goes with the last one. */
  unwatchSignal(signal: AbortSignal, watch: CallWatch): void {
    const w = this.signals?.get(signal);
    if (!w || !w.watches.delete(watch) || w.watches.size > 0) return;
    w.stop();
    this.signals!.delete(signal);
  }

  /** The signal fired: its listener is gone (once), and so is its entry. */
  signalFired(signal: AbortSignal): void {
    this.signals?.delete(signal);
  }

  private get waiting(): Map<number, Pending> {
    return (this.waitingMade ??= new Map());
  }

  private get abandoned(): Set<number> {
    return (this.abandonedMade ??= new Set());
  }

  get size(): number {
    return this.waitingMade === null ? 0 : this.waitingMade.size;
  }

  nextID(): number {
    return ++this.current;
  }

  /** A promise of the answer to `id`, given up on as `options` say. */
  add(id: number, name: string, options: CallOptions): Promise<unknown> {
    let pending!: Pending;
    const promise = new Promise<unknown>((resolve, reject) => {
      pending = { resolve, reject, abandoned: false };
    });
    if (timeoutLimit(options.timeout) !== undefined || options.signal) this.armGiveUp(pending, id, name, options);
    this.waiting.set(id, pending);
    return promise;
  }

  /** The timeout and AbortSignal of one call: either gives up on it locally. */
  private armGiveUp(pending: Pending, id: number, name: string, options: CallOptions): void {
    // Checked by the broker before the call went out (timeoutError): 0 and Infinity set no limit.
    pending.cleanup = new CallWatch(this, pending, id, name, options.signal, timeoutLimit(options.timeout));
  }

  /** Gives up on a call locally (its timeout or signal): rejected now, its late answer dropped. */
  abandon(pending: Pending, id: number, why: CallAbandoned): void {
    if (pending.abandoned || this.waitingMade?.get(id) !== pending) return;
    pending.abandoned = true;
    pending.cleanup?.cleanup();
    // No entry is left behind: the id is remembered only to recognise a late answer.
    this.waiting.delete(id);
    this.rememberAbandoned(id);
    pending.reject(why);
  }

  private rememberAbandoned(id: number): void {
    this.abandoned.add(id);
    if (this.abandoned.size <= REMEMBERED_ABANDONED) return;
    const oldest = this.abandoned.values().next().value as number;
    this.abandoned.delete(oldest);
    if (oldest > this.forgottenUpTo) this.forgottenUpTo = oldest;
  }

  /**
   * The call an answer or error is for. The late answer to a call given up on gets a stand-in
   * that drops it; an answer to a request never made breaks the protocol.
   */
  take(rawID: Sexp): Pending {
    const id = requestID(rawID);
    const pending = this.waitingMade?.get(id);
    if (!pending) {
      if (this.abandonedMade?.delete(id) || (id <= this.forgottenUpTo && id > 0)) return ABANDONED;
      throw new ProtocolError(`answer for unknown request ${id}`);
    }
    this.waiting.delete(id);
    pending.cleanup?.cleanup();
    return pending;
  }

  /** The connection is gone: every call still waiting fails with `reason`. */
  rejectAll(reason: () => Error): void {
    if (this.abandonedMade?.size) this.abandonedMade.clear();
    const waiting = this.waitingMade;
    if (waiting === null || waiting.size === 0) return; // (a clear() would make a new table for nothing)
    const pending = [...waiting.values()];
    waiting.clear();
    for (const p of pending) {
      p.cleanup?.cleanup();
      if (!p.abandoned) p.reject(reason());
    }
  }
}
