// Reading the values of PB's messages: the parts of pb.py's proto_* methods that check and
// convert what the peer sent, kept apart from the broker's dispatching.
import { describeValue } from "../jelly/describe.ts";
import type { Sexp } from "../banana/values.ts";
import { tryDecodeUtf8 } from "../jelly/text.ts";
import { PyInstance } from "../jelly/types.ts";
import { ProtocolError, RemoteError } from "./errors.ts";

/** A promise, or anything with a then() (Twisted's Deferred case). */
export function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null && typeof (x as { then?: unknown }).then === "function";
}

/** Python truth of an answerRequired flag. */
export function truthy(x: Sexp): boolean {
  if (typeof x === "number") return x !== 0;
  if (typeof x === "bigint") return x !== 0n;
  if (typeof x === "boolean") return x;
  if (Array.isArray(x)) return x.length > 0;
  if (x instanceof Uint8Array || typeof x === "string") return x.length > 0;
  return Number(x) !== 0;
}

/** A rejection always carries an Error: what the peer sent that is not one becomes a RemoteError's cause. */
export function notAnError(value: unknown): RemoteError {
  const type = value instanceof PyInstance ? value.className : typeof value === "object" && value !== null ? (value.constructor?.name ?? "object") : typeof value;
  const text = typeof value === "string" ? value : value instanceof Uint8Array ? (tryDecodeUtf8(value) ?? "bytes sent as a failure") : `${type} sent as a failure`;
  return new RemoteError(type, text, "", { cause: value });
}

/** A cache id from the wire. */
export function luidOf(raw: Sexp): number {
  if (typeof raw !== "number" || !Number.isSafeInteger(raw)) throw new ProtocolError(`bad cache id ${describeValue(raw)}`);
  return raw;
}
