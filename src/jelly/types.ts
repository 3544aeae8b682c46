// Small explicit types for Python values that have no JS twin, so nothing is lost in transit.
import { JellyError } from "./errors.ts";
import { tryDecodeUtf8 } from "./text.ts";
export { PyFloat } from "../banana/values.ts";

/** A Python tuple. An Array (so indexing and iteration work), told apart from a list on the wire. */
export class Tuple<T = unknown> extends Array<T> {
  // The same arguments as Array's (a single number is a length). A lone number is passed on by
  // itself: the implicit constructor's spread costs ~65 ns a Tuple wherever V8 does not inline the
  // construct (the decoder's loops, in about a third of processes) against ~16 ns this way.
  constructor(...items: T[]) {
    if (items.length === 1 && typeof items[0] === "number") super(items[0]);
    else super(...items);
  }

  // map/filter/slice give plain arrays, not tuples.
  /** map(), filter() and slice() of a Tuple give plain arrays. */
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

// V8 makes `new Tuple()` 20-50x slower (~400 ns against ~15 ns) while the class object itself
// is in its slow "dictionary" form, which an accessor of its own (the species getter above) or a
// redefined `name` (what tsx and esbuild's keepNames add to every class) puts it in. A class that
// extends it makes V8 turn it back into a fast object (a prototype is made fast): tuple() and
// user code making Tuples benefit. (The decoders still give an Array Tuple's prototype: in their
// loops, with modules loaded apart, V8 did not reliably keep the fast construct.)
{
  class FastTuple extends Tuple {}
  void FastTuple;
}

/** Makes a Tuple of the given items. */
export function tuple<T extends unknown[]>(...items: T): Tuple<T[number]> {
  const t = new Tuple<T[number]>();
  for (const item of items) t.push(item);
  return t;
}

/**
 * Text that always goes out as Python's unicode (`["unicode", utf8]`), even with the "bytes"
 * string mode used for Python 2 peers, where a plain JS string is sent as a byte string.
 */
export class PyUnicode {
  constructor(readonly text: string) {}
  /** The text. */
  toString(): string {
    return this.text;
  }
  /** JSON shows the text. */
  toJSON(): string {
    return this.text;
  }
}

/** A Python frozenset. */
export class FrozenSet<T = unknown> extends Set<T> {
  /** JSON shows the members, as an array. */
  toJSON(): unknown[] {
    return Array.from(this, jsonValue);
  }
}

/** A received value's JSON form where JSON has none: bytes as text (or their numbers), big ints as text. */
function jsonValue(x: unknown): unknown {
  if (x instanceof Uint8Array) return tryDecodeUtf8(x) ?? Array.from(x);
  return typeof x === "bigint" ? x.toString() : x;
}

/**
 * The Map a received dictionary becomes: a Map in every way (its constructor is Map), whose JSON
 * form shows the data: an object when every key is text, bytes or a number, else an array of
 * [key, value] pairs. A plain Map would give {}.
 */
export class ReceivedDict<K = unknown, V = unknown> extends Map<K, V> {
  /** JSON shows the dictionary's entries: an object when every key is text, else a list of [key, value] pairs. */
  toJSON(): unknown {
    const simple = Array.from(this.keys()).every((k) => typeof k === "string" || typeof k === "number" || typeof k === "bigint" || k instanceof Uint8Array);
    if (!simple) return Array.from(this, ([k, v]) => [jsonValue(k), jsonValue(v)]);
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of this) out[String(jsonValue(k))] = jsonValue(v);
    return out;
  }
}
Object.defineProperty(ReceivedDict.prototype, "constructor", { value: Map, writable: true, configurable: true });

/** The Set a received set becomes: a Set (constructor Set) whose JSON form is the array of its members. */
export class ReceivedSet<T = unknown> extends Set<T> {
  /** JSON shows the set's items as a list. */
  toJSON(): unknown[] {
    return Array.from(this, jsonValue);
  }
}
Object.defineProperty(ReceivedSet.prototype, "constructor", { value: Set, writable: true, configurable: true });

const int = (v: number) => String(v);

