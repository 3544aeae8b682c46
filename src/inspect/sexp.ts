// Small helpers over raw banana s-expressions (as BananaDecoder delivers them): no jelly, no
// live objects. Byte strings are Uint8Array, or a JS string when they came as a vocabulary token.
import { byteString, PyFloat, type Sexp } from "../banana/index.ts";
import { decodeUtf8 } from "../jelly/text.ts";
import { bytesRepr, floatRepr } from "./pyrepr.ts";

export type List = readonly Sexp[];

export const isList = (x: Sexp | undefined): x is List => Array.isArray(x);
export const isBytes = (x: Sexp | undefined): x is Uint8Array | string => typeof x === "string" || x instanceof Uint8Array;
/** A banana int (INT/NEG/LONGINT/LONGNEG), not a float. */
export const isInt = (x: Sexp | undefined): x is number | bigint =>
  typeof x === "bigint" || (typeof x === "number" && Number.isSafeInteger(x) && !Object.is(x, -0));

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

export function asBytes(x: Uint8Array | string): Uint8Array {
  return typeof x === "string" ? latin1(x) : x;
}

/** The bytes as latin1 text (for comparing with ASCII names). */
export function bytesText(x: Uint8Array | string): string {
  return byteString(x);
}

/** Strict UTF-8, or null. */
export function utf8OrNull(x: Uint8Array | string): string | null {
  try {
    return decodeUtf8(x);
  } catch {
    return null;
  }
}

/** Python repr of a scalar banana value (int, float, bytes). */
export function scalarRepr(x: Sexp, maxString = Infinity): string {
  if (typeof x === "bigint") return x.toString();
  if (typeof x === "boolean") return x ? "True" : "False";
  if (x instanceof PyFloat) return floatRepr(x.value);
  if (typeof x === "number") return isInt(x) ? String(x) : floatRepr(x);
  if (isBytes(x)) return bytesRepr(asBytes(x), maxString);
  return "?";
}

/** The banana structure itself, Python style ([b'message', 1, ...]), for malformed jelly. Depth-bounded. */
export function rawRepr(x: Sexp, maxString = 200, maxItems = 50, depth = 0): string {
  if (!isList(x)) return scalarRepr(x, maxString);
  if (depth > 50) return "[...]";
  const parts: string[] = [];
  const n = Math.min(x.length, maxItems);
  for (let i = 0; i < n; i++) parts.push(rawRepr(x[i], maxString, maxItems, depth + 1));
  if (n < x.length) parts.push(`...${x.length - n} more`);
  return "[" + parts.join(", ") + "]";
}

/** A JSON-friendly form of an s-expression, for --json: lists as arrays, byte strings as text
 * when they are UTF-8 (else {"hex": ...}), big ints as {"int": "digits"}, floats as {"float": x}. */
export function sexpJson(x: Sexp, depth = 0): unknown {
  if (isList(x)) {
    if (depth > 100) return "...";
    return x.map((e) => sexpJson(e, depth + 1));
  }
  if (typeof x === "bigint") return { int: x.toString() };
  if (typeof x === "boolean") return x ? 1 : 0;
  if (x instanceof PyFloat || (typeof x === "number" && !isInt(x))) {
    const v = Number(x.valueOf());
    return { float: Number.isFinite(v) && !Object.is(v, -0) ? v : floatRepr(v) };
  }
  if (typeof x === "number") return x;
  const text = utf8OrNull(x);
  if (text !== null) return text;
  return { hex: Buffer.from(asBytes(x)).toString("hex") };
}
