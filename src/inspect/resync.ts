// Finding where PB messages start again in a byte stream entered at an unknown point (a capture
// that starts mid-conversation, or bytes lost in a gap). Banana has no frame markers, so a
// position is only taken as a message boundary when it is sure:
// - it starts like a PB command: a list header of the command's length, then the command's
//   vocabulary token (<n> 80 <code> 87);
// - from there the stream decodes (dialect pb) into well-formed PB messages only, with no error,
//   for a whole window of WINDOW bytes and at least two messages, or to the end of the bytes
//   there are (at least one message) when no more will come.
// A position inside a string that merely looks like a message fails at the string's end, unless
// the string holds more than a window of valid messages. The work is bounded: each candidate
// position is decoded for at most a window, and at most MAX_CANDIDATES are tried.
import { BananaDecoder, VOCABULARY, type Sexp } from "../banana/index.ts";
import { isBytes, isInt, isList } from "./sexp.ts";

/** Fields of each PB command, the command included (pb.py Broker.proto_*). */
const ARITY: Record<string, number> = { message: 7, cachemessage: 7, answer: 3, error: 3, decref: 2, decache: 2, uncache: 2, version: 2, didNotUnderstand: 2 };
const CANDIDATE = new Map<number, number>(); // vocabulary code -> list length
for (const [name, n] of Object.entries(ARITY)) {
  const code = VOCABULARY.indexOf(name);
  if (code > 0) CANDIDATE.set(code, n);
}

/** A PB message of the right shape (what Broker.expressionReceived would dispatch without a TypeError). */
export function wellFormedMessage(x: Sexp): boolean {
  if (!isList(x) || x.length === 0 || typeof x[0] !== "string" || ARITY[x[0]] !== x.length) return false;
  switch (x[0]) {
    case "message":
    case "cachemessage":
      return isInt(x[1]) && (isInt(x[2]) || isBytes(x[2])) && isBytes(x[3]) && isInt(x[4]);
    case "answer":
    case "error":
    case "decref":
    case "decache":
    case "uncache":
      return isInt(x[1]);
    default:
      return true;
  }
}

/** Bytes decoded cleanly past a candidate before it is trusted (with at least two messages). */
export const WINDOW = 16 * 1024;
/** Candidate positions tried before the search gives up (hostile input full of fake headers). */
export const MAX_CANDIDATES = 1024;
/** Bytes kept while looking for a boundary; beyond that the oldest are given up as skipped. */
const MAX_BUFFER = 16 * 1024 * 1024;
const ITEMS_TO_BE_SURE = 2;

interface Trial {
  start: number;
  decoder: BananaDecoder;
  items: number;
  bad: boolean;
  /** Buffer length already fed to the trial decoder. */
  fed: number;
}

/** Where decoding can safely resume after a gap: the first certain message boundary found. */
export interface Boundary {
  /** Bytes skipped before the boundary (from where this search started). */
  skipped: number;
  /** The bytes from the boundary on. */
  rest: Uint8Array;
}

/** Thrown from a trial decoder's callback to stop it at once. */
class StopTrial extends Error {}

/** Finds the first certain message boundary in a stream picked up mid-way (after a gap or a capture's start). */
export class Resync {
  private store: Uint8Array = new Uint8Array(0);
  private len = 0;
  private scanFrom = 0;
  private trial: Trial | null = null;
  /** Bytes dropped because the buffer limit was reached. */
  private dropped = 0;
  private tried = 0;
  /** Too many candidates failed: everything is skipped. */
  gaveUp = false;

  /** Adds bytes; returns the boundary once it is sure, else null (keep feeding). */
  push(bytes: Uint8Array): Boundary | null {
    // Grow by doubling: a big item arriving in many segments is copied O(n) times in total.
    const need = this.len + bytes.length;
    if (need > this.store.length) {
      const grown = new Uint8Array(Math.max(need, this.store.length * 2, 4096));
      grown.set(this.store.subarray(0, this.len), 0);
      this.store = grown;
    }
    this.store.set(bytes, this.len);
    this.len = need;
    return this.search(false);
  }

  /** No more bytes will come: the boundary if one is sure, else null (all skipped). */
  finish(): Boundary | null {
    return this.search(true);
  }

  /** Bytes held and not yet placed (all skipped if no boundary is ever found). */
  get held(): number {
    return this.dropped + this.len;
  }

  private get buf(): Uint8Array {
    return this.store.subarray(0, this.len);
  }

  private search(final: boolean): Boundary | null {
    for (;;) {
      if (this.gaveUp) return null;
      if (!this.trial) {
        const start = this.nextCandidate();
        if (start < 0) {
          this.trim();
          return null;
        }
        if (++this.tried > MAX_CANDIDATES) {
          this.gaveUp = true;
          return null;
        }
        this.trial = this.newTrial(start);
      }
      const t = this.trial;
      const end = Math.min(this.len, t.start + WINDOW);
      if (t.fed < end && !t.bad) {
        try {
          t.decoder.feed(this.buf.subarray(t.fed, end));
        } catch (e) {
          if (!(e instanceof StopTrial)) t.bad = true;
        }
        t.fed = end;
      }
      if (t.bad) {
        this.trial = null;
        this.scanFrom = t.start + 1;
        continue;
      }
      const windowFull = t.fed - t.start >= WINDOW;
      if ((windowFull && t.items >= ITEMS_TO_BE_SURE) || (final && t.fed === this.len && t.items >= 1)) {
        return { skipped: this.dropped + t.start, rest: this.buf.subarray(t.start) };
      }
      if (final || windowFull) {
        // the window (or the data) ended without enough messages: not sure, try the next one
        this.trial = null;
        this.scanFrom = t.start + 1;
        continue;
      }
      return null;
    }
  }

  private newTrial(start: number): Trial {
    const t: Trial = { start, items: 0, bad: false, fed: start, decoder: null as unknown as BananaDecoder };
    t.decoder = new BananaDecoder(
      (item) => {
        if (wellFormedMessage(item)) t.items++;
        else {
          t.bad = true;
          throw new StopTrial();
        }
      },
      { dialect: "pb" },
    );
    return t;
  }

  /** The next position that starts like a PB message: <n> 80 <code> 87 with n the command's length. */
  private nextCandidate(): number {
    const b = this.buf;
    for (let i = this.scanFrom; i + 3 < b.length; i++) {
      if (b[i + 1] === 0x80 && b[i + 3] === 0x87 && CANDIDATE.get(b[i + 2]) === b[i]) {
        this.scanFrom = i;
        return i;
      }
    }
    this.scanFrom = Math.max(this.scanFrom, b.length - 3);
    return -1;
  }

  /** Forgets bytes that can no longer start a boundary (and, past the limit, the oldest ones). */
  private trim(): void {
    let cut = this.scanFrom;
    if (this.len - cut > MAX_BUFFER) cut = this.len - MAX_BUFFER;
    if (cut <= 0) return;
    this.dropped += cut;
    this.store = this.store.slice(cut, this.len);
    this.len -= cut;
    this.scanFrom -= Math.min(this.scanFrom, cut);
  }
}
