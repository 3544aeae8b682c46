// Helpers of the one-pass decoder (fastdecode.ts): the tags it decodes, as small ints, the
// cache of dictionary keys, short text straight from the bytes, arrays made at their size.
import { LIST, STRING, VOCABULARY } from "../banana/constants.ts";
import { pooledCopy } from "../banana/pool.ts";
import type { Sexp } from "../banana/values.ts";
import { decodeUtf8, tagText } from "./text.ts";

// Tags, as small ints. Only these are decoded here; every other tag gives up.
export const T_OTHER = 0;
export const T_UNICODE = 1;
export const T_NONE = 2;
export const T_LIST = 3;
export const T_TUPLE = 4;
export const T_DICT = 5;
export const T_BOOLEAN = 6;
export const TAG_NAMES = ["", "unicode", "None", "list", "tuple", "dictionary", "boolean"];

export const VOCAB_TAGS: number[] = VOCABULARY.map((atom) => {
  const t = TAG_NAMES.indexOf(atom);
  return t < 0 ? T_OTHER : t;
});

// Dictionary keys repeat (every record of a list has the same few): short ASCII keys are looked
// up here instead of being rebuilt, and come back as the same string, whose hash V8 has already
// computed for the Map. Direct-mapped, checked byte for byte; shared by every reader.
const KEY_SLOTS = 4096;
export const KEY_MAX = 24;
const keyStrings: (string | undefined)[] = new Array(KEY_SLOTS);

/** For tests: the cache's bounds (slots, slots filled, longest entry), whatever a peer sent. */
export function keyCacheStats(): { slots: number; filled: number; longest: number } {
  let filled = 0;
  let longest = 0;
  for (const s of keyStrings) {
    if (s === undefined) continue;
    filled++;
    longest = Math.max(longest, s.length);
  }
  return { slots: keyStrings.length, filled, longest };
}

/** For tests: the slot of an ASCII key (as cachedKey computes it). */
export function keySlot(key: string): number {
  const bytes = Uint8Array.from(key, (c) => c.charCodeAt(0));
  return slotOf(bytes, 0, bytes.length);
}

function slotOf(buf: Uint8Array, at: number, n: number): number {
  let h = n;
  for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + buf[at + i]) | 0;
  return (h ^ (h >>> 12)) & (KEY_SLOTS - 1);
}

/**
 * The text of the `n` (at most KEY_MAX) bytes at `at` when they are ASCII, from the cache when
 * the same bytes were seen last in their slot, or null when one is not ASCII. Bounded whatever
 * a peer sends: a fixed table of KEY_SLOTS entries of at most KEY_MAX characters, and a lookup
 * costs one pass to hash and one to compare before the string is made as it would be without it.
 */
export function cachedKey(buf: Uint8Array, at: number, n: number): string | null {
  let h = n;
  for (let i = 0; i < n; i++) {
    const c = buf[at + i];
    if (c >= 0x80) return null;
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = (h ^ (h >>> 12)) & (KEY_SLOTS - 1);
  const hit = keyStrings[slot];
  if (hit !== undefined && hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === buf[at + i]) i++;
    if (i === n) return hit;
  }
  const s = n <= 16 ? shortAscii(buf, at, n)! : asciiString(buf, at, n);
  keyStrings[slot] = s;
  return s;
}

/**
 * The text of `n` (at most 16) ASCII bytes at `at`, or null when one is not ASCII. One
 * String.fromCharCode call with every code (as msgpackr does), not a string grown char by char.
 */
export function shortAscii(buf: Uint8Array, at: number, n: number): string | null {
  const fcc = String.fromCharCode;
  switch (n) {
    case 0:
      return "";
    case 1: {
      const a = buf[at];
      return a < 0x80 ? fcc(a) : null;
    }
    case 2: {
      const a = buf[at], b = buf[at + 1];
      return (a | b) < 0x80 ? fcc(a, b) : null;
    }
    case 3: {
      const a = buf[at], b = buf[at + 1], c = buf[at + 2];
      return (a | b | c) < 0x80 ? fcc(a, b, c) : null;
    }
    case 4: {
      const a = buf[at], b = buf[at + 1], c = buf[at + 2], d = buf[at + 3];
      return (a | b | c | d) < 0x80 ? fcc(a, b, c, d) : null;
    }
    case 5: {
      const a = buf[at], b = buf[at + 1], c = buf[at + 2], d = buf[at + 3], e = buf[at + 4];
      return (a | b | c | d | e) < 0x80 ? fcc(a, b, c, d, e) : null;
    }
    case 6: {
      const a = buf[at], b = buf[at + 1], c = buf[at + 2], d = buf[at + 3], e = buf[at + 4], f = buf[at + 5];
      return (a | b | c | d | e | f) < 0x80 ? fcc(a, b, c, d, e, f) : null;
    }
    case 7: {
      const a = buf[at], b = buf[at + 1], c = buf[at + 2], d = buf[at + 3], e = buf[at + 4], f = buf[at + 5], g = buf[at + 6];
      return (a | b | c | d | e | f | g) < 0x80 ? fcc(a, b, c, d, e, f, g) : null;
    }
    case 8: {
      const a = buf[at], b = buf[at + 1], c = buf[at + 2], d = buf[at + 3], e = buf[at + 4], f = buf[at + 5], g = buf[at + 6], h = buf[at + 7];
      return (a | b | c | d | e | f | g | h) < 0x80 ? fcc(a, b, c, d, e, f, g, h) : null;
    }
  }
  if (n > 16) return null;
  // 9 to 16: two halves.
  const head = shortAscii(buf, at, 8);
  if (head === null) return null;
  const tail = shortAscii(buf, at + 8, n - 8);
  return tail === null ? null : head + tail;
}

