// Calling a local method on behalf of the peer. Only names with one of PB's prefixes (remote_,
// perspective_, view_, observe_) are ever looked up, and only functions are called.
import { Kwargs } from "./kwargs.ts";
import { python2ArityText as py2Arity, withPython2Text as py2 } from "./peer.ts";

/** Python's AttributeError, as Avatar/ViewPoint/RemoteCache raise it for a missing method. */
export class AttributeError extends Error {
  static pythonType = "builtins.AttributeError";
  override name = "AttributeError";
}

/** The prefixes a peer-supplied method name is looked up under. */
export type MethodPrefix = "remote_" | "perspective_" | "view_" | "observe_";

type Callable = (...args: unknown[]) => unknown;

/** Names cached per prefix at most: past this many, a cache starts again (a peer chooses the names). */
const METHOD_KEYS_MAX = 1024;
const methodKeys: Record<MethodPrefix, Map<string, string>> = { remote_: new Map(), perspective_: new Map(), view_: new Map(), observe_: new Map() };

/**
 * `prefix + name`, the same string for the same name each time: a property lookup with a string
 * made afresh per call costs a look-up in V8's string table first (about 0.2 us per call on a
 * server answering one call at a time); the method name arrives as the same string each time.
 */
export function methodKey(prefix: MethodPrefix, name: string): string {
  const keys = methodKeys[prefix];
  let key = keys.get(name);
  if (key === undefined) {
    key = prefix + name;
    if (keys.size >= METHOD_KEYS_MAX) keys.clear();
    keys.set(name, key);
  }
  return key;
}

/** The method named `key` (a prefixed name) of `target`, if it is a function and not one of Object.prototype's. */
export function methodAt(target: object, key: string): Callable | undefined {
  const fn = (target as Record<string, unknown>)[key];
  if (typeof fn !== "function") return undefined;
  if (fn === (Object.prototype as unknown as Record<string, unknown>)[key]) return undefined;
  return fn as Callable;
}

/** What the peer's arguments can be matched against: counts, and names where they are known. */
interface Signature {
  min: number;
  /** Infinity with a rest parameter, or when the list could not be read. */
  max: number;
  /** Parameter names in order (null for destructured ones), or null when unknown. */
  names: (string | null)[] | null;
  /**
   * Where keywords matching no parameter go, as one Kwargs (Python's **kwargs): "after" the
   * positional arguments, at a parameter index, or nowhere (null: they raise TypeError).
   */
  kwAt: "after" | number | null;
  /** How many of `names` a keyword may fill. */
  placeable: number;
}

const signatures = new WeakMap<Callable, Signature>();
const declaredSignatures = new WeakMap<Callable, Signature>();

/**
 * Parses a declared parameter list: plain names are required, `"name?"` optional, `"...name"` a
 * rest parameter taking any further positional arguments, `"**name"` (last) any keyword that
 * matches no other name, passed as a trailing Kwargs.
 */
function parseDeclaration(params: readonly string[], where: string): Signature {
  const names: string[] = [];
  let min = 0;
  let max = 0;
  let rest = false;
  let extraKeywords = false;
  params.forEach((raw, i) => {
    if (typeof raw !== "string") throw new TypeError(`${where}: parameter names must be strings`);
    if (extraKeywords) throw new TypeError(`${where}: "**${raw}" must come last`);
    if (raw.startsWith("**")) extraKeywords = true;
    else if (raw.startsWith("...")) {
      if (rest) throw new TypeError(`${where}: only one rest parameter`);
      rest = true;
    } else if (rest) throw new TypeError(`${where}: "${raw}" after the rest parameter`);
    else {
      const optional = raw.endsWith("?");
      const name = optional ? raw.slice(0, -1) : raw;
      if (!optional && min !== i) throw new TypeError(`${where}: required "${name}" after an optional parameter`);
      if (!optional) min++;
      max++;
      names.push(name);
    }
  });
  return { min, max: rest ? Infinity : max, names, kwAt: !extraKeywords ? null : rest ? "after" : names.length, placeable: names.length };
}

/**
 * Declares a remote method's parameters, so keyword arguments are matched to them without
 * reading the function's source (which bundlers and minifiers rename): plain names are required,
 * `"name?"` optional, `"...name"` takes further positional arguments and `"**name"` takes any
 * other keyword as a trailing Kwargs. A keyword matching no declared name raises Python's TypeError.
 * Returns `fn`. The class form is a static `remoteParameters` record keyed by method name.
 *
 * @typeParam F - the method's own type, returned unchanged.
 * @example
 * class Printer extends Referenceable {
 *   remote_print = declareParameters((message: string, end = "\n") => message + end, ["message", "end?"]);
 * }
 */
export function declareParameters<F extends (...args: never[]) => unknown>(fn: F, params: readonly string[]): F {
  declaredSignatures.set(fn as unknown as Callable, parseDeclaration(params, fn.name || "declareParameters"));
  return fn;
}

/** A class that declares its remote methods' parameters: `static remoteParameters = { remote_print: ["message", "end?"] }`. */
export interface DeclaresParameters {
  readonly remoteParameters?: Readonly<Record<string, readonly string[]>>;
}

const classDeclarations = new WeakMap<object, Map<string, Signature>>();

