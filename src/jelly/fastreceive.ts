// A streaming receiver in front of BananaDecoder: whole top-level items go through the one-pass
// FastReader, and the jelly expressions inside them (the positions the caller names, e.g. a PB
// call's arguments) arrive already unjellied, wrapped in Predecoded. Whatever the fast reader
// gives up on (references, instances, copy tags, malformed bytes, a limit) is fed to the tree
// decoder from the first byte of that item, so values, errors and limits are exactly the tree
// path's. An item split across chunks is found by a scan that keeps no values (one small state
// per open list), then decoded from one joined copy: every byte is looked at a bounded number of
// times, never once per chunk.
import { LIST, type Dialect } from "../banana/constants.ts";
import { BananaDecodeError, BananaDecoder, decode, tooManyBytes, tooManyElements } from "../banana/decoder.ts";
import { allocUninitialized } from "../banana/alloc.ts";
import { bananaLimits, type BananaLimits } from "../banana/limits.ts";
import type { Sexp } from "../banana/values.ts";
import { DEFAULT_MAX_DEPTH } from "./jelly.ts";
import { defaultRegistry } from "./registry.ts";
import { globalSecurity } from "./security.ts";
import { unjelly } from "./unjelly.ts";
import { GIVE_UP, NEED_MORE, Scanner } from "./scan.ts";
import { FastReader } from "./fastdecode.ts";
import { INCOMPLETE, NOT_PLAIN, type FastUnjellyOptions } from "./fastoptions.ts";
import { commandOf } from "./fasttags.ts";
import type { IdRef } from "./fastrefs.ts";

/**
 * A jelly expression the receiver already unjellied (plain data only). `value` is what
 * `unjelly(sexp)` gives, except that the [tag, id] expressions of the reader's idTags are IdRef
 * placeholders in it, listed in `refs` (null: none) for the caller to make (fastrefs.ts);
 * `sexp()` decodes the same bytes the tree way for code that wants the expression itself.
 */
export class Predecoded {
  constructor(
    readonly value: unknown,
    private readonly buf: Uint8Array,
    private readonly start: number,
    private readonly end: number,
    private readonly dialect: Dialect | null,
    private readonly limits: BananaLimits,
    readonly refs: readonly IdRef[] | null = null,
  ) {}

  /** The banana expression, as BananaDecoder would have delivered it. */
  sexp(): Sexp {
    return decode(this.buf.subarray(this.start, this.end), { dialect: this.dialect, limits: this.limits })[0];
  }
}

/** Which elements of a top-level list `[command, ...]` of `length` elements are jelly expressions: a bit mask of their indexes (0 for none). */
export type JellyPositions = (command: string, length: number) => number;

export interface FastReceiverOptions {
  dialect?: Dialect | null;
  limits?: Partial<BananaLimits>;
  unjelly: FastUnjellyOptions;
  /** Where the jelly expressions are in each top-level list; null: every top-level item is one. */
  jellyAt: JellyPositions | null;
  /**
   * Where a top-level list holds a name wanted as text (the method name of a PB call): a short
   * ASCII byte string there comes as a string (the same string each time it repeats) instead of
   * bytes. Null or absent: byte strings stay bytes everywhere.
   */
  textAt?: JellyPositions | null;
}

