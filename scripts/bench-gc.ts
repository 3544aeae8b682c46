// Collections the benchmarks make (with --expose-gc or without: see `gc` below).
//
// Before a measurement only the young generation is collected. A full collection there (gc()
// with no argument) made V8 optimize again, inside the measurement, code it had optimized
// during the warm-up: a login client re-optimized 69-75 functions over the next 3,000 logins
// against 18-29 with none or a young-generation one (--no-flush-bytecode made no difference),
// its helper threads spending 106-114 us per login against 38-51, raw's client 55-70 against
// 34-41. Why (found in the tenth pass): a forced full collection is atomic, and made at a moment
// when no instance of a short-lived class is alive it frees the maps (hidden classes) V8's
// optimized code was made for; V8 then throws that code away ("weak objects" in --trace-deopt).
// The collections V8 makes by itself mark incrementally and did not do this in our tests. The
// workload's own full collections still fall inside the measurement where they fall, raw's as
// ours.
// Note that V8 11 (Node 20) reads gc({ type: "major" }) as a young-generation collection too:
// only "minor" and "async" are options there, and any other object means "minor".

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** V8's gc() as --expose-gc gives it: no argument, a full collection. */
type GcFunction = (options?: { type?: "minor" }) => void;

/** The process's gc(); where it runs without --expose-gc, V8's flag is set and a new context's taken. */
const gc: GcFunction =
  (globalThis as { gc?: GcFunction }).gc ??
  (() => {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as GcFunction;
  })();

/** Collects the young generation only: before a measurement, after its warm-up. */
export function youngGc(): void {
  gc({ type: "minor" });
}

/** A full collection: for memory readings, and before each size-ladder sample. */
export function fullGc(): void {
  gc();
}
