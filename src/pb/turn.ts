// The event-loop turn calls are being delivered in; `over` once the loop has moved on (the first
// of a setImmediate and a 0 ms timer, both queued before the method runs). Twisted adds
// `pickled` to a failure only when the method's Deferred had already failed when the broker got
// it (a Deferred that fails with no callbacks left "cleans" its Failure): raised before any later
// reactor turn. A Deferred failing in a later turn, with the broker's errback attached, sends
// its Failure without it (recorded: fixtures/sessions/root.json, failDeferred vs failLater).
// The twin here: the promise rejected before the turn was over (microtasks are the same turn).
//
// Both markers are needed: a call delivered from I/O sees the method's own setImmediate run
// before any timer, and one delivered from a setImmediate callback sees the method's 0 ms timer
// run before the next immediates. They are queued before the method runs, so they fire before
// anything the method queues. The clock is shared by every broker of the process (a turn is the
// loop's, not a connection's), and its timer is one Timeout re-armed with refresh() (no timer
// made and cleared per call): a marker that fires after the turn already ended does nothing.

/** The turn a call was delivered in: `over` once the event loop has moved on. */
export interface CallTurn {
  over: boolean;
}

let turn: CallTurn | null = null;
let timer: { refresh(): unknown } | null = null;

function endTurn(ended: CallTurn): void {
  ended.over = true;
  if (turn === ended) turn = null;
}

function onTimer(): void {
  if (turn) endTurn(turn);
}

/** The current turn, its end markers queued when it is the turn's first call. */
export function currentTurn(): CallTurn {
  if (turn) return turn;
  const t: CallTurn = { over: false };
  turn = t;
  if (typeof setImmediate === "function") setImmediate(endTurn, t);
  if (timer && typeof timer.refresh === "function") timer.refresh();
  else {
    const made = setTimeout(onTimer, 0) as unknown as { refresh?(): unknown; unref?(): unknown };
    // Node's Timeout can be re-armed and must not keep the process alive; a browser's is a number.
    if (typeof made === "object" && made !== null && typeof made.refresh === "function") {
      made.unref?.();
      timer = made as { refresh(): unknown };
    }
  }
  return t;
}
