import { describe, expect, it } from "vitest";
import { rateBudget } from "../../scripts/bench-budget.ts";

describe("rateBudget (bench:pb's 'what the rate targets leave PB')", () => {
  it("gives the time PB may add, the ceiling with PB's warm cost, and what was spent over it", () => {
    // Raw at 40,000 ops/s is 25 us an op; at 0.9x PB may add 25 (1/0.9 - 1) = 2.78 us.
    const b = rateBudget({ rawPerSec: 40_000, rateTarget: 0.9, pbAloneUs: 3.4, rawCpuUs: 31, tsCpuUs: 38 });
    expect(b.rawUsPerOp).toBe(25);
    expect(b.allowedUs).toBeCloseTo(2.7778, 3);
    expect(b.ceiling).toBeCloseTo(25 / 28.4, 6);
    expect(b.ceiling).toBeLessThan(0.9);
    expect(b.addedCpuUs).toBe(7);
    expect(b.addedOverAlone).toBeCloseTo(7 / 3.4, 6);
  });

  it("a ceiling above the target when raw is slow (costly wake-ups), and no CPU figures when none were measured", () => {
    const b = rateBudget({ rawPerSec: 1_000, rateTarget: 0.8, pbAloneUs: 30 });
    expect(b.allowedUs).toBeCloseTo(250, 6);
    expect(b.ceiling).toBeCloseTo(1000 / 1030, 6);
    expect(b.addedCpuUs).toBeUndefined();
    expect(b.addedOverAlone).toBeUndefined();
  });

  it("refuses inputs that give no meaning", () => {
    expect(() => rateBudget({ rawPerSec: 0, rateTarget: 0.9, pbAloneUs: 1 })).toThrow(RangeError);
    expect(() => rateBudget({ rawPerSec: 10, rateTarget: 1.5, pbAloneUs: 1 })).toThrow(RangeError);
    expect(() => rateBudget({ rawPerSec: 10, rateTarget: 0.9, pbAloneUs: Number.NaN })).toThrow(RangeError);
  });
});
