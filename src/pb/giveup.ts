// The part of AbortSignal the broker's pending calls read, as a plain object: what the client's
// own waits (net/deadline.ts) hand their calls. It lives here, below net, so that a pending call
// can listen to it directly: it has no listener cap to warn about, so the one-listener-per-signal
// bookkeeping an AbortSignal needs (pending.ts) is skipped.

/**
 * What the client's own waits hand their calls instead of an AbortController's signal: the part
 * of AbortSignal the broker's pending calls read (aborted, reason, one "abort" listener each).
 * An AbortController costs a few microseconds to make and to listen to, and a login made one per
 * step; this costs an object. Never handed to user code, which may expect a real AbortSignal.
 * @internal
 */
export class GiveUpSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: AbortListener[] | null = null;

  addEventListener(_type: "abort", listener: AbortListener): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: AbortListener): void {
    const l = this.listeners;
    if (!l) return;
    // Most often the only (or newest) listener: popped, with no array made for what splice removes.
    if (l[l.length - 1] === listener) l.pop();
    else {
      const i = l.indexOf(listener);
      if (i >= 0) l.splice(i, 1);
    }
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const l = this.listeners;
    this.listeners = null;
    if (l) for (const listener of l) typeof listener === "function" ? listener() : listener.handleEvent();
  }
}

/** A listener of GiveUpSignal's one event: a function or an object with handleEvent, as for an EventTarget. */
type AbortListener = (() => void) | { handleEvent(): void };
