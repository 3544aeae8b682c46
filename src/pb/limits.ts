// Every limit a PB connection enforces, in one object, with Twisted's defaults.
import { DEFAULT_BANANA_LIMITS, withLimits, type BananaLimits } from "../banana/limits.ts";
import { DEFAULT_JELLY_BUDGET, type JellyBudgetLimits } from "../jelly/budget.ts";
import { DEFAULT_MAX_DEPTH } from "../jelly/jelly.ts";
import { MAX_BROKER_REFS } from "./constants.ts";

/** Every limit one PB connection enforces; set per connection with the `limits` option. */
export interface PBLimits extends BananaLimits, JellyBudgetLimits {
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
  /**
   * Most pagers sending at once on one connection (Twisted has no limit). Each holds what it
   * pages until sent; past the limit, making another raises pb.Error (the call that made it
   * fails, the connection stays). Default 100.
   */
  readonly maxPagers: number;
}

/** The default maxPagers: far above what one peer pages at once, far below the 8,000 a peer can make pile up. */
export const MAX_PAGERS = 100;

/** The limits a connection gets by default: Twisted's, plus ours where Twisted has none. */
export const DEFAULT_PB_LIMITS: PBLimits = Object.freeze({
  ...DEFAULT_BANANA_LIMITS,
  ...DEFAULT_JELLY_BUDGET,
  maxBrokerRefs: MAX_BROKER_REFS,
  maxDepth: DEFAULT_MAX_DEPTH,
  outputHighWaterMark: 1024 * 1024,
  maxOutputBuffer: 16 * 1024 * 1024,
  outputStallTimeout: 60_000,
  maxPagers: MAX_PAGERS,
});

/** The defaults with `overrides` applied, each checked to be a positive integer. */
export function pbLimits(overrides?: Partial<PBLimits>): PBLimits {
  return withLimits(DEFAULT_PB_LIMITS, overrides, "PB");
}
