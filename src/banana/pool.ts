// Small decoded byte strings share slabs, as Node's Buffer pool does: one ArrayBuffer per value
// (its own backing store, tracked and swept by the GC) made decoding tens of thousands of short
// strings mostly garbage collection. A value is a Uint8Array view of its own range of a slab, so
// values never share bytes; a slab lives as long as one value made from it (the pool itself keeps
// only the slab being filled), so a kept small value keeps at most one slab alive, never the
// message or the receive buffer it came from. Plain ArrayBuffers only: the core runs in browsers.

/** Settings of the pool that small decoded byte strings are copied into (see {@link setBytePool}). */
export interface BytePoolOptions {
  /**
   * Size of one slab, in bytes (default 8192, as Node's Buffer.poolSize). A decoded byte string
   * of at most `maxPooledBytes` keeps at most this many bytes alive: its slab (whose other bytes
   * belong to other values, from any connection, or are zero). 0 turns pooling off.
   */
  readonly slabBytes: number;
  /**
   * Longest byte string copied into a slab (default 1024); longer ones get an ArrayBuffer of
   * their own. At most half of `slabBytes`. 0 turns pooling off.
   */
  readonly maxPooledBytes: number;
}

/** The defaults: 8 KiB slabs (Node's Buffer.poolSize), strings of up to 1 KiB pooled. */
export const DEFAULT_BYTE_POOL: BytePoolOptions = Object.freeze({ slabBytes: 8192, maxPooledBytes: 1024 });

let slabBytes = DEFAULT_BYTE_POOL.slabBytes;
let maxPooled = DEFAULT_BYTE_POOL.maxPooledBytes;
// The slab being filled (null until the first value) and a view of all of it to copy through.
let slab: ArrayBuffer | null = null;
let slabView: Uint8Array = new Uint8Array(0);
let used = 0;

/**
 * Changes how the decoders copy small byte strings off the bytes they read (process-wide; the
 * next value starts a fresh slab). A byte string that jelly decodes into a value (PB's arguments
 * and answers included) is copied off the receive buffer when it is small beside it; such a copy
 * of at most `maxPooledBytes` is a plain Uint8Array view of its own range of a shared, zeroed slab
 * of `slabBytes`. Retention: keeping one such value keeps at most that one slab alive, never its
 * message or receive buffer; slabs are referenced by the values made from them and by nothing
 * else but the pool's current one, so what a peer sends can pin no more than the values the
 * application keeps (at most one slab each). A value's `.buffer` is the slab, whose other bytes
 * are other values (possibly from other connections) or zeros: read a value through its
 * byteOffset and byteLength, as any view, and `slice()` one kept for long or handed on by its
 * `.buffer`. `{ slabBytes: 0 }` (or `maxPooledBytes: 0`): every copy gets an ArrayBuffer of its
 * own, as before pooling (slower and more garbage when there are many).
 */
export function setBytePool(options: Partial<BytePoolOptions>): void {
  const s = options.slabBytes ?? slabBytes;
  const m = options.maxPooledBytes ?? maxPooled;
  if (!Number.isSafeInteger(s) || s < 0) throw new RangeError(`byte pool slabBytes must be a non-negative integer, got ${s}`);
  if (!Number.isSafeInteger(m) || m < 0) throw new RangeError(`byte pool maxPooledBytes must be a non-negative integer, got ${m}`);
  // Either one 0 turns pooling off; else a slab holds at least two of the longest values.
  const off = s === 0 || m === 0;
  if (!off && m * 2 > s) throw new RangeError(`byte pool maxPooledBytes (${m}) must be at most half of slabBytes (${s})`);
  slabBytes = off ? 0 : s;
  maxPooled = off ? 0 : m;
  slab = null;
  slabView = new Uint8Array(0);
  used = 0;
}

/** The pool's settings now. */
export function bytePool(): BytePoolOptions {
  return { slabBytes, maxPooledBytes: maxPooled };
}

/**
 * The `n` bytes of `src` at `at`, in memory no other value shares: a view of the current slab
 * when `n` is at most maxPooledBytes (and not 0), else an array of their own. Short ones are
 * copied byte by byte (faster than a subarray and set()).
 */
export function pooledCopy(src: Uint8Array, at: number, n: number): Uint8Array {
  if (n > maxPooled || n === 0) return ownCopy(src, at, n);
  let off = used;
  if (off + n > slabView.length) {
    // What is left of the old slab (less than n bytes) stays unused; values hold the slab.
    slab = new ArrayBuffer(slabBytes);
    slabView = new Uint8Array(slab);
    off = 0;
  }
  used = off + n;
  const into = slabView;
  if (n <= 64) for (let i = 0; i < n; i++) into[off + i] = src[at + i];
  else into.set(src.subarray(at, at + n), off);
  return new Uint8Array(slab!, off, n);
}

/** The `n` bytes of `src` at `at` in an array of their own. */
export function ownCopy(src: Uint8Array, at: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  if (n <= 64) for (let i = 0; i < n; i++) out[i] = src[at + i];
  else out.set(src.subarray(at, at + n));
  return out;
}

/** For tests: the slab being filled (null before the first pooled value) and how much of it is used. */
export function currentSlab(): { slab: ArrayBuffer | null; used: number } {
  return { slab, used };
}
