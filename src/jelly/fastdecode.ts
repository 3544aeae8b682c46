// One-pass decoding for plain data: banana bytes straight to the values unjelly() would make,
// with no s-expression tree in between (the decode-side twin of Jellied). It only ever handles
// what it can decode exactly as BananaDecoder + Unjellier do: text, bytes, numbers, None,
// booleans, lists, tuples and dictionaries with atom keys. Anything else (references, classes,
// instances, copy tags, sets, dates, malformed input, a limit reached) makes it give up
// (NOT_PLAIN), and the caller decodes those bytes the tree way, which gives the value or the error
// it always did (limits stay enforced where they were). Work is linear in the bytes looked at.
import { FLOAT, INT, LIST, LONGINT, LONGNEG, NEG, STRING, VOCAB, VOCABULARY, type Dialect } from "../banana/constants.ts";
import { maxHeldElements, type BananaLimits } from "../banana/limits.ts";
import { asBytes, floatValue, PyFloat, type Sexp } from "../banana/values.ts";
import { tagAnswersFor, type TagAnswers } from "./fastanswers.ts";
import { arrayFor, cachedKey, copyOf, floatAt, KEY_MAX, same, UNICODE_KEY_FRAMING, unicodeKeyAt, textAt, stringTag, T_BOOLEAN, T_DICT, T_LIST, T_NONE, T_TUPLE, T_UNICODE, TAG_NAMES, VOCAB_TAGS } from "./fasttags.ts";
import { tryDecodeUtf8 } from "./text.ts";
import { Tuple } from "./types.ts";
import { GIVE_UP, NEED_MORE, Scanner } from "./scan.ts";
import { IdRef, idTagAt, idValue } from "./fastrefs.ts";
import { INCOMPLETE, NOT_PLAIN, type FastUnjellyOptions } from "./fastoptions.ts";

// Deeper than this many nested containers the tree path (whose stack use is known) takes the item.
const RECURSION_CAP = 200;
const PREALLOCATE_MAX = 1 << 14; // longer arrays grow as they fill (same values): made whole, a 100k list cost ~13% more
const SEXP_PREALLOCATE = 16; // as BananaDecoder
// new Tuple(n) (~15 ns, not setPrototypeOf's ~55) alone: in the reader's loops V8 mostly compiled it slowly.
const makeTuple = (n: number): Tuple<unknown> => (n <= PREALLOCATE_MAX ? new Tuple<unknown>(n) : new Tuple<unknown>());
// A container longer than this may be scanned to its end first: split across chunks, it is found incomplete at once.
const SCAN_FIRST = 32;

/**
 * Reads one item at a time from a byte range. One reader serves one connection (or one call of
 * decodeJellyFast); it keeps no state between items but its settings.
 */
export class FastReader {
  dialect: Dialect | null;
  private readonly prefixLimit: number;
  private readonly sizeLimit: number;
  private readonly opts: FastUnjellyOptions;
  private readonly js: boolean;
  private readonly bytesAsText: boolean;

  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private end = 0;
  /** The type byte of the last header read. */
  type = 0;
  private depth = 0;
  private nest = 0;
  private nodes = 0;
  private readonly maxNodes: number;
  /** Banana elements read in this item: past maxHeldElements() the tree decoder refuses the item, so the tree path takes it. */
  private elements = 0;
  private readonly maxElements: number;
  /** Limits leave room for unicodeKey's shortcut (a key of up to KEY_MAX bytes in one-digit headers). */
  private readonly keysFast: boolean;
  /** Per tag: decoded here or not, kept from item to item while that cannot have changed; `answersChecked`: in this item. */
  private readonly answers: TagAnswers;
  private answersChecked = false;
  /** The bytes up to here hold whole elements (a scan found their end); `scanner` is shared with the receiver. */
  private wholeTo = 0;
  readonly scanner: Scanner;
  /** The last INCOMPLETE came from scanning the item's first list: `scanner` holds the item's state, to go on from. */
  itemScanned = false;
  /** The item read last had a container of more than SCAN_FIRST elements. */
  sawLarge = false;
  /** The IdRefs of the expression read last, in stream order; null: none. */
  refs: IdRef[] | null = null;

