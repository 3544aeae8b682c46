// Bounded walks over received values. A received value is a graph, not a tree: jelly's shared
// references let a few hundred bytes describe 2**30 leaves. These walks visit each object once
// (text) or stop at a budget (tree size), so their cost follows the message, not the expansion.
import { byteString, PyFloat } from "../banana/values.ts";
import { activeBudget, DEFAULT_JELLY_BUDGET, type MessageBudget } from "./budget.ts";
import { tryDecodeUtf8 } from "./text.ts";
import { FrozenSet, PyDate, PyDateTime, PyDecimal, PyGlobal, PyInstance, PyTime, PyTimeDelta, PyUnicode, Tuple, Unpersistable } from "./types.ts";

const ELLIPSIS = "...";
// Deeper containers are written as "..." (a raw banana expression can nest 200,000 deep).
const MAX_NESTING = 100;

function isPlainDict(x: object): boolean {
  const proto = Object.getPrototypeOf(x);
  return proto === null || proto === Object.prototype;
}

function bytesRepr(b: Uint8Array, max: number): string {
  let s = "b'";
  const n = Math.min(b.length, max);
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === 0x27 || c === 0x5c) s += "\\" + String.fromCharCode(c);
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += "\\x" + c.toString(16).padStart(2, "0");
  }
  return s + (n < b.length ? ELLIPSIS : "'");
}

function textRepr(s: string, max: number): string {
  // Only the part that can still be shown is quoted: a 640 KiB string reached through 640 Ki
  // references costs the budget once, not 640 Ki times its length.
  const shown = s.length > max ? s.slice(0, max) : s;
  return JSON.stringify(shown).slice(0, shown === s ? undefined : -1) + (shown === s ? "" : ELLIPSIS);
}

class Renderer {
  private readonly parts: string[] = [];
  private left: number;
  private readonly seen = new Set<object>();
  private depth = 0;

  constructor(max: number) {
    this.left = max;
  }

  get full(): boolean {
    return this.left <= 0;
  }

  text(): string {
    return this.parts.join("");
  }

  emit(s: string): void {
    if (this.left <= 0) return;
    if (s.length > this.left) {
      this.parts.push(s.slice(0, this.left), ELLIPSIS);
      this.left = 0;
      return;
    }
    this.parts.push(s);
    this.left -= s.length;
  }

  value(v: unknown): void {
    if (this.left <= 0) return;
    switch (typeof v) {
      case "string":
        return this.emit(textRepr(v, this.left));
      case "number":
      case "bigint":
        return this.emit(String(v));
      case "boolean":
        return this.emit(v ? "True" : "False");
      case "undefined":
        return this.emit("None");
      case "object":
        if (v === null) return this.emit("None");
        return this.object(v);
      default:
        return this.emit(`<${typeof v}>`);
    }
  }

  private object(v: object): void {
    if (v instanceof Uint8Array) return this.emit(bytesRepr(v, this.left));
    if (v instanceof PyFloat) return this.emit(v.toString());
    // Our value classes render themselves in a bounded number of characters.
    if (v instanceof PyDateTime || v instanceof PyDate || v instanceof PyTime || v instanceof PyTimeDelta || v instanceof PyDecimal) {
      return this.emit(v.toString());
    }
    if (v instanceof PyUnicode) return this.emit(textRepr(v.text, this.left));
    if (v instanceof PyGlobal) return this.emit(`<${v.kind} ${v.name}>`);
    if (v instanceof Unpersistable) return this.emit(typeof v.reason === "string" ? `Unpersistable(${textRepr(v.reason, this.left)})` : `Unpersistable(${bytesRepr(v.reason, this.left)})`);
    if (v instanceof Date) return this.emit(Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString());
    if (this.seen.has(v)) return this.emit(`<repeated ${kindOf(v)}>`);
    if (this.depth >= MAX_NESTING) return this.emit(ELLIPSIS);
    this.seen.add(v);
    this.depth++;
    try {
      this.container(v);
    } finally {
      this.depth--;
    }
  }

  private container(v: object): void {
    if (Array.isArray(v)) {
      const tuple = v instanceof Tuple;
      this.emit(tuple ? "(" : "[");
      for (let i = 0; i < v.length && this.left > 0; i++) {
        if (i) this.emit(", ");
        this.value(v[i]);
      }
      if (tuple && v.length === 1) this.emit(",");
      return this.emit(tuple ? ")" : "]");
    }
    if (v instanceof Map) {
      this.emit("{");
      let first = true;
      for (const [k, x] of v) {
        if (this.left <= 0) break;
        if (!first) this.emit(", ");
        first = false;
        this.value(k);
        this.emit(": ");
        this.value(x);
      }
      return this.emit("}");
    }
    if (v instanceof Set) {
      const frozen = v instanceof FrozenSet;
      this.emit(v.size === 0 ? (frozen ? "frozenset(" : "set(") : frozen ? "frozenset({" : "{");
      let first = true;
      for (const x of v) {
        if (this.left <= 0) break;
        if (!first) this.emit(", ");
        first = false;
        this.value(x);
      }
      return this.emit(v.size === 0 ? ")" : frozen ? "})" : "}");
    }
    if (v instanceof PyInstance) {
      this.emit(`<${v.className} `);
      this.value(v.state);
      return this.emit(">");
    }
    if (isPlainDict(v)) {
      this.emit("{");
      let first = true;
      for (const k of Object.keys(v)) {
        if (this.left <= 0) break;
        if (!first) this.emit(", ");
        first = false;
        this.emit(textRepr(k, this.left));
        this.emit(": ");
        this.value((v as Record<string, unknown>)[k]);
      }
      return this.emit("}");
    }
    // Anything else (a RemoteReference, a copy, a failure): its class name only; its own
    // toString() could walk whatever it holds.
    return this.emit(`<${kindOf(v)}>`);
  }
}

