// One direction of a captured connection: a streaming banana decoder (src/banana) that also
// keeps the exact bytes of every item and where it started.
import { BananaDecodeError, BananaDecoder, type Dialect, type Sexp } from "../banana/index.ts";
import type { Resync } from "./resync.ts";
import type { Dir } from "./types.ts";

export const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

export class Direction {
  decoder: BananaDecoder;
  chunks: Uint8Array[] = [];
  base = 0;
  itemStart = 0;
  items = 0;
  /** Every byte of this direction seen (including skipped and lost ones' neighbours). */
  total = 0;
  /** Stream offset of the current decoder's byte 0 (not 0 after a gap). */
  origin = 0;
  /** Bytes fed to the current decoder. */
  fed = 0;
  negotiated = false;
  failure: BananaDecodeError | null = null;
  t: number | undefined;
  /** Looking for a message boundary after a gap (see resync.ts). */
  resync: Resync | null = null;
  /** Stream offset where the bytes given to `resync` start. */
  resyncAt = 0;
  /** Bytes still to drop before the boundary a look-ahead found. */
  skipping = 0;

  constructor(
    readonly dir: Dir,
    private readonly onItem: (d: Direction, item: Sexp, bytes: Uint8Array, start: number) => void,
  ) {
    this.decoder = this.makeDecoder(null);
  }

  private makeDecoder(dialect: Dialect | null): BananaDecoder {
    const decoder = new BananaDecoder(
      (item) => {
        const start = this.itemStart;
        this.onItem(this, item, this.take(decoder.offset), this.origin + start);
      },
      { dialect },
    );
    return decoder;
  }

  /** Starts decoding afresh at stream offset `origin` (after a gap), forgetting any partial item. */
  restart(origin: number, dialect: Dialect | null): void {
    this.decoder = this.makeDecoder(dialect);
    this.chunks = [];
    this.base = 0;
    this.itemStart = 0;
    this.fed = 0;
    this.origin = origin;
    this.failure = null;
  }

  /** Stream offset of the current decoder's position `p`. */
  at(p: number): number {
    return this.origin + p;
  }

  /** The bytes of the item that just ended at `end`; forgets them. */
  private take(end: number): Uint8Array {
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const bytes = buf.subarray(this.itemStart - this.base, end - this.base);
    this.chunks = [buf.subarray(end - this.base)];
    this.base = end;
    this.itemStart = end;
    return bytes;
  }

  /** The bytes received since the current item started (for error reports). */
  pendingBytes(): Uint8Array {
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    return buf.subarray(this.itemStart - this.base);
  }
}

/** True when `b` starts with a list whose first element is a vocabulary token: PB traffic after negotiation. */
export function startsWithPbMessage(b: Uint8Array): boolean {
  let i = 0;
  while (i < b.length && b[i] < 0x80) i++;
  if (i >= b.length || b[i] !== 0x80) return false;
  i++;
  while (i < b.length && b[i] < 0x80) i++;
  return i < b.length && b[i] === 0x87;
}
