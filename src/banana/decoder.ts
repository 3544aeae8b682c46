// Streaming banana decoder. Input may be split at any byte; every byte is looked at once
// (Twisted re-joins and re-scans its buffer on every chunk, which is quadratic), and lists are
// kept on an explicit stack, so nesting depth never touches the call stack.
import { FLOAT, INT, LIST, LONGINT, LONGNEG, NEG, STRING, VOCAB, VOCABULARY, type Dialect } from "./constants.ts";
import { allocUninitialized } from "./alloc.ts";
import { BananaError } from "./errors.ts";
import { bananaLimits, ELEMENTS_PER_NODE, maxHeldElements, type BananaLimits } from "./limits.ts";
import { floatValue, type Sexp } from "./values.ts";

/** A decoding failure, with the offset (bytes into the stream) of the byte that caused it. */
export class BananaDecodeError extends BananaError {
  override name = "BananaError";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** The error for an unfinished top-level expression holding more than maxHeldElements(limits) elements; `offset` is the element's type byte. */
export function tooManyElements(limits: BananaLimits, offset: number): BananaDecodeError {
  return new BananaDecodeError(`Security precaution: expression has more than ${maxHeldElements(limits)} elements (${ELEMENTS_PER_NODE} * maxMessageNodes)`, offset);
}

/** The error for an unfinished top-level expression longer than limits.maxMessageBytes; `offset` is the end of the chunk that passed it. */
export function tooManyBytes(limits: BananaLimits, offset: number): BananaDecodeError {
  return new BananaDecodeError(`Security precaution: expression longer than ${limits.maxMessageBytes} bytes (maxMessageBytes)`, offset);
}

/** Options of a {@link BananaDecoder}. */
export interface BananaDecoderOptions {
  dialect?: Dialect | null;
  limits?: Partial<BananaLimits>;
}

const EMPTY = new Uint8Array(0);
const MODE_HEADER = 0;
const MODE_STRING = 1;
const MODE_FLOAT = 2;

// 128**k for the digits whose sum still fits a double exactly (7 digits = 49 bits).
const POW128 = [1, 128, 16384, 2097152, 268435456, 34359738368, 4398046511104];
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
// Lists up to this long get their array at full size when their header arrives.
const PREALLOCATE = 16;
// A string split across chunks starts with room for this much (or for what has arrived, if more)
// and doubles as bytes arrive: a header announcing 640 KiB reserves nothing the peer has not sent.
const STRING_FIRST_ROOM = 4096;

/** Streaming banana decoder: feed it bytes split anywhere; it yields each complete top-level expression, in linear time, within its limits. */
export class BananaDecoder {
  /** Vocabulary tokens are accepted only in dialect "pb"; may be changed between items. */
  dialect: Dialect | null;
  readonly limits: BananaLimits;
  private readonly onItem: (item: Sexp) => void;

  private mode = MODE_HEADER;
  private hdrCount = 0;
  private hdrNum = 0;
  private hdrBig: bigint | null = null;
  private body: Uint8Array = EMPTY;
  private bodyFill = 0;
  /** Length the string being received announced; `body` grows towards it. */
  private bodyWant = 0;
  private readonly floatBody = new Uint8Array(8);
  private readonly floatView = new DataView(this.floatBody.buffer);
  private readonly stackItems: Sexp[][] = [];
  private readonly stackWant: number[] = [];
  /** How many items each open list holds so far (its array may be preallocated). */
  private readonly stackFill: number[] = [];
  private consumed = 0;
  private failure: BananaDecodeError | null = null;
  /** Elements held for the open top-level expression, and the most allowed (maxHeldElements). */
  private held = 0;
  private readonly maxHeld: number;
  /** Stream offset where the current top-level expression began (limits.maxMessageBytes). */
  private itemStart = 0;

  /**
   * @param onItem called with every complete top-level item, in order, as soon as it is complete.
   * Byte strings that arrive whole in one chunk are views into that chunk: the decoder owns the
   * chunks it is fed, so do not modify them afterwards.
   */
  constructor(onItem: (item: Sexp) => void, options: BananaDecoderOptions = {}) {
    this.onItem = onItem;
    this.dialect = options.dialect ?? null;
    this.limits = bananaLimits(options.limits);
    this.maxHeld = maxHeldElements(this.limits);
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.consumed;
  }

