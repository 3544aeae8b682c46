// Jelly, receiving side: a banana expression -> a JS value, as twisted/spread/jelly.py _Unjellier
// does under PB's security. Containers are created before their contents, so shared and cyclic
// references resolve to the very same object without placeholders.
import { arity, fields } from "./datefields.ts";
import { pooledCopy } from "../banana/pool.ts";
import { PyFloat, asBytes, byteString, type Sexp } from "../banana/values.ts";
import { enterBudget, leaveBudget, MessageBudget, type JellyBudgetLimits } from "./budget.ts";
import { InsecureJelly, JellyError, UnregisteredCopyTag } from "./errors.ts";
import { DEFAULT_MAX_DEPTH } from "./jelly.ts";
import { defaultRegistry, type UnjellyableRegistry, type UnjellyContext } from "./registry.ts";
import { globalSecurity, moduleOf, type Taster } from "./security.ts";
import { decodeUtf8, tagText, tryDecodeUtf8 } from "./text.ts";
import { FrozenSet, ReceivedDict, ReceivedSet, PyDate, PyDateTime, PyDecimal, PyGlobal, PyInstance, PyTime, PyTimeDelta, PyUnicode, Tuple, Unpersistable } from "./types.ts";

/** Options of {@link unjelly} and {@link Unjellier}. */
export interface UnjellyOptions {
  /** What may be received; PB's default (globalSecurity) when omitted. */
  security?: Taster;
  /** Copy tags and PB's own tags; the default registry when omitted. */
  registry?: UnjellyableRegistry;
  /** The object that drives deserialization (PB's broker); registry handlers read it. */
  invoker?: unknown;
  /**
   * "python" (default): lossless, so the value re-jellies to the same bytes (Tuple, PyFloat for
   * integral floats, Map for dicts, FrozenSet, PyDateTime...). "js": idiomatic JS values (arrays,
   * numbers, plain null-prototype objects for dicts whose keys are all text, Set, Date).
   */
  mode?: "python" | "js";
  /** In "js" mode, byte strings that are valid UTF-8 become strings (for Python 2 peers, whose str is bytes). */
  bytesAsText?: boolean;
  /**
   * The string mode the value will be sent back in (JellyOptions.strings). "bytes" (Python 2
   * peers): `["unicode", ...]` becomes a PyUnicode, so it goes back as unicode and not as the byte
   * string a JS string stands for in that mode. "unicode" (default): it becomes a JS string.
   */
  strings?: "unicode" | "bytes";
  /** Deepest container nesting accepted. */
  maxDepth?: number;
  /**
   * The counters of the message being received, shared when one message is unjellied in parts (a
   * PB call's arguments and keyword arguments); a fresh one from `limits` when omitted.
   */
  budget?: MessageBudget;
  /** Per-message limits for a fresh budget (DEFAULT_JELLY_BUDGET when omitted). */
  limits?: Partial<JellyBudgetLimits>;
}

// Longest array made at its final size (V8 gives `new Array(n)` slow dictionary elements for tens of millions).
const PREALLOCATE_MAX = 1 << 20;

const HASHABLE_ERROR = (what: string) => new JellyError(`unhashable type: '${what}'`);

function unhashable(v: unknown): string | null {
  if (typeof v !== "object" || v === null) return null;
  if (Array.isArray(v)) return v instanceof Tuple ? null : "list";
  if (v instanceof Map) return "dict";
  if (v instanceof Set) return v instanceof FrozenSet ? null : "set";
  if (Object.getPrototypeOf(v) === null) return "dict";
  return null;
}

export { MAX_DATE_TEXT } from "./datefields.ts";

/** Turns jelly expressions back into values, under a security policy and a registry (one per deserialization). */
export class Unjellier implements UnjellyContext {
  readonly security: Taster;
  readonly registry: UnjellyableRegistry;
  readonly invoker: unknown;
  readonly mode: "python" | "js";
  private readonly bytesAsText: boolean;
  /** The "bytes" string mode: unicode arrives as PyUnicode (lossless round trip). */
  private readonly unicodeBoxed: boolean;
  private readonly maxDepth: number;
  /** This message's budget: registry handlers charge their walks and the text they make to it. */
  readonly budget: MessageBudget;
  // These four are made on first use: a PB call unjellies two small expressions that seldom need them.
  private refsMap: Map<number, unknown> | null = null;
  private buildingSet: Set<number> | null = null;
  private currentRef = 0;
  private depth = 0;
  private postCallbacks: (() => void)[] | null = null;
  /** In "js" mode, the plain arrays and sets that were tuples and frozensets: still hashable. */
  private jsHashable: WeakSet<object> | null = null;

