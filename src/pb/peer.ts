// Which Python the peer runs, per connection. Twisted on Python 2 (16.6 to 20.3) sends its native
// str as a plain byte string and names exceptions `exceptions.X`; Twisted on Python 3 sends str as
// ["unicode", ...] and names them `builtins.X`. One server may serve both at once, so the broker
// keeps one PeerDialect per connection: fixed by the user, or followed from what the peer sends.
import { byteString, type Sexp } from "../banana/values.ts";

/** The major version of the peer's Python. */
export type PythonMajor = 2 | 3;

/**
 * How JS strings go out and what Python the peer is taken to run:
 * - "unicode": a Python 3 peer (JS strings as `["unicode", ...]`, failures named `builtins.X`);
 * - "bytes": a Python 2 peer (JS strings as byte strings, received unicode kept as PyUnicode,
 *   failures named `exceptions.X` and worded as Python 2 words them);
 * - "auto" (default): "unicode" until the peer shows which Python it runs (the keys of keyword
 *   arguments, of Copyable/Cacheable/failure state, a failure's type name), then that one.
 */
export type StringsOption = "unicode" | "bytes" | "auto";

// Jelly's own tags: a list headed by one of these is a value, not an instance's [class, state].
const VALUE_TAGS = new Set([
  "list", "tuple", "dictionary", "set", "frozenset", "reference", "dereference", "unicode", "boolean", "None",
  "datetime", "date", "time", "timedelta", "decimal", "class", "function", "module", "instance", "persistent",
  "unpersistable", "remote", "local", "cached", "lcache", "copy", "copy_reg",
]);

// PB commands whose payload may show the peer's Python, and where that payload starts.
const PAYLOAD_START: Record<string, number> = { message: 5, cachemessage: 5, answer: 2, error: 2 };

/** Most expressions looked into before giving up on a message (work stays bounded by its size anyway). */
const SCAN_LIMIT = 10_000;

function tagOf(x: Sexp): string | null {
  if (typeof x === "string") return x;
  if (x instanceof Uint8Array) return x.byteLength <= 64 ? byteString(x) : null;
  return null;
}

/** The Python a dictionary's first key shows: a byte-string key is Python 2's str, a unicode key Python 3's. */
function keyEvidence(dict: readonly Sexp[]): PythonMajor | null {
  const first = dict[1];
  if (!Array.isArray(first) || first.length !== 2) return null;
  const key = (first as readonly Sexp[])[0];
  if (typeof key === "string" || key instanceof Uint8Array) return 2;
  if (Array.isArray(key) && tagOf((key as readonly Sexp[])[0]) === "unicode") return 3;
  return null;
}

function isDictionary(x: Sexp): x is readonly Sexp[] {
  return Array.isArray(x) && x.length > 1 && tagOf((x as readonly Sexp[])[0]) === "dictionary";
}

/** A failure's type name: `exceptions.*` and `__builtin__.*` exist on Python 2 only, `builtins.*` on Python 3 only. */
function typeNameEvidence(state: readonly Sexp[]): PythonMajor | null {
  for (let i = 1; i < state.length; i++) {
    const pair = state[i];
    if (!Array.isArray(pair) || pair.length !== 2) continue;
    const [k, v] = pair as readonly Sexp[];
    const key = Array.isArray(k) ? tagOf((k as readonly Sexp[])[1] ?? "") : tagOf(k);
    if (key !== "type") continue;
    const name = tagOf(Array.isArray(v) ? ((v as readonly Sexp[])[1] ?? "") : v);
    if (name === null) return null;
    if (name.startsWith("exceptions.") || name.startsWith("__builtin__.")) return 2;
    if (name.startsWith("builtins.")) return 3;
    return null;
  }
  return null;
}

/**
 * What one received PB expression shows of the peer's Python, or null when it shows nothing:
 * keyword-argument keys and instance state keys are attribute names, so Python's native str.
 */
