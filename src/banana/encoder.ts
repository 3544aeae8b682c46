// Banana encoder: one growable buffer, reused from message to message; a message that outgrows it
// continues in further chunks, so that growing never copies what was already written.
import { FLOAT, INT, LIST, LONGINT, LONGNEG, NEG, STRING, VOCAB, type Dialect } from "./constants.ts";
import { allocUninitialized } from "./alloc.ts";
import { BananaError } from "./errors.ts";
import { bananaLimits, type BananaLimits } from "./limits.ts";
import { isIntNumber, PyFloat, type Sexp } from "./values.ts";
import { vocabCodeOfBytes, vocabCodeOfText } from "./vocab-codes.ts";

const utf8 = new TextEncoder();
// Outputs at least this long are copied into memory that is not zeroed first.
const COPY_UNINITIALIZED = 4096;
/** In encodeParts(), byte strings at least this long are not copied: the output refers to them. */
export const BY_REFERENCE = 32 * 1024;
// The buffer kept from message to message doubles up to BASE_MAX (so an encoder holds at most that
// much between messages). A message that outgrows it continues in chunks of CHUNK bytes or more,
// each written once: copying on growth (doubling from small to 32 MiB for a 17 MB message) cost
// twice the message's size in copies and four times in fresh memory, and fresh external memory is
// what makes V8 run full garbage collections.
const BASE_MAX = 1 << 20;
const CHUNK = 1 << 20;
/** The banana bytes of the text "unicode": 07 82 "unicode". */
const UNICODE_TAG = Uint8Array.of(7, STRING, ...Array.from("unicode", (c) => c.charCodeAt(0)));

/** Objects with this method write themselves where they stand in an expression given to encode(). */
export const bananaWrite: unique symbol = Symbol.for("twisted-pb.bananaWrite");

/** An object that writes its own banana bytes where it stands in an expression given to the encoder. */
export interface BananaWritable {
  /** Writes the bytes of one expression element through the encoder's writing methods. */
  [bananaWrite](encoder: BananaEncoder): void;
}

/** What encode() takes: an expression in which BananaWritable objects (e.g. jelly's Jellied) may stand for elements. */
export type Encodable = Sexp | BananaWritable | readonly Encodable[];

function isWritable(x: object): x is BananaWritable {
  return typeof (x as Partial<BananaWritable>)[bananaWrite] === "function";
}

/** Options of a {@link BananaEncoder}. */
export interface BananaEncoderOptions {
  /** "pb" compresses vocabulary atoms; "none" or null (not negotiated yet) never does. */
  dialect?: Dialect | null;
  limits?: Partial<BananaLimits>;
}

/** Banana encoder: writes expressions (lists, ints, floats, byte strings, vocabulary atoms) into a reusable buffer. */
export class BananaEncoder {
  dialect: Dialect | null;
  readonly limits: BananaLimits;
  // Where bytes are written: the base buffer, or the last chunk of a message that outgrew it.
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  // The reusable buffer, and the buffers this message filled before buf (base first), with how much of each.
  private base: Uint8Array;
  private baseView: DataView;
  private filled: Uint8Array[] = [];
  private filledLengths: number[] = [];
  private filledBytes = 0;
  private readonly largestLong: bigint;
  // encodeParts(): large byte strings left out of buf, each where it belongs in the output.
  private byRef = false;
  private refs: { at: number; bytes: Uint8Array }[] = [];
  private refBytes = 0;

  constructor(options: BananaEncoderOptions = {}) {
    this.dialect = options.dialect ?? null;
    this.limits = bananaLimits(options.limits);
    this.largestLong = (1n << BigInt(7 * this.limits.prefixLimit)) - 1n;
    // Small at first (one per connection, and most messages are small): it doubles as needed.
    this.base = this.buf = new Uint8Array(256);
    this.baseView = this.view = new DataView(this.buf.buffer);
  }

  /** Starts a message in the base buffer (dropping the chunks of one that failed). */
  private begin(): void {
    this.buf = this.base;
    this.view = this.baseView;
    this.pos = 0;
    if (this.filled.length > 0) {
      this.filled = [];
      this.filledLengths = [];
      this.filledBytes = 0;
    }
  }

