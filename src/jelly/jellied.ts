// jelly and banana in one pass for plain data: the bytes of encode(... jelly(value) ...) written
// straight from the value, without building the jelly expression in between (for a large dict
// that expression is tens of thousands of small arrays, made only to be walked once and dropped).
import { bananaWrite, type BananaEncoder, type BananaWritable } from "../banana/encoder.ts";
import { PyFloat, type Sexp } from "../banana/values.ts";
import { DEFAULT_MAX_DEPTH, jelly, jellyFor, type JellyOptions } from "./jelly.ts";
import { FrozenSet, PyUnicode, Tuple } from "./types.ts";

/** Options of {@link Jellied}. */
export interface JelliedOptions extends JellyOptions {
  /**
   * The jelly expression of a value that is not plain data; by default jelly(value, options). PB's
   * broker passes its own serializer (Jellyable objects register themselves as they are jellied).
   */
  jellyOf?: (value: unknown) => Sexp;
}

/**
 * A value to be jellied where it stands in an expression given to BananaEncoder.encode() (or
 * dumps()): the bytes are exactly those of the expression with jelly(value) in its place.
 *
 * Plain data is written in one pass: text, numbers, bigints, booleans, null/undefined, byte
 * strings, PyFloat, and lists, Tuples, plain objects, Maps, Sets and FrozenSets of those, no
 * container met twice. On anything else (a Jellyable or any other class instance, a container met
 * a second time, which jelly numbers, a limit reached, an error) what was written is dropped and
 * the expression from `jellyOf` is written instead; nothing of the value was called before that
 * but plain property and element reads.
 */
export class Jellied implements BananaWritable {
  constructor(
    readonly value: unknown,
    readonly options: JelliedOptions = {},
  ) {}

  /** Writes the jellied value's banana bytes in place (called by the encoder). */
  [bananaWrite](encoder: BananaEncoder): void {
    const start = encoder.position;
    let done = false;
    try {
      done = new PlainWriter(encoder, this.options).value(this.value);
    } catch {
      // A limit of banana's (size, int range, text that is not UTF-8): the slow path says which.
    }
    if (done) return;
    encoder.rewind(start);
    const options = this.options;
    encoder.writeSexp(options.jellyOf ? options.jellyOf(this.value) : jelly(this.value, options));
  }
}

const LIST = 0;
const DICT = 1;
const MAP = 2;
const SET = 3;

/** Writes jelly(value) for plain data; false (output then garbage) where the Jellier is needed. */
class PlainWriter {
  private readonly out: BananaEncoder;
  private readonly unicode: boolean;
  private readonly maxDepth: number;
  private depth = 0;
  // The containers met so far (jelly would number one met again). Most values have one or none.
  private first: object | null = null;
  private seen: Set<object> | null = null;

  constructor(out: BananaEncoder, options: JellyOptions) {
    this.out = out;
    this.unicode = (options.strings ?? "unicode") === "unicode";
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  value(x: unknown): boolean {
    const out = this.out;
    switch (typeof x) {
      case "string":
        if (this.unicode) out.writeUnicode(x);
        else out.writeText(x);
        return true;
      case "number":
        out.writeNumber(x);
        return true;
      case "bigint":
        out.writeSexp(x);
        return true;
      case "boolean":
        out.writeListHeader(2);
        out.writeText("boolean");
        out.writeText(x ? "true" : "false");
        return true;
      case "undefined":
        out.writeListHeader(1);
        out.writeText("None");
        return true;
      case "object":
        if (x === null) {
          out.writeListHeader(1);
          out.writeText("None");
          return true;
        }
        return this.object(x);
      default:
        return false;
    }
  }

  /** Has `obj` been met before? Records it if not. */
  private met(obj: object): boolean {
    if (this.first === null) {
      this.first = obj;
      return false;
    }
    if (obj === this.first) return true;
    const seen = (this.seen ??= new Set());
    const before = seen.size;
    return seen.add(obj).size === before;
  }

  private object(obj: object): boolean {
    // The Jellier's dispatch (jellyObject), for the kinds handled here.
    const proto: unknown = Object.getPrototypeOf(obj);
    let kind: number;
    if (Array.isArray(obj)) {
      if (proto !== Array.prototype && proto !== Tuple.prototype && proto !== Object.prototype && proto !== null) return false;
      kind = LIST;
    } else if (proto === Object.prototype || proto === null) kind = DICT;
    else if (proto === Map.prototype) kind = MAP;
    else if (proto === Set.prototype || proto === FrozenSet.prototype) kind = SET;
    else if (obj instanceof Uint8Array) {
      this.out.writeBytes(obj);
      return true;
    } else if (obj instanceof PyFloat) {
      this.out.writeSexp(obj);
      return true;
    } else if (obj instanceof PyUnicode) {
      this.out.writeUnicode(obj.text);
      return true;
    } else return false;
    if (typeof (obj as { [jellyFor]?: unknown })[jellyFor] === "function") return false;
    if (this.met(obj)) return false;
    if (++this.depth > this.maxDepth) return false;
    let ok: boolean;
    switch (kind) {
      case LIST:
        ok = this.list(obj as unknown[]);
        break;
      case DICT:
        ok = this.dict(obj as Record<string, unknown>);
        break;
      case MAP:
        ok = this.map(obj as Map<unknown, unknown>);
        break;
      default:
        ok = this.set(obj as Set<unknown>);
    }
    this.depth--;
    return ok;
  }

  private list(obj: unknown[]): boolean {
    const out = this.out;
    const n = obj.length;
    out.writeListHeader(n + 1);
    out.writeText(obj instanceof Tuple ? "tuple" : "list");
    for (let i = 0; i < n; i++) {
      const item = obj[i];
      if (typeof item === "number") out.writeNumber(item);
      else if (item instanceof Uint8Array) out.writeBytes(item);
      else if (!this.value(item)) return false;
    }
    return obj.length === n;
  }

  private dict(obj: Record<string, unknown>): boolean {
    const out = this.out;
    const keys = Object.keys(obj);
    out.writeListHeader(keys.length + 1);
    out.writeText("dictionary");
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      out.writeListHeader(2);
      if (this.unicode) out.writeUnicode(k);
      else out.writeText(k);
      const v = obj[k];
      if (typeof v === "number") out.writeNumber(v);
      else if (!this.value(v)) return false;
    }
    return true;
  }

  private map(obj: Map<unknown, unknown>): boolean {
    const out = this.out;
    const n = obj.size;
    out.writeListHeader(n + 1);
    out.writeText("dictionary");
    let count = 0;
    for (const [k, v] of obj) {
      out.writeListHeader(2);
      if (!this.value(k) || !this.value(v)) return false;
      count++;
    }
    return count === n;
  }

  private set(obj: Set<unknown>): boolean {
    const out = this.out;
    const n = obj.size;
    out.writeListHeader(n + 1);
    out.writeText(obj instanceof FrozenSet ? "frozenset" : "set");
    let count = 0;
    for (const item of obj) {
      if (!this.value(item)) return false;
      count++;
    }
    return count === n;
  }
}
