// Jelly, sending side: a JS value -> a banana expression, as twisted/spread/jelly.py _Jellier does.
// Shared and cyclic containers are numbered at their second encounter and the first occurrence
// is rewritten in place to [reference, id, ...], exactly as Twisted numbers them.
import { PyFloat, type Sexp } from "../banana/values.ts";
import { JellyError } from "./errors.ts";
import { FrozenSet, PyDate, PyDateTime, PyDecimal, PyGlobal, PyInstance, PyTime, PyTimeDelta, PyUnicode, Tuple, Unpersistable } from "./types.ts";

/** Objects with this method serialize themselves (jelly.py IJellyable.jellyFor). */
export const jellyFor: unique symbol = Symbol.for("twisted-pb.jellyFor");

/** An object that serializes itself (Twisted's jellyFor). */
export interface Jellyable {
  /** Returns this object's jelly expression; `jellier` serializes the parts. */
  [jellyFor](jellier: Jellier): Sexp;
}

/** Options of {@link jelly} and {@link Jellier}. */
export interface JellyOptions {
  /** The object that drives serialization (PB's broker); Jellyable hooks read it. */
  invoker?: unknown;
  /** How JS strings go out: "unicode" (Python 3's str, the default) or "bytes" (plain byte strings, as Python 2 peers send). */
  strings?: "unicode" | "bytes";
  /** Deepest container nesting accepted (Python's own recursion limit stops Twisted well before 1000). */
  maxDepth?: number;
}

/** Deepest container nesting jelly accepts either way by default. */
export const DEFAULT_MAX_DEPTH = 1000;

/** Stands where a container's tag goes while its contents are written (never seen outside). */
const WRITING = Symbol("jelly: being written") as unknown as Sexp;

// Longest expression list made at its final size (V8 gives `new Array(n)` slow dictionary elements for tens of millions).
const PREALLOCATE_MAX = 1 << 20;

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

/** Turns values into jelly expressions, with shared and cyclic references (one per serialization). */
export class Jellier {
  readonly invoker: unknown;
  readonly strings: "unicode" | "bytes";
  private readonly maxDepth: number;
  // jelly.py's `preserved` (object -> its expression). The first container has fields of its own:
  // each jelly() of a PB call (its arguments, its keyword arguments) often has just one.
  private firstObj: object | null = null;
  private firstSxp: MutableSexp | undefined = undefined;
  private preserved: Map<object, MutableSexp> | null = null;
  /** Made at the first shared or cyclic object. */
  private cooked: Map<object, MutableSexp> | null = null;
  private refId = 1;
  private depth = 0;

