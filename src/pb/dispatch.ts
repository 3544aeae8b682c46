// Calling a local method on behalf of the peer. Only names with one of PB's prefixes (remote_,
// perspective_, view_, observe_) are ever looked up, and only functions are called.
import { Kwargs } from "./kwargs.ts";
import { python2ArityText as py2Arity, withPython2Text as py2 } from "./peer.ts";

/** Python's AttributeError, as Avatar/ViewPoint/RemoteCache raise it for a missing method. */
export class AttributeError extends Error {
  static pythonType = "builtins.AttributeError";
  override name = "AttributeError";
}

export type MethodPrefix = "remote_" | "perspective_" | "view_" | "observe_";

type Callable = (...args: unknown[]) => unknown;

export function findMethod(target: object, prefix: MethodPrefix, name: string): Callable | undefined {
  const key = prefix + name;
  const fn = (target as Record<string, unknown>)[key];
  if (typeof fn !== "function") return undefined;
  if (fn === (Object.prototype as unknown as Record<string, unknown>)[key]) return undefined;
  return fn as Callable;
}

/** What the peer's arguments can be matched against: counts, and names where they can be read. */
interface Signature {
  min: number;
  /** Infinity with a rest parameter, or when the list could not be read. */
  max: number;
  /** Simple parameter names in order (null for destructured ones), or null when unreadable. */
  names: (string | null)[] | null;
}

const signatures = new WeakMap<Callable, Signature>();

/** Splits a function's source parameter list at top-level commas (strings, comments and nesting skipped). */
function parameterList(fn: Callable): string[] | null {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    return null;
  }
  const open = src.indexOf("(");
  if (open < 0) return null;
  const params: string[] = [];
  let depth = 0;
  let start = open + 1;
  let quote = "";
  for (let i = open + 1; i < src.length; i++) {
    const c = src[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
      continue;
    }
    if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) return null;
      i = end + 1;
    } else if (c === "/" && src[i + 1] === "/") {
      const end = src.indexOf("\n", i);
      if (end < 0) return null;
      i = end;
    } else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      if (depth === 0) {
        const last = src.slice(start, i).trim();
        if (last) params.push(last);
        return params;
      }
      depth--;
    } else if (c === "," && depth === 0) {
      params.push(src.slice(start, i).trim());
      start = i + 1;
    }
  }
  return null;
}

function signatureOf(fn: Callable): Signature {
  let sig = signatures.get(fn);
  if (sig) return sig;
  const params = parameterList(fn);
  if (params === null || params.some((p) => p.startsWith("..."))) {
    sig = { min: fn.length, max: Infinity, names: params && params.filter((p) => !p.startsWith("...")).map(paramName) };
  } else {
    sig = { min: fn.length, max: Math.max(params.length, fn.length), names: params.map(paramName) };
  }
  signatures.set(fn, sig);
  return sig;
}

function paramName(p: string): string | null {
  const m = /^([A-Za-z_$][\w$]*)\s*(?:[=:?]|$)/.exec(p.replace(/\/\*[\s\S]*?\*\//g, "").trim());
  return m ? m[1] : null;
}

/** Python's "'a', 'b', and 'c'". */
function quoteList(names: string[]): string {
  const q = names.map((n) => `'${n}'`);
  if (q.length <= 2) return q.join(" and ");
  return `${q.slice(0, -1).join(", ")}, and ${q[q.length - 1]}`;
}

/** The Python-style qualified name: the class that defines the method, then its name. */
function qualifiedLabel(target: object, fn: Callable, label: string): string {
  for (let o: object | null = target; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, label);
    if (d && d.value === fn) {
      const owner = o === target ? target.constructor : (o as { constructor?: { name?: string } }).constructor;
      return owner?.name ? `${owner.name}.${label}` : label;
    }
  }
  return label;
}

/**
 * Calls `fn` as Python would call the method: positional arguments in order, keyword arguments
 * placed on the parameters they name, and any others passed as a trailing Kwargs when the method
 * has room for it (a rest parameter or a parameter left over). Too few or too many arguments
 * raise Python's TypeError (sent as builtins.TypeError), worded as Python words it, counting
 * self as Python does.
 */
export function invoke(target: object, fn: Callable, label: string, args: unknown[], kw: Kwargs | null): unknown {
  const { min, max, names } = signatureOf(fn);
  const call = args.slice();
  const given = 1 + args.length + (kw ? kw.size : 0); // Python 2's count in its arity messages
  if (kw && kw.size > 0) {
    let extra: Record<string, unknown> | null = null;
    let filled = call.length;
    for (const key of kw.keys()) {
      const at = names ? names.indexOf(key) : -1;
      if (at >= 0 && at < (max === Infinity ? names!.length : max)) {
        if (at < args.length) throw py2(new TypeError(`${qualifiedLabel(target, fn, label)}() got multiple values for argument '${key}'`), `${label}() got multiple values for keyword argument '${key}'`);
        call[at] = kw.get(key);
        filled = Math.max(filled, at + 1);
      } else (extra ??= {})[key] = kw.get(key);
    }
    for (let i = args.length; i < filled; i++) {
      if (!(i in call)) {
        if (i < min) throw py2(new TypeError(`${qualifiedLabel(target, fn, label)}() missing 1 required positional argument: '${names?.[i] ?? `#${i}`}'`), py2Arity(label, min, max, given));
        call[i] = undefined;
      }
    }
    if (extra) {
      if (filled >= max) throw py2(new TypeError(`${qualifiedLabel(target, fn, label)}() got an unexpected keyword argument '${Object.keys(extra)[0]}'`), `${label}() got an unexpected keyword argument '${Object.keys(extra)[0]}'`);
      call.length = filled;
      call.push(new Kwargs(extra));
    }
  }
  if (call.length < min) {
    const missing = (names ?? []).slice(call.length, min).filter((n): n is string => !!n);
    const n = min - call.length;
    const which = missing.length === n ? `: ${quoteList(missing)}` : "";
    throw py2(new TypeError(`${qualifiedLabel(target, fn, label)}() missing ${n} required positional argument${n === 1 ? "" : "s"}${which}`), py2Arity(label, min, max, given));
  }
  if (call.length > max) {
    const takes = min === max ? `${max + 1} positional argument${max + 1 === 1 ? "" : "s"}` : `from ${min + 1} to ${max + 1} positional arguments`;
    throw py2(new TypeError(`${qualifiedLabel(target, fn, label)}() takes ${takes} but ${call.length + 1} were given`), py2Arity(label, min, max, given));
  }
  return fn.apply(target, call);
}