  /** Writes sexp from the base buffer on; the bytes are then in filled and buf[0, pos). */
  private writeMessage(sexp: Encodable): void {
    this.begin();
    try {
      this.write(sexp);
    } catch (e) {
      this.begin();
      if (e instanceof RangeError && /call stack/i.test(e.message)) throw new BananaError("expression nested too deeply to encode");
      throw e;
    }
  }

  /**
   * The bytes written since begin(), in order, as views of the buffers (not copies): the base
   * buffer's first (possibly empty), then the chunks'.
   */
  private segments(): Uint8Array[] {
    const filled = this.filled;
    if (filled.length === 0) return [this.buf.subarray(0, this.pos)];
    const out: Uint8Array[] = [];
    for (let i = 0; i < filled.length; i++) out.push(filled[i].subarray(0, this.filledLengths[i]));
    out.push(this.buf.subarray(0, this.pos));
    return out;
  }

  /**
   * A message that outgrew the base buffer, as parts: the base buffer is reused by the next
   * message, so its bytes are copied; the chunks after it were made for this message alone and
   * are handed over as they are. Empty parts are left out.
   */
  private handOver(): Uint8Array[] {
    const segments = this.segments();
    const out: Uint8Array[] = [];
    if (segments[0].length > 0) out.push(this.copyOfBase(segments[0].length));
    for (let i = 1; i < segments.length; i++) if (segments[i].length > 0) out.push(segments[i]);
    return out;
  }

  /** A copy of n bytes of the base buffer (the next message overwrites it). */
  private copyOfBase(n: number): Uint8Array {
    if (n < COPY_UNINITIALIZED) return this.base.slice(0, n);
    // Large: no need to zero memory that is overwritten at once.
    const out = allocUninitialized(n);
    out.set(this.base.subarray(0, n));
    return out;
  }

  /** Encodes one expression and returns its bytes (a fresh array the caller owns). */
  encode(sexp: Encodable): Uint8Array {
    this.writeMessage(sexp);
    let out: Uint8Array;
    if (this.filled.length === 0) out = this.copyOfBase(this.pos);
    else {
      out = allocUninitialized(this.filledBytes + this.pos);
      let at = 0;
      for (const seg of this.segments()) {
        out.set(seg, at);
        at += seg.length;
      }
    }
    this.begin();
    return out;
  }

  /**
   * Encodes one expression as the list of arrays that make its bytes, in order: byte strings of
   * BY_REFERENCE bytes or more are not copied but referred to (so do not modify them until
   * written), the bytes around them are fresh arrays the caller owns. For a socket, which
   * gathers the parts in one writev: a 600 KiB string costs no copy at all, nor does a message
   * that outgrew the encoder's buffer beyond its first megabyte (its chunks are handed over).
   */
  encodeParts(sexp: Encodable): Uint8Array[] {
    this.byRef = true;
    this.refs = [];
    this.refBytes = 0;
    try {
      this.writeMessage(sexp);
      // Most messages fit the base buffer: one copy, no views in between (the small-call path).
      const segments = this.filled.length === 0 ? [this.copyOfBase(this.pos)] : this.handOver();
      const refs = this.refs;
      this.begin();
      if (refs.length === 0) return segments;
      // Split the written bytes where the strings left out belong (refs[].at counts written bytes).
      const parts: Uint8Array[] = [];
      let r = 0;
      let from = 0; // written bytes before the current segment
      for (const seg of segments) {
        let cut = 0;
        while (r < refs.length && refs[r].at <= from + seg.length) {
          const at = refs[r].at - from;
          if (at > cut) parts.push(seg.subarray(cut, at));
          parts.push(refs[r].bytes);
          cut = at;
          r++;
        }
        if (cut < seg.length) parts.push(cut === 0 ? seg : seg.subarray(cut));
        from += seg.length;
      }
      for (; r < refs.length; r++) parts.push(refs[r].bytes);
      return parts;
    } finally {
      this.byRef = false;
      this.refs = [];
      this.refBytes = 0;
    }
  }

  // ---- for BananaWritable objects, while encode() runs ----

