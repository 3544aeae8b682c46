// A server that completes PB's handshake and never answers a login: loginAnonymous had no
// default timeout (pending after 40 s) and ReconnectingPBClient passed only its signal to the
// login, so it never retried nor gave up. Now login defaults to the connect timeout and the
// reconnecting client's `timeout` bounds the login too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectAborted, ConnectTimeout, PBClient, PBServer, ReconnectingPBClient, UsernamePassword } from "../../src/index.ts";
import { maliciousServer } from "../hostile/support.ts";
import { neverLoginServer, sleep, until } from "./support.ts";

let server: PBServer;
beforeAll(async () => {
  server = await neverLoginServer();
});
afterAll(async () => {
  await server.close(200);
});

describe("login against a server that never answers it", () => {
  it("without a timeout option, login and loginAnonymous give up after the connect timeout", async () => {
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port }, { timeout: 400 });
    await expect(client.loginAnonymous()).rejects.toBeInstanceOf(ConnectTimeout);
    await expect(client.login(new UsernamePassword("alice", "pw"))).rejects.toBeInstanceOf(ConnectTimeout);
    await expect(client.login("alice", "pw")).rejects.toBeInstanceOf(ConnectTimeout);
    expect(client.broker.isDisconnected).toBe(false);
    await client.disconnect();
  });

  it("timeout 0 or Infinity on login means no limit, as for connect (the signal still gives it up)", async () => {
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port }, { timeout: 100 });
    for (const timeout of [0, Infinity]) {
      const controller = new AbortController();
      let settled = false;
      const p = client.loginAnonymous(null, { timeout, signal: controller.signal }).finally(() => (settled = true));
      p.catch(() => {});
      await sleep(300);
      expect(settled).toBe(false);
      controller.abort();
      await expect(p).rejects.toBeInstanceOf(ConnectAborted);
    }
    await client.disconnect();
  });

  it("a negative or NaN login timeout is a RangeError", async () => {
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    await expect(client.loginAnonymous(null, { timeout: -5 })).rejects.toBeInstanceOf(RangeError);
    await expect(client.loginAnonymous(null, { timeout: NaN })).rejects.toBeInstanceOf(RangeError);
    await client.disconnect();
  });

  it("ReconnectingPBClient counts an unanswered login as a failed attempt: it retries, then gives up at maxAttempts", async () => {
    const bad = await maliciousServer(() => new Uint8Array(0)); // handshakes, never answers
    const rc = new ReconnectingPBClient({ host: "127.0.0.1", port: bad.port }, { credentials: "anonymous", timeout: 300, initialDelayMs: 10, maxAttempts: 3 });
    const events: string[] = [];
    for (const e of ["connect", "login", "retry", "giveUp"] as const) rc.on(e, () => events.push(e));
    const gaveUp = new Promise<Error>((r) => rc.once("giveUp", r));
    rc.start();
    const error = await gaveUp;
    expect(error.cause).toBeInstanceOf(ConnectTimeout);
    expect(events.filter((e) => e === "connect")).toHaveLength(3);
    expect(events.filter((e) => e === "retry")).toHaveLength(2);
    expect(events).not.toContain("login");
    await rc.stop();
    await until(() => bad.replies() >= 3, 1000, "three logins");
    await bad.close();
  });
});
