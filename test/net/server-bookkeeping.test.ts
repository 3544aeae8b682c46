// PBServer keeps one record per connection: every table it keeps forgets a connection once it
// closes, whatever closed it, and the handshake and first-message timers of a finished
// connection never fire later.
import { describe, expect, it, vi } from "vitest";
import { InMemoryPasswordChecker, PBClient, PBServer, Portal, Referenceable, type Broker, type Realm } from "../../src/index.ts";
import { until } from "./support.ts";

const realm: Realm = { requestAvatar: () => ["twisted.spread.pb.IPerspective", new Referenceable(), () => {}] };

describe("PBServer bookkeeping", () => {
  it("after many logins one at a time (one connection per address allowed), nothing is left behind", async () => {
    const server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [new InMemoryPasswordChecker({ alice: "pw" })]), maxConnectionsPerAddress: 1 });
    let connections = 0;
    let disconnects = 0;
    server.on("connection", () => connections++);
    server.on("disconnect", () => disconnects++);
    for (let i = 0; i < 20; i++) {
      const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
      await client.login("alice", "pw");
      await client.disconnect();
      // the per-address count went down, or the next connection would be dropped
      await until(() => server.connectionCount === 0, 2000, "the connection to be forgotten");
    }
    await until(() => disconnects === 20, 2000, "20 disconnect events");
    expect(connections).toBe(20);
    expect(server.brokers.size).toBe(0);
    await server.close(200);
  });

  it("a finished connection's timers do not fire: the handshake and first-message timers are cleared", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [new InMemoryPasswordChecker({ alice: "pw" })]), handshakeTimeout: 1000, firstMessageTimeout: 1000 });
      const reasons: (Error | undefined)[] = [];
      server.on("disconnect", (_b: Broker, r) => reasons.push(r));
      const client = await PBClient.connect({ host: "127.0.0.1", port: server.port }, { timeout: 0 });
      await client.login("alice", "pw", null, { timeout: 0 });
      vi.advanceTimersByTime(5000);
      expect(client.broker.isDisconnected).toBe(false);
      expect(reasons).toEqual([]);
      vi.useRealTimers();
      await client.disconnect();
      await until(() => reasons.length === 1, 2000, "the disconnect");
      expect(reasons[0]?.name).not.toMatch(/Timeout/);
      await server.close(200);
    } finally {
      vi.useRealTimers();
    }
  });
});
