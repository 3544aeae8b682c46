// Banana's limits, with Twisted's defaults (banana.py setPrefixLimit(64), SIZE_LIMIT).

/** Banana's limits on one connection (Twisted's defaults in {@link DEFAULT_BANANA_LIMITS}). */
export interface BananaLimits {
  /** Most header digits before the type byte (banana.py `_PREFIX_LIMIT`). Also bounds ints: +-(2**(7*prefixLimit) - 1). */
  readonly prefixLimit: number;
  /** Most elements in a list and bytes in a string, both ways (banana.py `SIZE_LIMIT`, 640 KiB). */
  readonly sizeLimit: number;
  /**
   * The jelly node budget of one message (JellyBudgetLimits.maxMessageNodes; one setting governs
   * both). Banana holds at most ELEMENTS_PER_NODE times as many elements (lists and atoms) of one
   * top-level expression while it is still arriving; past that the stream is refused (Twisted has
   * no such limit: an unfinished expression grows its memory without end). Default 4 * 640 Ki.
   */
  readonly maxMessageNodes: number;
  /**
   * Most bytes of one top-level expression buffered while it is still arriving (Twisted: no
   * limit). Default 64 MiB: about a hundred strings of SIZE_LIMIT. See docs/limits.md.
   */
  readonly maxMessageBytes: number;
}

/** Twisted's default prefix limit: 64 header digits. */
export const PREFIX_LIMIT = 64;
/** Twisted's banana SIZE_LIMIT: 640 KiB per string, 640 Ki elements per list. */
export const SIZE_LIMIT = 640 * 1024;

/** Default maxMessageNodes: a message holding a dictionary of SIZE_LIMIT entries fits four times over. */
export const MAX_MESSAGE_NODES = 4 * SIZE_LIMIT;
/** Default maxMessageBytes: 64 MiB, about a hundred strings of SIZE_LIMIT. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Banana elements one jelly node can take: ["unicode", s] is 3 for 1 node, a dictionary entry of
 * two of them 7 for 2. So an expression within the jelly budget is never refused by banana, and
 * one past it (but within this multiple) gets jelly's error, which answers a call, not banana's,
 * which drops the connection.
 */
export const ELEMENTS_PER_NODE = 4;

/** Most elements of one unfinished top-level expression banana holds: ELEMENTS_PER_NODE * maxMessageNodes. */
export function maxHeldElements(limits: BananaLimits): number {
  return ELEMENTS_PER_NODE * limits.maxMessageNodes;
}

/** Twisted's banana limits, plus ours on one unfinished expression (Twisted has none). */
export const DEFAULT_BANANA_LIMITS: BananaLimits = Object.freeze({
  prefixLimit: PREFIX_LIMIT,
  sizeLimit: SIZE_LIMIT,
  maxMessageNodes: MAX_MESSAGE_NODES,
  maxMessageBytes: MAX_MESSAGE_BYTES,
});

/** Defaults with overrides applied, every value checked to be a positive integer. */
export function withLimits<T extends { readonly [K in keyof T]: number }>(defaults: T, overrides: Partial<T> | undefined, what: string): T {
  // The defaults themselves (a decoder handed its owner's resolved limits) need no copy nor check.
  if (!overrides || overrides === defaults) return defaults;
  const limits = { ...defaults, ...overrides };
  for (const [name, value] of Object.entries(limits) as [string, number][]) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${what} limit ${name} must be a positive integer, got ${value}`);
  }
  return Object.freeze(limits);
}

/** Banana limits: Twisted's defaults with `overrides` applied, checked (a bad value throws). */
export function bananaLimits(overrides?: Partial<BananaLimits>): BananaLimits {
  return withLimits(DEFAULT_BANANA_LIMITS, overrides, "banana");
}