  constructor(dialect: Dialect | null, limits: BananaLimits, opts: FastUnjellyOptions, scanner?: Scanner) {
    this.dialect = dialect;
    this.prefixLimit = limits.prefixLimit;
    this.sizeLimit = limits.sizeLimit;
    this.opts = opts;
    this.js = opts.mode === "js";
    this.bytesAsText = this.js && opts.bytesAsText;
    this.maxNodes = opts.maxNodes ?? Infinity;
    this.maxElements = limits.maxMessageNodes === undefined ? Infinity : maxHeldElements(limits);
    this.keysFast = limits.sizeLimit >= KEY_MAX && limits.prefixLimit >= 1;
    this.scanner = scanner ?? new Scanner(limits);
    this.answers = tagAnswersFor(opts.security, opts.registry);
  }

  /** Where the last read stopped. */
  get position(): number {
    return this.pos;
  }

  /** Starts reading `buf` from `pos` up to `end` (exclusive); `whole`: the bytes are known to hold the item whole, or are to be decoded as if (no scan first). */
  start(buf: Uint8Array, pos: number, end: number, whole = false): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.wholeTo = whole ? end : 0;
    this.itemScanned = false;
    this.sawLarge = false;
    this.nest = 0;
    this.nodes = 0;
    this.elements = 0;
    this.answersChecked = false;
  }

  /** Reads one jelly expression (its own reference scope) and unjellies it. */
  jelly(): unknown {
    this.depth = 0;
    this.refs = null;
    return this.value();
  }

  /** Reads one banana element as BananaDecoder delivers it. */
  sexp(): Sexp {
    const num = this.head();
    return this.sexpFrom(num, this.type);
  }

  /** As sexp(), but a byte string of at most KEY_MAX ASCII bytes comes back as its text (cached: a PB method name). */
  name(): Sexp {
    const num = this.head();
    if (this.type !== STRING || num > KEY_MAX) return this.sexpFrom(num, this.type);
    const at = this.skip(num);
    return cachedKey(this.buf, at, num) ?? copyOf(this.buf, at, num);
  }

  /** Reads a header (base-128 digits, then the type byte, left in this.type); its value. */
  head(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    if (pos >= end) throw INCOMPLETE;
    if (++this.elements > this.maxElements) throw NOT_PLAIN;
    let b = buf[pos++];
    if (b >= 0x80) {
      this.type = b;
      this.pos = pos;
      return 0;
    }
    let num = b;
    let digits = 1;
    let scale = 128;
    for (;;) {
      if (pos >= end) throw INCOMPLETE;
      b = buf[pos++];
      if (b >= 0x80) break;
      // An 8th digit below 16 keeps the value under 2**53; past that it may need a bigint: the tree path's rules.
      if (digits === 7 ? b >= 16 : digits > 7) throw NOT_PLAIN;
      num += b * scale;
      scale *= 128;
      digits++;
    }
    if (digits > this.prefixLimit) throw NOT_PLAIN;
    this.type = b;
    this.pos = pos;
    return num;
  }

  sexpFrom(num: number, type: number): Sexp {
    switch (type) {
      case LIST: {
        if (num > this.sizeLimit || ++this.nest > RECURSION_CAP) throw NOT_PLAIN;
        const list = arrayFor<Sexp>(num, SEXP_PREALLOCATE);
        for (let i = 0; i < num; i++) list[i] = this.sexp();
        this.nest--;
        return list;
      }
      case STRING: {
        // As BananaDecoder gives them: short ones copied (faster than a view), else a plain view.
        const buf = this.buf;
        const at = this.skip(num);
        return num <= 16 ? copyOf(buf, at, num) : new Uint8Array(buf.buffer, buf.byteOffset + at, num);
      }
      case INT:
      case LONGINT:
        return num;
      case NEG:
      case LONGNEG:
        return num === 0 ? 0 : -num;
      case FLOAT:
        return floatValue(this.float());
      case VOCAB:
        return this.vocab(num);
    }
    throw NOT_PLAIN;
  }

  private bytes(num: number): Uint8Array {
    const pos = this.skip(num);
    return this.buf.subarray(pos, pos + num);
  }

  /** Steps over a byte string's body of `num` bytes; where it starts. (No subarray: a Buffer's costs an object.) */
  private skip(num: number): number {
    if (num > this.sizeLimit) throw NOT_PLAIN;
    const pos = this.pos;
    if (this.end - pos < num) throw INCOMPLETE;
    this.pos = pos + num;
    return pos;
  }

  private float(): number {
    const pos = this.pos;
    if (this.end - pos < 8) throw INCOMPLETE;
    this.pos = pos + 8;
    return floatAt(this.buf, pos);
  }

  private vocab(code: number): string {
    if (this.dialect !== "pb" || code < 1 || code >= VOCABULARY.length) throw NOT_PLAIN;
    return VOCABULARY[code];
  }

  // ---- jelly ----

  private value(): unknown {
    if (++this.nodes > this.maxNodes) throw NOT_PLAIN;
    const num = this.head();
    const type = this.type;
    if (type === LIST) {
      if (num > SCAN_FIRST) this.large(num);
      return this.container(num);
    }
    return this.atom(num, type);
  }

  private large(num: number): void {
    this.sawLarge = true;
    if (this.pos > this.wholeTo) this.scanWhole(num);
  }

  /** Scans the list of `num` elements whose header was just read to its end: INCOMPLETE at once if the bytes end inside it. */
  private scanWhole(num: number): void {
    if (num > this.sizeLimit) throw NOT_PLAIN;
    const s = this.scanner;
    s.resetOpen(num);
    const end = s.scan(this.buf, this.pos, this.end, this.dialect);
    if (end === NEED_MORE) {
      // The item's first element: the scanner's state is the item's.
      this.itemScanned = this.elements === 1;
      throw INCOMPLETE;
    }
    if (end === GIVE_UP) throw NOT_PLAIN;
    this.wholeTo = end;
  }

  /** Unjellier.atom of the element with this header. */
  private atom(num: number, type: number): unknown {
    switch (type) {
      case STRING: {
        if (this.bytesAsText) {
          const b = this.bytes(num);
          const s = tryDecodeUtf8(b);
          if (s !== null) return s;
          return b.byteLength * 2 < b.buffer.byteLength ? copyOf(b, 0, num) : b;
        }
        const buf = this.buf;
        // As the Unjellier: a small value is copied off a large receive buffer (into the byte pool: banana/pool.ts).
        if (num * 2 < buf.buffer.byteLength) return copyOf(buf, this.skip(num), num);
        return this.bytes(num);
      }
      case INT:
      case LONGINT:
        return num;
      case NEG:
      case LONGNEG:
        return num === 0 ? 0 : -num;
      case FLOAT: {
        const v = floatValue(this.float());
        return this.js && v instanceof PyFloat ? v.value : v;
      }
      case VOCAB: {
        const atom = this.vocab(num);
        return this.bytesAsText ? atom : asBytes(atom);
      }
    }
    throw NOT_PLAIN;
  }

  /** The tag of a list with `num` elements: reads its first element. */
  private tag(num: number): number {
    if (num === 0 || num > this.sizeLimit) throw NOT_PLAIN;
    const n = this.head();
    if (this.type === VOCAB) {
      this.vocab(n);
      return VOCAB_TAGS[n];
    }
    if (this.type !== STRING) throw NOT_PLAIN;
    return stringTag(this.buf, this.skip(n), n);
  }

  /** Registry and security asked at most once per item, as lazily as the Unjellier, and not again while unchanged. */
  private check(tag: number): void {
    const answers = this.answers;
    if (!this.answersChecked) {
      this.answersChecked = true;
      answers.refresh(this.opts.security, this.opts.registry);
    }
    let a = answers.allowed[tag];
    if (a === 0) {
      const name = TAG_NAMES[tag];
      a = this.opts.registry.get(name) === undefined && this.opts.security.isTypeAllowed(name) ? 1 : 2;
      answers.allowed[tag] = a;
    }
    if (a !== 1) throw NOT_PLAIN;
    if (++this.depth > this.opts.maxDepth || this.depth > RECURSION_CAP) throw NOT_PLAIN;
  }

  private tuple(n: number): Tuple<unknown> {
    const t = makeTuple(n);
    for (let i = 0; i < n; i++) t[i] = this.value();
    return t;
  }
  private list(n: number): unknown[] {
    const arr = arrayFor<unknown>(n, PREALLOCATE_MAX);
    for (let i = 0; i < n; i++) arr[i] = this.value();
    return arr;
  }

  private container(num: number): unknown {
    const tagAt = this.pos;
    const tag = this.tag(num);
    switch (tag) {
      case T_UNICODE:
        if (num !== 2) throw NOT_PLAIN;
        return this.text();
      case T_NONE:
        if (num !== 1) throw NOT_PLAIN;
        return null;
      case T_LIST:
      case T_TUPLE: {
        this.check(tag);
        const n = num - 1;
        // Tuples are filled in tuple(): stores of their own, so that the lists' see few shapes.
        const arr = tag === T_TUPLE && !this.js ? this.tuple(n) : this.list(n);
        this.depth--;
        return arr;
      }
      case T_DICT: {
        this.check(tag);
        const d = this.js ? this.jsDictionary(num - 1) : this.dictionary(num - 1);
        this.depth--;
        return d;
      }
      case T_BOOLEAN: {
        this.check(tag);
        if (num !== 2) throw NOT_PLAIN;
        const n = this.head();
        if (this.type !== STRING) throw NOT_PLAIN;
        const at = this.skip(n);
        this.depth--;
        if (n === 4 && same(this.buf, at, "true")) return true;
        if (n === 5 && same(this.buf, at, "false")) return false;
        throw NOT_PLAIN;
      }
    }
    return this.idRef(num, tagAt);
  }

  /** [tag, id] for one of the idTags whose handler the registry still gives (as the Unjellier: no security asked then). */
  private idRef(num: number, tagAt: number): IdRef {
    const tags = this.opts.idTags;
    const tag = num === 2 && tags !== undefined && this.depth < this.opts.maxDepth ? idTagAt(this.buf, tagAt, tags, this.opts.registry) : null;
    const id = tag === null ? null : idValue(this.head(), this.type);
    if (id === null) throw NOT_PLAIN;
    const ref = new IdRef(tag!, id);
    (this.refs ??= []).push(ref);
    return ref;
  }

  /** The byte string of [unicode, x], as text (`key`: a dictionary key, looked up in the key cache). */
  private text(key = false): string {
    const n = this.head();
    if (this.type === VOCAB) return this.vocab(n);
    if (this.type !== STRING) throw NOT_PLAIN;
    const s = textAt(this.buf, this.skip(n), n, key);
    if (s === null) throw NOT_PLAIN;
    return s;
  }

  /** Reads the [key, value] pair header. */
  private pair(): void {
    const n = this.head();
    if (this.type !== LIST || n !== 2) throw NOT_PLAIN;
  }

  /** A dictionary key: an atom, text, None or a boolean (anything else is decoded the tree way). */
  private key(): unknown {
    const num = this.head();
    const type = this.type;
    if (type !== LIST) return this.atom(num, type);
    const at = this.pos;
    const tag = this.tag(num);
    if (tag === T_UNICODE) {
      if (num !== 2) throw NOT_PLAIN;
      return this.text(true);
    }
    if (tag === T_NONE || tag === T_BOOLEAN) {
      this.pos = at;
      return this.container(num);
    }
    throw NOT_PLAIN;
  }

  /** A pair's key when unicodeKeyAt finds one (the pair then read up to its value), or null with nothing read. */
  private unicodeKey(): string | null {
    if (!this.keysFast || this.elements + 4 > this.maxElements) return null;
    const key = unicodeKeyAt(this.buf, this.pos, this.end);
    if (key !== null) {
      this.elements += 4;
      this.pos += UNICODE_KEY_FRAMING + key.length;
    }
    return key;
  }

  private dictionary(n: number): Map<unknown, unknown> {
    const map = new Map<unknown, unknown>();
    for (let i = 0; i < n; i++) {
      let key: unknown = this.unicodeKey();
      if (key === null) {
        this.pair();
        key = this.key();
        // As the Unjellier: a Map would turn -0 into 0; the float goes back as -0.0.
        if (key === 0 && Object.is(key, -0)) key = new PyFloat(-0);
      }
      map.set(key, this.value());
    }
    return map;
  }

  /** "js" mode: a null-prototype object when every key is text, else a Map (Unjellier.allTextKeys). */
  private jsDictionary(n: number): unknown {
    const keys: unknown[] = [];
    const values: unknown[] = [];
    let allText = true;
    for (let i = 0; i < n; i++) {
      let key: unknown = this.unicodeKey();
      if (key === null) {
        this.pair();
        key = this.key();
        if (typeof key !== "string") allText = false; // with bytesAsText, UTF-8 bytes (or an atom) are text
      }
      keys.push(key);
      values.push(this.value());
    }
    if (allText) {
      const obj: Record<string, unknown> = Object.create(null);
      for (let i = 0; i < n; i++) obj[keys[i] as string] = values[i];
      return obj;
    }
    const map = new Map<unknown, unknown>();
    for (let i = 0; i < n; i++) map.set(keys[i], values[i]);
    return map;
  }
}