  /** Where the next byte goes (counting strings left out by encodeParts); rewind() to it drops what was written after. */
  get position(): number {
    return this.filledBytes + this.pos + this.refBytes;
  }

  /** Moves the write position back to `position` (from {@link BananaEncoder.position}), dropping what was written after it. */
  rewind(position: number): void {
    if (!(position >= 0 && position <= this.position)) throw new RangeError(`cannot rewind to ${position}`);
    const refs = this.refs;
    while (refs.length > 0 && refs[refs.length - 1].at + this.refBytes - refs[refs.length - 1].bytes.length >= position) {
      this.refBytes -= refs.pop()!.bytes.length;
    }
    const written = position - this.refBytes;
    // Back into an earlier buffer: it becomes the one written to again (the later ones are dropped).
    while (written < this.filledBytes) {
      const b = this.filled.pop()!;
      this.filledBytes -= this.filledLengths.pop()!;
      this.buf = b;
      this.view = b === this.base ? this.baseView : new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    this.pos = written - this.filledBytes;
  }

  /** Writes one element (any expression) in place. */
  writeSexp(x: Encodable): void {
    this.write(x);
  }

  /** The header of a list of n elements, which the caller writes next. */
  writeListHeader(n: number): void {
    if (n > this.limits.sizeLimit) throw new BananaError(`list/tuple is too long to send (${n})`);
    this.header(n, LIST);
  }

  /** The list [unicode, text] (jelly's text): 02 80 07 82 "unicode", then the text. */
  writeUnicode(text: string): void {
    this.ensure(11);
    const buf = this.buf;
    const pos = this.pos;
    buf[pos] = 2;
    buf[pos + 1] = LIST;
    for (let i = 0; i < 9; i++) buf[pos + 2 + i] = UNICODE_TAG[i];
    this.pos = pos + 11;
    this.writeText(text);
  }

  /** A number element: an int when it is a safe integer (not -0), else a float. */
  writeNumber(x: number): void {
    if (isIntNumber(x)) this.writeInt(x);
    else this.writeFloat(x);
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    if (this.buf === this.base && this.filled.length === 0) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      if (size <= BASE_MAX) {
        // Not zeroed: the bytes below pos are copied in, the rest are written before they are read.
        const next = allocUninitialized(size);
        next.set(this.buf.subarray(0, this.pos));
        this.base = this.buf = next;
        this.baseView = this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
        return;
      }
    }
    // The rest of this message goes in a new chunk; what is written stays where it is.
    this.filled.push(this.buf);
    this.filledLengths.push(this.pos);
    this.filledBytes += this.pos;
    const next = allocUninitialized(Math.max(n, CHUNK));
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.pos = 0;
  }

  /** int2b128 then the type byte, for a non-negative safe integer. */
  private header(n: number, type: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    if (n <= 0x7fffffff) {
      // One path for one digit and several (a branch first taken late costs a deoptimization),
      // in integer arithmetic: `%` on a number V8 cannot prove is an int32 is a float modulo.
      let v = n | 0;
      do {
        buf[pos++] = v & 0x7f;
        v >>>= 7;
      } while (v > 0);
    } else {
      while (n > 0) {
        buf[pos++] = n % 128;
        n = Math.floor(n / 128);
      }
    }
    buf[pos++] = type;
    this.pos = pos;
  }

  private bigHeader(n: bigint, type: number): void {
    this.ensure(this.limits.prefixLimit + 1);
    while (n > 0n) {
      this.buf[this.pos++] = Number(n & 0x7fn);
      n >>= 7n;
    }
    this.buf[this.pos++] = type;
  }

  private writeInt(v: number): void {
    if (v >= 0) this.header(v, v <= 0x7fffffff ? INT : LONGINT);
    else this.header(-v, v >= -0x80000000 ? NEG : LONGNEG);
  }

  private writeBigInt(v: bigint): void {
    if (v > this.largestLong || v < -this.largestLong) throw new BananaError(`int is too large to send (${v})`);
    if (v >= 0n) {
      if (v <= 0x7fffffffn) this.header(Number(v), INT);
      else this.bigHeader(v, LONGINT);
    } else if (v >= -0x80000000n) this.header(Number(-v), NEG);
    else this.bigHeader(-v, LONGNEG);
  }

