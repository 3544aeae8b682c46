// Banana's limits, with Twisted's defaults (banana.py setPrefixLimit(64), SIZE_LIMIT).

/** Banana's limits on one connection (Twisted's defaults in {@link DEFAULT_BANANA_LIMITS}). */
export interface BananaLimits {
  /** Most header digits before the type byte (banana.py `_PREFIX_LIMIT`). Also bounds ints: +-(2**(7*prefixLimit) - 1). */
  readonly prefixLimit: number;
  /** Most elements in a list and bytes in a string, both ways (banana.py `SIZE_LIMIT`, 640 KiB). */
  readonly sizeLimit: number;
}

/** Twisted's default prefix limit: 64 header digits. */
export const PREFIX_LIMIT = 64;
/** Twisted's banana SIZE_LIMIT: 640 KiB per string, 640 Ki elements per list. */
export const SIZE_LIMIT = 640 * 1024;

/** Twisted's banana limits. */
export const DEFAULT_BANANA_LIMITS: BananaLimits = Object.freeze({
  prefixLimit: PREFIX_LIMIT,
  sizeLimit: SIZE_LIMIT,
});

/** Defaults with overrides applied, every value checked to be a positive integer. */
export function withLimits<T extends { readonly [K in keyof T]: number }>(defaults: T, overrides: Partial<T> | undefined, what: string): T {
  if (!overrides) return defaults;
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
