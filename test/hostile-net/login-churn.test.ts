// Per-login leftovers (issue 12): 20,000 logins and logouts on one connection. Each login
// registered a disconnect callback that stayed after logout (20,000 kept); now every table of
// both brokers returns to its baseline when the avatars are released.
import { describe, expect, it } from "vitest";
import { AllowAnonymousAccess, Anonymous, InMemoryPasswordChecker, PBClient, PBServer, Portal, Referenceable, UsernamePassword, type AvatarId, type Broker, type Realm } from "../../src/index.ts";
import { until } from "../net/support.ts";

const LOGINS = Number(process.env.LOGIN_CHURN ?? 20_000);

/**
 * The size of every Map, Set and Array a broker holds, found by walking its fields (and the
 * fields of objects it owns, two levels down), so that the check follows the tables wherever a
 * refactoring puts them.
 */
function tableSizes(broker: Broker): Map<string, number> {
  const sizes = new Map<string, number>();
  const seen = new Set<object>();
  const walk = (obj: object, path: string, depth: number) => {
    if (seen.has(obj)) return;
    seen.add(obj);
    for (const [key, value] of Object.entries(obj)) {
      if (value === null || typeof value !== "object") continue;
      const here = `${path}.${key}`;
      if (value instanceof Map || value instanceof Set) sizes.set(here, value.size);
      else if (Array.isArray(value)) sizes.set(here, value.length);
      else if (depth < 2 && !ArrayBuffer.isView(value)) walk(value, here, depth + 1);
    }
  };
  walk(broker, "broker", 0);
  return sizes;
}

function grown(before: Map<string, number>, after: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [k, v] of after) if (v > (before.get(k) ?? 0)) out.push(`${k}: ${before.get(k) ?? 0} -> ${v}`);
  return out;
}

class User extends Referenceable {
  remote_ping() {
    return "pong";
  }
}

describe(`${LOGINS} logins and logouts on one connection`, () => {
  it("leave every table of both brokers at its baseline, and log each avatar out once", async () => {
    let loggedIn = 0;
    let loggedOut = 0;
    const realm: Realm = {
      requestAvatar: (_id: AvatarId) => {
        loggedIn++;
        return ["twisted.spread.pb.IPerspective", new User(), () => loggedOut++];
      },
    };
    const brokers: Broker[] = [];
    await using server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [new InMemoryPasswordChecker({ alice: "secret" }), new AllowAnonymousAccess()]) });
    server.on("connection", (b) => brokers.push(b));
    await using client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const cycle = async (i: number) => {
      const avatar = await (i % 2 ? client.login(new UsernamePassword("alice", "secret")) : client.loginAnonymous());
      avatar.release();
    };
    // one cycle first: whatever is made once per connection is part of the baseline
    await cycle(0);
    await until(() => loggedOut === 1, 2000, "the first logout");
    const serverSide = brokers[0];
    const serverBefore = tableSizes(serverSide);
    const clientBefore = tableSizes(client.broker);
    expect(serverBefore.size).toBeGreaterThan(3);

    // 100 logins in flight at a time: fast, and still one connection
    for (let i = 1; i <= LOGINS; i += 100) await Promise.all(Array.from({ length: Math.min(100, LOGINS + 1 - i) }, (_, j) => cycle(i + j)));
    await until(() => loggedOut === LOGINS + 1, 10_000, "every logout");
    await until(() => grown(serverBefore, tableSizes(serverSide)).length === 0, 5000, "the server's tables to return to baseline").catch(() => {});

    expect(grown(serverBefore, tableSizes(serverSide))).toEqual([]);
    expect(grown(clientBefore, tableSizes(client.broker))).toEqual([]);
    expect(serverSide.localObjectCount).toBe(1); // the root
    expect(loggedIn).toBe(LOGINS + 1);

    // on disconnect, nobody is logged out a second time
    await client.disconnect();
    await serverSide.closed;
    expect(loggedOut).toBe(LOGINS + 1);
  });
});

describe("logins with a mind, released by the realm at logout", () => {
  it("once collected, the server's references to the minds are decref'd and the client's table returns to its baseline", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) return expect.fail("run with --expose-gc (vitest.config.ts does)");
    class Avatar extends Referenceable {
      constructor(public mind: unknown) {
        super();
      }
    }
    let loggedOut = 0;
    const realm: Realm = {
      requestAvatar: (_id: AvatarId, mind: unknown) => {
        const avatar = new Avatar(mind);
        return ["twisted.spread.pb.IPerspective", avatar, () => ((avatar.mind = null), loggedOut++)];
      },
    };
    await using server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [new AllowAnonymousAccess()]) });
    await using client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const baseline = client.broker.localObjectCount;
    const n = 2000;
    for (let i = 0; i < n; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const avatar = await client.login(new Anonymous(), new Referenceable());
          avatar.release();
        }),
      );
      // JS references die at collection, not at their last use as in CPython: collect between
      // batches, or the client's table would pass MAX_BROKER_REFS (1024) before the server's
      // references to the minds are collected and decref'd.
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => loggedOut === n, 10_000, "every logout");
    const end = Date.now() + 10_000;
    while (client.broker.localObjectCount > baseline && Date.now() < end) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(client.broker.localObjectCount).toBe(baseline);
  });
});