  private writeFloat(v: number): void {
    this.ensure(9);
    this.buf[this.pos++] = FLOAT;
    this.view.setFloat64(this.pos, v, false);
    this.pos += 8;
  }

  /** A byte string element (a vocabulary atom in dialect pb). */
  writeBytes(b: Uint8Array): void {
    const n = b.length;
    if (this.dialect === "pb") {
      const code = vocabCodeOfBytes(b);
      if (code !== 0) return this.header(code, VOCAB);
    }
    if (n > this.limits.sizeLimit) throw new BananaError(`byte string is too long to send (${n})`);
    if (n < 128) {
      // One header digit, then a loop: TypedArray#set costs more than the copy for short strings.
      if (this.pos + n + 2 > this.buf.length) this.ensure(n + 2);
      const buf = this.buf;
      let pos = this.pos;
      buf[pos++] = n;
      buf[pos++] = STRING;
      for (let i = 0; i < n; i++) buf[pos + i] = b[i];
      this.pos = pos + n;
      return;
    }
    this.header(n, STRING);
    if (this.byRef && n >= BY_REFERENCE) {
      this.refs.push({ at: this.filledBytes + this.pos, bytes: b });
      this.refBytes += n;
      return;
    }
    this.ensure(n);
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  /** A text element: a JS string stands for its UTF-8 bytes (a vocabulary atom in dialect pb). */
  writeText(s: string): void {
    if (s === "unicode") {
      // jelly's most frequent tag (not in the vocabulary, so the same in every dialect), copied whole.
      if (this.pos + 9 > this.buf.length) this.ensure(9);
      const buf = this.buf;
      const pos = this.pos;
      for (let i = 0; i < 9; i++) buf[pos + i] = UNICODE_TAG[i];
      this.pos = pos + 9;
      return;
    }
    if (this.dialect === "pb") {
      const code = vocabCodeOfText(s);
      if (code !== 0) return this.header(code, VOCAB);
    }
    const n = s.length;
    if (n < 128) {
      // Optimistic ASCII: one header digit (n < 128), type byte, then the body in place.
      this.ensure(n + 2);
      const buf = this.buf;
      const start = this.pos + 2;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        buf[this.pos + 1] = STRING;
        this.pos = start + n;
        return;
      }
    }
    if (!s.isWellFormed()) throw new BananaError("cannot encode text with a lone surrogate as UTF-8");
    const bytes = utf8.encode(s);
    if (bytes.length > this.limits.sizeLimit) throw new BananaError(`byte string is too long to send (${bytes.length})`);
    this.header(bytes.length, STRING);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  private write(x: Encodable): void {
    switch (typeof x) {
      case "string":
        return this.writeText(x);
      case "number":
        return isIntNumber(x) ? this.writeInt(x) : this.writeFloat(x);
      case "bigint":
        return this.writeBigInt(x);
      case "boolean":
        return this.header(x ? 1 : 0, INT);
      case "object":
        if (Array.isArray(x)) {
          if (x.length > this.limits.sizeLimit) throw new BananaError(`list/tuple is too long to send (${x.length})`);
          this.header(x.length, LIST);
          for (let i = 0; i < x.length; i++) {
            const item: Encodable = x[i];
            if (typeof item === "string") this.writeText(item);
            else if (item instanceof Uint8Array) this.writeBytes(item);
            else this.write(item);
          }
          return;
        }
        if (x instanceof Uint8Array) return this.writeBytes(x);
        if (x instanceof PyFloat) return this.writeFloat(x.value);
        if (x !== null && isWritable(x)) return x[bananaWrite](this);
    }
    throw new BananaError(`Banana cannot send ${describeType(x)} objects: ${String(x)}`);
  }
}

function describeType(x: unknown): string {
  if (x === null) return "null";
  if (typeof x === "object") return (x as object).constructor?.name ?? "Object";
  return typeof x;
}

/** Encodes one expression with a throwaway encoder. */
export function encode(sexp: Encodable, options?: BananaEncoderOptions): Uint8Array {
  return new BananaEncoder(options).encode(sexp);
}
