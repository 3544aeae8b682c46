// The event-loop turn calls are being delivered in; `over` once the loop has moved on (the first
// of a setImmediate and a 0 ms timer, both queued before the method runs). Twisted adds
// `pickled` to a failure only when the method's Deferred had already failed when the broker got
// it (a Deferred that fails with no callbacks left "cleans" its Failure): raised before any later
// reactor turn. A Deferred failing in a later turn, with the broker's errback attached, sends
// its Failure without it (recorded: fixtures/sessions/root.json, failDeferred vs failLater).
// The twin here: the promise rejected before the turn was over (microtasks are the same turn).

export interface CallTurn {
  over: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  immediate: ReturnType<typeof setImmediate> | undefined;
}

export class TurnClock {
  private turn: CallTurn | null = null;

  current(): CallTurn {
    if (this.turn) return this.turn;
    const turn: CallTurn = { over: false, timer: undefined, immediate: undefined };
    this.turn = turn;
    // One static callback given the clock and the turn: no closure made per turn.
    if (typeof setImmediate === "function") turn.immediate = setImmediate(TurnClock.end, this, turn);
    turn.timer = setTimeout(TurnClock.end, 0, this, turn);
    return turn;
  }

  private static end(clock: TurnClock, turn: CallTurn): void {
    if (turn.over) return;
    turn.over = true;
    clearTimeout(turn.timer);
    if (turn.immediate !== undefined) clearImmediate(turn.immediate);
    if (clock.turn === turn) clock.turn = null;
  }
}
