// Failures both ways: an error thrown in TypeScript goes out as Twisted's CopyableFailure (the key
// set and order of Twisted 22.4), and a CopyableFailure from any Twisted version comes in as a
// CopiedFailure that can be checked and trapped by Twisted's qualified names.
import { activeBudget, type MessageBudget } from "../jelly/budget.ts";
import { valueText } from "../jelly/describe.ts";
import { jellyFor, type Jellier } from "../jelly/jelly.ts";
import type { Sexp } from "../banana/values.ts";
import { COPYABLE_FAILURE_TAG } from "./constants.ts";
import { python2TextOf, type PythonMajor } from "./peer.ts";

/**
 * Python's built-in exceptions the library raises or maps JS errors to, each with its base class
 * (Python 3's tree). On Python 2 the ones marked `standard` sit under StandardError as well.
 */
const BUILTIN_BASES: Record<string, { base: string; standard?: boolean }> = {
  BaseException: { base: "object" },
  Exception: { base: "BaseException" },
  StopIteration: { base: "Exception" },
  Warning: { base: "Exception" },
  ArithmeticError: { base: "Exception", standard: true },
  AssertionError: { base: "Exception", standard: true },
  AttributeError: { base: "Exception", standard: true },
  EOFError: { base: "Exception", standard: true },
  ImportError: { base: "Exception", standard: true },
  LookupError: { base: "Exception", standard: true },
  MemoryError: { base: "Exception", standard: true },
  NameError: { base: "Exception", standard: true },
  RuntimeError: { base: "Exception", standard: true },
  SyntaxError: { base: "Exception", standard: true },
  SystemError: { base: "Exception", standard: true },
  TypeError: { base: "Exception", standard: true },
  ValueError: { base: "Exception", standard: true },
  KeyError: { base: "LookupError" },
  IndexError: { base: "LookupError" },
  ZeroDivisionError: { base: "ArithmeticError" },
  OverflowError: { base: "ArithmeticError" },
  NotImplementedError: { base: "RuntimeError" },
  UnicodeError: { base: "ValueError" },
};

/** The qualified name of a built-in on the peer's Python: `builtins.X` (3), `exceptions.X` (2). */
function builtinName(name: string, python: PythonMajor): string {
  if (python === 3) return `builtins.${name}`;
  return name === "object" ? "__builtin__.object" : `exceptions.${name}`;
}

/** A built-in exception's MRO as `python` names it, the class first, ending with object. */
export function builtinExceptionMro(name: string, python: PythonMajor = 3): string[] {
  const mro: string[] = [];
  let at: string | undefined = name;
  while (at !== undefined) {
    mro.push(builtinName(at, python));
    const entry: { base: string; standard?: boolean } | undefined = BUILTIN_BASES[at];
    if (entry === undefined) break;
    if (python === 2 && entry.standard) mro.push("exceptions.StandardError");
    at = entry.base;
  }
  return mro;
}

/** "builtins.X" or "exceptions.X" naming a built-in exception this module knows: X. */
function builtinOf(qualified: string): string | null {
  const dot = qualified.indexOf(".");
  const module = qualified.slice(0, dot);
  if (module !== "builtins" && module !== "exceptions") return null;
  const name = qualified.slice(dot + 1);
  return Object.prototype.hasOwnProperty.call(BUILTIN_BASES, name) ? name : null;
}

/** Twisted's own exceptions that the library sends: their MRO with the built-in base named per Python. */
const TWISTED_MRO: Record<string, { own: string[]; base: string }> = {
  "twisted.spread.flavors.NoSuchMethod": { own: ["twisted.spread.flavors.NoSuchMethod"], base: "AttributeError" },
  "twisted.cred.error.UnauthorizedLogin": {
    own: ["twisted.cred.error.UnauthorizedLogin", "twisted.cred.error.LoginFailed", "twisted.cred.error.Unauthorized"],
    base: "Exception",
  },
};

/** JS built-in errors and the Python exceptions that mean the same. */
const BUILTIN_TWINS: Record<string, string> = {
  Error: "Exception",
  TypeError: "TypeError",
  RangeError: "ValueError",
  SyntaxError: "SyntaxError",
  ReferenceError: "NameError",
  URIError: "ValueError",
  EvalError: "Exception",
  AggregateError: "Exception",
};

interface PythonNamed {
  pythonType?: string;
  pythonParents?: readonly string[];
}

const own = <K extends keyof PythonNamed>(ctor: Function & PythonNamed, key: K): PythonNamed[K] =>
  Object.prototype.hasOwnProperty.call(ctor, key) ? ctor[key] : undefined;

/**
 * The qualified Python name and MRO a Twisted peer on `python` sees for a JS error. A class names
 * itself with a static `pythonType`, and may declare its whole MRO with `pythonParents`, which is
 * then sent exactly as declared; a class without a name is `__main__.<ClassName>`, as a class
 * defined in a Twisted server script would be. Built-in exceptions (`builtins.X`, JS's own error
 * classes) and Twisted's own are named as that Python names them.
 */
