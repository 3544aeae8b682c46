// Jelly s-expressions as a Python user reads them: (1, 'hi'), b'raw', 2.5, {k: v}, {1, 2},
// datetime.datetime(2020, 1, 2, 3, 4), Decimal('3.14'), <__main__.Point {'x': 1}>, ...
// This reads the banana structure only; nothing is unjellied into live objects.
import type { Sexp } from "../banana/index.ts";
import { PyDecimal } from "../jelly/types.ts";
import { tagText } from "../jelly/text.ts";
import { summarizeFailure } from "./failure.ts";
import { strRepr } from "./pyrepr.ts";
import { bytesText, isBytes, isInt, isList, rawRepr, scalarRepr, utf8OrNull, type List } from "./sexp.ts";

/** How much of a value pb-inspect prints. */
export interface PrettyLimits {
  /** Longest byte/text string shown in full (longer ones are cut, with their length). */
  maxString: number;
  /** Most elements shown per container. */
  maxItems: number;
  /** Deepest nesting shown. */
  maxDepth: number;
}

/** The default limits of pb-inspect's output. */
export const DEFAULT_LIMITS: PrettyLimits = { maxString: 300, maxItems: 100, maxDepth: 64 };
/** No shortening (`--full`). */
export const FULL_LIMITS: PrettyLimits = { maxString: Infinity, maxItems: Infinity, maxDepth: 200 };

/** How PB's own objects are shown; the session fills these in from its object table. */
export interface PbHooks {
  /** `[b"remote", luid]`: a reference to an object of the sender. */
  remote(luid: Sexp): string;
  /** `[b"local", luid]`: one of the receiver's own objects coming back. */
  local(luid: Sexp): string;
  /** `[tag, luid, state]`: a Cacheable sent for the first time. */
  cache(tag: string, luid: Sexp, state: string): string;
  /** `[b"cached", luid]`: a Cacheable sent again. */
  cached(luid: Sexp): string;
  /** `[b"lcache", luid]`: a RemoteCache going back to its owner. */
  lcache(luid: Sexp): string;
}

const plainHooks: PbHooks = {
  remote: (l) => `<remote #${scalarRepr(l)}>`,
  local: (l) => `<local #${scalarRepr(l)}>`,
  cache: (tag, l, state) => `<cache #${scalarRepr(l)} ${tag} ${state}>`,
  cached: (l) => `<cached #${scalarRepr(l)}>`,
  lcache: (l) => `<lcache #${scalarRepr(l)}>`,
};

const DATE_FIELDS = { datetime: 7, date: 3, time: 4, timedelta: 3 } as const;

/** Renders one jelly scope (one jelly() call: args, kwargs, an answer...): reference ids are per scope. */
export class Pretty {
  private refs = new Map<string, "open" | "done">();

  constructor(
    private readonly hooks: PbHooks = plainHooks,
    private readonly limits: PrettyLimits = DEFAULT_LIMITS,
  ) {}

  /** A value. */
  value(x: Sexp): string {
    return this.render(x, 0);
  }

  /** Positional and keyword arguments of a call: "1, 'hi', key=2". */
  callArgs(args: Sexp, kwargs: Sexp | undefined, kwScope: Pretty): string {
    const parts: string[] = [];
    if (isList(args) && args.length >= 1 && isBytes(args[0]) && tagText(args[0]) === "tuple") {
      parts.push(...this.items(args.slice(1), 0));
    } else {
      parts.push(`*${this.render(args, 0)}`);
    }
    if (kwargs !== undefined) {
      if (isList(kwargs) && kwargs.length >= 1 && isBytes(kwargs[0]) && tagText(kwargs[0]) === "dictionary" && kwargs.slice(1).every((p) => isList(p) && p.length === 2)) {
        const odd: string[] = [];
        for (const pair of kwargs.slice(1) as List[]) {
          const name = identifierKey(pair[0]);
          if (name !== null) parts.push(`${name}=${kwScope.render(pair[1], 1)}`);
          else odd.push(`${kwScope.render(pair[0], 1)}: ${kwScope.render(pair[1], 1)}`);
        }
        if (odd.length) parts.push(`**{${odd.join(", ")}}`);
      } else {
        parts.push(`**${kwScope.render(kwargs, 0)}`);
      }
    }
    return parts.join(", ");
  }

