// A Twisted peer keeps Nagle's algorithm on. If a client's dialect choice and its login call left
// in two writes, a Twisted server would answer the choice alone (its "version" message) and hold
// the login's answer until our delayed ACK of that (~40 ms a login, seen against Twisted 22.4):
// what a turn writes must leave in one write, also when part of it is written in promise jobs.
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Avatar, InMemoryPasswordChecker, IPerspective, PBClient, PBServer, Portal, type AvatarId, type LoginResult, type Realm } from "../../src/index.ts";

const servers: PBServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close(200);
});

describe("client writes per login", () => {
  it("the dialect choice and the login call leave together; a login is two client writes", async () => {
    const realm: Realm = { requestAvatar: (_id: AvatarId, _mind: unknown): LoginResult => [IPerspective, new Avatar(), () => {}] };
    const portal = new Portal(realm, [new InMemoryPasswordChecker({ user: "pass" })]);
    const server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: portal });
    servers.push(server);
    const original = net.Socket.prototype.write;
    const writes: number[] = [];
    net.Socket.prototype.write = function (this: net.Socket, ...args: Parameters<net.Socket["write"]>) {
      if (this.remotePort === server.port) writes.push((args[0] as Uint8Array).length);
      return original.apply(this, args);
    } as net.Socket["write"];
    try {
      for (let i = 0; i < 3; i++) {
        const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
        await client.login("user", "pass");
        await client.disconnect();
      }
    } finally {
      net.Socket.prototype.write = original;
    }
    // Per login: [choice + login call], [respond].
    expect(writes.length).toBe(6);
  });
});