  constructor(options: UnjellyOptions = {}) {
    this.security = options.security ?? globalSecurity;
    this.registry = options.registry ?? defaultRegistry;
    this.invoker = options.invoker;
    this.mode = options.mode ?? "python";
    this.bytesAsText = options.bytesAsText ?? false;
    this.unicodeBoxed = options.strings === "bytes";
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.budget = options.budget ?? new MessageBudget(options.limits);
  }

  private get references(): Map<number, unknown> {
    return (this.refsMap ??= new Map());
  }

  private get building(): Set<number> {
    return (this.buildingSet ??= new Set());
  }

  /** Unjellies a whole expression and runs the callbacks registered with afterwards(). */
  unjellyFull(sexp: Sexp): unknown {
    const saved = enterBudget(this.budget);
    try {
      const value = this.unjelly(sexp);
      const callbacks = this.postCallbacks;
      if (callbacks !== null) for (const fn of callbacks) fn();
      return value;
    } finally {
      leaveBudget(saved);
    }
  }

  /** Runs `fn` once the whole expression has been unjellied (jelly.py postUnjelly). */
  afterwards(fn: () => void): void {
    (this.postCallbacks ??= []).push(fn);
  }

  /**
   * Called by a handler with the object it is about to fill, before unjellying its contents, so
   * that a [reference, id, ...] around it resolves to this object even from inside (cycles).
   */
  adopt(obj: unknown): void {
    const id = this.currentRef;
    if (id !== 0) {
      this.currentRef = 0;
      this.building.delete(id);
      this.references.set(id, obj);
    }
  }

  /** Deserializes one expression (part of the current deserialization: references resolve across it). */
  unjelly(x: Sexp): unknown {
    return this.value(x, 0);
  }

  /** `refId` is the id of a [reference, id, x] around x, for the container x makes to adopt. */
  private value(x: Sexp, refId: number): unknown {
    const budget = this.budget;
    if (++budget.nodes > budget.maxNodes) budget.tooManyNodes();
    if (!Array.isArray(x)) return this.atom(x as Exclude<Sexp, readonly Sexp[]>);
    const list = x as readonly Sexp[];
    if (list.length === 0) throw new JellyError("empty list where a jelly expression was expected");
    const rawTag = list[0];
    if (typeof rawTag !== "string" && !(rawTag instanceof Uint8Array)) throw new JellyError(`jelly type tag must be a byte string, got ${typeof rawTag}`);
    const tag = tagText(rawTag);
    // Fast paths for the built-in types PB always allows.
    switch (tag) {
      case "unicode":
        if (list.length !== 2) break;
        return this.unicodeBoxed ? new PyUnicode(this.unicode(list[1])) : this.unicode(list[1]);
      case "None":
        return null;
    }
    const handler = this.registry.get(tag);
    if (handler === undefined && !this.security.isTypeAllowed(tag)) throw new UnregisteredCopyTag(tag, tag);
    if (++this.depth > this.maxDepth) throw new JellyError(`jelly nested deeper than ${this.maxDepth} levels`);
    const saved = this.currentRef;
    this.currentRef = refId;
    try {
      if (handler !== undefined) return handler(this, list);
      return this.builtin(tag, list);
    } finally {
      this.depth--;
      this.currentRef = saved;
    }
  }

  private atom(x: Exclude<Sexp, readonly Sexp[]>): unknown {
    if (x instanceof Uint8Array) {
      if (this.mode === "js" && this.bytesAsText) {
        const s = tryDecodeUtf8(x);
        if (s !== null) return s;
      }
      // Byte strings may be views into a large receive buffer: copy small ones off it (short ones into the pool's slab).
      return x.byteLength * 2 < x.buffer.byteLength ? pooledCopy(x, 0, x.byteLength) : x;
    }
    if (typeof x === "string") return this.mode === "js" && this.bytesAsText ? x : asBytes(x); // a vocabulary atom used as data
    if (x instanceof PyFloat && this.mode === "js") return x.value;
    if (typeof x === "boolean") return x ? 1 : 0;
    return x;
  }

  private unicode(raw: Sexp): string {
    if (typeof raw !== "string" && !(raw instanceof Uint8Array)) throw new JellyError("unicode needs a byte string");
    try {
      return decodeUtf8(raw);
    } catch {
      throw new JellyError("'utf-8' codec can't decode the bytes of a unicode value");
    }
  }

