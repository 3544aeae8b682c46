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

export class Jellier {
  readonly invoker: unknown;
  readonly strings: "unicode" | "bytes";
  private readonly maxDepth: number;
  private readonly preserved = new Map<object, MutableSexp>();
  /** Made at the first shared or cyclic object. */
  private cooked: Map<object, MutableSexp> | null = null;
  /** The containers jellyObject() is writing, outermost first: meeting one of them again is a cycle. */
  private readonly inProgress: object[] = [];
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
    if (this.cooked !== null && this.cooked.has(obj)) {
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
    if (this.cooked !== null) {
      const done = this.cooked.get(obj);
      if (done) return done;
    }
    const first = this.preserved.get(obj);
    if (first === undefined) return undefined;
    const id = this.refId++;
    if (this.inProgress.lastIndexOf(obj) >= 0) {
      // A cycle back to a container jellyObject() is still writing: its preserved entry is the
      // expression being filled, so give it the placeholder prepare() would have made.
      this.preserved.set(obj, ["reference", id, []]);
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
    // What prepare() and preserve() do, with one map entry and no placeholder list: the expression
    // itself stands in `preserved` while it is written, and inProgress lets checkMutable() tell a cycle.
    this.inProgress.push(obj);
    let sxp: MutableSexp;
    try {
      if (Array.isArray(obj)) {
        sxp = this.begin(obj, obj.length + 1);
        sxp[0] = obj instanceof Tuple ? "tuple" : "list";
        let j = 1;
        for (let i = 0; i < obj.length; i++) {
          const item: unknown = obj[i];
          sxp[j++] = typeof item === "number" ? item : this.jelly(item);
        }
        if (sxp.length !== j) sxp.length = j;
      } else if (plain) {
        // isPlainObject(obj), and it can be none of the classes below.
        sxp = this.dict(obj as Record<string, unknown>);
      } else if (obj instanceof Map) {
        sxp = this.begin(obj, obj.size + 1);
        sxp[0] = "dictionary";
        let j = 1;
        for (const [k, v] of obj) sxp[j++] = [this.jelly(k), this.jelly(v)];
        if (sxp.length !== j) sxp.length = j;
      } else if (obj instanceof Set) {
        sxp = this.begin(obj, 0);
        sxp.push(obj instanceof FrozenSet ? "frozenset" : "set");
        for (const item of obj) sxp.push(this.jelly(item));
      } else if (obj instanceof PyInstance) {
        sxp = this.begin(obj, 0);
        sxp.push(obj.className, this.jelly(obj.state));
      } else if (obj instanceof Unpersistable) {
        sxp = this.begin(obj, 0);
        this.unpersistable(obj.reason, sxp);
      } else if (isPlainObject(obj)) {
        sxp = this.dict(obj);
      } else {
        sxp = this.begin(obj, 0);
        // Twisted's answer for an instance of a class it may not send.
        this.unpersistable(`instance of class ${className(obj)} deemed insecure`, sxp);
      }
    } finally {
      this.inProgress.pop();
      this.depth--;
    }
    if (this.cooked !== null && this.cooked.has(obj)) {
      // A cycle reached obj while it was being written: checkMutable() gave it a placeholder.
      const placeholder = this.preserved.get(obj)!;
      placeholder[2] = sxp;
      return placeholder;
    }
    return sxp;
  }

  private dict(obj: Record<string, unknown>): MutableSexp {
    const keys = Object.keys(obj);
    const sxp = this.begin(obj, keys.length + 1);
    sxp[0] = "dictionary";
    const unicode = this.strings === "unicode";
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const v: unknown = obj[k];
      sxp[i + 1] = [unicode ? ["unicode", k] : k, typeof v === "number" ? v : this.jelly(v)];
    }
    return sxp;
  }

  /** A container's expression, entered in `preserved`; `size` long when known (filled by index: no regrowth). */
  private begin(obj: object, size: number): MutableSexp {
    const sxp: MutableSexp = size > 0 && size <= PREALLOCATE_MAX ? new Array<Sexp>(size) : [];
    this.preserved.set(obj, sxp);
    return sxp;
  }
}

/** Serializes one value (one reference scope, as one jelly() call in Twisted). */
export function jelly(value: unknown, options?: JellyOptions): Sexp {
  return new Jellier(options).jelly(value);
}
