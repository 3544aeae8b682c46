// A call's timeout and AbortSignal are undone once it is answered: its timer no longer runs and
// its listener leaves the signal (a long-lived signal shared by many calls holds none of them).
import { afterEach, describe, expect, it, vi } from "vitest";
import { CallAborted, CallTimeout, Referenceable, type RemoteReference } from "../../src/pb/index.ts";
import { GiveUpSignal } from "../../src/net/deadline.ts";
import { pair, TakingRoot } from "./support.ts";

class Echo extends Referenceable {
  remote_echo(x: unknown) {
    return x;
  }
  remote_never(): Promise<never> {
    return new Promise(() => {});
  }
}

class Root extends TakingRoot {
  echo = new Echo();
  remote_echo() {
    return this.echo;
  }
}

async function setup() {
  const p = await pair(new Root());
  const echo = (await p.client.remoteForName("root").callRemote("echo")) as RemoteReference;
  return { ...p, echo };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("a call's timeout and signal", () => {
  it("an answered call removes its listener from the signal; aborting later changes nothing", async () => {
    const { echo, client, close } = await setup();
    const ac = new AbortController();
    const added = vi.spyOn(ac.signal, "addEventListener");
    const removed = vi.spyOn(ac.signal, "removeEventListener");
    for (let i = 0; i < 10; i++) expect(await echo.call("echo", { args: [i], signal: ac.signal, timeout: 5000 })).toBe(i);
    expect(added).toHaveBeenCalledTimes(10);
    expect(removed).toHaveBeenCalledTimes(10);
    expect(removed.mock.calls[0][1]).toBe(added.mock.calls[0][1]);
    ac.abort();
    expect(client.pendingCallCount).toBe(0);
    close();
  });

  it("an answered call's timer never fires; an unanswered one's does, once", async () => {
    const { echo, client, close } = await setup();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    expect(await echo.call("echo", { args: [1], timeout: 100 })).toBe(1);
    const never = echo.call("never", { timeout: 100 }).catch((e: unknown) => e);
    expect(vi.getTimerCount()).toBe(1); // the answered call left no timer behind
    vi.advanceTimersByTime(100);
    expect(await never).toBeInstanceOf(CallTimeout);
    expect(vi.getTimerCount()).toBe(0);
    expect(client.pendingCallCount).toBe(0);
    close();
  });

  it("works the same with the client's GiveUpSignal: the abort gives the call up with CallAborted", async () => {
    const { echo, client, close } = await setup();
    const signal = new GiveUpSignal();
    expect(await echo.call("echo", { args: [2], signal: signal as unknown as AbortSignal })).toBe(2);
    const p = echo.call("never", { signal: signal as unknown as AbortSignal }).catch((e: unknown) => e);
    expect(client.pendingCallCount).toBe(1);
    signal.abort(new Error("gone"));
    const err = await p;
    expect(err).toBeInstanceOf(CallAborted);
    expect(((err as Error).cause as Error).message).toBe("gone");
    expect(client.pendingCallCount).toBe(0);
    close();
  });

  it("GiveUpSignal shared by many calls: each is listened to directly, an answered call leaves no listener, the abort gives up the rest in call order", async () => {
    const { echo, client, close } = await setup();
    const signal = new GiveUpSignal();
    const listeners = () => (signal as unknown as { listeners: unknown[] | null }).listeners?.length ?? 0;
    for (let i = 0; i < 5; i++) expect(await echo.call("echo", { args: [i], signal: signal as unknown as AbortSignal })).toBe(i);
    expect(listeners()).toBe(0);
    const order: number[] = [];
    const waiting = [0, 1, 2].map((i) =>
      echo.call("never", { signal: signal as unknown as AbortSignal }).catch((e: unknown) => {
        order.push(i);
        return e;
      }),
    );
    expect(listeners()).toBe(3);
    expect(client.pendingCallCount).toBe(3);
    signal.abort(new Error("given up"));
    const errors = await Promise.all(waiting);
    expect(order).toEqual([0, 1, 2]);
    for (const e of errors) expect(e).toBeInstanceOf(CallAborted);
    expect(client.pendingCallCount).toBe(0);
    expect(listeners()).toBe(0);
    close();
  });
});
