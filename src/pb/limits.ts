// Every limit a PB connection enforces, in one object, with Twisted's defaults.
import { DEFAULT_BANANA_LIMITS, withLimits, type BananaLimits } from "../banana/limits.ts";
import { DEFAULT_JELLY_BUDGET, type JellyBudgetLimits } from "../jelly/budget.ts";
import { DEFAULT_MAX_DEPTH } from "../jelly/jelly.ts";
import { MAX_BROKER_REFS } from "./constants.ts";

export interface PBLimits extends BananaLimits, JellyBudgetLimits {
  /** pb.MAX_BROKER_REFS: most entries in the local object table, and in the cache table. */
  readonly maxBrokerRefs: number;
  /** Deepest jelly nesting accepted either way (Python's recursion limit stops Twisted earlier). */
  readonly maxDepth: number;
}

export const DEFAULT_PB_LIMITS: PBLimits = Object.freeze({
  ...DEFAULT_BANANA_LIMITS,
  ...DEFAULT_JELLY_BUDGET,
  maxBrokerRefs: MAX_BROKER_REFS,
  maxDepth: DEFAULT_MAX_DEPTH,
});

export function pbLimits(overrides?: Partial<PBLimits>): PBLimits {
  return withLimits(DEFAULT_PB_LIMITS, overrides, "PB");
}
