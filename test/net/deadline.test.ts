// The waits of connect and login: withDeadline (public) hands its work a real AbortSignal; the
// client's own waits use a lighter signal, which must still give up the calls made under it.
import { describe, expect, it } from "vitest";
import { ConnectAborted, ConnectTimeout, PBClient, UsernamePassword, withDeadline } from "../../src/index.ts";
import { deadline, GiveUpSignal } from "../../src/net/deadline.ts";
import { neverLoginServer } from "./support.ts";

describe("withDeadline", () => {
  it("gives its work a real AbortSignal, aborted with the ConnectTimeout when the time is up", async () => {
    let seen: AbortSignal | undefined;
    const err = await withDeadline("waiting", { timeout: 30 }, (signal) => {
      seen = signal;
      return new Promise<never>(() => {});
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectTimeout);
    expect(seen).toBeInstanceOf(AbortSignal);
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBe(err);
  });

  it("rejects with ConnectAborted when the caller's signal fires, and runs onGiveUp once", async () => {
    const controller = new AbortController();
    let undone = 0;
    const p = withDeadline("waiting", { signal: controller.signal }, () => new Promise<never>(() => {}), () => undone++);
    controller.abort(new Error("stop"));
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectAborted);
    expect(((err as Error).cause as Error).message).toBe("stop");
    expect(undone).toBe(1);
  });

  it("a work that throws at once rejects the wait with that error", async () => {
    await expect(
      withDeadline("waiting", { timeout: 1000 }, () => {
        throw new TypeError("bad");
      }),
    ).rejects.toBeInstanceOf(TypeError);
  });
});

describe("the client's lighter waits", () => {
  it("GiveUpSignal tells each listener once, and none added after it fired or removed before", () => {
    const s = new GiveUpSignal();
    const calls: string[] = [];
    const a = () => calls.push("a");
    const b = () => calls.push("b");
    s.addEventListener("abort", a);
    s.addEventListener("abort", b);
    s.removeEventListener("abort", b);
    s.abort(new Error("why"));
    s.abort(new Error("again"));
    s.addEventListener("abort", () => calls.push("late"));
    expect(calls).toEqual(["a"]);
    expect(s.aborted).toBe(true);
    expect((s.reason as Error).message).toBe("why");
  });

  it("GiveUpSignal removes the listener asked for, first, middle or last, and ignores one it never had", () => {
    const s = new GiveUpSignal();
    const calls: string[] = [];
    const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => () => calls.push(n));
    for (const l of [a, b, c, d]) s.addEventListener("abort", l);
    s.removeEventListener("abort", a);
    s.removeEventListener("abort", c);
    s.removeEventListener("abort", () => {});
    s.removeEventListener("abort", d);
    s.removeEventListener("abort", d);
    s.abort(new Error("why"));
    expect(calls).toEqual(["b"]);
  });

  it("deadline() fires its timeout and aborts the signal its work was given", async () => {
    let seen: { aborted: boolean } | undefined;
    const err = await deadline("login", { timeout: 20 }, (signal) => {
      seen = signal;
      return new Promise<never>(() => {});
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectTimeout);
    expect(seen!.aborted).toBe(true);
  });

  it("a login that times out leaves no call waiting for an answer; its late answer would be dropped", async () => {
    const server = await neverLoginServer();
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    await expect(client.login(new UsernamePassword("alice", "pw"), null, { timeout: 50 })).rejects.toBeInstanceOf(ConnectTimeout);
    const controller = new AbortController();
    const p = client.loginAnonymous(null, { signal: controller.signal });
    expect(client.broker.pendingCallCount).toBe(1);
    controller.abort();
    await expect(p).rejects.toBeInstanceOf(ConnectAborted);
    expect(client.broker.pendingCallCount).toBe(0);
    expect(client.broker.isDisconnected).toBe(false);
    await client.disconnect();
    await server.close(200);
  });

  it("getRootObject checks its options as before: a bad timeout or an aborted signal rejects", async () => {
    const server = await neverLoginServer();
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    await expect(client.getRootObject({ timeout: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(client.getRootObject({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ConnectAborted);
    expect(await client.getRootObject({ timeout: 10 })).toBeDefined();
    await client.disconnect();
    await server.close(200);
  });
});
