// Helpers of the one-pass decoder (fastdecode.ts): the tags it decodes, as small ints, and the
// cache of dictionary keys.
import { VOCABULARY } from "../banana/constants.ts";

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
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(buf[at + i]);
  keyStrings[slot] = s;
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
      if (same(buf, at, "unicode")) return T_UNICODE;
      return same(buf, at, "boolean") ? T_BOOLEAN : T_OTHER;
    case 10:
      return same(buf, at, "dictionary") ? T_DICT : T_OTHER;
  }
  return T_OTHER;
}
