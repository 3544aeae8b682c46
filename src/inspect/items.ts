// Captured traffic as banana items (one PB message, or one dialect token, each) in the order
// they crossed the wire: what `replay` sends and compares. Framing only: no dialect needed.
import type { LoadedTraffic } from "./capture.ts";
import type { Dir } from "./types.ts";

/** One banana item (one PB message) with its direction and time. */
export interface WireItem {
  dir: Dir;
  bytes: Uint8Array;
  /** Milliseconds since the connection opened, when known. */
  t?: number;
}

/**
 * Splits a banana stream into its top-level items. Returns the whole items and the bytes of an
 * unfinished one. Throws on a byte that is no banana type.
 */
export function splitItems(buf: Uint8Array): { items: Uint8Array[]; rest: Uint8Array } {
  const items: Uint8Array[] = [];
  const open: number[] = []; // elements still wanted by each open list
  let start = 0;
  let pos = 0;
  outer: while (pos < buf.length) {
    let n = 0;
    let scale = 1;
    let p = pos;
    while (p < buf.length && buf[p] < 0x80) {
      if (p - pos >= 64) throw new Error(`banana header longer than 64 bytes at ${pos}`);
      n += buf[p] * scale;
      scale *= 128;
      p++;
    }
    if (p >= buf.length) break;
    const type = buf[p++];
    if (type === 0x80) {
      pos = p;
      if (n > 0) {
        open.push(n);
        continue;
      }
    } else if (type === 0x82) {
      if (p + n > buf.length) break;
      pos = p + n;
    } else if (type === 0x84) {
      if (p + 8 > buf.length) break;
      pos = p + 8;
    } else if (type >= 0x81 && type <= 0x87) {
      pos = p;
    } else throw new Error(`not banana: type byte 0x${type.toString(16)} at ${p - 1}`);
    while (open.length) {
      open[open.length - 1]--;
      if (open[open.length - 1] > 0) continue outer;
      open.pop();
    }
    items.push(buf.subarray(start, pos));
    start = pos;
  }
  return { items, rest: buf.subarray(start) };
}

/** A streaming splitter: push bytes, get the items they complete. */
export class ItemSplitter {
  private rest: Uint8Array = new Uint8Array(0);
  /** Takes the next bytes of a stream; returns the whole banana items they complete. */
  push(data: Uint8Array): Uint8Array[] {
    const joined = this.rest.length ? new Uint8Array(Buffer.concat([this.rest, data])) : data;
    const { items, rest } = splitItems(joined);
    this.rest = rest.length ? Uint8Array.from(rest) : new Uint8Array(0);
    return items.map((i) => Uint8Array.from(i));
  }
  /** Bytes held back, waiting for the rest of an item. */
  get pending(): number {
    return this.rest.length;
  }
}

/** The items of captured traffic in wire order. Throws when a direction has a gap or is not banana. */
export function trafficItems(traffic: LoadedTraffic): { items: WireItem[]; leftover: Record<Dir, number> } {
  const split = { c2s: new ItemSplitter(), s2c: new ItemSplitter() };
  const items: WireItem[] = [];
  for (const c of traffic.chunks) {
    if (c.gap) throw new Error(`${c.dir === "c2s" ? "C->S" : "S->C"} has a gap (${c.gap.why}): a conversation with missing bytes cannot be replayed`);
    if (c.close || c.bytes.length === 0) continue;
    for (const bytes of split[c.dir].push(c.bytes)) items.push({ dir: c.dir, bytes, ...(c.t !== undefined ? { t: c.t } : {}) });
  }
  return { items, leftover: { c2s: split.c2s.pending, s2c: split.s2c.pending } };
}