function kindOf(v: object): string {
  if (v instanceof Tuple) return "tuple";
  if (Array.isArray(v)) return "list";
  if (v instanceof FrozenSet) return "frozenset";
  if (v instanceof Set) return "set";
  if (v instanceof Map || isPlainDict(v)) return "dict";
  return (v.constructor as { name?: string } | undefined)?.name || "object";
}

/**
 * A received value as Python-like text (`[1, 'a', (2,), {'k': None}]`), at most `maxLength`
 * characters plus "..." when cut. Each object is written once: where it is reached again (a shared
 * reference or a cycle) `<repeated list>` stands instead. Time and output are bounded by the
 * number of distinct objects and by `maxLength`, never by what shared references expand to.
 */
export function describeValue(value: unknown, maxLength: number = DEFAULT_JELLY_BUDGET.maxRenderedText): string {
  const r = new Renderer(maxLength);
  r.value(value);
  return r.text();
}

/**
 * A received value as text the way String() shows text (a string as is, UTF-8 bytes decoded,
 * leniently), and anything else through describeValue(). Text made from structures is taken from
 * `allowance`: a number of characters for this call, or a message's budget (by default the one
 * of the message being unjellied, if any), so all the text made from one message is bounded.
 */
export function valueText(value: unknown, allowance?: number | MessageBudget): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  const budget = typeof allowance === "number" ? null : (allowance ?? activeBudget());
  // Decoded once per byte string per message (a shared byte string can be reached many times).
  if (value instanceof Uint8Array) return budget !== null ? budget.textOf(value) : (tryDecodeUtf8(value) ?? byteString(value));
  const max = typeof allowance === "number" ? allowance : budget === null ? DEFAULT_JELLY_BUDGET.maxRenderedText : budget.textLeft;
  const text = describeValue(value, max);
  if (budget !== null) budget.textLeft = Math.max(0, budget.textLeft - text.length);
  return text;
}

/** A received value's size as a tree, and the steps it takes to count it (see treeShape). */
export interface TreeShape {
  /** Nodes walked as a tree (shared objects counted every time reached), or `limit + 1` when more. */
  readonly size: number;
  /** Nodes of the value as a graph: each distinct object and each of its entries counted once, about the message's own size. */
  readonly distinct: number;
}

/**
 * How many nodes `value` has walked as a tree (each shared object counted every time it is
 * reached), or `limit + 1` when it has more. Sizes are computed once per object and added up
 * (saturating), so this costs one step per distinct object, whatever the tree expands to. A
 * reference back to an object that contains it (a cycle) counts once and is not followed. For
 * code that cannot follow sharing (schema validation, copying) before it walks a received value.
 */
export function treeSize(value: unknown, limit: number = DEFAULT_JELLY_BUDGET.maxMessageNodes): number {
  return treeShape(value, limit).size;
}

/**
 * treeSize() and the number of steps it took (`distinct`): how far the value's shared references
 * expand it is `size / distinct`, so a caller can bound its walk by a multiple of what the peer
 * actually sent.
 */
export function treeShape(value: unknown, limit: number = DEFAULT_JELLY_BUDGET.maxMessageNodes): TreeShape {
  const known = new Map<object, number>();
  const onPath = new Set<object>();
  const over = limit + 1;
  let distinct = 0;
  const add = (total: number, v: unknown): number => {
    const t = total + size(v);
    return t > over ? over : t;
  };
  const size = (v: unknown): number => {
    distinct++;
    if (typeof v !== "object" || v === null) return 1;
    const done = known.get(v);
    if (done !== undefined) return done;
    if (onPath.has(v)) return 1;
    let total = 1;
    onPath.add(v);
    if (Array.isArray(v) || v instanceof Set) {
      for (const x of v) if ((total = add(total, x)) === over) break;
    } else if (v instanceof Map) {
      for (const [k, x] of v) if ((total = add(add(total, k), x)) === over) break;
    } else if (v instanceof PyInstance) total = add(total, v.state);
    else if (isPlainDict(v)) {
      for (const k of Object.keys(v)) if ((total = add(total, (v as Record<string, unknown>)[k])) === over) break;
    }
    onPath.delete(v);
    known.set(v, total);
    return total;
  };
  return { size: size(value), distinct };
}
