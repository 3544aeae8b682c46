// Every limit a PB connection enforces, in one object, with Twisted's defaults.
import { DEFAULT_BANANA_LIMITS, withLimits, type BananaLimits } from "../banana/limits.ts";
import { DEFAULT_MAX_DEPTH } from "../jelly/jelly.ts";
import { MAX_BROKER_REFS } from "./constants.ts";

export interface PBLimits extends BananaLimits {
  /** pb.MAX_BROKER_REFS: most entries in the local object table, and in the cache table. */
  readonly maxBrokerRefs: number;
  /** Deepest jelly nesting accepted either way (Python's recursion limit stops Twisted earlier). */
  readonly maxDepth: number;
  /**
   * Unsent output (bytes) above which the socket transport stops reading from a peer whose
   * input it is answering, until the output drains (Twisted buffers without bound). docs/net.md.
   */
  readonly outputHighWaterMark: number;
  /** Unsent output (bytes) past which the socket transport drops the connection. */
  readonly maxOutputBuffer: number;
  /** Milliseconds reading may stay paused (output above outputHighWaterMark, not draining) before the connection is dropped. */
  readonly outputStallTimeout: number;
}

export const DEFAULT_PB_LIMITS: PBLimits = Object.freeze({
  ...DEFAULT_BANANA_LIMITS,
  maxBrokerRefs: MAX_BROKER_REFS,
  maxDepth: DEFAULT_MAX_DEPTH,
  outputHighWaterMark: 1024 * 1024,
  maxOutputBuffer: 16 * 1024 * 1024,
  outputStallTimeout: 60_000,
});

export function pbLimits(overrides?: Partial<PBLimits>): PBLimits {
  return withLimits(DEFAULT_PB_LIMITS, overrides, "PB");
}
