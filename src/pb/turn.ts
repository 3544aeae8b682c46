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
//
// Only a call whose method returned a promise looks at its turn (leaveTurn's `held`). When a chunk of input
// has been handled and no such call holds the turn, it is ended at once (`releaseTurn`) and its
// setImmediate cancelled: a peer making one call at a time then costs no event-loop callback
// after the answer is written (which, on a busy machine, runs after the woken peer preempts us).

/** The turn a call was delivered in: `over` once the event loop has moved on. */
export interface CallTurn {
  over: boolean;
  /** A call of this turn waits on a promise and will look at `over`. */
  held: boolean;
  /** Calls of this turn whose method is running (one may deliver input to another broker). */
  running: number;
  immediate: ReturnType<typeof setImmediate> | undefined;
}

let turn: CallTurn | null = null;
let timer: { refresh(): unknown } | null = null;
/**
 * The timer is set and has not fired yet. It is then re-armed by nobody: a marker queued before
 * this turn began fires before the method's own timers too (it is ahead of them in Node's list
 * of 1 ms timers), and a marker firing can only end a turn whose synchronous part and promise
 * jobs are over. So the timer is re-armed at most once per millisecond, not once per call.
 */
let timerArmed = false;

function endTurn(ended: CallTurn): void {
  ended.over = true;
  if (turn === ended) turn = null;
}

function onTimer(): void {
  timerArmed = false;
  if (turn) endTurn(turn);
}

/** Arms the shared 0 ms marker, unless it is already due. */
function armTurnTimer(): void {
  if (timer) {
    if (!timerArmed) {
      timer.refresh();
      timerArmed = true;
    }
    return;
  }
  const made = setTimeout(onTimer, 0) as unknown as { refresh?(): unknown; unref?(): unknown };
  // Node's Timeout can be re-armed and must not keep the process alive; a browser's is a number.
  if (typeof made === "object" && made !== null && typeof made.refresh === "function") {
    made.unref?.();
    timer = made as { refresh(): unknown };
    timerArmed = true;
  }
}

/**
 * The current turn, its end markers queued when it is the turn's first call; leaveTurn() once
 * the method returned. `timed`: the input may come from a setImmediate callback, so the 0 ms
 * timer marker is needed too. Input read from a socket comes from an I/O callback, whose
 * setImmediate runs before any timer: the timer is then left alone, because one always due
 * within a millisecond makes every sleep of the event loop re-arm a kernel timer (measured: it
 * doubled a server's CPU per sequential call where wake-ups are cheap).
 */
export function currentTurn(timed = true): CallTurn {
  if (turn) {
    turn.running++;
    if (timed) armTurnTimer();
    return turn;
  }
  const t: CallTurn = { over: false, held: false, running: 1, immediate: undefined };
  turn = t;
  if (typeof setImmediate === "function") t.immediate = setImmediate(endTurn, t);
  if (timed || typeof setImmediate !== "function") armTurnTimer();
  return t;
}

/** The method of a call of `t` returned; `held` when it gave a promise (whose failure reads `t.over`). */
export function leaveTurn(t: CallTurn, held: boolean): void {
  t.running--;
  if (held) t.held = true;
}

/**
 * Input handled: the current turn, if no call holds it, ends now and its setImmediate is
 * cancelled. Calls delivered later in the same turn take a new one (markers queued before them).
 */
export function releaseTurn(): void {
  const t = turn;
  if (t === null || t.held || t.running > 0) return;
  turn = null;
  t.over = true;
  if (t.immediate !== undefined) clearImmediate(t.immediate);
}
