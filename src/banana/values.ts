// The values a banana expression is made of, and the one wrapper JS needs for it.

/**
 * A Python float whose value JS would otherwise send as an int (1.0, 3.0, 1e15): it keeps the
 * FLOAT type so a value received from Twisted goes back with the same bytes. Fractional
 * numbers, NaN, infinities and -0 need no wrapper: a plain number that is not a safe integer
 * is sent as a float.
 */
export class PyFloat {
  constructor(readonly value: number) {}
  /** The number, for arithmetic and comparisons. */
  valueOf(): number {
    return this.value;
  /** As Python writes the float: `1.0`, `2.5`. */
  }
  /** As Python writes the float: `1.0`, `2.5`. */
  toString(): string {
    /** The number, in JSON. */
    return Number.isInteger(this.value) ? this.value.toFixed(1) : String(this.value);
  }
  /** The number, in JSON. */
  toJSON(): number {
    return this.value;
  }
}

/**
 * One banana element. Byte strings are Uint8Array; a JS string stands for the byte string of its
 * UTF-8 encoding (vocabulary atoms decode to strings, and jelly writes its tags and text that
 * way). A number that is a safe integer (and not -0) is an int, any other number a float;
 * bigint is an int; boolean is an int as in Python.
 */
export type Sexp = number | bigint | boolean | PyFloat | Uint8Array | string | readonly Sexp[];

/** The Python float value a decoded FLOAT becomes: a plain number unless that would re-encode as an int. */
export function floatValue(v: number): number | PyFloat {
  return Number.isInteger(v) && !Object.is(v, -0) && Math.abs(v) <= Number.MAX_SAFE_INTEGER ? new PyFloat(v) : v;
}

/** True when a plain JS number is sent as a banana int. */
export function isIntNumber(v: number): boolean {
  return Number.isSafeInteger(v) && !Object.is(v, -0);
}

/** A byte string (either form) as a JS string of char codes 0-255. */
export function byteString(b: Uint8Array | string): string {
  if (typeof b === "string") return b;
  if (b.length < 48) {
    let s = "";
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return s;
  }
  // Not TextDecoder("latin1"): WHATWG maps that label to windows-1252.
  const parts: string[] = [];
  for (let i = 0; i < b.length; i += 8192) parts.push(String.fromCharCode.apply(null, Array.from(b.subarray(i, i + 8192))));
  return parts.join("");
}

const utf8Encoder = new TextEncoder();

/** Text up to this long that is ASCII is copied in a loop: TextEncoder's call costs more than a short name's bytes. */
const SHORT_TEXT = 64;

/** A byte string (either form) as bytes: text as its UTF-8, bytes as they are. */
export function asBytes(b: Uint8Array | string): Uint8Array {
  if (typeof b !== "string") return b;
  const n = b.length;
  if (n > SHORT_TEXT) return utf8Encoder.encode(b);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = b.charCodeAt(i);
    if (c >= 0x80) return utf8Encoder.encode(b);
    out[i] = c;
  }
  return out;
}

/** Bytes of an ASCII/latin1 JS string (one byte per char). */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Whether two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