function checkRange(what: string, v: number, lo: number, hi: number): void {
  if (!Number.isSafeInteger(v) || v < lo || v > hi) throw new JellyError(`${what} must be in ${lo}..${hi}, got ${v}`);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

function checkDate(year: number, month: number, day: number): void {
  checkRange("year", year, 1, 9999);
  checkRange("month", month, 1, 12);
  checkRange("day", day, 1, daysInMonth(year, month));
}

function checkTime(hour: number, minute: number, second: number, microsecond: number): void {
  checkRange("hour", hour, 0, 23);
  checkRange("minute", minute, 0, 59);
  checkRange("second", second, 0, 59);
  checkRange("microsecond", microsecond, 0, 999999);
}

/** A naive Python datetime.datetime (no time zone: jelly cannot send one). */
export class PyDateTime {
  constructor(
    readonly year: number,
    readonly month: number,
    readonly day: number,
    readonly hour = 0,
    readonly minute = 0,
    readonly second = 0,
    readonly microsecond = 0,
  ) {
    checkDate(year, month, day);
    checkTime(hour, minute, second, microsecond);
  }
  /** From a JS Date, read in UTC. */
  static fromDate(d: Date): PyDateTime {
    if (Number.isNaN(d.getTime())) throw new JellyError("cannot jelly an invalid Date");
    return new PyDateTime(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds() * 1000);
  }
  /** As a JS Date in UTC (microseconds below a millisecond are dropped). */
  toDate(): Date {
    const d = new Date(Date.UTC(this.year, this.month - 1, this.day, this.hour, this.minute, this.second, Math.floor(this.microsecond / 1000)));
    d.setUTCFullYear(this.year);
    return d;
  }
  /** jelly's wire text: "Y M D h m s us". */
  toWire(): string {
    return [this.year, this.month, this.day, this.hour, this.minute, this.second, this.microsecond].map(int).join(" ");
  }
  /** JSON shows it as Python's isoformat(). */
  toJSON(): string {
    return this.toString().replace(" ", "T");
  }
  /** As Python's str() writes it. */
  toString(): string {
    const p = (n: number, w = 2) => String(n).padStart(w, "0");
    const frac = this.microsecond ? "." + p(this.microsecond, 6) : "";
    return `${p(this.year, 4)}-${p(this.month)}-${p(this.day)} ${p(this.hour)}:${p(this.minute)}:${p(this.second)}${frac}`;
  }
}

/** A Python datetime.date. */
export class PyDate {
  constructor(
    readonly year: number,
    readonly month: number,
    readonly day: number,
  ) {
    checkDate(year, month, day);
  }
  /** The date as jelly sends it ("year month day"). */
  toWire(): string {
    return `${this.year} ${this.month} ${this.day}`;
  }
  /** JSON shows its text form. */
  toJSON(): string {
    return this.toString();
  }
  /** As Python's str() writes it. */
  toString(): string {
    const p = (n: number, w = 2) => String(n).padStart(w, "0");
    return `${p(this.year, 4)}-${p(this.month)}-${p(this.day)}`;
  }
}

/** A naive Python datetime.time. */
export class PyTime {
  constructor(
    readonly hour = 0,
    readonly minute = 0,
    readonly second = 0,
    readonly microsecond = 0,
  ) {
    checkTime(hour, minute, second, microsecond);
  }
  /** The time as jelly sends it ("hour minute second microsecond"). */
  toWire(): string {
    return `${this.hour} ${this.minute} ${this.second} ${this.microsecond}`;
  }
  /** JSON shows its text form. */
  toJSON(): string {
    return this.toString();
  }
  /** As Python's str() writes it. */
  toString(): string {
    const p = (n: number, w = 2) => String(n).padStart(w, "0");
    return `${p(this.hour)}:${p(this.minute)}:${p(this.second)}${this.microsecond ? "." + p(this.microsecond, 6) : ""}`;
  }
}

const US_PER_DAY = 86_400_000_000n;

/** A Python datetime.timedelta, normalised as Python stores it (0 <= seconds < 86400, 0 <= microseconds < 10**6). */
export class PyTimeDelta {
  readonly days: number;
  readonly seconds: number;
  readonly microseconds: number;
  constructor(days = 0, seconds = 0, microseconds = 0) {
    for (const [k, v] of [["days", days], ["seconds", seconds], ["microseconds", microseconds]] as const) {
      if (!Number.isSafeInteger(v)) throw new JellyError(`timedelta ${k} must be an integer, got ${v}`);
    }
    const total = BigInt(days) * US_PER_DAY + BigInt(seconds) * 1_000_000n + BigInt(microseconds);
    let d = total / US_PER_DAY;
    let rest = total % US_PER_DAY;
    if (rest < 0n) {
      rest += US_PER_DAY;
      d -= 1n;
    }
    if (d > 999_999_999n || d < -999_999_999n) throw new JellyError(`timedelta days out of range: ${d}`);
    this.days = Number(d);
    this.seconds = Number(rest / 1_000_000n);
    this.microseconds = Number(rest % 1_000_000n);
  }
  /** Total length in milliseconds (may lose sub-millisecond precision). */
  get milliseconds(): number {
    return this.days * 86_400_000 + this.seconds * 1000 + this.microseconds / 1000;
  }
  /** The timedelta as jelly sends it ("days seconds microseconds"). */
  toWire(): string {
    return `${this.days} ${this.seconds} ${this.microseconds}`;
  }
  /** JSON shows its text form. */
  toJSON(): string {
    return this.toString();
  }
  /** As Python's str() writes it. */
  toString(): string {
    return `timedelta(days=${this.days}, seconds=${this.seconds}, microseconds=${this.microseconds})`;
  }
}

/** A Python decimal.Decimal as jelly sends it: value = coefficient * 10**exponent. */
export class PyDecimal {
  constructor(
    readonly coefficient: bigint,
    readonly exponent: number,
  ) {
    if (!Number.isSafeInteger(exponent)) throw new JellyError(`decimal exponent must be an integer, got ${exponent}`);
  }
  /** Parses decimal text such as "3.14", "-0.5", "1E+10". */
  static parse(text: string): PyDecimal {
    const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
    if (!m || (m[2] === "" && (m[3] ?? "") === "")) throw new JellyError(`not a decimal: ${text}`);
    const frac = m[3] ?? "";
    const digits = (m[2] + frac).replace(/^0+(?=\d)/, "") || "0";
    const coefficient = BigInt(digits) * (m[1] === "-" ? -1n : 1n);
    return new PyDecimal(coefficient, Number(m[4] ?? 0) - frac.length);
  }
  /** JSON shows its text form. */
  toJSON(): string {
    return this.toString();
  }
  /** As Python's str() writes the Decimal. */
  toString(): string {
    const neg = this.coefficient < 0n;
    const digits = (neg ? -this.coefficient : this.coefficient).toString();
    const e = this.exponent;
    // Python's Decimal.__str__ (scientific notation when the adjusted exponent is small or e > 0).
    const adjusted = e + digits.length - 1;
    let body: string;
    if (e <= 0 && adjusted >= -6) {
      if (e === 0) body = digits;
      else {
        const point = digits.length + e;
        body = point > 0 ? digits.slice(0, point) + "." + digits.slice(point) : "0." + "0".repeat(-point) + digits;
      }
    } else {
      const mant = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
      body = mant + "E" + (adjusted >= 0 ? "+" : "") + adjusted;
    }
    return (neg ? "-" : "") + body;
  }
  /** The nearest JS number (may lose digits). */
  toNumber(): number {
    return Number(this.toString());
  }
}

/**
 * What arrives in place of something the sender could not serialize (jelly.py Unpersistable).
 * `reason` is exactly what was on the wire, so it is sent back unchanged.
 */
export class Unpersistable {
  /** True when it came from the wire (Twisted then prefixes the reason with "Unpersistable data: "). */
  readonly received: boolean;
  constructor(
    readonly reason: string | Uint8Array,
    options: { received?: boolean } = {},
  ) {
    this.received = options.received ?? false;
  }
  /**
   * Twisted's `reason` for it: for a received one, "Unpersistable data: " and the wire reason as
   * Python 3 prints it (bytes as b'...'), as jelly.py's _unjelly_unpersistable makes it.
   */
  get twistedReason(): string {
    const text = typeof this.reason === "string" ? this.reason : pythonBytesRepr(this.reason);
    return this.received ? `Unpersistable data: ${text}` : text;
  }
  /** As Twisted's repr: Unpersistable("Unpersistable data: b'...'"). */
  toString(): string {
    return `Unpersistable(${pythonStrRepr(this.twistedReason)})`;
  }
  /** JSON shows it as Twisted renders it. */
  toJSON(): string {
    return this.toString();
  }
}

/** Python 3's repr of bytes: b'...', with its quote choice and escapes. */
export function pythonBytesRepr(b: Uint8Array): string {
  let hasSingle = false;
  let hasDouble = false;
  for (const c of b) {
    if (c === 0x27) hasSingle = true;
    else if (c === 0x22) hasDouble = true;
  }
  const quote = hasSingle && !hasDouble ? 0x22 : 0x27;
  let out = "";
  for (const c of b) {
    if (c === quote || c === 0x5c) out += "\\" + String.fromCharCode(c);
    else if (c === 0x09) out += "\\t";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c < 0x20 || c >= 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += String.fromCharCode(c);
  }
  const q = String.fromCharCode(quote);
  return `b${q}${out}${q}`;
}

/** Python 3's repr of text (printable characters kept, as str.__repr__ does for most text). */
function pythonStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return `${quote}${out}${quote}`;
}

/** An instance of a Python class received as `[b"module.Class", state]`, when security allows that class. */
export class PyInstance {
  constructor(
    readonly className: string,
    public state: unknown,
  ) {}
}

/** A reference to a Python class, function or module by name (`class`, `function`, `module` tags), when allowed. */
export class PyGlobal {
  constructor(
    readonly kind: "class" | "function" | "module",
    readonly name: string,
  ) {}
}
