// Against a live Twisted 22.4 server (interop/peer.py serve live-root / live-portal): what is visible on the wire. Login
// with credentials objects, the order Twisted sends a failed login's decref and error in (our
// server is tested for the same order in credentials.test.ts), and the liveness check, which
// Twisted must answer without logging anything.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AllowAnonymousAccess,
  Anonymous,
  CopiedFailure,
  InMemoryPasswordChecker,
  LIVENESS_OBJECT_NAME,
  PBClient,
  PBServer,
  Portal,
  Referenceable,
  UnauthorizedLogin,
  UsernameMD5Credentials,
  UsernamePassword,
  type AvatarId,
  type Realm,
} from "../../src/index.ts";
import { runPyClient, startPyServer, stopAllPeers, type PyServer } from "../../interop/pbpeers.ts";
import { tapReceived, until } from "../net/support.ts";

class Mind extends Referenceable {
  remote_print() {
    return null;
  }
  remote_getInfo() {
    return null;
  }
  remote_ping(n: unknown) {
    return n;
  }
}

let portal: PyServer;
let root: PyServer;
beforeAll(async () => {
  [portal, root] = await Promise.all([startPyServer({ mode: "portal", mindCalls: 0 }), startPyServer({ mode: "root" })]);
});
afterAll(async () => {
  await stopAllPeers();
});

const connect = (server: PyServer, options: Parameters<typeof PBClient.connect>[1] = {}) => PBClient.connect({ host: "127.0.0.1", port: server.port }, options);

describe("TS client -> Twisted 22.4 server", () => {
  it("logs in with UsernamePassword (text and byte names), UsernameMD5Credentials and Anonymous", async () => {
    await using client = await connect(portal);
    expect(await (await client.login(new UsernamePassword("alice", "secret"))).callRemote("whoami")).toBe("alice");
    expect(await (await client.login(new UsernamePassword(new TextEncoder().encode("bob"), new TextEncoder().encode("hunter2")), new Mind())).callRemote("whoami")).toBe("bob");
    expect(await (await client.login(UsernameMD5Credentials.fromPassword("alice", "secret"))).callRemote("whoami")).toBe("alice");
    expect(await (await client.login(new Anonymous())).callRemote("whoami")).toBe("anonymous");
    const e = await client.login(new UsernamePassword("alice", "nope")).catch((x: unknown) => x);
    expect((e as CopiedFailure).check(UnauthorizedLogin)).toBe("twisted.cred.error.UnauthorizedLogin");
  });

  it("Twisted releases the mind of a failed login before it sends the error (our server does the same)", async () => {
    await using client = await connect(portal);
    const baseline = client.broker.localObjectCount;
    const seen = tapReceived(client);
    const e = await client.login(new UsernamePassword("alice", "wrong"), new Mind()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CopiedFailure);
    expect(seen.map(([head]) => head)).toEqual(["answer", "decref", "error"]);
    await until(() => client.broker.localObjectCount === baseline, 2000, "the mind to be released");
  });

  it("the liveness check is answered by Twisted (an error, Invalid Object ID) and Twisted logs nothing", async () => {
    const before = root.events.length;
    await using client = await connect(root, { liveness: { interval: 60, timeout: 2000 } });
    const seen = tapReceived(client);
    await until(() => seen.filter(([h]) => h === "error").length >= 3, 5000, "three liveness answers");
    expect(client.broker.isDisconnected).toBe(false);
    const probe = await client.broker.remoteForName(LIVENESS_OBJECT_NAME).call("ping").catch((x: unknown) => x);
    expect([(probe as CopiedFailure).type, (probe as CopiedFailure).value]).toEqual(["twisted.spread.pb.Error", "Invalid Object ID"]);
    expect(root.events.slice(before).filter((e) => e.event === "log")).toEqual([]);
  });
});

describe("Twisted 22.4 client -> our server", () => {
  it("a failed login's mind leaves the Twisted client's object table (our decref arrives with the error); a good login's stays", async () => {
    class User extends Referenceable {
      remote_whoami() {
        return "alice";
      }
    }
    const realm: Realm = { requestAvatar: (_id: AvatarId) => ["twisted.spread.pb.IPerspective", new User(), () => {}] };
    await using server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [new InMemoryPasswordChecker({ alice: "secret" }), new AllowAnonymousAccess()]) });
    const r = await runPyClient({
      port: server.port,
      steps: [
        { op: "connect", save: "root" },
        { op: "login", user: "alice", password: "wrong", mind: "badMind", label: "bad", trap: ["twisted.cred.error.UnauthorizedLogin"] },
        { op: "luids", label: "afterBad" },
        { op: "login", user: "alice", password: "secret", mind: "goodMind", save: "av", label: "good" },
        { op: "luids", label: "afterGood" },
      ],
    });
    expect(r.step("bad").trapped).toBe("twisted.cred.error.UnauthorizedLogin");
    expect(r.step("good").ok).toBe(true);
    const names = (label: string) => JSON.stringify(r.step(label).value);
    expect(names("afterBad")).not.toContain("badMind");
    expect(names("afterGood")).toContain("goodMind");
  });
});
