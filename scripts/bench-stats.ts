// Small statistics the benchmarks share.

/** The value at fraction `q` (0.5: p50, 0.99: p99) of values sorted in ascending order: no interpolation. */
export function percentileOf(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
