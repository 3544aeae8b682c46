// Banana encoder: one growable buffer, reused from message to message.
import { FLOAT, INT, LIST, LONGINT, LONGNEG, NEG, STRING, VOCAB, VOCABULARY_CODES, type Dialect } from "./constants.ts";
import { BananaError } from "./errors.ts";
import { bananaLimits, type BananaLimits } from "./limits.ts";
import { byteString, isIntNumber, PyFloat, type Sexp } from "./values.ts";

const utf8 = new TextEncoder();

export interface BananaEncoderOptions {
  /** "pb" compresses vocabulary atoms; "none" or null (not negotiated yet) never does. */
  dialect?: Dialect | null;
  limits?: Partial<BananaLimits>;
}

export class BananaEncoder {
  dialect: Dialect | null;
  readonly limits: BananaLimits;
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  private readonly largestLong: bigint;

  constructor(options: BananaEncoderOptions = {}) {
    this.dialect = options.dialect ?? null;
    this.limits = bananaLimits(options.limits);
    this.largestLong = (1n << BigInt(7 * this.limits.prefixLimit)) - 1n;
    this.buf = new Uint8Array(4096);
    this.view = new DataView(this.buf.buffer);
  }

  /** Encodes one expression and returns its bytes (a fresh array the caller owns). */
  encode(sexp: Sexp): Uint8Array {
    this.pos = 0;
    try {
      this.write(sexp);
    } catch (e) {
      if (e instanceof RangeError && /call stack/i.test(e.message)) throw new BananaError("expression nested too deeply to encode");
      throw e;
    }
    const out = this.buf.slice(0, this.pos);
    if (this.buf.length > 1 << 20) this.reset();
    return out;
  }

  private reset(): void {
    this.buf = new Uint8Array(4096);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** int2b128 then the type byte, for a non-negative safe integer. */
  private header(n: number, type: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    if (n < 128) {
      buf[pos++] = n;
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

  private writeBytes(b: Uint8Array): void {
    if (this.dialect === "pb" && b.length >= 4 && b.length <= 13) {
      const code = VOCABULARY_CODES.get(byteString(b));
      if (code !== undefined) return this.header(code, VOCAB);
    }
    if (b.length > this.limits.sizeLimit) throw new BananaError(`byte string is too long to send (${b.length})`);
    this.header(b.length, STRING);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A JS string stands for its UTF-8 bytes. */
  private writeText(s: string): void {
    if (this.dialect === "pb" && s.length >= 4 && s.length <= 13) {
      const code = VOCABULARY_CODES.get(s);
      if (code !== undefined) return this.header(code, VOCAB);
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

  private write(x: Sexp): void {
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
          const list = x as readonly Sexp[];
          if (list.length > this.limits.sizeLimit) throw new BananaError(`list/tuple is too long to send (${list.length})`);
          this.header(list.length, LIST);
          for (let i = 0; i < list.length; i++) this.write(list[i]);
          return;
        }
        if (x instanceof Uint8Array) return this.writeBytes(x);
        if (x instanceof PyFloat) return this.writeFloat(x.value);
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
export function encode(sexp: Sexp, options?: BananaEncoderOptions): Uint8Array {
  return new BananaEncoder(options).encode(sexp);
}
