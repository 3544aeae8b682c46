// The hashing of PB's challenge/response login (pb.py respond/challenge), on Node's crypto.
import { hash, randomFillSync } from "node:crypto";
import { md5Of } from "./md5.ts";
import { asBytes } from "../banana/values.ts";

/**
 * Inputs up to this many bytes are hashed in TypeScript (md5.ts): a login's md5s (a password, a
 * digest plus a challenge) are one block each, where crossing into OpenSSL costs several times
 * the hashing. Longer ones go to node:crypto, faster per byte.
 */
const JS_MD5_MAX = 256;

/** The md5 digest of the parts, concatenated (16 bytes). */
export function md5(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  if (total <= JS_MD5_MAX) return md5Of(parts);
  // A one-shot digest (no Hash object per call; Node >= 20.12, and the package needs 20.19),
  // copied: the result may be a view into a shared pool.
  return new Uint8Array(hash("md5", parts.length === 1 ? parts[0] : Buffer.concat(parts), "buffer"));
}

/** Text as UTF-8 bytes; bytes as they are (banana's asBytes: short ASCII text without a TextEncoder call). */
export const toBytes: (x: string | Uint8Array) => Uint8Array = asBytes;

/** pb.respond: md5(md5(password) + challenge), 16 raw bytes. */
export function respond(challenge: Uint8Array, password: string | Uint8Array): Uint8Array {
  return md5(md5(toBytes(password)), challenge);
}

// Challenges are cut from a pool the cryptographic RNG fills 4 KiB at a time: one call into it
// per 256 logins instead of one each (a challenge is no secret: it goes to the peer as is).
const CHALLENGE_SIZE = 16;
const challengePool = new Uint8Array(4096);
let challengeAt = challengePool.length;

/** A login challenge: 16 bytes from a cryptographic RNG (Twisted uses `random`; PROTOCOL.md section 7). */
export function challenge(): Uint8Array {
  if (challengeAt + CHALLENGE_SIZE > challengePool.length) {
    randomFillSync(challengePool);
    challengeAt = 0;
  }
  const c = challengePool.slice(challengeAt, challengeAt + CHALLENGE_SIZE);
  challengeAt += CHALLENGE_SIZE;
  return c;
}

/**
 * Compares two byte strings in time that does not depend on where they differ: every byte is
 * read, the differences gathered without a branch (as crypto.timingSafeEqual, without the call
 * into C++, which costs more than comparing a 16-byte digest). Strings of different lengths
 * differ; the time then follows the first one's length.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  let diff = n ^ b.length;
  const other = diff === 0 ? b : a;
  for (let i = 0; i < n; i++) diff |= a[i] ^ other[i];
  return diff === 0;
}
