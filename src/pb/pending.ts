// Calls waiting for their answer (pb.py Broker.waitingForAnswers), each with the timeout and
// AbortSignal that let the caller give up on it locally.
import { describeValue } from "../jelly/describe.ts";
import type { Sexp } from "../banana/values.ts";
import type { CallOptions } from "./broker-api.ts";
import { CallAborted, CallTimeout, ProtocolError, type CallAbandoned } from "./errors.ts";
import { startTimer, timeoutLimit } from "./timeout.ts";

export interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  abandoned: boolean;
  cleanup?: () => void;
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
  private readonly waiting = new Map<number, Pending>();
  private current = 0;
  /** Ids given up on whose answer has not come yet (the newest REMEMBERED_ABANDONED). */
  private readonly abandoned = new Set<number>();
  /** Every id up to this one that is not waiting was given up on (or answered). */
  private forgottenUpTo = 0;

  get size(): number {
    return this.waiting.size;
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
    const giveUp = (why: CallAbandoned) => {
      if (pending.abandoned || this.waiting.get(id) !== pending) return;
      pending.abandoned = true;
      pending.cleanup?.();
      // No entry is left behind: the id is remembered only to recognise a late answer.
      this.waiting.delete(id);
      this.rememberAbandoned(id);
      pending.reject(why);
    };
    const cleanups: (() => void)[] = [];
    // Checked by the broker before the call went out (timeoutError): 0 and Infinity set no limit.
    const limit = timeoutLimit(options.timeout);
    if (limit !== undefined) cleanups.push(startTimer(limit, () => giveUp(new CallTimeout(`no answer to ${name} within ${limit} ms`, limit))));
    if (options.signal) {
      const signal = options.signal;
      const onAbort = () => giveUp(new CallAborted(`call to ${name} aborted`, signal.reason));
      signal.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener("abort", onAbort));
    }
    if (cleanups.length) pending.cleanup = () => cleanups.forEach((c) => c());
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
    const pending = this.waiting.get(id);
    if (!pending) {
      if (this.abandoned.delete(id) || (id <= this.forgottenUpTo && id > 0)) return ABANDONED;
      throw new ProtocolError(`answer for unknown request ${id}`);
    }
    this.waiting.delete(id);
    pending.cleanup?.();
    return pending;
  }

  /** The connection is gone: every call still waiting fails with `reason`. */
  rejectAll(reason: () => Error): void {
    const pending = [...this.waiting.values()];
    this.waiting.clear();
    this.abandoned.clear();
    for (const p of pending) {
      p.cleanup?.();
      if (!p.abandoned) p.reject(reason());
    }
  }
}
