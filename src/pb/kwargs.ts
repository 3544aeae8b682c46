// Keyword arguments. JS has none, so a call carries them as a trailing Kwargs argument, both
// ways: callRemote("echo", 7, kwargs({ key: "v" })) sends key="v", and a remote_ method called
// with keyword arguments receives them as its last argument.
import { PyUnicode } from "../jelly/types.ts";
import type { Sexp } from "../banana/values.ts";
import { jellyFor, type Jellier } from "../jelly/jelly.ts";
import { decodeUtf8 } from "../jelly/text.ts";

/** Keyword arguments of a call, sent as a dictionary; keys such as __proto__ are plain data. */
export class Kwargs {
  readonly values: Readonly<Record<string, unknown>>;
  constructor(values: Record<string, unknown> | Map<string, unknown> = {}) {
    const v: Record<string, unknown> = Object.create(null);
    const entries = values instanceof Map ? values.entries() : Object.entries(values);
    for (const [k, x] of entries) v[k] = x;
    this.values = v;
  }
  /** The value of one keyword argument. */
  get(name: string): unknown {
    return this.values[name];
  }
  /** Whether a keyword argument was given. */
  has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.values, name);
  }
  /** The names given. */
  keys(): string[] {
    return Object.keys(this.values);
  }
  /** How many were given. */
  get size(): number {
    return Object.keys(this.values).length;
  }
  /** As a Map. */
  toMap(): Map<string, unknown> {
    return new Map(Object.entries(this.values));
  }
  /** Returned or passed on as a value, it is a dictionary. */
  [jellyFor](jellier: Jellier): Sexp {
    return jellier.jelly(this.toMap());
  }
}

/** Keyword arguments for callRemote: `ref.callRemote("print", "hi", kwargs({ end: "!" }))`. */
export function kwargs(values: Record<string, unknown> | Map<string, unknown>): Kwargs {
  return new Kwargs(values);
}

/** Splits a trailing Kwargs off an argument list. */
export function splitArgs(args: readonly unknown[]): [unknown[], Kwargs | null] {
  const last = args[args.length - 1];
  return last instanceof Kwargs ? [args.slice(0, -1), last] : [args.slice(), null];
}

/** A call's unjellied arguments as a list of positional arguments and the keyword arguments, if any. */
export function callArguments(args: unknown, kw: unknown): [unknown[], Kwargs | null] {
  if (!Array.isArray(args)) throw new TypeError("arguments must be a sequence");
  let named: Kwargs | null = null;
  if (!(kw instanceof Map) && (kw === null || typeof kw !== "object")) throw new TypeError("keyword arguments must be a mapping");
  // Most calls have no keywords: no entry list is made for them.
  const entries: [unknown, unknown][] | null = kw instanceof Map ? (kw.size > 0 ? [...kw] : null) : Object.entries(kw as object);
  if (entries !== null && entries.length) {
    const values = new Map<string, unknown>();
    for (const [k, v] of entries) {
      // Python 2 peers send byte-string keys; Twisted decodes them for remote_ methods.
      if (k instanceof Uint8Array) values.set(decodeUtf8(k), v);
      else if (typeof k === "string") values.set(k, v);
      else if (k instanceof PyUnicode) values.set(k.text, v); // unicode keys in the "bytes" string mode
      else throw new TypeError("keywords must be strings");
    }
    named = new Kwargs(values);
  }
  // Copied with a loop: spreading a Tuple (an Array subclass) takes V8's slow iterator path (~15x).
  const list: unknown[] = [];
  for (let i = 0; i < args.length; i++) list.push(args[i]);
  return [list, named];
}
