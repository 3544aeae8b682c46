// Finding where PB messages start again in a byte stream entered at an unknown point (a capture
// that starts mid-conversation, or bytes lost in a gap). Banana has no frame markers, so a
// position is only taken as a message boundary when it is sure: a list header of a PB command's
// length, followed by that command's vocabulary token, from which the stream decodes (dialect pb)
// into at least two well-formed PB messages in a row (or one, when the bytes end there). Bytes
// inside a string that merely look like a message fail that test at the string's end.
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

export interface Boundary {
  /** Bytes skipped before the boundary (from where this search started). */
  skipped: number;
  /** The bytes from the boundary on. */
  rest: Uint8Array;
}

export class Resync {
  private store: Uint8Array = new Uint8Array(0);
  private len = 0;
  private scanFrom = 0;
  private trial: Trial | null = null;
  /** Bytes dropped because the buffer limit was reached. */
  private dropped = 0;

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

  /** No more bytes will come: the best boundary (one good message is enough), or null. */
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
      if (!this.trial) {
        const start = this.nextCandidate();
        if (start < 0) {
          this.trim();
          return null;
        }
        this.trial = this.newTrial(start);
      }
      const t = this.trial;
      if (t.fed < this.buf.length) {
        try {
          t.decoder.feed(this.buf.subarray(t.fed));
        } catch (e) {
          if (!(e instanceof StopTrial)) t.bad = true;
        }
        t.fed = this.buf.length;
      }
      if (t.bad) {
        this.trial = null;
        this.scanFrom = t.start + 1;
        continue;
      }
      if (t.items >= ITEMS_TO_BE_SURE || (final && t.items >= 1)) return { skipped: this.dropped + t.start, rest: this.buf.subarray(t.start) };
      if (final) {
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
        if (t.bad) return;
        if (wellFormedMessage(item)) t.items++;
        else t.bad = true;
        if (t.bad || t.items >= ITEMS_TO_BE_SURE) throw new StopTrial();
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
    if (this.buf.length - cut > MAX_BUFFER) cut = this.buf.length - MAX_BUFFER;
    if (cut <= 0) return;
    this.dropped += cut;
    this.store = this.store.slice(cut, this.len);
    this.len -= cut;
    this.scanFrom -= Math.min(this.scanFrom, cut);
  }
}

/** Thrown from the trial decoder's callback to stop it early (a decision is made). */
class StopTrial extends Error {}
