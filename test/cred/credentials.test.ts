// Credentials as objects, as in Twisted: login(new UsernamePassword(name, password), mind),
// Anonymous, byte user names, IUsernameMD5Password on the client side; the old call forms go
// on working. A failed login releases the mind before the error, as Twisted does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ANONYMOUS,
  AllowAnonymousAccess,
  Anonymous,
  CopiedFailure,
  InMemoryPasswordChecker,
  MD5PasswordChecker,
  PBClient,
  PBServer,
  Portal,
  Referenceable,
  UnauthorizedLogin,
  UsernameMD5Credentials,
  UsernamePassword,
  md5,
  type AvatarId,
  type Realm,
  type RemoteReference,
} from "../../src/index.ts";
import { NamedAvatar, tapReceived, until } from "../net/support.ts";

const logins: string[] = [];
const logouts: string[] = [];
const realm: Realm = {
  requestAvatar(id: AvatarId) {
    const name = id === ANONYMOUS ? "anonymous" : id;
    logins.push(name);
    return ["twisted.spread.pb.IPerspective", new NamedAvatar(name), () => logouts.push(name)];
  },
};

class Mind extends Referenceable {}

let plain: PBServer;
let hashed: PBServer;
let strict: PBServer;
beforeAll(async () => {
  plain = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [new InMemoryPasswordChecker({ alice: "secret", "j\u00f6rg": "pw" }), new AllowAnonymousAccess()]) });
  hashed = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [MD5PasswordChecker.fromPasswords({ bob: "hunter2" })]) });
  strict = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [new InMemoryPasswordChecker({ alice: "secret" })]) });
});
afterAll(async () => {
  await Promise.all([plain.close(200), hashed.close(200), strict.close(200)]);
});

const connect = (server: PBServer) => PBClient.connect({ host: "127.0.0.1", port: server.port });
const whoami = (avatar: RemoteReference) => avatar.callRemote("whoami");

describe("login with credentials objects", () => {
  it("UsernamePassword, with a text or a byte user name, and Anonymous", async () => {
    await using client = await connect(plain);
    expect(await whoami(await client.login(new UsernamePassword("alice", "secret")))).toBe("alice");
    expect(await whoami(await client.login(new UsernamePassword(new TextEncoder().encode("j\u00f6rg"), new TextEncoder().encode("pw")), new Mind()))).toBe("j\u00f6rg");
    expect(await whoami(await client.login(new Anonymous()))).toBe("anonymous");
    expect(await whoami(await client.login(new Anonymous(), new Mind()))).toBe("anonymous");
    // a plain object with username and password, as Twisted's client duck-types it
    expect(await whoami(await client.login({ username: "alice", password: "secret" }))).toBe("alice");
  });

  it("the old call forms still work", async () => {
    await using client = await connect(plain);
    expect(await whoami(await client.login("alice", "secret"))).toBe("alice");
    expect(await whoami(await client.login("alice", "secret", new Mind()))).toBe("alice");
    expect(await whoami(await client.loginAnonymous())).toBe("anonymous");
  });

  it("UsernameMD5Credentials logs in knowing only the password's digest, against plain and md5 checkers", async () => {
    const digest = md5(new TextEncoder().encode("hunter2"));
    const hex = Buffer.from(digest).toString("hex");
    await using client = await connect(hashed);
    expect(await whoami(await client.login(new UsernameMD5Credentials("bob", digest)))).toBe("bob");
    expect(await whoami(await client.login(new UsernameMD5Credentials("bob", hex)))).toBe("bob");
    expect(await whoami(await client.login(UsernameMD5Credentials.fromPassword("bob", "hunter2")))).toBe("bob");
    const creds = new UsernameMD5Credentials("bob", digest);
    expect(creds.checkPassword("hunter2")).toBe(true);
    expect(creds.checkMD5Password(digest)).toBe(true);
    expect(() => new UsernameMD5Credentials("bob", "abc")).toThrow(RangeError);
    await using other = await connect(plain);
    expect(await whoami(await other.login(UsernameMD5Credentials.fromPassword("alice", "secret")))).toBe("alice");
  });

  it("a wrong password rejects with UnauthorizedLogin, in every form", async () => {
    await using client = await connect(plain);
    for (const attempt of [
      () => client.login(new UsernamePassword("alice", "wrong")),
      () => client.login("alice", "wrong"),
      () => client.login(UsernameMD5Credentials.fromPassword("alice", "wrong")),
      () => client.login(new UsernamePassword("nobody", "secret")),
    ]) {
      const e = await attempt().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CopiedFailure);
      expect((e as CopiedFailure).check(UnauthorizedLogin)).toBe("twisted.cred.error.UnauthorizedLogin");
    }
    await expect(client.login({ username: "alice" } as never)).rejects.toThrow(TypeError);
  });
});

describe("byte user names", () => {
  it("a name that is not UTF-8 (a Python 2 server's latin-1) goes on the wire unchanged, and the server's checker sees its bytes", async () => {
    const latin1 = Uint8Array.from([0x6a, 0xf6, 0x72, 0x67]); // "jörg" in latin-1
    const seen: Uint8Array[] = [];
    const checker = {
      credentialInterfaces: ["twisted.cred.credentials.IUsernameHashedPassword"],
      async requestAvatarId(c: unknown) {
        const creds = c as { usernameBytes: Uint8Array; checkPassword(p: string): boolean };
        seen.push(creds.usernameBytes);
        if (!creds.checkPassword("pw")) throw new UnauthorizedLogin();
        return "latin";
      },
    };
    await using server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [checker]) });
    await using client = await connect(server);
    expect(await whoami(await client.login(new UsernamePassword(latin1, "pw")))).toBe("latin");
    expect(seen).toEqual([latin1]);
  });
});

describe("a failed login releases the mind before the error (as Twisted's server does)", () => {
  it("wrong password: the server sends decref for the mind, then the error; the client's table is back to its baseline", async () => {
    await using client = await connect(plain);
    const baseline = client.broker.localObjectCount;
    const seen = tapReceived(client);
    const e = await client.login(new UsernamePassword("alice", "wrong"), new Mind()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CopiedFailure);
    await until(() => client.broker.localObjectCount === baseline, 2000, "the mind to be released");
    // [answer to login (the challenge)], then [decref of the mind], then [error for respond]
    expect(seen.map(([head]) => head)).toEqual(["answer", "decref", "error"]);
  });

  it("anonymous login refused (no anonymous checker): decref of the mind, then the error", async () => {
    await using client = await connect(strict);
    const baseline = client.broker.localObjectCount;
    const seen = tapReceived(client);
    const e = await client.login(new Anonymous(), new Mind()).catch((x: unknown) => x);
    expect((e as CopiedFailure).check("twisted.cred.error.UnhandledCredentials")).toBe("twisted.cred.error.UnhandledCredentials");
    expect(seen.map(([head]) => head)).toEqual(["decref", "error"]);
    await until(() => client.broker.localObjectCount === baseline, 2000, "the mind to be released");
  });

  it("a successful login keeps the mind (the realm holds it) until logout", async () => {
    await using client = await connect(plain);
    const baseline = client.broker.localObjectCount;
    const seen = tapReceived(client);
    const avatar = await client.login(new UsernamePassword("alice", "secret"), new Mind());
    expect(seen.map(([head]) => head)).toEqual(["answer", "answer"]);
    expect(client.broker.localObjectCount).toBe(baseline + 1);
    const before = logouts.length;
    avatar.release();
    await until(() => logouts.length === before + 1, 2000, "logout");
  });
});
