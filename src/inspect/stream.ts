// One direction of a captured connection: a streaming banana decoder (src/banana) that also
// keeps the exact bytes of every item and where it started.
import { BananaDecodeError, BananaDecoder, type Sexp } from "../banana/index.ts";
import type { Dir } from "./types.ts";

export const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

export class Direction {
  readonly decoder: BananaDecoder;
  chunks: Uint8Array[] = [];
  base = 0;
  itemStart = 0;
  items = 0;
  total = 0;
  negotiated = false;
  failure: BananaDecodeError | null = null;
  t: number | undefined;

  constructor(
    readonly dir: Dir,
    onItem: (d: Direction, item: Sexp, bytes: Uint8Array, start: number) => void,
  ) {
    this.decoder = new BananaDecoder((item) => {
      const start = this.itemStart;
      onItem(this, item, this.take(this.decoder.offset), start);
    });
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
