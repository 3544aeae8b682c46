// What a sequential rate target against raw sockets leaves PB, from the benchmark's own numbers.
//
// In a sequential exchange (one call, or one login, at a time) nothing overlaps: each side's
// work lies on the path to the next operation, so PB's work for both sides adds to raw's time
// per operation. If PB's work cost what it costs warm in memory ("PB alone"), the best rate
// against raw would be raw / (raw + PB alone): the ceiling. What PB actually adds over sockets
// (both processes' CPU above raw's) against PB alone shows how much dearer the same work is
// there, where each turn starts after the process slept.

/** The inputs: one measurement's medians. Times in microseconds. */
export interface BudgetInput {
  /** Raw sockets' operations per second. */
  rawPerSec: number;
  /** The target: TS -> TS rate at least this fraction of raw's. */
  rateTarget: number;
  /** PB's own CPU per operation, both sides together, warm and in memory. */
  pbAloneUs: number;
  /** CPU per operation, both processes together, of raw and of TS -> TS (undefined where not measured). */
  rawCpuUs?: number;
  tsCpuUs?: number;
}

/** What the target leaves PB, and what PB took. */
export interface Budget {
  /** The target, as given. */
  rateTarget: number;
  /** Raw's wall time per operation. */
  rawUsPerOp: number;
  /** What PB may add per operation, both sides together, and still meet the target. */
  allowedUs: number;
  /** PB alone, as given. */
  pbAloneUs: number;
  /** The best rate / raw if PB's work cost its in-memory warm cost and nothing else. */
  ceiling: number;
  /** CPU per operation TS -> TS spends above raw, both processes together. */
  addedCpuUs?: number;
  /** addedCpuUs / pbAloneUs: how much dearer PB's work is over sockets than warm in memory. */
  addedOverAlone?: number;
}

export function rateBudget(x: BudgetInput): Budget {
  if (!(x.rawPerSec > 0) || !(x.rateTarget > 0 && x.rateTarget <= 1) || !(x.pbAloneUs >= 0)) {
    throw new RangeError(`rateBudget: rawPerSec ${x.rawPerSec}, rateTarget ${x.rateTarget}, pbAloneUs ${x.pbAloneUs} out of range`);
  }
  const rawUsPerOp = 1e6 / x.rawPerSec;
  const budget: Budget = {
    rateTarget: x.rateTarget,
    rawUsPerOp,
    // rate / raw >= target  <=>  raw / (raw + added) >= target  <=>  added <= raw (1 / target - 1)
    allowedUs: rawUsPerOp * (1 / x.rateTarget - 1),
    pbAloneUs: x.pbAloneUs,
    ceiling: rawUsPerOp / (rawUsPerOp + x.pbAloneUs),
  };
  if (x.rawCpuUs !== undefined && x.tsCpuUs !== undefined) {
    budget.addedCpuUs = x.tsCpuUs - x.rawCpuUs;
    if (x.pbAloneUs > 0) budget.addedOverAlone = budget.addedCpuUs / x.pbAloneUs;
  }
  return budget;
}
