// Calling a local method on behalf of the peer. Only names with one of PB's prefixes (remote_,
// perspective_, view_, observe_) are ever looked up, and only functions are called.
import { Kwargs } from "./kwargs.ts";

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

interface Arity {
  min: number;
  max: number;
}

const arityCache = new WeakMap<Callable, Arity>();

/** Counts the top-level commas of a parameter list; Infinity when it has a rest parameter or cannot be read. */
function maxParams(fn: Callable): number {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    return Infinity;
  }
  const open = src.indexOf("(");
  if (open < 0) return Infinity;
  let depth = 0;
  let count = 0;
  let sawToken = false;
  let quote = "";
  for (let i = open + 1; i < src.length; i++) {
    const c = src[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      quote = c;
      sawToken = true;
      continue;
    }
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) return Infinity;
      i = end + 1;
      continue;
    }
    if (c === "/" && src[i + 1] === "/") {
      const end = src.indexOf("\n", i);
      if (end < 0) return Infinity;
      i = end;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      if (depth === 0) return sawToken ? count + 1 : 0;
      depth--;
    } else if (c === "," && depth === 0) {
      count++;
      sawToken = false;
      continue;
    } else if (c === "." && src.startsWith("...", i) && depth === 0) return Infinity;
    if (!/\s/.test(c)) sawToken = true;
  }
  return Infinity;
}

function arityOf(fn: Callable): Arity {
  let a = arityCache.get(fn);
  if (!a) {
    const max = maxParams(fn);
    a = { min: fn.length, max: Math.max(max, fn.length) };
    arityCache.set(fn, a);
  }
  return a;
}

/**
 * Calls `fn` with positional arguments and, when there are keyword arguments, a trailing Kwargs.
 * Raises Python's TypeError (as the JS TypeError, sent as builtins.TypeError) when the method
 * cannot take that many arguments, as a Python method would.
 */
export function invoke(target: object, fn: Callable, label: string, args: unknown[], kw: Kwargs | null): unknown {
  const { min, max } = arityOf(fn);
  const given = args.length;
  if (kw && kw.size > 0) {
    if (given + 1 > max) throw new TypeError(`${label}() got an unexpected keyword argument '${kw.keys()[0]}'`);
    return fn.apply(target, [...args, kw]);
  }
  if (given < min) {
    const missing = min - given;
    throw new TypeError(`${label}() missing ${missing} required positional argument${missing === 1 ? "" : "s"}`);
  }
  if (given > max) throw new TypeError(`${label}() takes ${max} positional argument${max === 1 ? "" : "s"} but ${given} were given`);
  return fn.apply(target, args);
}
