// Failures both ways: an error thrown in TypeScript goes out as Twisted's CopyableFailure (the key
// set and order of Twisted 22.4), and a CopyableFailure from any Twisted version comes in as a
// CopiedFailure that can be checked and trapped by Twisted's qualified names.
import { byteString } from "../banana/values.ts";
import { decodeUtf8 } from "../jelly/text.ts";
import { jellyFor, type Jellier } from "../jelly/jelly.ts";
import type { Sexp } from "../banana/values.ts";
import { COPYABLE_FAILURE_TAG } from "./constants.ts";

const TAIL = ["builtins.Exception", "builtins.BaseException", "builtins.object"];

/** JS built-in errors and the Python exceptions that mean the same. */
const BUILTIN_TWINS: Record<string, string> = {
  Error: "builtins.Exception",
  TypeError: "builtins.TypeError",
  RangeError: "builtins.ValueError",
  SyntaxError: "builtins.SyntaxError",
  ReferenceError: "builtins.NameError",
  URIError: "builtins.ValueError",
  EvalError: "builtins.Exception",
  AggregateError: "builtins.Exception",
};

interface PythonNamed {
  pythonType?: string;
  pythonParents?: readonly string[];
}

/**
 * The qualified Python name and MRO a Twisted peer sees for a JS error. A class names itself with
 * a static `pythonType` (and optionally `pythonParents`); a class without one is
 * `__main__.<ClassName>`, as a class defined in a Twisted server script would be.
 */
export function pythonTypeOf(err: unknown): { type: string; parents: string[] } {
  if (err instanceof CopiedFailure) return { type: err.type, parents: [...err.parents] };
  const parents: string[] = [];
  let ctor: (Function & PythonNamed) | null = err instanceof Error ? (err.constructor as Function & PythonNamed) : null;
  while (ctor && ctor !== Object && ctor !== Function.prototype) {
    const own = Object.prototype.hasOwnProperty.call(ctor, "pythonType") ? ctor.pythonType : undefined;
    const ownParents = Object.prototype.hasOwnProperty.call(ctor, "pythonParents") ? ctor.pythonParents : undefined;
    if (ownParents) parents.push(...ownParents);
    else if (own) parents.push(own);
    else if (Object.prototype.hasOwnProperty.call(BUILTIN_TWINS, ctor.name)) parents.push(BUILTIN_TWINS[ctor.name]);
    else if (ctor.name) parents.push(`__main__.${ctor.name}`);
    ctor = Object.getPrototypeOf(ctor) as (Function & PythonNamed) | null;
  }
  for (const t of TAIL) parents.push(t);
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

function errorText(err: unknown): string {
  if (err instanceof CopiedFailure) return err.value;
  if (err instanceof Error) return err.message;
  return String(err);
}

function tracebackText(err: unknown): string {
  if (err instanceof CopiedFailure) return err.traceback;
  const stack = err instanceof Error && err.stack ? err.stack : String(err);
  return `Traceback (most recent call last):\n${stack}\n`;
}

/** The state dict of a CopyableFailure, keys in Twisted 22.4's order. */
export function copyableFailureState(err: unknown, options: FailureOptions = {}): Map<string, unknown> {
  const { type, parents } = pythonTypeOf(err);
  failureCount += 2;
  const state = new Map<string, unknown>([
    ["count", failureCount],
    ["type", new TextEncoder().encode(type)],
    ["value", errorText(err)],
    ["captureVars", false],
    ["frames", []],
    ["stack", []],
    ["tb", null],
    ["parents", parents],
  ]);
  if (options.deferred) state.set("pickled", 1);
  state.set("unsafeTracebacks", !!options.unsafeTracebacks);
  state.set("traceback", options.unsafeTracebacks ? tracebackText(err) : "Traceback unavailable\n");
  return state;
}

/** A failure to send: jellies as [twisted.spread.pb.CopyableFailure, state]. */
export class CopyableFailure {
  readonly state: Map<string, unknown>;
  constructor(
    readonly error: unknown,
    options: FailureOptions = {},
  ) {
    this.state = copyableFailureState(error, options);
  }
  /** Serializes the failure as Twisted's CopyableFailure state. */
  [jellyFor](jellier: Jellier): Sexp {
    const sxp = jellier.prepare(this);
    sxp.push(COPYABLE_FAILURE_TAG, jellier.jelly(this.state));
    return jellier.preserve(this, sxp);
  }
}

function text(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return decodeUtf8Lenient(v);
  if (v === null || v === undefined) return "";
  return String(v);
}

function decodeUtf8Lenient(b: Uint8Array): string {
  try {
    return decodeUtf8(b);
  } catch {
    return byteString(b);
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
  /** str() of the remote exception. */
  value = "";
  traceback = "";
  /** The remote exception's MRO as qualified names, the class itself first. */
  parents: string[] = [];
  /** Every key of the state as sent (byte-string keys of Python 2 peers as text). */
  state = new Map<string, unknown>();

  /** Builds a failure from the state a peer sent. */
  static fromState(raw: unknown): CopiedFailure {
    const f = new CopiedFailure();
    const entries: [unknown, unknown][] = raw instanceof Map ? [...raw] : raw && typeof raw === "object" ? Object.entries(raw) : [];
    for (const [k, v] of entries) f.state.set(text(k), v);
    f.type = text(f.state.get("type"));
    f.value = text(f.state.get("value"));
    f.traceback = text(f.state.get("traceback"));
    const parents = f.state.get("parents");
    f.parents = Array.isArray(parents) ? parents.map(text) : f.type ? [f.type] : [];
    f.message = f.value;
    f.stack = `${f.type}: ${f.value}\n${f.traceback}`;
    return f;
  }

  /** The first of `types` (qualified names or error classes) that the remote exception is an instance of, or null. */
  check(...types: ErrorClassLike[]): string | null {
    for (const t of types) {
      const q = qualifiedName(t);
      if (this.parents.includes(q) || this.type === q) return q;
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
