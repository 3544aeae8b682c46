// Keyword arguments. JS has none, so a call carries them as a trailing Kwargs argument, both
// ways: callRemote("echo", 7, kwargs({ key: "v" })) sends key="v", and a remote_ method called
// with keyword arguments receives them as its last argument.
import type { Sexp } from "../banana/values.ts";
import { jellyFor, type Jellier } from "../jelly/jelly.ts";

/** Keyword arguments of a call: passed last to callRemote, received last by a remote_ method. */
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

/** Keyword arguments for callRemote: `callRemote("f", 1, kwargs({ key: "v" }))` is Python's `f(1, key="v")`. */
export function kwargs(values: Record<string, unknown> | Map<string, unknown>): Kwargs {
  return new Kwargs(values);
}

/** Splits a trailing Kwargs off an argument list. */
export function splitArgs(args: readonly unknown[]): [unknown[], Kwargs | null] {
  const last = args[args.length - 1];
  return last instanceof Kwargs ? [args.slice(0, -1), last] : [args.slice(), null];
}
