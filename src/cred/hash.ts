// The hashing of PB's challenge/response login (pb.py respond/challenge), on Node's crypto.
import { hash, randomFillSync, timingSafeEqual } from "node:crypto";

/** The md5 digest of the parts, concatenated (16 bytes). */
export function md5(...parts: Uint8Array[]): Uint8Array {
  // A one-shot digest (no Hash object per call; Node >= 20.12, and the package needs 20.19),
  // copied: the result may be a view into a shared pool.
  return new Uint8Array(hash("md5", parts.length === 1 ? parts[0] : Buffer.concat(parts), "buffer"));
}

const utf8 = new TextEncoder();

/** Text as UTF-8 bytes; bytes as they are. */
export function toBytes(x: string | Uint8Array): Uint8Array {
  return typeof x === "string" ? utf8.encode(x) : x;
}

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

/** Compares two byte strings in time that does not depend on where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