  private builtin(tag: string, list: readonly Sexp[]): unknown {
    switch (tag) {
      case "list":
        return this.currentRef === 0 ? this.newArray(list, null) : this.fillArray([], list);
      case "tuple":
        if (this.mode === "js") return this.currentRef === 0 ? this.hashableInJs(this.newArray(list, null)) : this.fillArray(this.hashableInJs([]), list);
        return this.currentRef === 0 ? this.newArray(list, Tuple.prototype) : this.fillArray(new Tuple(), list);
      case "dictionary":
        return this.dictionary(list);
      case "set":
      case "frozenset":
        return this.set(tag, list);
      case "reference":
        return this.reference(list);
      case "dereference":
        return this.dereference(list);
      case "boolean": {
        const v = list[1];
        const s = typeof v === "string" || v instanceof Uint8Array ? tagText(v) : "";
        if (list.length !== 2 || (s !== "true" && s !== "false")) throw new JellyError("boolean must be 'true' or 'false'");
        return s === "true";
      }
      case "datetime": {
        const f = fields(list[1], "datetime");
        arity(f.length, 3, 7, "datetime");
        const dt = new PyDateTime(f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
        return this.mode === "js" ? dt.toDate() : dt;
      }
      case "date": {
        const f = fields(list[1], "date");
        arity(f.length, 3, 3, "date");
        const d = new PyDate(f[0], f[1], f[2]);
        return this.mode === "js" ? new PyDateTime(d.year, d.month, d.day).toDate() : d;
      }
      case "time": {
        const f = fields(list[1], "time");
        arity(f.length, 0, 4, "time");
        return new PyTime(f[0], f[1], f[2], f[3]);
      }
      case "timedelta": {
        const f = fields(list[1], "timedelta");
        arity(f.length, 3, 3, "timedelta");
        return new PyTimeDelta(f[0], f[1], f[2]);
      }
      case "decimal": {
        const [, value, exponent] = list;
        if (list.length !== 3 || !(typeof value === "bigint" || Number.isSafeInteger(value)) || typeof exponent !== "number" || !Number.isSafeInteger(exponent)) {
          throw new JellyError("decimal needs an int coefficient and an int exponent");
        }
        return new PyDecimal(BigInt(value as number | bigint), exponent);
      }
      case "unpersistable": {
        const reason = list[1];
        if (typeof reason !== "string" && !(reason instanceof Uint8Array)) throw new JellyError("unpersistable needs a reason");
        return new Unpersistable(reason, { received: true });
      }
      case "persistent":
        // PB passes no persistent loader, so Twisted answers with this placeholder.
        return new Unpersistable("Persistent callback not found");
      case "class":
      case "function":
      case "module":
        return this.global(tag, list);
      case "instance": {
        // Deprecated form [instance, [class, name], state].
        const cls = this.unjelly(list[1]);
        if (!(cls instanceof PyGlobal) || cls.kind !== "class") throw new JellyError("instance needs a class");
        return this.instance(cls.name, list[2]);
      }
    }
    if (tag.includes(".")) {
      const mod = moduleOf(tag);
      if (!this.security.isModuleAllowed(mod)) throw new UnregisteredCopyTag(tag, `Module ${mod} not allowed (in type ${tag}).`);
      if (!this.security.isClassAllowed(tag)) throw new UnregisteredCopyTag(tag, `Class ${tag} not allowed.`);
      return this.instance(tag, list[1]);
    }
    throw new JellyError(`no unjellier for type ${tag}`);
  }

  private instance(className: string, state: Sexp | undefined): PyInstance {
    const inst = new PyInstance(className, undefined);
    this.adopt(inst);
    inst.state = state === undefined ? null : this.unjelly(state);
    return inst;
  }

  private global(kind: "class" | "function" | "module", list: readonly Sexp[]): PyGlobal {
    const raw = list[1];
    if (typeof raw !== "string" && !(raw instanceof Uint8Array)) throw new InsecureJelly(`Attempted to unjelly a ${kind} with a non-string name.`);
    const name = typeof raw === "string" ? raw : tryDecodeUtf8(raw);
    if (name === null) throw new JellyError(`${kind} name is not valid UTF-8`);
    const mod = kind === "module" ? name : moduleOf(name);
    if (!this.security.isModuleAllowed(mod)) throw new InsecureJelly(`Module ${mod} not allowed`);
    if (kind === "class" && !this.security.isClassAllowed(name)) throw new InsecureJelly(`class not allowed: ${name}`);
    return new PyGlobal(kind, name);
  }

  private fillArray(arr: unknown[], list: readonly Sexp[]): unknown[] {
    this.adopt(arr);
    for (let i = 1; i < list.length; i++) arr.push(this.unjelly(list[i]));
    return arr;
  }

  /**
   * fillArray for an array no reference names, so nothing can see it before it is complete: made
   * at its final size (push reserves 17 slots), and a Tuple gets its prototype once full (an Array
   * subclass is many times slower to push to). The result is the same as fillArray's.
   */
  private newArray(list: readonly Sexp[], proto: object | null): unknown[] {
    const n = list.length - 1;
    let arr: unknown[];
    if (n <= PREALLOCATE_MAX) {
      arr = new Array<unknown>(n);
      for (let i = 0; i < n; i++) arr[i] = this.unjelly(list[i + 1]);
    } else {
      arr = [];
      for (let i = 1; i <= n; i++) arr.push(this.unjelly(list[i]));
    }
    if (proto !== null) Object.setPrototypeOf(arr, proto);
    return arr;
  }

  private pair(entry: Sexp): readonly Sexp[] {
    if (!Array.isArray(entry) || entry.length !== 2) throw new JellyError("dictionary entries must be [key, value] pairs");
    return entry as readonly Sexp[];
  }

  private dictionary(list: readonly Sexp[]): unknown {
    if (this.mode === "js" && this.allTextKeys(list)) {
      const obj: Record<string, unknown> = Object.create(null);
      this.adopt(obj);
      for (let i = 1; i < list.length; i++) {
        const [k, v] = this.pair(list[i]);
        const key = this.unjelly(k) as string;
        obj[key] = this.unjelly(v);
      }
      return obj;
    }
    const map = new ReceivedDict<unknown, unknown>();
    this.adopt(map);
    for (let i = 1; i < list.length; i++) {
      const [k, v] = this.pair(list[i]);
      const key = this.unjelly(k);
      const bad = this.isJsHashable(key) ? null : unhashable(key);
      if (bad) throw HASHABLE_ERROR(bad);
      map.set(this.keepNegativeZero(key), this.unjelly(v));
    }
    return map;
  }

  private allTextKeys(list: readonly Sexp[]): boolean {
    for (let i = 1; i < list.length; i++) {
      const k = this.pair(list[i])[0];
      if (Array.isArray(k)) {
        const t = (k as readonly Sexp[])[0];
        // A unicode key kept as PyUnicode ("bytes" string mode) is not a property name.
        if (this.unicodeBoxed || (typeof t !== "string" && !(t instanceof Uint8Array)) || tagText(t) !== "unicode") return false;
      } else if (!(this.bytesAsText && ((k instanceof Uint8Array && tryDecodeUtf8(k) !== null) || typeof k === "string"))) return false;
    }
    return true;
  }

  private set(tag: "set" | "frozenset", list: readonly Sexp[]): Set<unknown> {
    const s = tag === "frozenset" ? (this.mode === "python" ? new FrozenSet<unknown>() : this.hashableInJs(new ReceivedSet<unknown>())) : new ReceivedSet<unknown>();
    this.adopt(s);
    for (let i = 1; i < list.length; i++) {
      const item = this.unjelly(list[i]);
      const bad = this.isJsHashable(item) ? null : unhashable(item);
      if (bad) throw HASHABLE_ERROR(bad);
      s.add(this.keepNegativeZero(item));
    }
    return s;
  }

  private hashableInJs<T extends object>(x: T): T {
    (this.jsHashable ??= new WeakSet()).add(x);
    return x;
  }

  private isJsHashable(x: unknown): boolean {
    return this.jsHashable !== null && this.jsHashable.has(x as object);
  }

  /** Map and Set turn a -0 key into 0; in "python" mode keep the float as a PyFloat so it goes back as -0.0. */
  private keepNegativeZero(key: unknown): unknown {
    return this.mode === "python" && Object.is(key, -0) ? new PyFloat(-0) : key;
  }

  private refId(raw: Sexp | undefined): number {
    if (typeof raw !== "number" || !Number.isSafeInteger(raw)) throw new JellyError("reference ids must be ints");
    return raw;
  }

  private reference(list: readonly Sexp[]): unknown {
    if (list.length !== 3) throw new JellyError("reference needs an id and a value");
    const id = this.refId(list[1]);
    if (this.references.has(id) || this.building.has(id) || id === 0) throw new JellyError(`Multiple references with same ID! (${id})`);
    this.budget.reference();
    this.building.add(id);
    const value = this.value(list[2], id);
    // The inner value was not a container that adopted itself (e.g. text): bind it now.
    if (this.building.delete(id)) this.references.set(id, value);
    return value;
  }

  private dereference(list: readonly Sexp[]): unknown {
    const id = this.refId(list[1]);
    if (this.references.has(id)) return this.references.get(id);
    if (this.building.has(id)) throw new JellyError(`dereference ${id} to a value that is still being built`);
    throw new JellyError(`dereference to unknown id ${id}`);
  }
}

/**
 * Unjellies one expression (one reference scope). Byte strings come back as Uint8Array: a view
 * of the expression's bytes when it fills most of them, else a copy; copies of at most 1 KiB are
 * views of a shared 8 KiB slab (banana.setBytePool), so a kept one keeps at most that slab alive.
 */
export function unjelly(sexp: Sexp, options?: UnjellyOptions): unknown {
  return new Unjellier(options).unjellyFull(sexp);
}