export function pythonTypeOf(err: unknown, python: PythonMajor = 3): { type: string; parents: string[] } {
  if (err instanceof CopiedFailure) return { type: err.type, parents: [...err.parents] };
  const parents: string[] = [];
  let ctor: (Function & PythonNamed) | null = err instanceof Error ? (err.constructor as Function & PythonNamed) : null;
  let complete = false;
  while (ctor && ctor !== Object && ctor !== Function.prototype && !complete) {
    const type = own(ctor, "pythonType");
    const declared = own(ctor, "pythonParents");
    const twisted = type !== undefined && Object.prototype.hasOwnProperty.call(TWISTED_MRO, type) ? TWISTED_MRO[type] : undefined;
    const builtin = type !== undefined ? builtinOf(type) : Object.prototype.hasOwnProperty.call(BUILTIN_TWINS, ctor.name) ? BUILTIN_TWINS[ctor.name] : null;
    if (twisted) {
      parents.push(...twisted.own, ...builtinExceptionMro(twisted.base, python));
      complete = true;
    } else if (declared) {
      parents.push(...declared);
      complete = true;
    } else if (builtin !== null) {
      parents.push(...builtinExceptionMro(builtin, python));
      complete = true;
    } else if (type) parents.push(type);
    else if (ctor.name) parents.push(`__main__.${ctor.name}`);
    ctor = Object.getPrototypeOf(ctor) as (Function & PythonNamed) | null;
  }
  if (!complete) parents.push(...builtinExceptionMro("Exception", python));
  const unique = [...new Set(parents)];
  return { type: unique[0], parents: unique };
}

// Twisted's Failure.count is process-global and meaningless to the peer; a fresh Twisted 22.4
// process sends 5, 7, 9... (two Failures per remote error), and so do we.
let failureCount = 3;

/** How an exception is sent as a CopyableFailure. */
export interface FailureOptions {
  /** Send the JS stack as the traceback (Twisted's unsafeTracebacks); "Traceback unavailable\n" otherwise. */
  unsafeTracebacks?: boolean;
  /**
   * True when the error came from a promise that rejected in the event-loop turn that delivered the
   * call (Twisted: a Deferred already failed when returned, whose Failure was cleaned): pickled=1.
   */
  deferred?: boolean;
}

/** Python 2's words for the library's own errors (AttributeError of an old-style class, arity). */
function python2Text(err: unknown, type: string, message: string): string {
  const py2 = python2TextOf(err);
  if (py2 !== undefined) return py2;
  if (type === "exceptions.AttributeError") {
    // pb.Avatar, Referenceable, ViewPoint and RemoteCache are old-style classes on Python 2.
    const m = /^'([^']*)' object has no attribute '([^']*)'$/.exec(message);
    if (m) return `${m[1]} instance has no attribute '${m[2]}'`;
  }
  return message;
}

function errorText(err: unknown, type: string, python: PythonMajor): string {
  if (err instanceof CopiedFailure) return err.value;
  const message = err instanceof Error ? err.message : String(err);
  return python === 2 ? python2Text(err, type, message) : message;
}

function tracebackText(err: unknown): string {
  if (err instanceof CopiedFailure) return err.traceback;
  const stack = err instanceof Error && err.stack ? err.stack : String(err);
  return `Traceback (most recent call last):\n${stack}\n`;
}

/** Options of a failure's state as sent to one peer: its Python decides names, wording and key order. */
export interface FailureStateOptions extends FailureOptions {
  /** The peer's Python: names, wording and key order follow it (3 by default). */
  python?: PythonMajor;
  /** Failure.count to send (the next of the process-wide sequence when omitted). */
  count?: number;
}

function nextCount(): number {
  failureCount += 2;
  return failureCount;
}

/**
 * The state dict of a CopyableFailure for a peer on `options.python`: keys in the order of
 * Twisted 22.4 (Python 3) or of Twisted 16.6-20.3 (Python 2, as recorded in fixtures/versions).
 */
export function copyableFailureState(err: unknown, options: FailureStateOptions = {}): Map<string, unknown> {
  const python = options.python ?? 3;
  const { type, parents } = pythonTypeOf(err, python);
  const fields: Record<string, unknown> = {
    count: options.count ?? nextCount(),
    type: new TextEncoder().encode(type),
    value: errorText(err, type, python),
    captureVars: false,
    frames: [],
    stack: [],
    tb: null,
    parents,
    unsafeTracebacks: !!options.unsafeTracebacks,
    traceback: options.unsafeTracebacks ? tracebackText(err) : "Traceback unavailable\n",
  };
  const order =
    python === 2
      ? ["count", "captureVars", "type", "traceback", "pickled", "value", "unsafeTracebacks", "parents", "frames", "tb", "stack"]
      : ["count", "type", "value", "captureVars", "frames", "stack", "tb", "parents", "pickled", "unsafeTracebacks", "traceback"];
  const state = new Map<string, unknown>();
  for (const key of order) {
    if (key === "pickled") {
      if (options.deferred) state.set("pickled", 1);
    } else state.set(key, fields[key]);
  }
  return state;
}

