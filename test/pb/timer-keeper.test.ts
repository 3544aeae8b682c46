// The timers of deadlines (connect, login, calls, disconnect) keep Node's list for their
// duration alive between uses (pb/timeout.ts keepTimerList): that must change nothing a user
// sees. Timers still fire on time, once; a process whose waits are all done exits at once; fake
// timers in tests neither see nor count the keepers.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { armTimer, cancelTimer, keepTimerList } from "../../src/pb/timeout.ts";

const timeoutModule = fileURLToPath(new URL("../../src/pb/timeout.ts", import.meta.url));

afterEach(() => {
  vi.useRealTimers();
});

describe("timer lists kept between deadlines", () => {
  it("timers of a kept duration still fire after their delay, once, and cancelled ones never", async () => {
    const fired: number[] = [];
    const start = performance.now();
    const cancelled = armTimer(150, () => fired.push(-1), null);
    cancelTimer(cancelled);
    // The duration is kept now: a second and third timer of it, one of them cancelled.
    const done = new Promise<void>((resolve) => armTimer(150, () => (fired.push(performance.now() - start), resolve()), null));
    cancelTimer(armTimer(150, () => fired.push(-2), null));
    await done;
    await new Promise((r) => setTimeout(r, 200));
    expect(fired.length).toBe(1);
    expect(fired[0]).toBeGreaterThanOrEqual(145);
  });

  it("fake timers count only the deadlines armed, not the keepers", () => {
    keepTimerList(30_000);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let fired = 0;
    const a = armTimer(30_000, () => fired++, null);
    armTimer(2000, () => fired++, null);
    expect(vi.getTimerCount()).toBe(2);
    cancelTimer(a);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1999);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a process whose deadlines were all cleared exits at once: the keepers hold nothing", () => {
    const script = `
      const { armTimer, cancelTimer } = await import(${JSON.stringify(timeoutModule)});
      for (let i = 0; i < 100; i++) { cancelTimer(armTimer(30000, () => console.log("fired"), null)); cancelTimer(armTimer(2000, () => console.log("fired"), null)); }
      globalThis.t0 = Date.now();
      process.on("exit", () => console.log("exit after " + (Date.now() - globalThis.t0) + " ms"));`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 10_000 });
    expect(r.stderr).toBe("");
    const m = /^exit after (\d+) ms$/m.exec(r.stdout);
    expect(r.stdout).not.toContain("fired");
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(1500);
  });
});
