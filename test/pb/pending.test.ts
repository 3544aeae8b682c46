// Calls given up on locally: nothing is left in the pending table, and a timeout and an abort
// are told apart by class while one base class catches both. Both roles: the connecting side
// calling the server's root, and the server calling an object the client handed it.
import { describe, expect, it } from "vitest";
import { CallAbandoned, CallAborted, CallTimeout, Referenceable, RemoteReference, type Broker } from "../../src/pb/index.ts";
import { pair, tick, TakingRoot } from "./support.ts";

class Slow extends Referenceable {
  answered: ((v: unknown) => void)[] = [];
  remote_never(): Promise<never> {
    return new Promise(() => {});
  }
  /** Answers only when the test says so. */
  remote_held(): Promise<unknown> {
    return new Promise((resolve) => this.answered.push(resolve));
  }
  remote_ping(): string {
    return "pong";
  }
}

class ServerRoot extends TakingRoot {
  slow = new Slow();
  remote_slow() {
    return this.slow;
  }
}

/** Who calls whom: `caller` is the broker whose pending table is watched. */
async function setup(role: "client" | "server"): Promise<{ caller: Broker; target: RemoteReference; slow: Slow; close(): void }> {
  const root = new ServerRoot();
  const p = await pair(root);
  const remoteRoot = p.client.remoteForName("root");
  if (role === "client") {
    const target = (await remoteRoot.callRemote("slow")) as RemoteReference;
    return { caller: p.client, target, slow: root.slow, close: p.close };
  }
  const slow = new Slow();
  await remoteRoot.callRemote("take", slow);
  return { caller: p.server, target: root.client!, slow, close: p.close };
}

describe.each(["client", "server"] as const)("pending calls given up on (%s calling)", (role) => {
  it("2,000 timed-out calls leave no entry behind, and the connection still works", async () => {
    const { caller, target, close } = await setup(role);
    const calls = Array.from({ length: 2000 }, () => target.call("never", { timeout: 1 }).catch((e: unknown) => e));
    const errors = await Promise.all(calls);
    expect(errors.every((e) => e instanceof CallTimeout && e instanceof CallAbandoned && e instanceof Error)).toBe(true);
    expect((errors[0] as CallTimeout).timeout).toBe(1);
    expect((errors[0] as Error).name).toBe("CallTimeout");
    expect(caller.pendingCallCount).toBe(0);
    expect(await target.callRemote("ping")).toBe("pong");
    expect(caller.pendingCallCount).toBe(0);
    close();
  });

  it("an abort is a CallAborted carrying the signal's reason, and leaves nothing behind", async () => {
    const { caller, target, close } = await setup(role);
    const ac = new AbortController();
    const calls = Array.from({ length: 100 }, () => target.call("never", { signal: ac.signal }));
    expect(caller.pendingCallCount).toBe(100);
    const reason = new Error("user pressed cancel");
    ac.abort(reason);
    for (const c of calls) {
      const e = await c.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CallAborted);
      expect(e).toBeInstanceOf(CallAbandoned);
      expect(e).not.toBeInstanceOf(CallTimeout);
      expect((e as CallAborted).cause).toBe(reason);
    }
    expect(caller.pendingCallCount).toBe(0);
    // Already aborted: refused before anything is sent.
    await expect(target.call("ping", { signal: ac.signal })).rejects.toBeInstanceOf(CallAborted);
    expect(caller.pendingCallCount).toBe(0);
    close();
  });

  it("the late answer to a call given up on is dropped quietly; the connection stays up", async () => {
    const { caller, target, slow, close } = await setup(role);
    const late = target.call("held", { timeout: 5 });
    await expect(late).rejects.toBeInstanceOf(CallTimeout);
    expect(caller.pendingCallCount).toBe(0);
    for (const answer of slow.answered) answer("too late");
    await tick();
    await tick();
    expect(caller.isDisconnected).toBe(false);
    expect(await target.callRemote("ping")).toBe("pong");
    close();
  });

  it("late answers after more give-ups than are remembered by id are still dropped quietly", async () => {
    const { caller, target, slow, close } = await setup(role);
    const calls = Array.from({ length: 1500 }, () => target.call("held", { timeout: 1 }).catch(() => undefined));
    await Promise.all(calls);
    expect(caller.pendingCallCount).toBe(0);
    for (const answer of slow.answered) answer("late");
    await tick();
    await tick();
    expect(caller.isDisconnected).toBe(false);
    expect(await target.callRemote("ping")).toBe("pong");
    close();
  });
});

/** Counts the listeners added to and removed from a signal (wrapping its own methods). */
function countListeners(signal: AbortSignal): { added: number; removed: number } {
  const counts = { added: 0, removed: 0 };
  const target = signal as unknown as Record<"addEventListener" | "removeEventListener", (...args: unknown[]) => void>;
  const add = target.addEventListener.bind(signal);
  const remove = target.removeEventListener.bind(signal);
  target.addEventListener = (...args: unknown[]) => {
    counts.added++;
    add(...args);
  };
  target.removeEventListener = (...args: unknown[]) => {
    counts.removed++;
    remove(...args);
  };
  return counts;
}

describe("one AbortSignal shared by many calls", () => {
  it("adds one listener per connection, fires every call in order, and removes the listener with the last call", async () => {
    const { target, caller, close } = await setup("client");
    const ac = new AbortController();
    const added = countListeners(ac.signal);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const order: number[] = [];
      const calls = Array.from({ length: 50 }, (_, i) => target.call("never", { signal: ac.signal }).catch((e: unknown) => (order.push(i), e)));
      expect(added.added).toBe(1);
      ac.abort(new Error("enough"));
      const errors = await Promise.all(calls);
      for (const e of errors) expect(e).toBeInstanceOf(CallAborted);
      expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
      // Answered calls let go of the listener once the last of them is done.
      const ac2 = new AbortController();
      const listeners = countListeners(ac2.signal);
      await Promise.all(Array.from({ length: 20 }, () => target.call("ping", { signal: ac2.signal })));
      expect(listeners.added).toBe(1);
      expect(listeners.added - listeners.removed).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
      expect(caller.pendingCallCount).toBe(0);
    } finally {
      process.off("warning", onWarning);
      close();
    }
  });
});