function join(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = allocUninitialized(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Drop-in for BananaDecoder where the items are PB messages: feed() chunks as they arrive; each
 * complete top-level item goes to `onItem`, with the jelly expressions at the positions
 * `jellyAt` names replaced by Predecoded when they are plain data. Chunks fed are owned by the
 * receiver (byte strings may be views into them), as with BananaDecoder.
 */
export class FastReceiver {
  /** The tree decoder, made when an item first needs it (most connections never do). */
  private treeDecoder: BananaDecoder | null = null;
  private readonly reader: FastReader;
  private readonly scanner: Scanner;
  private readonly limits: BananaLimits;
  private readonly onItem: (item: Sexp) => void;
  private readonly jellyAt: JellyPositions | null;
  private readonly textAt: JellyPositions | null;
  private parts: Uint8Array[] | null = null;
  /** Bytes held in `parts`: past limits.maxMessageBytes the tree decoder takes (and refuses) the item. */
  private partsBytes = 0;
  private failure: unknown = null;
  private refusedOpen = false;
  /**
   * Whether the next item with a large container is likely to go on past its chunk, as the last
   * one did: then it is scanned to its end before it is decoded (so it is never half-decoded for
   * nothing); else it is decoded at once (no scan for items that arrive whole). Either way the
   * values are the same; a wrong guess costs one scan or one partial decode.
   */
  private expectSplit = true;
  private dialectValue: Dialect | null;
  /** Stream offset of the chunk being fed. */
  private fed = 0;

  constructor(onItem: (item: Sexp) => void, options: FastReceiverOptions) {
    this.onItem = onItem;
    this.limits = bananaLimits(options.limits);
    this.dialectValue = options.dialect ?? null;
    this.scanner = new Scanner(this.limits);
    this.reader = new FastReader(this.dialectValue, this.limits, options.unjelly, this.scanner);
    this.jellyAt = options.jellyAt;
    this.textAt = options.textAt ?? null;
  }

  /** As BananaDecoder.dialect: vocabulary tokens are accepted only in "pb" (until set, a token goes the tree way, which refuses it). */
  get dialect(): Dialect | null {
    return this.dialectValue;
  }

  set dialect(d: Dialect | null) {
    this.dialectValue = d;
    if (this.treeDecoder !== null) this.treeDecoder.dialect = d;
    this.reader.dialect = d;
  }

  private get tree(): BananaDecoder {
    return (this.treeDecoder ??= new BananaDecoder(this.onItem, { dialect: this.dialectValue, limits: this.limits }));
  }

  /** True when the stream stopped inside an item (an item refused while open included, as BananaDecoder says). */
  get pending(): boolean {
    return this.parts !== null || (this.treeDecoder !== null && this.treeDecoder.pending) || this.refusedOpen;
  }

  /** An open item refused here, not by the tree decoder. */
  private refused(e: Error): Error {
    this.refusedOpen = true;
    return e;
  }

  feed(chunk: Uint8Array): void {
    if (this.failure !== null) throw this.failure;
    try {
      this.feedChunk(chunk);
      this.fed += chunk.length;
    } catch (e) {
      this.failure = e;
      throw e;
    }
  }

  private feedChunk(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    const parts = this.parts;
    if (parts !== null) {
      const end = this.scanner.scan(chunk, 0, n, this.dialectValue);
      if (end === NEED_MORE) {
        parts.push(chunk);
        this.partsBytes += n;
        if (this.partsBytes <= this.limits.maxMessageBytes) return;
        // Refused as the tree decoder refuses it, without decoding what was buffered.
        throw this.refused(tooManyBytes(this.limits, this.fed + n));
      }
      this.parts = null;
      if (end === GIVE_UP) {
        // The tree decoder would hold every element before refusing it: refused here instead.
        if (this.scanner.overLimitAt >= 0) throw this.refused(tooManyElements(this.limits, this.fed + this.scanner.overLimitAt));
        for (const p of parts) this.tree.feed(p);
        this.tree.feed(chunk);
        return;
      }
      parts.push(chunk.subarray(0, end));
      const whole = join(parts);
      let item: Sexp | undefined;
      try {
        item = this.item(whole, 0, whole.length, true);
      } catch (e) {
        if (e !== NOT_PLAIN && e !== INCOMPLETE) throw e;
        this.tree.feed(whole);
      }
      if (item !== undefined) this.onItem(item);
      i = end;
    }
    while (i < n) {
      if (this.treeDecoder !== null && this.treeDecoder.pending) {
        this.tree.feed(i === 0 ? chunk : chunk.subarray(i));
        return;
      }
      let item: Sexp;
      try {
        item = this.item(chunk, i, n, !this.expectSplit);
      } catch (e) {
        if (e === INCOMPLETE) {
          if (this.reader.sawLarge) this.expectSplit = true;
          let end = NEED_MORE;
          if (!this.reader.itemScanned) {
            this.scanner.reset();
            end = this.scanner.scan(chunk, i, n, this.dialectValue);
          }
          if (end === NEED_MORE) {
            this.parts = [chunk.subarray(i)];
            this.partsBytes = n - i;
            if (this.partsBytes > this.limits.maxMessageBytes) throw this.refused(tooManyBytes(this.limits, this.fed + n));
            return;
          }
          if (this.scanner.overLimitAt >= 0) throw this.refused(tooManyElements(this.limits, this.fed + this.scanner.overLimitAt));
          // GIVE_UP (or, never, an end: the reader and the scanner agree on where items end).
          this.tree.feed(chunk.subarray(i));
          return;
        }
        if (e === NOT_PLAIN) {
          this.tree.feed(chunk.subarray(i));
          return;
        }
        throw e;
      }
      i = this.reader.position;
      if (this.reader.sawLarge) this.expectSplit = false;
      this.onItem(item);
    }
  }

  /** Reads one whole top-level item at `at`; throws INCOMPLETE or NOT_PLAIN. */
  private item(buf: Uint8Array, at: number, end: number, whole = false): Sexp {
    const r = this.reader;
    r.start(buf, at, end, whole);
    if (this.jellyAt === null) {
      const value = r.jelly();
      return new Predecoded(value, buf, at, r.position, this.dialectValue, this.limits, r.refs) as unknown as Sexp;
    }
    const num = r.head();
    const type = r.type;
    if (type !== LIST || num === 0) return r.sexpFrom(num, type);
    if (num > this.limits.sizeLimit) throw NOT_PLAIN;
    const first = r.sexp();
    const command = commandOf(first);
    const mask = command === null || num > 31 ? 0 : this.jellyAt!(command, num);
    const texts = command === null || num > 31 || this.textAt === null ? 0 : this.textAt(command, num);
    const list = new Array<Sexp>(num);
    list[0] = first;
    for (let k = 1; k < num; k++) {
      if ((mask & (1 << k)) === 0) {
        list[k] = (texts & (1 << k)) === 0 ? r.sexp() : r.name();
        continue;
      }
      const from = r.position;
      const value = r.jelly();
      list[k] = new Predecoded(value, buf, from, r.position, this.dialectValue, this.limits, r.refs) as unknown as Sexp;
    }
    return list;
  }
}

/** Options of loadsOnePass: the codec's (dumps/loads) with the unjelly options that matter for plain data. */
export interface OnePassOptions {
  dialect?: Dialect;
  limits?: Partial<BananaLimits>;
  security?: FastUnjellyOptions["security"];
  registry?: FastUnjellyOptions["registry"];
  mode?: "python" | "js";
  bytesAsText?: boolean;
  maxDepth?: number;
}

/**
 * The values of the jelly expressions in `bytes`, one pass for plain data and the tree way for the
 * rest: what `unjelly()` of each expression `decode()` gives, errors included.
 */
export function loadsOnePass(bytes: Uint8Array, options: OnePassOptions = {}): unknown[] {
  const opts: FastUnjellyOptions = {
    security: options.security ?? globalSecurity,
    registry: options.registry ?? defaultRegistry,
    mode: options.mode ?? "python",
    bytesAsText: options.bytesAsText ?? false,
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
  };
  const items: Sexp[] = [];
  const receiver = new FastReceiver((x) => items.push(x), { dialect: options.dialect ?? "pb", limits: options.limits, unjelly: opts, jellyAt: null });
  receiver.feed(bytes);
  if (receiver.pending) throw new BananaDecodeError("incomplete banana expression", bytes.length);
  return items.map((x) => ((x as unknown) instanceof Predecoded ? (x as unknown as Predecoded).value : unjelly(x, opts)));
}