  private items(xs: readonly Sexp[], depth: number): string[] {
    const n = Math.min(xs.length, this.limits.maxItems);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.render(xs[i], depth + 1));
    if (n < xs.length) {
      out.push(`...${xs.length - n} more`);
      for (let i = n; i < xs.length; i++) this.scan(xs[i]);
    }
    return out;
  }

  /**
   * What is not shown still counts: walks a value without rendering it, so the object table
   * sees every reference and cache and later dereferences find their ids. Iterative (any depth).
   */
  private scan(root: Sexp): void {
    const stack: Sexp[] = [root];
    let budget = 2_000_000;
    while (stack.length && budget-- > 0) {
      const x = stack.pop()!;
      if (!isList(x) || x.length === 0) continue;
      const children: readonly Sexp[] = x;
      if (isBytes(x[0])) {
        const tag = tagText(x[0]);
        if ((tag === "remote" || tag === "local" || tag === "cached" || tag === "lcache") && x.length === 2 && isInt(x[1])) {
          this.hooks[tag](x[1]);
          continue;
        }
        if (tag === "reference" && x.length === 3 && isInt(x[1])) this.refs.set(String(x[1]), "done");
        if (tag === "dictionary") {
          // Entries are [key, value]: a key must not be read as a tag.
          for (let i = x.length - 1; i >= 1; i--) {
            const pair = x[i];
            if (isList(pair)) for (let k = pair.length - 1; k >= 0; k--) stack.push(pair[k]);
          }
          continue;
        }
        if (tag.includes(".") && x.length === 3 && isInt(x[1]) && !summarizeFailure(x)) {
          this.hooks.cache(tag, x[1], "...");
          stack.push(x[2]);
          continue;
        }
      }
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    }
  }

  private render(x: Sexp, depth: number): string {
    if (!isList(x)) return scalarRepr(x, this.limits.maxString);
    if (depth > this.limits.maxDepth) {
      this.scan(x);
      return "<...nested too deep>";
    }
    if (x.length === 0 || !isBytes(x[0])) return `<not jelly: ${this.raw(x)}>`;
    const tag = tagText(x[0]);
    const rest = x.slice(1);
    switch (tag) {
      case "None":
        return rest.length === 0 ? "None" : this.bad("None", x);
      case "unicode": {
        if (rest.length !== 1 || !isBytes(rest[0])) return this.bad("unicode", x);
        const text = utf8OrNull(rest[0]);
        return text === null ? `<invalid UTF-8 in unicode: ${scalarRepr(rest[0], this.limits.maxString)}>` : strRepr(text, this.limits.maxString);
      }
      case "boolean": {
        const v = rest.length === 1 && isBytes(rest[0]) ? bytesText(rest[0]) : null;
        return v === "true" ? "True" : v === "false" ? "False" : this.bad("boolean", x);
      }
      case "tuple": {
        const items = this.items(rest, depth);
        return items.length === 1 && rest.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
      }
      case "list":
        return `[${this.items(rest, depth).join(", ")}]`;
      case "set":
        return rest.length === 0 ? "set()" : `{${this.items(rest, depth).join(", ")}}`;
      case "frozenset":
        return rest.length === 0 ? "frozenset()" : `frozenset({${this.items(rest, depth).join(", ")}})`;
      case "dictionary":
        return this.dict(x, rest, depth);
      case "reference": {
        if (rest.length !== 2 || !isInt(rest[0])) return this.bad("reference", x);
        const id = String(rest[0]);
        if (this.refs.has(id)) return `@${id}=<duplicate reference id>${this.render(rest[1], depth + 1)}`;
        this.refs.set(id, "open");
        const inner = this.render(rest[1], depth + 1);
        this.refs.set(id, "done");
        return `@${id}=${inner}`;
      }
      case "dereference": {
        if (rest.length !== 1 || !isInt(rest[0])) return this.bad("dereference", x);
        const id = String(rest[0]);
        return this.refs.has(id) ? `@${id}` : `@${id}<undefined reference>`;
      }
      case "datetime":
      case "date":
      case "time":
      case "timedelta":
        return this.temporal(tag, x, rest);
      case "decimal":
        return this.decimal(x, rest);
      case "remote":
      case "local":
      case "cached":
      case "lcache":
        if (rest.length !== 1 || !isInt(rest[0])) return this.bad(tag, x);
        return this.hooks[tag](rest[0]);
      case "unpersistable":
        return rest.length === 1 && isBytes(rest[0]) ? `<unpersistable: ${utf8OrNull(rest[0]) ?? bytesText(rest[0])}>` : this.bad(tag, x);
      case "class":
      case "module":
      case "function":
        return rest.length === 1 && isBytes(rest[0]) ? `<${tag} ${bytesText(rest[0])}>` : this.bad(tag, x);
      case "persistent":
      case "instance":
      case "method":
        return `<${tag} ${this.items(rest, depth).join(", ")}>`;
    }
    if (tag.includes(".")) {
      const failure = summarizeFailure(x);
      if (failure) return `<Failure ${failure.line}>`;
      if (rest.length === 2 && isInt(rest[0])) return this.hooks.cache(tag, rest[0], this.render(rest[1], depth + 1));
      if (rest.length === 1) return `<${tag} ${this.render(rest[0], depth + 1)}>`;
      return this.bad("copy", x);
    }
    return `<unknown jelly type ${scalarRepr(x[0])}: ${this.raw(x)}>`;
  }

  private dict(x: List, rest: readonly Sexp[], depth: number): string {
    const n = Math.min(rest.length, this.limits.maxItems);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const pair = rest[i];
      if (!isList(pair) || pair.length !== 2) return this.bad("dictionary", x);
      out.push(`${this.render(pair[0], depth + 1)}: ${this.render(pair[1], depth + 1)}`);
    }
    if (n < rest.length) {
      out.push(`...${rest.length - n} more`);
      for (let i = n; i < rest.length; i++) this.scan(["dictionary", rest[i]]);
    }
    return `{${out.join(", ")}}`;
  }

  private temporal(tag: keyof typeof DATE_FIELDS, x: List, rest: readonly Sexp[]): string {
    if (rest.length !== 1 || !isBytes(rest[0])) return this.bad(tag, x);
    const text = bytesText(rest[0]).trim();
    const f = text === "" ? [] : text.split(/\s+/);
    if (!f.every((v) => /^-?\d+$/.test(v)) || f.length > DATE_FIELDS[tag] || (tag === "timedelta" && f.length !== 3)) return this.bad(tag, x);
    const n = f.map((v) => String(Number(v)));
    if (tag === "timedelta") {
      const named = (["days", "seconds", "microseconds"] as const).map((k, i) => (n[i] !== "0" ? `${k}=${n[i]}` : "")).filter(Boolean);
      return `datetime.timedelta(${named.length ? named.join(", ") : "0"})`;
    }
    // repr() drops trailing zero fields: seconds and microseconds (datetime), likewise for time.
    const keep = tag === "datetime" ? 5 : tag === "time" ? 2 : 3;
    while (n.length > keep && n[n.length - 1] === "0") n.pop();
    return `datetime.${tag}(${n.join(", ")})`;
  }

  private decimal(x: List, rest: readonly Sexp[]): string {
    if (rest.length !== 2 || !isInt(rest[0]) || !isInt(rest[1])) return this.bad("decimal", x);
    try {
      return `Decimal('${new PyDecimal(BigInt(rest[0]), Number(rest[1])).toString()}')`;
    } catch {
      return this.bad("decimal", x);
    }
  }

  private raw(x: Sexp): string {
    return rawRepr(x, this.limits.maxString, this.limits.maxItems);
  }

  private bad(what: string, x: Sexp): string {
    return `<malformed ${what}: ${this.raw(x)}>`;
  }
}

/** A keyword argument name as Python shows it (text keys only), or null. */
function identifierKey(k: Sexp): string | null {
  if (!isList(k) || k.length !== 2 || !isBytes(k[0]) || tagText(k[0]) !== "unicode" || !isBytes(k[1])) return null;
  const name = utf8OrNull(k[1]);
  return name !== null && /^[\p{L}_][\p{L}\p{N}_]*$/u.test(name) ? name : null;
}

/** One value in a fresh scope, with plain references (no object table). */
export function pretty(x: Sexp, limits: PrettyLimits = DEFAULT_LIMITS): string {
  return new Pretty(plainHooks, limits).value(x);
}
