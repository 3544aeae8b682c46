// What a call's `timeout` means at its edges. 0, Infinity, 2**31, -5 and NaN all used to make
// the call fail with CallTimeout within a few ms (with a TimeoutOverflowWarning), while connect
// treated 0 and Infinity as "no limit". Now: 0 and Infinity set no limit, values past
// setTimeout's 2**31-1 ms are honoured, negative and NaN are a RangeError and nothing is sent.
import { afterEach, describe, expect, it, vi } from "vitest";
import { CallTimeout, Referenceable, Root, type RemoteReference } from "../../src/pb/index.ts";
import { startTimer } from "../../src/pb/timeout.ts";
import { pair, tick } from "./support.ts";

class Held extends Referenceable {
  waiting: ((v: unknown) => void)[] = [];
  remote_held(): Promise<unknown> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}
class R extends Root {
  held = new Held();
  remote_held() {
    return this.held;
  }
}

const warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);
afterEach(() => {
  process.off("warning", onWarning);
  vi.useRealTimers();
});

describe("call timeout values", () => {
  it("0, Infinity and 2**31 ms wait for the answer: no CallTimeout, no TimeoutOverflowWarning", async () => {
    process.on("warning", onWarning);
    const root = new R();
    const p = await pair(root);
    const target = (await p.client.remoteForName("root").callRemote("held")) as RemoteReference;
    const calls = [0, Infinity, 2 ** 31, 2 ** 40].map((timeout) => {
      let outcome = "pending";
      const c = target.call("held", { timeout }).then((v) => (outcome = `answered ${String(v)}`), (e: Error) => (outcome = e.name));
      return { c, outcome: () => outcome };
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(calls.map((c) => c.outcome())).toEqual(["pending", "pending", "pending", "pending"]);
    expect(p.client.pendingCallCount).toBe(4);
    root.held.waiting.forEach((resolve, i) => resolve(i));
    await Promise.all(calls.map((c) => c.c));
    expect(calls.map((c) => c.outcome())).toEqual(["answered 0", "answered 1", "answered 2", "answered 3"]);
    expect(warnings.filter((w) => w.name === "TimeoutOverflowWarning")).toEqual([]);
    p.close();
  });

  it("a negative or NaN timeout rejects with RangeError and the call is not sent", async () => {
    const root = new R();
    const p = await pair(root);
    const target = (await p.client.remoteForName("root").callRemote("held")) as RemoteReference;
    const written = p.writes.length;
    for (const timeout of [-5, NaN, -Infinity]) {
      await expect(target.call("held", { timeout })).rejects.toBeInstanceOf(RangeError);
    }
    await expect(target.call("held", { timeout: "5" as unknown as number })).rejects.toBeInstanceOf(RangeError);
    await tick();
    expect(p.writes.length).toBe(written);
    expect(root.held.waiting).toHaveLength(0);
    expect(p.client.pendingCallCount).toBe(0);
    p.close();
  });

  it("a small positive timeout still fires with CallTimeout", async () => {
    const p = await pair(new R());
    const target = (await p.client.remoteForName("root").callRemote("held")) as RemoteReference;
    await expect(target.call("held", { timeout: 20 })).rejects.toBeInstanceOf(CallTimeout);
    p.close();
  });

  it("a timer past 2**31-1 ms fires when due, not before", () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    startTimer(2 ** 31 + 5000, fn);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5000);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