  /** True when the stream stopped in the middle of an element or inside an open list. */
  get pending(): boolean {
    return this.mode !== MODE_HEADER || this.hdrCount > 0 || this.stackItems.length > 0;
  }

  /** Current list nesting depth. */
  get depth(): number {
    return this.stackItems.length;
  }

  /** Feeds received bytes (split anywhere); complete items go to the callback as they end. */
  feed(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    const n = chunk.length;
    const prefixLimit = this.limits.prefixLimit;
    const base = this.consumed;
    let i = 0;
    try {
      while (i < n) {
        if (this.mode === MODE_STRING) {
          const take = Math.min(n - i, this.bodyWant - this.bodyFill);
          if (this.bodyFill + take > this.body.length) this.growBody(this.bodyFill + take);
          this.body.set(i === 0 && take === n ? chunk : chunk.subarray(i, i + take), this.bodyFill);
          this.bodyFill += take;
          i += take;
          if (this.bodyFill === this.bodyWant) {
            this.mode = MODE_HEADER;
            const whole = this.body;
            this.body = EMPTY;
            this.deliverAt(whole, i);
          }
          continue;
        }
        if (this.mode === MODE_FLOAT) {
          while (i < n && this.bodyFill < 8) this.floatBody[this.bodyFill++] = chunk[i++];
          if (this.bodyFill === 8) {
            this.mode = MODE_HEADER;
            this.deliverAt(floatValue(this.floatView.getFloat64(0, false)), i);
          }
          continue;
        }
        let b = chunk[i++];
        let big: bigint | null = null;
        let num: number;
        if (b < 0x80) {
          if (this.hdrCount === 0 && i < n && chunk[i] >= 0x80) {
            // The common case: a one-digit header and its type byte, both in this chunk.
            num = b;
            b = chunk[i++];
          } else {
            const k = this.hdrCount++;
            if (k < 7) this.hdrNum += b * POW128[k];
            else if (k < prefixLimit) {
              if (this.hdrBig === null) this.hdrBig = BigInt(this.hdrNum);
              if (b !== 0) this.hdrBig += BigInt(b) << BigInt(7 * k);
            }
            continue;
          }
        } else {
          // b is the type byte.
          if (this.hdrCount > prefixLimit) {
            throw this.fail(`Security precaution: longer than ${prefixLimit} bytes worth of prefix`, i - 1);
          }
          big = this.hdrBig;
          num = this.hdrNum;
          // Redundant high zero digits (01 00 00 00 00 00 00 00 80) still make a small value.
          if (big !== null && big <= MAX_SAFE_BIG) {
            num = Number(big);
            big = null;
          }
          this.hdrCount = 0;
          this.hdrNum = 0;
          this.hdrBig = null;
        }
        let item: Sexp;
        switch (b) {
          case LIST: {
            if (big !== null || num > this.limits.sizeLimit) throw this.fail("Security precaution: List too long.", i - 1);
            if (num === 0) {
              item = [];
              break;
            }
            // Exact size when small: a [] grown by push reserves 17 slots. Never more than that
            // up front, so a header announcing a long list costs nothing until items arrive.
            if (++this.held > this.maxHeld) throw this.tooManyNodes(i - 1);
            this.stackItems.push(num <= PREALLOCATE ? new Array<Sexp>(num) : []);
            this.stackWant.push(num);
            this.stackFill.push(0);
            continue;
          }
          case STRING: {
            if (big !== null || num > this.limits.sizeLimit) throw this.fail("Security precaution: String too long.", i - 1);
            if (n - i >= num) {
              item = chunk.subarray(i, i + num);
              i += num;
              break;
            }
            // Every byte is written before the string is delivered: no need to zero it. Room only
            // for what has arrived (at least STRING_FIRST_ROOM); growBody() doubles it as the rest comes.
            this.bodyWant = num;
            this.body = allocUninitialized(Math.min(num, Math.max(n - i, STRING_FIRST_ROOM)));
            this.body.set(chunk.subarray(i), 0);
            this.bodyFill = n - i;
            i = n;
            this.mode = MODE_STRING;
            continue;
          }
          case INT:
          case LONGINT:
            item = big === null ? num : intValue(big);
            break;
          case NEG:
          case LONGNEG:
            item = big === null ? (num === 0 ? 0 : -num) : intValue(-big);
            break;
          case FLOAT: {
            if (n - i >= 8) {
              for (let k = 0; k < 8; k++) this.floatBody[k] = chunk[i + k];
              i += 8;
              item = floatValue(this.floatView.getFloat64(0, false));
              break;
            }
            this.bodyFill = 0;
            while (i < n) this.floatBody[this.bodyFill++] = chunk[i++];
            this.mode = MODE_FLOAT;
            continue;
          }
          case VOCAB: {
            const code = big === null ? num : -1;
            const atom = code >= 1 && code < VOCABULARY.length ? VOCABULARY[code] : undefined;
            if (atom === undefined) throw this.fail(`Unknown vocabulary code ${big ?? num}`, i - 1);
            if (this.dialect !== "pb") throw this.fail(`Invalid item for pb protocol b'${atom}'`, i - 1);
            item = atom;
            break;
          }
          default:
            throw this.fail(`Invalid Type Byte 0x${b.toString(16)}`, i - 1);
        }
        this.deliverAt(item, i);
      }
      this.consumed += i;
      if (this.mode === MODE_HEADER && this.hdrCount > prefixLimit) {
        throw this.fail(`Security precaution: more than ${prefixLimit} bytes of prefix`, 0);
      }
      // Checked once per chunk: what one chunk adds is the transport's to bound.
      if (this.consumed - this.itemStart > this.limits.maxMessageBytes && this.pending) {
        throw (this.failure = tooManyBytes(this.limits, this.consumed));
      }
    } catch (e) {
      this.consumed = base; // deliverAt() does not restore it when the handler throws
      if (!this.failure) {
        // An error from onItem: the stream position is no longer meaningful.
        this.failure = e instanceof BananaDecodeError ? e : new BananaDecodeError(`item handler failed: ${String(e)}`, this.consumed + i);
      }
      throw e;
    }
  }

