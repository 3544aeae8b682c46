// The fields of a received date, time, datetime or timedelta, read as Python's int() reads
// them: one pass, no regular expression, the length checked first.
import type { Sexp } from "../banana/values.ts";
import { byteString } from "../banana/values.ts";
import { JellyError } from "./errors.ts";

/**
 * Longest date/time text accepted ("9999 12 31 23 59 59 999999" is 26 bytes). Python's int()
 * would take any run of whitespace or leading zeros; nothing honest sends a kilobyte.
 */
export const MAX_DATE_TEXT = 1024;

// Python's bytes.split() whitespace: space, \t, \n, \v, \f, \r.
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Parses the whitespace-separated ints of a date/time field as Python's int() would (sign,
 * digits, single underscores between digits). One pass, no regular expression, and the length
 * is checked first: a peer's 60 KB datetime costs nothing.
 */
export function fields(raw: Sexp | undefined, what: string): number[] {
  if (typeof raw !== "string" && !(raw instanceof Uint8Array)) throw new JellyError(`${what} needs a byte string`);
  if (raw.length > MAX_DATE_TEXT) throw new JellyError(`${what} text longer than ${MAX_DATE_TEXT} bytes`);
  const text = byteString(raw);
  const out: number[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i === n) return out;
    const start = i;
    while (i < n && !isSpace(text.charCodeAt(i))) i++;
    out.push(intField(text.slice(start, i), what));
  }
}

function intField(t: string, what: string): number {
  let i = t.charCodeAt(0) === 0x2b || t.charCodeAt(0) === 0x2d ? 1 : 0;
  let digits = "";
  let ok = i < t.length;
  let afterDigit = false;
  for (; i < t.length && ok; i++) {
    const c = t.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      digits += t[i];
      afterDigit = true;
    } else if (c === 0x5f && afterDigit && i + 1 < t.length) afterDigit = false;
    else ok = false;
  }
  if (!ok || !afterDigit) throw new JellyError(`invalid literal for int() in ${what}: '${t}'`);
  const v = Number(digits);
  if (!Number.isSafeInteger(v)) throw new JellyError(`${what} field out of range: ${t}`);
  return t.charCodeAt(0) === 0x2d ? -v : v;
}

export function arity(n: number, min: number, max: number, what: string): void {
  if (n < min || n > max) throw new JellyError(`${what} takes ${min === max ? min : `${min} to ${max}`} fields, got ${n}`);
}