function asciiString(buf: Uint8Array, at: number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(buf[at + i]);
  return s;
}

export function same(buf: Uint8Array, at: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (buf[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** The tag of a byte-string tag of `n` bytes at `at`. */
export function stringTag(buf: Uint8Array, at: number, n: number): number {
  switch (n) {
    case 4:
      if (same(buf, at, "list")) return T_LIST;
      if (same(buf, at, "None")) return T_NONE;
      return T_OTHER;
    case 5:
      return same(buf, at, "tuple") ? T_TUPLE : T_OTHER;
    case 7:
      // "unicode" (every text in python mode), compared byte by byte without the string.
      if (buf[at] === 0x75 && buf[at + 1] === 0x6e && buf[at + 2] === 0x69 && buf[at + 3] === 0x63 && buf[at + 4] === 0x6f && buf[at + 5] === 0x64 && buf[at + 6] === 0x65) return T_UNICODE;
      return same(buf, at, "boolean") ? T_BOOLEAN : T_OTHER;
    case 10:
      return same(buf, at, "dictionary") ? T_DICT : T_OTHER;
  }
  return T_OTHER;
}

/** The text of the `n` UTF-8 bytes at `at` (`key`: a dictionary key, from the key cache), or null when they are not UTF-8. */
export function textAt(buf: Uint8Array, at: number, n: number, key: boolean): string | null {
  if (key && n <= KEY_MAX) {
    const s = cachedKey(buf, at, n);
    if (s !== null) return s;
  }
  if (n <= 16) {
    // Short ASCII, the common case, straight from the bytes (as decodeUtf8 does from a view).
    const s = shortAscii(buf, at, n);
    if (s !== null) return s;
  } else if (n <= 32) {
    let s = "";
    let i = 0;
    for (; i < n; i++) {
      const c = buf[at + i];
      if (c >= 0x80) break;
      s += String.fromCharCode(c);
    }
    if (i === n) return s;
  }
  try {
    return decodeUtf8(buf.subarray(at, at + n));
  } catch {
    return null;
  }
}

/**
 * The array for a container announced to hold `n` elements: made at its final size up to
 * `preallocate`, else empty and grown as its elements are stored in order (an append each, as
 * fast as push), so an announced count never allocates ahead of the bytes that back it.
 */
export function arrayFor<T>(n: number, preallocate: number): T[] {
  return n <= preallocate ? new Array<T>(n) : [];
}

/** Bytes before the text in unicodeKeyAt's pairs: 2 LIST, 2 LIST, 7 STRING "unicode", n STRING. */
export const UNICODE_KEY_FRAMING = 15;

/**
 * The common dictionary pair, as Twisted sends it: `[[unicode, short ASCII text], value]` with
 * one-digit headers, recognised by its 15 leading bytes at once. Its key (from the key cache;
 * the value starts UNICODE_KEY_FRAMING + key.length bytes on), or null: read it the general way,
 * which gives the same key or gives up. The caller checks that the limits allow such a pair.
 */
export function unicodeKeyAt(buf: Uint8Array, p: number, end: number): string | null {
  if (end - p < UNICODE_KEY_FRAMING) return null;
  if (buf[p] !== 2 || buf[p + 1] !== LIST || buf[p + 2] !== 2 || buf[p + 3] !== LIST || buf[p + 4] !== 7 || buf[p + 5] !== STRING) return null;
  if (buf[p + 6] !== 0x75 || buf[p + 7] !== 0x6e || buf[p + 8] !== 0x69 || buf[p + 9] !== 0x63 || buf[p + 10] !== 0x6f || buf[p + 11] !== 0x64 || buf[p + 12] !== 0x65) return null;
  const n = buf[p + 13];
  if (n > KEY_MAX || buf[p + 14] !== STRING || end - p - UNICODE_KEY_FRAMING < n) return null;
  return cachedKey(buf, p + UNICODE_KEY_FRAMING, n);
}

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The big-endian float64 of the 8 bytes at `pos` (unrolled: faster than a loop or a DataView made per buffer). */
export function floatAt(buf: Uint8Array, pos: number): number {
  const b = f64Bytes;
  if (LITTLE_ENDIAN) {
    b[0] = buf[pos + 7];
    b[1] = buf[pos + 6];
    b[2] = buf[pos + 5];
    b[3] = buf[pos + 4];
    b[4] = buf[pos + 3];
    b[5] = buf[pos + 2];
    b[6] = buf[pos + 1];
    b[7] = buf[pos];
  } else for (let k = 0; k < 8; k++) b[k] = buf[pos + k];
  return f64[0];
}

/**
 * The `n` bytes at `at` in memory no other value shares and off `buf`: short ones a view of a
 * shared slab (banana/pool.ts: a kept one keeps at most that slab alive), longer ones an array of
 * their own.
 */
export const copyOf: (buf: Uint8Array, at: number, n: number) => Uint8Array = pooledCopy;

/** The tag text of a top-level command (byte string or vocabulary atom), or null. */
export function commandOf(head: Sexp): string | null {
  return typeof head === "string" || head instanceof Uint8Array ? tagText(head) : null;
}
