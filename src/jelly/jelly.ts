// Jelly, sending side: a JS value -> a banana expression, as twisted/spread/jelly.py _Jellier does.
// Shared and cyclic containers are numbered at their second encounter and the first occurrence
// is rewritten in place to [reference, id, ...], exactly as Twisted numbers them.
import { PyFloat, type Sexp } from "../banana/values.ts";
import { JellyError } from "./errors.ts";
import { FrozenSet, PyDate, PyDateTime, PyDecimal, PyGlobal, PyInstance, PyTime, PyTimeDelta, PyUnicode, Tuple, Unpersistable } from "./types.ts";

/** Objects with this method serialize themselves (jelly.py IJellyable.jellyFor). */
export const jellyFor: unique symbol = Symbol.for("twisted-pb.jellyFor");

export interface Jellyable {
  [jellyFor](jellier: Jellier): Sexp;
}

export interface JellyOptions {
  /** The object that drives serialization (PB's broker); Jellyable hooks read it. */
  invoker?: unknown;
  /** How JS strings go out: "unicode" (Python 3's str, the default) or "bytes" (plain byte strings, as Python 2 peers send). */
  strings?: "unicode" | "bytes";
  /** Deepest container nesting accepted (Python's own recursion limit stops Twisted well before 1000). */
  maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 1000;

type MutableSexp = Sexp[];

function isJellyable(x: object): x is Jellyable {
  return typeof (x as Partial<Jellyable>)[jellyFor] === "function";
}

function isPlainObject(x: object): x is Record<string, unknown> {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Python's repr of a class name, for the unpersistable reason. */
function className(x: object): string {
  return (x as { constructor?: { name?: string } }).constructor?.name || "Object";
}

export class Jellier {
  readonly invoker: unknown;
  readonly strings: "unicode" | "bytes";
  private readonly maxDepth: number;
  private readonly preserved = new Map<object, MutableSexp>();
  private readonly cooked = new Map<object, MutableSexp>();
  private refId = 1;
  private depth = 0;

  constructor(options: JellyOptions = {}) {
    this.invoker = options.invoker;
    this.strings = options.strings ?? "unicode";
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** Gives a container its list before its contents are written, so cycles back to it can be numbered. */
  prepare(obj: object): MutableSexp {
    this.preserved.set(obj, []);
    return [];
  }

  /** Records a container's finished expression; returns what goes in the tree. */
  preserve(obj: object, sexp: MutableSexp): MutableSexp {
    if (this.cooked.has(obj)) {
      // A cycle reached obj while it was being written: its placeholder became [reference, id, []].
      const placeholder = this.preserved.get(obj)!;
      placeholder[2] = sexp;
      return placeholder;
    }
    this.preserved.set(obj, sexp);
    return sexp;
  }

  /** The [dereference, id] for an object met before, numbering it now if this is its second encounter. */
  checkMutable(obj: object): MutableSexp | undefined {
    const done = this.cooked.get(obj);
    if (done) return done;
    const first = this.preserved.get(obj);
    if (first === undefined) return undefined;
    const id = this.refId++;
    const copy = first.slice();
    first.length = 0;
    first.push("reference", id, copy);
    const deref: MutableSexp = ["dereference", id];
    this.cooked.set(obj, deref);
    return deref;
  }

  /** [unpersistable, reason], written into `sxp` when given (jelly.py _Jellier.unpersistable). */
  unpersistable(reason: string | Uint8Array, sxp: MutableSexp = []): MutableSexp {
    sxp.push("unpersistable", reason);
    return sxp;
  }

  jelly(obj: unknown): Sexp {
    switch (typeof obj) {
      case "string":
        return this.strings === "unicode" ? ["unicode", obj] : obj;
      case "number":
      case "bigint":
        return obj;
      case "boolean":
        return ["boolean", obj ? "true" : "false"];
      case "undefined":
        return ["None"];
      case "object":
        if (obj === null) return ["None"];
        return this.jellyObject(obj);
      default:
        throw new JellyError(`cannot jelly a ${typeof obj}`);
    }
  }

  private jellyObject(obj: object): Sexp {
    if (obj instanceof Uint8Array || obj instanceof PyFloat) return obj;
    if (isJellyable(obj)) return this.checkMutable(obj) ?? obj[jellyFor](this);
    if (obj instanceof PyDateTime || obj instanceof Date) {
      return ["datetime", (obj instanceof Date ? PyDateTime.fromDate(obj) : obj).toWire()];
    }
    if (obj instanceof PyDate) return ["date", obj.toWire()];
    if (obj instanceof PyTime) return ["time", obj.toWire()];
    if (obj instanceof PyTimeDelta) return ["timedelta", obj.toWire()];
    if (obj instanceof PyDecimal) {
      const c = obj.coefficient;
      return ["decimal", c >= -0x1fffffffffffffn && c <= 0x1fffffffffffffn ? Number(c) : c, obj.exponent];
    }
    if (obj instanceof PyGlobal) return [obj.kind, obj.name];
    if (obj instanceof PyUnicode) return ["unicode", obj.text];

    const again = this.checkMutable(obj);
    if (again) return again;
    if (++this.depth > this.maxDepth) throw new JellyError(`value nested deeper than ${this.maxDepth} levels`);
    try {
      const sxp = this.prepare(obj);
      if (Array.isArray(obj)) {
        sxp.push(obj instanceof Tuple ? "tuple" : "list");
        for (let i = 0; i < obj.length; i++) sxp.push(this.jelly(obj[i]));
      } else if (obj instanceof Map) {
        sxp.push("dictionary");
        for (const [k, v] of obj) sxp.push([this.jelly(k), this.jelly(v)]);
      } else if (obj instanceof Set) {
        sxp.push(obj instanceof FrozenSet ? "frozenset" : "set");
        for (const item of obj) sxp.push(this.jelly(item));
      } else if (obj instanceof PyInstance) {
        sxp.push(obj.className, this.jelly(obj.state));
      } else if (obj instanceof Unpersistable) {
        this.unpersistable(obj.reason, sxp);
      } else if (isPlainObject(obj)) {
        sxp.push("dictionary");
        for (const k of Object.keys(obj)) sxp.push([this.jelly(k), this.jelly(obj[k])]);
      } else {
        // Twisted's answer for an instance of a class it may not send.
        this.unpersistable(`instance of class ${className(obj)} deemed insecure`, sxp);
      }
      return this.preserve(obj, sxp);
    } finally {
      this.depth--;
    }
  }
}

/** Serializes one value (one reference scope, as one jelly() call in Twisted). */
export function jelly(value: unknown, options?: JellyOptions): Sexp {
  return new Jellier(options).jelly(value);
}