  /** Room for at least `need` bytes of the string being received: doubling, never past its announced length. */
  private growBody(need: number): void {
    const size = Math.min(this.bodyWant, Math.max(need, this.body.length * 2));
    const next = allocUninitialized(size);
    next.set(this.body.subarray(0, this.bodyFill), 0);
    this.body = next;
  }

  private fail(message: string, index: number): BananaDecodeError {
    this.failure = new BananaDecodeError(message, this.consumed + index);
    return this.failure;
  }

  private tooManyNodes(index: number): BananaDecodeError {
    return (this.failure = tooManyElements(this.limits, this.consumed + index));
  }

  /** deliver(), keeping `offset` right for a handler that looks at it (feed's catch restores it on a throw). */
  private deliverAt(item: Sexp, i: number): void {
    if (this.stackItems.length > 0 && ++this.held > this.maxHeld) throw this.tooManyNodes(i - 1);
    const before = this.consumed;
    this.consumed = before + i;
    this.deliver(item);
    this.consumed = before;
  }

  private deliver(item: Sexp): void {
    const items = this.stackItems;
    for (;;) {
      const depth = items.length;
      if (depth === 0) {
        this.held = 0;
        this.itemStart = this.consumed;
        this.onItem(item);
        return;
      }
      const top = items[depth - 1];
      const fill = this.stackFill[depth - 1] + 1;
      top[fill - 1] = item;
      if (fill < this.stackWant[depth - 1]) {
        this.stackFill[depth - 1] = fill;
        return;
      }
      items.pop();
      this.stackWant.pop();
      this.stackFill.pop();
      item = top;
    }
  }
}

function intValue(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Decodes every complete top-level item in `bytes`. Throws BananaError if anything is left incomplete. */
export function decode(bytes: Uint8Array, options?: BananaDecoderOptions): Sexp[] {
  const items: Sexp[] = [];
  const d = new BananaDecoder((x) => items.push(x), options);
  d.feed(bytes);
  if (d.pending) throw new BananaDecodeError("incomplete banana expression", bytes.length);
  return items;
}
