// Finds where a banana element ends, across chunks, without making values: a count of the
// elements still expected. Used by the streaming receiver (fastreceive.ts) to find the end of an item split
// across chunks, and by the one-pass reader (fastdecode.ts) to check that a large container is
// whole before decoding it, so that a big item is never half-decoded for nothing.
import { FLOAT, INT, LIST, LONGINT, LONGNEG, NEG, STRING, VOCAB, VOCABULARY, type Dialect } from "../banana/constants.ts";
import { DEFAULT_BANANA_LIMITS, maxHeldElements, type BananaLimits } from "../banana/limits.ts";

/** The element is refused or not a plain banana element: the tree decoder takes it from here. */
export const GIVE_UP = -2;
/** The bytes end inside the element. */
export const NEED_MORE = -1;

const EXACT_DIGITS = 4;
const BIG = 2 ** 30 - 1;

// [1 element: the int 0]
const PRIMER = Uint8Array.of(1, LIST, 0, INT);

export class Scanner {
  /**
   * Elements still expected before the element being scanned ends: one for the element itself,
   * plus, for every list opened, its length; each element read takes one. Where a list ends
   * does not matter, only where the outermost one does (the count reaches 0), so no stack.
   */
  private pending = 1;
  private digits = 0;
  private num = 0;
  private scale = 1;
  /** Bytes of a string (or float) body still to step over. */
  private skip = 0;
  /** Elements of the item so far: past maxHeldElements() the tree decoder would refuse it. */
  private elements = 0;
  private readonly maxElements: number;
  private readonly prefixLimit: number;
  private readonly sizeLimit: number;
  /** Where in the last chunk scanned the element limit was passed, or -1. */
  overLimitAt = -1;

  constructor(limits: BananaLimits) {
    this.maxElements = maxHeldElements(limits);
    this.prefixLimit = limits.prefixLimit;
    this.sizeLimit = limits.sizeLimit;
  }

  reset(): void {
    this.elements = 0;
    this.overLimitAt = -1;
    this.pending = 1;
    this.digits = 0;
    this.num = 0;
    this.skip = 0;
    this.scale = 1;
  }

  /** Starts over inside a list of `num` (> 0) elements whose header was just read. */
  resetOpen(num: number): void {
    this.reset();
    this.elements = 1;
    this.pending = num;
  }

  /**
   * Scans `chunk` from `from` up to `end`, going on from where the last call stopped: the offset
   * just past the element's end, NEED_MORE, or GIVE_UP. The state lives in locals while scanning
   * (a byte loop over object fields is several times slower).
   */
  scan(chunk: Uint8Array, from: number, end: number, dialect: Dialect | null): number {
    const prefixLimit = this.prefixLimit;
    const sizeLimit = this.sizeLimit;
    const maxElements = this.maxElements;
    // A length of BIG (2**28 or more) is past any sizeLimit below 2**28; for a larger limit, past it anyway.
    const bigLength = sizeLimit < BIG ? BIG : Infinity;
    let pending = this.pending;
    let digits = this.digits;
    let num = this.num;
    let scale = this.scale;
    let elements = this.elements;
    let i = from;
    let result = NEED_MORE;
    let rest = this.skip;
    let overLimitAt = -1;
    scan: {
      if (rest > 0) {
        if (end - i < rest) {
          rest -= end - i;
          break scan;
        }
        i += rest;
        rest = 0;
        // The element whose body that was is done (counted when its header was read).
        if (pending === 0) {
          result = i;
          break scan;
        }
      }
      while (i < end) {
        let b = chunk[i++];
        let n = 0;
        if (b < 0x80) {
          if (digits === 0 && i < end && chunk[i] >= 0x80) {
            // A one-digit header, the common case.
            n = b;
            b = chunk[i++];
          } else {
            for (;;) {
              if (digits >= prefixLimit) {
                result = GIVE_UP;
                break scan;
              }
              // Only lengths need the value, and only up to sizeLimit: past EXACT_DIGITS a digit that
              // is not 0 makes the value at least 2**28 (kept as BIG: a small int, the loop stays in ints).
              if (digits < EXACT_DIGITS) {
                num += b * scale;
                scale *= 128;
              } else if (b !== 0) num = BIG;
              digits++;
              if (i >= end) break scan;
              b = chunk[i++];
              if (b >= 0x80) break;
            }
            n = num === BIG ? bigLength : num;
            digits = 0;
            num = 0;
            scale = 1;
          }
        } else if (digits !== 0) {
          // The type byte of a header begun in the last chunk.
          n = num === BIG ? bigLength : num;
          digits = 0;
          num = 0;
          scale = 1;
        }
        if (++elements > maxElements) {
          overLimitAt = i - 1;
          result = GIVE_UP;
          break scan;
        }
        pending--;
        if (b === LIST) {
          if (n > sizeLimit) {
            result = GIVE_UP;
            break scan;
          }
          pending += n;
        } else if (b === STRING) {
          if (n > sizeLimit) {
            result = GIVE_UP;
            break scan;
          }
          if (end - i < n) {
            rest = n - (end - i);
            i = end;
            break scan;
          }
          i += n;
        } else if (b === FLOAT) {
          if (end - i < 8) {
            rest = 8 - (end - i);
            i = end;
            break scan;
          }
          i += 8;
        } else if (b === VOCAB) {
          // The tree decoder refuses a bad code (or any code outside dialect pb) at once.
          if (dialect !== "pb" || n < 1 || n >= VOCABULARY.length) {
            result = GIVE_UP;
            break scan;
          }
        } else if (b !== INT && b !== NEG && b !== LONGINT && b !== LONGNEG) {
          result = GIVE_UP;
          break scan;
        }
        if (pending === 0) {
          result = i;
          break scan;
        }
      }
    }
    // Every way out comes here (see the end of this file).
    this.skip = rest;
    this.overLimitAt = overLimitAt;
    this.pending = pending;
    this.digits = digits;
    this.num = num;
    this.scale = scale;
    this.elements = elements;
    return result;
  }
}

// Runs scan() to its end a few times at load: V8 compiles the loop of a long first scan alone
// (on-stack replacement) and, with no feedback yet for the code after the loop, that compiled
// loop deoptimized at the end of every later call (thousands of times, the scan 3x slower).
// (Feedback is only recorded once V8 gave the function its feedback vector: hence several runs.)
{
  const primer = new Scanner(DEFAULT_BANANA_LIMITS);
  for (let k = 0; k < 64; k++) {
    primer.reset();
    primer.scan(PRIMER, 0, PRIMER.length, null);
  }
}