/** The declaration for `label` on the class of `target` (or a base class), if any. */
function classDeclared(target: object, label: string): Signature | undefined {
  for (let ctor = target.constructor as (DeclaresParameters & object) | undefined; ctor && ctor !== Object && ctor !== Function.prototype; ctor = Object.getPrototypeOf(ctor)) {
    const own = Object.prototype.hasOwnProperty.call(ctor, "remoteParameters") ? ctor.remoteParameters : undefined;
    if (!own || !Object.prototype.hasOwnProperty.call(own, label)) continue;
    let parsed = classDeclarations.get(ctor);
    if (!parsed) classDeclarations.set(ctor, (parsed = new Map()));
    let sig = parsed.get(label);
    if (!sig) parsed.set(label, (sig = parseDeclaration(own[label], `${(ctor as { name?: string }).name ?? "?"}.remoteParameters.${label}`)));
    return sig;
  }
  return undefined;
}

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

/** Python's names for keyword catch-alls; a trailing parameter so named (read from source) takes the extra keywords. */
const KWARGS_NAMES = new Set(["kw", "kwargs", "kwds", "keywords"]);

/** From the function's source: the fallback when nothing is declared. */
function signatureFromSource(fn: Callable): Signature {
  let sig = signatures.get(fn);
  if (sig) return sig;
  const params = parameterList(fn);
  if (params === null) {
    sig = { min: fn.length, max: Infinity, names: null, kwAt: null, placeable: 0 };
  } else {
    const rest = params.some((p) => p.startsWith("..."));
    const names = params.filter((p) => !p.startsWith("...")).map(paramName);
    const last = names[names.length - 1];
    const kwParam = !rest && last !== null && last !== undefined && KWARGS_NAMES.has(last);
    sig = {
      // The catch-all is never required, even when TypeScript's `kw?` compiles to a plain parameter.
      min: kwParam ? Math.min(fn.length, names.length - 1) : fn.length,
      max: rest ? Infinity : Math.max(params.length, fn.length),
      names,
      kwAt: rest ? "after" : kwParam ? names.length - 1 : null,
      placeable: kwParam ? names.length - 1 : names.length,
    };
  }
  signatures.set(fn, sig);
  return sig;
}

function signatureOf(target: object, fn: Callable, label: string): Signature {
  return declaredSignatures.get(fn) ?? classDeclared(target, label) ?? signatureFromSource(fn);
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
 * self as Python does. `args` is the call's own list: it may be handed to the method as it is.
 */
export function invoke(target: object, fn: Callable, label: string, args: unknown[], kw: Kwargs | null): unknown {
  const { min, max, names, kwAt, placeable } = signatureOf(target, fn, label);
  // The common call: positional arguments only, as many as the method takes. `args` is the
  // call's own list (dispatch made it), so it is passed as it is.
  if ((kw === null || kw.size === 0) && args.length >= min && args.length <= max) return fn.apply(target, args);
  // Python's name for the method, only for the errors below (no closure made per call).
  const name = qualifiedLabel;
  if (args.length > max) {
    const takes = min === max ? `${max + 1} positional argument${max + 1 === 1 ? "" : "s"}` : `from ${min + 1} to ${max + 1} positional arguments`;
    throw py2(new TypeError(`${name(target, fn, label)}() takes ${takes} but ${args.length + 1} were given`), py2Arity(label, min, max, 1 + args.length + (kw ? kw.size : 0)));
  }
  const call = args.slice();
  const given = 1 + args.length + (kw ? kw.size : 0); // Python 2's count in its arity messages
  let filled = call.length;
  // A Map: a keyword named __proto__ or constructor is data like any other.
  let extra: Map<string, unknown> | null = null;
  if (kw && kw.size > 0) {
    for (const key of kw.keys()) {
      const at = names ? names.indexOf(key) : -1;
      if (at >= 0 && at < placeable) {
        if (at < args.length) throw py2(new TypeError(`${name(target, fn, label)}() got multiple values for argument '${key}'`), `${label}() got multiple values for keyword argument '${key}'`);
        call[at] = kw.get(key);
        if (at >= filled) filled = at + 1;
      } else {
        if (kwAt === null || (typeof kwAt === "number" && args.length > kwAt)) throw py2(new TypeError(`${name(target, fn, label)}() got an unexpected keyword argument '${key}'`), `${label}() got an unexpected keyword argument '${key}'`);
        (extra ??= new Map()).set(key, kw.get(key));
      }
    }
  }
  const missing: string[] = [];
  for (let i = 0; i < Math.max(filled, min); i++) {
    if (i in call) continue;
    if (i < min) missing.push(names?.[i] ?? `#${i}`);
    else call[i] = undefined;
  }
  if (missing.length) {
    const n = missing.length;
    const which = names ? `: ${quoteList(missing)}` : "";
    throw py2(new TypeError(`${name(target, fn, label)}() missing ${n} required positional argument${n === 1 ? "" : "s"}${which}`), py2Arity(label, min, max, given));
  }
  if (extra) {
    const at = kwAt === "after" ? filled : (kwAt as number);
    for (let i = filled; i < at; i++) call[i] = undefined;
    call.length = at;
    call.push(new Kwargs(extra));
  }
  return fn.apply(target, call);
}
