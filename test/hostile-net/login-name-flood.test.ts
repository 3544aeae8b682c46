// An unauthenticated peer calling `login` with huge user names and never answering the
// challenges: each challenger kept the decoded name and the received bytes, up to
// maxBrokerRefs of them (1000 logins of 600 KB names held ~1.2 GB). Now names are capped
// (4 KB), copied out of the receive buffer, and a connection holds at most 256 unanswered
// challenges (maxPendingLogins).
import { afterEach, describe, expect, it } from "vitest";
import {
  AllowAnonymousAccess, InMemoryPasswordChecker, PBClient, PBServer, Portal, PortalAuthChallenger, PortalWrapper, Referenceable, UsernamePassword, type Broker, type Realm,
} from "../../src/index.ts";
import { call, RawPeer } from "../hostile/support.ts";

class User extends Referenceable {
  remote_ping() {
    return "pong";
  }
}
const realm: Realm = { requestAvatar: () => ["twisted.spread.pb.IPerspective", new User(), () => {}] };

const servers: PBServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close(500);
});

async function portalServer(login = {}) {
  const checker = new InMemoryPasswordChecker({ alice: "secret" });
  const server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [checker, new AllowAnonymousAccess()]), login });
  servers.push(server);
  return server;
}

describe("login names and challenges from unauthenticated peers", () => {
  it("refuses a 600 KB user name with an error answer and keeps nothing", async () => {
    const server = await portalServer();
    const peer = await RawPeer.connect(server.port);
    peer.send(call(1, "login", new Uint8Array(600 * 1024).fill(0x61)));
    expect(await peer.reply(1)).toBe("error");
    const broker = [...server.brokers][0] as Broker;
    expect(broker.localObjectCount).toBe(1); // the root only: no challenger was made
    peer.send(call(2, "login", new Uint8Array(4096).fill(0x61)));
    expect(await peer.reply(2)).toBe("answer"); // at the cap is fine
    peer.close();
  });

  it("holds at most maxPendingLogins unanswered challenges per connection; a real client still logs in", async () => {
    const server = await portalServer({ maxPendingLogins: 32 });
    const peer = await RawPeer.connect(server.port);
    const replies: string[] = [];
    for (let id = 1; id <= 40; id++) {
      peer.send(call(id, "login", new TextEncoder().encode(`user${id}`)));
      replies.push(await peer.reply(id));
    }
    expect(replies.filter((r) => r === "answer")).toHaveLength(32);
    expect(replies.slice(32).every((r) => r === "error")).toBe(true);
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const avatar = await client.login(new UsernamePassword("alice", "secret"));
    expect(await avatar.callRemote("ping")).toBe("pong");
    await client.disconnect();
    peer.close();
  });

  it("answered or released challenges stop counting: 50 logins in a row on one connection all succeed", async () => {
    const server = await portalServer({ maxPendingLogins: 2 });
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    for (let i = 0; i < 50; i++) {
      const avatar = await client.login(new UsernamePassword("alice", i % 5 === 4 ? "wrong" : "secret")).catch(() => null);
      avatar?.release();
    }
    const avatar = await client.login(new UsernamePassword("alice", "secret"));
    expect(await avatar.callRemote("ping")).toBe("pong");
    await client.disconnect();
  });

  it("the name is copied out of the receive buffer, not kept as a view into it", () => {
    const big = new Uint8Array(1 << 20);
    big.set(new TextEncoder().encode("alice"), 1000);
    const broker = { setLocalCleanup: () => {} } as unknown as Broker;
    const wrapper = new PortalWrapper(new Portal(realm, []), broker);
    const [, challenger] = wrapper.remote_login(big.subarray(1000, 1005)) as unknown as [Uint8Array, PortalAuthChallenger];
    expect(challenger.username).toBe("alice");
    expect(challenger.usernameBytes.buffer.byteLength).toBe(5);
  });

  it("the limit is configurable (maxUsernameBytes)", async () => {
    const server = await portalServer({ maxUsernameBytes: 8 });
    const peer = await RawPeer.connect(server.port);
    peer.send(call(1, "login", new TextEncoder().encode("123456789")));
    expect(await peer.reply(1)).toBe("error");
    peer.send(call(2, "login", "12345678"));
    expect(await peer.reply(2)).toBe("answer");
    peer.close();
  });
});
