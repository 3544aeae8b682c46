// UTF-8 and tag helpers for jelly's hot paths (no Node APIs).
import { byteString } from "../banana/values.ts";

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strict UTF-8 decoding, as Python's str(b, "UTF-8"): invalid input throws a TypeError. */
export function decodeUtf8(b: Uint8Array | string): string {
  if (typeof b === "string") return b;
  const n = b.length;
  if (n <= 64) {
    let s = "";
    for (let i = 0; i < n; i++) {
      const c = b[i];
      if (c >= 0x80) return fatalUtf8.decode(b);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return fatalUtf8.decode(b);
}

/** UTF-8 decoding that gives up (null) instead of throwing. */
export function tryDecodeUtf8(b: Uint8Array): string | null {
  try {
    return decodeUtf8(b);
  } catch {
    return null;
  }
}

function is(b: Uint8Array, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (b[i] !== s.charCodeAt(i)) return false;
  return true;
}

/** A jelly type tag as text. The common non-vocabulary tags avoid building a new string. */
export function tagText(b: Uint8Array | string): string {
  if (typeof b === "string") return b;
  switch (b.length) {
    case 3:
      if (is(b, "set")) return "set";
      break;
    case 4:
      if (is(b, "date")) return "date";
      if (is(b, "time")) return "time";
      break;
    case 7:
      if (is(b, "unicode")) return "unicode";
      if (is(b, "boolean")) return "boolean";
      if (is(b, "decimal")) return "decimal";
      break;
    case 8:
      if (is(b, "datetime")) return "datetime";
      break;
    case 9:
      if (is(b, "frozenset")) return "frozenset";
      if (is(b, "timedelta")) return "timedelta";
      break;
  }
  return byteString(b);
}