  constructor(options: JellyOptions = {}) {
    this.invoker = options.invoker;
    this.strings = options.strings ?? "unicode";
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  private getPreserved(obj: object): MutableSexp | undefined {
    if (obj === this.firstObj) return this.firstSxp;
    return this.preserved === null ? undefined : this.preserved.get(obj);
  }

  private setPreserved(obj: object, sxp: MutableSexp): void {
    if (this.firstObj === null || obj === this.firstObj) {
      this.firstObj = obj;
      this.firstSxp = sxp;
    } else (this.preserved ??= new Map()).set(obj, sxp);
  }

  /** Gives a container its list before its contents are written, so cycles back to it can be numbered. */
  prepare(obj: object): MutableSexp {
    this.setPreserved(obj, []);
    return [];
  }

  /** Records a container's finished expression; returns what goes in the tree. */
  preserve(obj: object, sexp: MutableSexp): MutableSexp {
    if (this.cooked !== null && this.cooked.has(obj)) {
      // A cycle reached obj while it was being written: its placeholder became [reference, id, []].
      const placeholder = this.getPreserved(obj)!;
      placeholder[2] = sexp;
      return placeholder;
    }
    this.setPreserved(obj, sexp);
    return sexp;
  }

  /** The [dereference, id] for an object met before, numbering it now if this is its second encounter. */
  checkMutable(obj: object): MutableSexp | undefined {
    if (this.cooked !== null) {
      const done = this.cooked.get(obj);
      if (done) return done;
    }
    const first = this.getPreserved(obj);
    if (first === undefined) return undefined;
    const id = this.refId++;
    if (first[0] === WRITING) {
      // A cycle back to a container jellyObject() is still writing: its preserved entry is the
      // expression being filled, so give it the placeholder prepare() would have made.
      this.setPreserved(obj, ["reference", id, []]);
    } else {
      const copy = first.slice();
      first.length = 0;
      first.push("reference", id, copy);
    }
    const deref: MutableSexp = ["dereference", id];
    (this.cooked ??= new Map()).set(obj, deref);
    return deref;
  }

  /** [unpersistable, reason], written into `sxp` when given (jelly.py _Jellier.unpersistable). */
  unpersistable(reason: string | Uint8Array, sxp: MutableSexp = []): MutableSexp {
    sxp.push("unpersistable", reason);
    return sxp;
  }

  /** Serializes one value (part of the current serialization: shared references are kept). */
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
    const proto: unknown = Object.getPrototypeOf(obj);
    // A plain dict, a list, a Map or a Tuple can be none of the value classes: skip those checks.
    const plain = proto === Object.prototype || proto === null;
    if (plain || proto === Array.prototype || proto === Map.prototype || proto === Tuple.prototype) {
      if (isJellyable(obj)) return this.checkMutable(obj) ?? obj[jellyFor](this);
    } else {
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
    }

    const again = this.checkMutable(obj);
    if (again) return again;
    if (++this.depth > this.maxDepth) throw new JellyError(`value nested deeper than ${this.maxDepth} levels`);
    // What prepare() and preserve() do, with one entry in `preserved` and no placeholder list: the
    // expression itself stands there while it is written, WRITING in the place of its tag.
    let sxp: MutableSexp;
    try {
      // The loops over contents are in methods of their own: a long loop in this recursive method
      // would get V8 on-stack-replacement code, and a later deoptimization can then leave the
      // method unoptimized for good.
      if (Array.isArray(obj)) {
        sxp = this.list(obj);
      } else if (plain) {
        // isPlainObject(obj), and it can be none of the classes below.
        sxp = this.dict(obj as Record<string, unknown>);
      } else if (obj instanceof Map) {
        sxp = this.map(obj);
      } else if (obj instanceof Set) {
        sxp = this.set(obj);
      } else if (obj instanceof PyInstance) {
        sxp = this.begin(obj, 0);
        sxp.push(this.jelly(obj.state));
        sxp[0] = obj.className;
      } else if (obj instanceof Unpersistable) {
        // Nothing inside: nothing can meet obj while this is written.
        this.setPreserved(obj, (sxp = []));
        this.unpersistable(obj.reason, sxp);
      } else if (isPlainObject(obj)) {
        sxp = this.dict(obj);
      } else {
        this.setPreserved(obj, (sxp = []));
        // Twisted's answer for an instance of a class it may not send.
        this.unpersistable(`instance of class ${className(obj)} deemed insecure`, sxp);
      }
    } finally {
      this.depth--;
    }
    if (this.cooked !== null && this.cooked.has(obj)) {
      // A cycle reached obj while it was being written: checkMutable() gave it a placeholder.
      const placeholder = this.getPreserved(obj)!;
      placeholder[2] = sxp;
      return placeholder;
    }
    return sxp;
  }

  private list(obj: unknown[]): MutableSexp {
    const sxp = this.begin(obj, obj.length + 1);
    let j = 1;
    for (let i = 0; i < obj.length; i++) {
      const item: unknown = obj[i];
      sxp[j++] = typeof item === "number" || item instanceof Uint8Array ? item : this.jelly(item);
    }
    if (sxp.length !== j) sxp.length = j;
    sxp[0] = obj instanceof Tuple ? "tuple" : "list";
    return sxp;
  }

  private map(obj: Map<unknown, unknown>): MutableSexp {
    const sxp = this.begin(obj, obj.size + 1);
    let j = 1;
    for (const [k, v] of obj) sxp[j++] = [this.jelly(k), this.jelly(v)];
    if (sxp.length !== j) sxp.length = j;
    sxp[0] = "dictionary";
    return sxp;
  }

  private set(obj: Set<unknown>): MutableSexp {
    const sxp = this.begin(obj, 0);
    for (const item of obj) sxp.push(this.jelly(item));
    sxp[0] = obj instanceof FrozenSet ? "frozenset" : "set";
    return sxp;
  }

  private dict(obj: Record<string, unknown>): MutableSexp {
    const keys = Object.keys(obj);
    const sxp = this.begin(obj, keys.length + 1);
    const unicode = this.strings === "unicode";
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const v: unknown = obj[k];
      sxp[i + 1] = [unicode ? ["unicode", k] : k, typeof v === "number" ? v : this.jelly(v)];
    }
    sxp[0] = "dictionary";
    return sxp;
  }

  /**
   * A container's expression, entered in `preserved`, `size` long when known (filled by index: no
   * regrowth), with WRITING in the place of its tag until it is complete.
   */
  private begin(obj: object, size: number): MutableSexp {
    const sxp: MutableSexp = size > 0 && size <= PREALLOCATE_MAX ? new Array<Sexp>(size) : [];
    sxp[0] = WRITING;
    this.setPreserved(obj, sxp);
    return sxp;
  }
}

/** Serializes one value (one reference scope, as one jelly() call in Twisted). */
export function jelly(value: unknown, options?: JellyOptions): Sexp {
  return new Jellier(options).jelly(value);
}