/**
 * A failure to send: jellies as [twisted.spread.pb.CopyableFailure, state], its state made for the
 * Python the jellier's string mode stands for ("bytes": Python 2, else Python 3).
 */
export class CopyableFailure {
  private readonly options: FailureOptions;
  private readonly count: number;
  constructor(
    readonly error: unknown,
    options: FailureOptions = {},
  ) {
    this.options = options;
    this.count = nextCount();
  }
  /** The state as sent to a Python 3 peer. */
  get state(): Map<string, unknown> {
    return this.stateFor(3);
  }
  /** The state as sent to a peer on `python`. */
  stateFor(python: PythonMajor): Map<string, unknown> {
    return copyableFailureState(this.error, { ...this.options, python, count: this.count });
  }
  /** Serializes the failure as Twisted's CopyableFailure state. */
  [jellyFor](jellier: Jellier): Sexp {
    const sxp = jellier.prepare(this);
    sxp.push(COPYABLE_FAILURE_TAG, jellier.jelly(this.stateFor(jellier.strings === "bytes" ? 2 : 3)));
    return jellier.preserve(this, sxp);
  }
}

/** A qualified Python name, or an error class (its static pythonType, or the name it is sent under). */
export type ErrorClassLike = string | { readonly prototype: object; readonly pythonType?: string };

function qualifiedName(t: ErrorClassLike): string {
  if (typeof t === "string") return t;
  if (Object.prototype.hasOwnProperty.call(t, "pythonType") && t.pythonType) return t.pythonType;
  return pythonTypeOf(Object.create(t.prototype)).type;
}

/**
 * A failure received from the peer (Twisted's CopiedFailure). Its `type` and `parents` are the
 * qualified Python names, whatever Twisted version or Python sent them.
 */
export class CopiedFailure extends Error {
  override name = "CopiedFailure";
  /** Qualified name of the remote exception class, e.g. "builtins.ValueError". */
  type = "";
  /**
   * The type name exactly as it came: a byte string (Uint8Array) from every Twisted version, or a
   * string if the peer sent it as unicode.
   */
  typeRaw: Uint8Array | string = "";
  /** The peer's Python as its failure shows it (`exceptions.*` names: 2), or null when it does not say. */
  python: PythonMajor | null = null;
  /** str() of the remote exception. */
  value = "";
  traceback = "";
  /** The remote exception's MRO as qualified names, the class itself first. */
  parents: string[] = [];
  /** Every key of the state as sent (byte-string keys of Python 2 peers as text). */
  state = new Map<string, unknown>();

  /**
   * From the received state. Fields that are not text (a hostile peer's `type` can be a list
   * whose shared references expand to 2**30 items) are rendered once per object and cut to
   * the text `allowance` of the message (see valueText; by default the budget of the message being
   * unjellied).
   */
  static fromState(raw: unknown, allowance?: number | MessageBudget): CopiedFailure {
    const f = new CopiedFailure();
    const text = (v: unknown): string => valueText(v, allowance);
    const entries: [unknown, unknown][] = raw instanceof Map ? [...raw] : raw && typeof raw === "object" ? Object.entries(raw) : [];
    // Many failures can share one state: copying it is paid for from the message's node budget.
    const budget = typeof allowance === "object" ? allowance : allowance === undefined ? activeBudget() : null;
    budget?.charge(entries.length);
    for (const [k, v] of entries) f.state.set(text(k), v);
    const rawType = f.state.get("type");
    // Rendered once: the text is paid for from the message's budget.
    f.type = text(rawType);
    f.typeRaw = rawType instanceof Uint8Array ? rawType : f.type;
    f.value = text(f.state.get("value"));
    f.traceback = text(f.state.get("traceback"));
    const parents = f.state.get("parents");
    if (Array.isArray(parents)) budget?.charge(parents.length);
    f.parents = Array.isArray(parents) ? parents.map(text) : f.type ? [f.type] : [];
    f.python = f.parents.some((p) => p.startsWith("exceptions.") || p === "__builtin__.object") ? 2 : f.parents.some((p) => p.startsWith("builtins.")) ? 3 : null;
    f.message = f.value;
    f.stack = `${f.type}: ${f.value}\n${f.traceback}`;
    return f;
  }

  /** The first of `types` (qualified names or error classes) that the remote exception is an instance of, or null. */
  check(...types: ErrorClassLike[]): string | null {
    for (const t of types) {
      const q = qualifiedName(t);
      if (this.parents.includes(q) || this.type === q) return q;
      // A built-in is the same class whichever Python named it: builtins.X (3) is exceptions.X (2).
      const builtin = builtinOf(q);
      if (builtin !== null) {
        const other = builtinName(builtin, q.startsWith("builtins.") ? 2 : 3);
        if (this.parents.includes(other) || this.type === other) return q;
      }
    }
    return null;
  }

  /** Like check(), but rethrows this failure when nothing matches. */
  trap(...types: ErrorClassLike[]): string {
    const found = this.check(...types);
    if (found === null) throw this;
    return found;
  }

  override toString(): string {
    return `[Failure instance: Traceback from remote host -- ${this.type}: ${this.value}]`;
  }
}
