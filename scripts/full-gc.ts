// A full garbage collection for the benchmarks (processes run with --expose-gc) that keeps the
// code V8 has compiled. gc() with no argument is V8's memory-reducing collection, which also
// throws compiled code away: after one, a login client re-optimized ~70 functions over the
// next 3,000 logins against ~20 without it, at ~57 us of compiling per login, so a measurement
// begun after it paid for warming up again (raw sockets, with little code, hardly at all).
// { type: "major" } collects the same garbage and leaves the compiled code alone.

/** V8's gc(), as --expose-gc (or a context made after setting it) gives it. */
export type GcFunction = (options?: { type?: "major" | "minor"; execution?: "sync" | "async" }) => void;

/** The options of a synchronous full collection that keeps compiled code. */
export const FULL_KEEPING_CODE = { type: "major", execution: "sync" } as const;

/** A synchronous full collection that keeps compiled code; nothing where gc is not exposed. */
export function fullGc(): void {
  (globalThis as { gc?: GcFunction }).gc?.(FULL_KEEPING_CODE);
}