export function pythonShownBy(sexp: Sexp): PythonMajor | null {
  if (!Array.isArray(sexp)) return null;
  const msg = sexp as readonly Sexp[];
  const command = tagOf(msg[0]);
  const start = command === null ? undefined : PAYLOAD_START[command];
  if (start === undefined) return null;
  if (command === "message" || command === "cachemessage") {
    const kw = msg[6];
    if (kw !== undefined && isDictionary(kw)) {
      const shown = keyEvidence(kw);
      if (shown !== null) return shown;
    }
  }
  // Instances in the payload: [class name, state dict] (Copyable, CopyableFailure), [name, luid, state] (Cacheable).
  // A payload of no expression lists (plain values, already unjellied) shows nothing: no stack is made.
  let lists = false;
  for (let i = start; i < msg.length && !lists; i++) lists = Array.isArray(msg[i]);
  if (!lists) return null;
  const stack: Sexp[] = [];
  for (let i = msg.length - 1; i >= start; i--) stack.push(msg[i]);
  let seen = 0;
  while (stack.length > 0 && seen++ < SCAN_LIMIT) {
    const x = stack.pop()!;
    if (!Array.isArray(x) || x.length === 0) continue;
    const list = x as readonly Sexp[];
    const tag = tagOf(list[0]);
    if (tag !== null && !VALUE_TAGS.has(tag) && (list.length === 2 || list.length === 3)) {
      const state = list[list.length - 1];
      if (isDictionary(state)) {
        const shown = (tag === "twisted.spread.pb.CopyableFailure" ? typeNameEvidence(state) : null) ?? keyEvidence(state);
        if (shown !== null) return shown;
      }
    }
    if (tag === "dictionary") {
      // Its items are [key, value] pairs, not expressions: look into the keys and values.
      for (let i = list.length - 1; i >= 1; i--) {
        const pair = list[i];
        if (Array.isArray(pair)) for (const x of pair as readonly Sexp[]) if (Array.isArray(x)) stack.push(x);
      }
    } else for (let i = list.length - 1; i >= 1; i--) if (Array.isArray(list[i])) stack.push(list[i]);
  }
  return null;
}

/** The peer's Python on one connection: fixed by the user, or followed from what the peer sends. */
export class PeerDialect {
  private fixed: PythonMajor | null;
  private shown: PythonMajor | null = null;

  constructor(option: StringsOption = "auto") {
    this.fixed = option === "bytes" ? 2 : option === "unicode" ? 3 : null;
  }

  /** The peer's Python as far as known now (3 until an "auto" peer shows otherwise). */
  get python(): PythonMajor {
    return this.fixed ?? this.shown ?? 3;
  }

  /** Whether the Python is settled: fixed by the user, or shown by the peer. */
  get settled(): boolean {
    return this.fixed !== null || this.shown !== null;
  }

  /** "fixed" (by the option or assume()), "shown" (by the peer) or "assumed" (3, nothing seen yet). */
  get source(): "fixed" | "shown" | "assumed" {
    return this.fixed !== null ? "fixed" : this.shown !== null ? "shown" : "assumed";
  }

  /** The string mode values to this peer are jellied (and its values unjellied) in. */
  get strings(): "unicode" | "bytes" {
    return this.python === 2 ? "bytes" : "unicode";
  }

  /**
   * Fixes the peer's Python for the rest of the connection, e.g. once a login says who the peer
   * is; what the peer sends is no longer looked at.
   */
  assume(python: PythonMajor): void {
    this.fixed = python;
  }

  /** Looks at a received expression until the peer has shown its Python; the first evidence settles it. */
  observe(sexp: Sexp): void {
    if (this.settled) return;
    this.shown = pythonShownBy(sexp);
  }
}

/** A TypeError of ours that a Python 2 peer is told in Python 2's words (a different arity message). */
export function withPython2Text<E extends Error>(error: E, text: string): E {
  Object.defineProperty(error, "python2Text", { value: text, enumerable: false, configurable: true });
  return error;
}

/** The text to send a Python 2 peer for `error`, when it differs from its message. */
export function python2TextOf(error: unknown): string | undefined {
  const t = typeof error === "object" && error !== null ? (error as { python2Text?: unknown }).python2Text : undefined;
  return typeof t === "string" ? t : undefined;
}

/**
 * Python 2's arity message for a method of `min`..`max` parameters besides self (max Infinity with
 * *args) called with `given` arguments, self and keyword arguments counted.
 */
export function python2ArityText(label: string, min: number, max: number, given: number): string {
  const fixed = min === max;
  const tooFew = given - 1 < min;
  const n = (fixed || tooFew ? min : max) + 1;
  const kind = fixed ? "exactly" : tooFew ? "at least" : "at most";
  return `${label}() takes ${kind} ${n} argument${n === 1 ? "" : "s"} (${given} given)`;
}
