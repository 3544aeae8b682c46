// MD5 (RFC 1321) in plain TypeScript, for the short inputs of PB's challenge/response login (a
// password, a 16-byte digest plus a 16-byte challenge). node:crypto's one-shot hash costs a few
// microseconds a call there (OpenSSL fetches the digest each time, and the call crosses into
// C++), more than hashing one 64-byte block here; and this needs no Node.

// Scratch space, reused by every call (md5 is synchronous and never re-entered).
const block = new Uint8Array(64);
const state = new Int32Array(4);

/** One little-endian 32-bit word of `block`. */
function word(i: number): number {
  return block[i] | (block[i + 1] << 8) | (block[i + 2] << 16) | (block[i + 3] << 24);
}

/**
 * Folds the 64 bytes in `block` into `state`: RFC 1321's 64 steps written out (step i:
 * x = y + ((x + f(y, z, w) + word + K[i]) <<< s), one f per round of 16 steps), with the
 * constants of its section 3.4 (K[i] = floor(abs(sin(i + 1)) * 2**32), as signed 32-bit
 * numbers), its rotations and its word order. Calls per step would not all be inlined.
 */
function compress(): void {
  const w0 = word(0), w1 = word(4), w2 = word(8), w3 = word(12), w4 = word(16), w5 = word(20), w6 = word(24), w7 = word(28);
  const w8 = word(32), w9 = word(36), w10 = word(40), w11 = word(44), w12 = word(48), w13 = word(52), w14 = word(56), w15 = word(60);
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  let t: number;
  t = (a + ((b & c) | (~b & d)) + w0 - 0x28955b88) | 0;
  a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + w1 - 0x173848aa) | 0;
  d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + w2 + 0x242070db) | 0;
  c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + w3 - 0x3e423112) | 0;
  b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & c) | (~b & d)) + w4 - 0x0a83f051) | 0;
  a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + w5 + 0x4787c62a) | 0;
  d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + w6 - 0x57cfb9ed) | 0;
  c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + w7 - 0x02b96aff) | 0;
  b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & c) | (~b & d)) + w8 + 0x698098d8) | 0;
  a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + w9 - 0x74bb0851) | 0;
  d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + w10 - 0x0000a44f) | 0;
  c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + w11 - 0x76a32842) | 0;
  b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & c) | (~b & d)) + w12 + 0x6b901122) | 0;
  a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + w13 - 0x02678e6d) | 0;
  d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + w14 - 0x5986bc72) | 0;
  c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + w15 + 0x49b40821) | 0;
  b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & d) | (c & ~d)) + w1 - 0x09e1da9e) | 0;
  a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + w6 - 0x3fbf4cc0) | 0;
  d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + w11 + 0x265e5a51) | 0;
  c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + w0 - 0x16493856) | 0;
  b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + ((b & d) | (c & ~d)) + w5 - 0x29d0efa3) | 0;
  a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + w10 + 0x02441453) | 0;
  d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + w15 - 0x275e197f) | 0;
  c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + w4 - 0x182c0438) | 0;
  b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + ((b & d) | (c & ~d)) + w9 + 0x21e1cde6) | 0;
  a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + w14 - 0x3cc8f82a) | 0;
  d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + w3 - 0x0b2af279) | 0;
  c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + w8 + 0x455a14ed) | 0;
  b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + ((b & d) | (c & ~d)) + w13 - 0x561c16fb) | 0;
  a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + w2 - 0x03105c08) | 0;
  d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + w7 + 0x676f02d9) | 0;
  c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + w12 - 0x72d5b376) | 0;
  b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + (b ^ c ^ d) + w5 - 0x0005c6be) | 0;
  a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + w8 - 0x788e097f) | 0;
  d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + w11 + 0x6d9d6122) | 0;
  c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + w14 - 0x021ac7f4) | 0;
  b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (b ^ c ^ d) + w1 - 0x5b4115bc) | 0;
  a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + w4 + 0x4bdecfa9) | 0;
  d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + w7 - 0x0944b4a0) | 0;
  c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + w10 - 0x41404390) | 0;
  b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (b ^ c ^ d) + w13 + 0x289b7ec6) | 0;
  a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + w0 - 0x155ed806) | 0;
  d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + w3 - 0x2b10cf7b) | 0;
  c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + w6 + 0x04881d05) | 0;
  b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (b ^ c ^ d) + w9 - 0x262b2fc7) | 0;
  a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + w12 - 0x1924661b) | 0;
  d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + w15 + 0x1fa27cf8) | 0;
  c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + w2 - 0x3b53a99b) | 0;
  b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (c ^ (b | ~d)) + w0 - 0x0bd6ddbc) | 0;
  a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + w7 + 0x432aff97) | 0;
  d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + w14 - 0x546bdc59) | 0;
  c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + w5 - 0x036c5fc7) | 0;
  b = (c + ((t << 21) | (t >>> 11))) | 0;
  t = (a + (c ^ (b | ~d)) + w12 + 0x655b59c3) | 0;
  a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + w3 - 0x70f3336e) | 0;
  d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + w10 - 0x00100b83) | 0;
  c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + w1 - 0x7a7ba22f) | 0;
  b = (c + ((t << 21) | (t >>> 11))) | 0;
  t = (a + (c ^ (b | ~d)) + w8 + 0x6fa87e4f) | 0;
  a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + w15 - 0x01d31920) | 0;
  d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + w6 - 0x5cfebcec) | 0;
  c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + w13 + 0x4e0811a1) | 0;
  b = (c + ((t << 21) | (t >>> 11))) | 0;
  t = (a + (c ^ (b | ~d)) + w4 - 0x08ac817e) | 0;
  a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + w11 - 0x42c50dcb) | 0;
  d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + w2 + 0x2ad7d2bb) | 0;
  c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + w9 - 0x14792c6f) | 0;
  b = (c + ((t << 21) | (t >>> 11))) | 0;
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
}

/** The md5 digest (16 bytes) of the parts, concatenated. */
export function md5Of(parts: readonly Uint8Array[]): Uint8Array {
  state[0] = 0x67452301;
  state[1] = 0xefcdab89 | 0;
  state[2] = 0x98badcfe | 0;
  state[3] = 0x10325476;
  let at = 0; // bytes in block
  let total = 0;
  for (const part of parts) {
    const n = part.length;
    total += n;
    // Byte by byte: the inputs are short, and a subarray per block would cost more.
    for (let i = 0; i < n; i++) {
      block[at++] = part[i];
      if (at === 64) {
        compress();
        at = 0;
      }
    }
  }
  // Padding: one 0x80 byte, zeros up to 56 mod 64, then the length in bits (64-bit little-endian).
  block[at++] = 0x80;
  if (at > 56) {
    block.fill(0, at);
    compress();
    at = 0;
  }
  block.fill(0, at, 56);
  const lowBits = (total * 8) >>> 0;
  const highBits = Math.floor(total / 0x20000000) >>> 0;
  for (let i = 0; i < 4; i++) {
    block[56 + i] = (lowBits >>> (8 * i)) & 0xff;
    block[60 + i] = (highBits >>> (8 * i)) & 0xff;
  }
  compress();
  const out = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    const w = state[i];
    out[4 * i] = w & 0xff;
    out[4 * i + 1] = (w >>> 8) & 0xff;
    out[4 * i + 2] = (w >>> 16) & 0xff;
    out[4 * i + 3] = (w >>> 24) & 0xff;
  }
  return out;
}
