// Every limit a PB connection enforces, in one object, with Twisted's defaults.
import { DEFAULT_BANANA_LIMITS, withLimits, type BananaLimits } from "../banana/limits.ts";
import { DEFAULT_MAX_DEPTH } from "../jelly/jelly.ts";
import { MAX_BROKER_REFS } from "./constants.ts";

/** Every limit a PB connection enforces (Twisted's defaults in {@link DEFAULT_PB_LIMITS}). */
export interface PBLimits extends BananaLimits {
  /** pb.MAX_BROKER_REFS: most entries in the local object table, and in the cache table. */
  readonly maxBrokerRefs: number;
  /** Deepest jelly nesting accepted either way (Python's recursion limit stops Twisted earlier). */
  readonly maxDepth: number;
}

/** Twisted's limits for a PB connection. */
export const DEFAULT_PB_LIMITS: PBLimits = Object.freeze({
  ...DEFAULT_BANANA_LIMITS,
  maxBrokerRefs: MAX_BROKER_REFS,
  maxDepth: DEFAULT_MAX_DEPTH,
});

/** PB limits: Twisted's defaults with `overrides` applied, checked (a bad value throws). */
export function pbLimits(overrides?: Partial<PBLimits>): PBLimits {
  return withLimits(DEFAULT_PB_LIMITS, overrides, "PB");
}
