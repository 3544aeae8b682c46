// Calls waiting for their answer (pb.py Broker.waitingForAnswers), each with the timeout and
// AbortSignal that let the caller give up on it locally.
import type { Sexp } from "../banana/values.ts";
import type { CallOptions } from "./broker-api.ts";
import { CallAbandoned, ProtocolError } from "./errors.ts";

export interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  abandoned: boolean;
  cleanup?: () => void;
}

/** A request id from the wire. */
export function requestID(raw: Sexp): number {
  if (typeof raw !== "number" || !Number.isSafeInteger(raw)) throw new ProtocolError(`bad request id ${String(raw)}`);
  return raw;
}

export class PendingCalls {
  private readonly waiting = new Map<number, Pending>();
  private current = 0;

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
    if (options.timeout !== undefined || options.signal) this.armGiveUp(pending, id, name, options);
    this.waiting.set(id, pending);
    return promise;
  }

  /** The timeout and AbortSignal of one call: either gives up on it locally. */
  private armGiveUp(pending: Pending, id: number, name: string, options: CallOptions): void {
    const giveUp = (why: CallAbandoned) => {
      if (pending.abandoned || !this.waiting.has(id)) return;
      pending.abandoned = true;
      pending.cleanup?.();
      pending.reject(why);
    };
    const cleanups: (() => void)[] = [];
    if (options.timeout !== undefined) {
      const timer = setTimeout(() => giveUp(new CallAbandoned(`no answer to ${name} within ${options.timeout} ms`)), options.timeout);
      cleanups.push(() => clearTimeout(timer));
    }
    if (options.signal) {
      const signal = options.signal;
      const onAbort = () => giveUp(new CallAbandoned(`call to ${name} aborted`, signal.reason));
      signal.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener("abort", onAbort));
    }
    if (cleanups.length) pending.cleanup = () => cleanups.forEach((c) => c());
  }

  /** The call an answer or error is for; the peer answering an unknown id breaks the protocol. */
  take(rawID: Sexp): Pending {
    const id = requestID(rawID);
    const pending = this.waiting.get(id);
    if (!pending) throw new ProtocolError(`answer for unknown request ${id}`);
    this.waiting.delete(id);
    pending.cleanup?.();
    return pending;
  }

  /** The connection is gone: every call still waiting fails with `reason`. */
  rejectAll(reason: () => Error): void {
    const pending = [...this.waiting.values()];
    this.waiting.clear();
    for (const p of pending) {
      p.cleanup?.();
      if (!p.abandoned) p.reject(reason());
    }
  }
}
