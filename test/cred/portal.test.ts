// Portal.login and the checkers with answers given at once or later: a checker's password check
// and a realm may each answer synchronously or with a promise; the outcome is the same, and
// failures reject (never throw synchronously).
import { describe, expect, it } from "vitest";
import { Avatar, Broker, InMemoryPasswordChecker, PortalAuthChallenger, respond, IUsernameHashedPassword, IUsernameMD5Password, MD5PasswordChecker, Portal, UnauthorizedLogin, md5, type AvatarId, type LoginResult, type Realm } from "../../src/index.ts";

function credentials(name: string, password: string, later: boolean) {
  const check = (ok: boolean) => (later ? Promise.resolve(ok) : ok);
  const bytes = (s: string | Uint8Array) => (typeof s === "string" ? new TextEncoder().encode(s) : s);
  return {
    interfaces: [IUsernameHashedPassword, IUsernameMD5Password],
    username: name,
    checkPassword: (p: string | Uint8Array) => check(Buffer.from(bytes(p)).equals(Buffer.from(password))),
    checkMD5Password: (d: Uint8Array) => check(Buffer.from(d).equals(Buffer.from(md5(bytes(password))))),
  };
}

function realm(later: boolean, seen: AvatarId[]): Realm {
  return {
    requestAvatar(id: AvatarId, _mind: unknown, ...interfaces: string[]) {
      seen.push(id);
      const result: LoginResult = [interfaces[0], { id }, () => {}];
      return later ? Promise.resolve(result) : result;
    },
  };
}

describe("Portal.login", () => {
  for (const checkLater of [false, true]) {
    for (const realmLater of [false, true]) {
      it(`check ${checkLater ? "later" : "at once"}, realm ${realmLater ? "later" : "at once"}: the avatar for good credentials, UnauthorizedLogin for bad`, async () => {
        const seen: AvatarId[] = [];
        for (const checker of [new InMemoryPasswordChecker({ alice: "secret" }), MD5PasswordChecker.fromPasswords({ alice: "secret" })]) {
          const portal = new Portal(realm(realmLater, seen), [checker]);
          const [iface, avatar] = await portal.login(credentials("alice", "secret", checkLater), null, "twisted.spread.pb.IPerspective");
          expect(iface).toBe("twisted.spread.pb.IPerspective");
          expect(avatar).toEqual({ id: "alice" });
          const bad = portal.login(credentials("alice", "wrong", checkLater), null, "twisted.spread.pb.IPerspective");
          await expect(bad).rejects.toBeInstanceOf(UnauthorizedLogin);
          await expect(portal.login(credentials("mallory", "secret", checkLater), null, "x")).rejects.toBeInstanceOf(UnauthorizedLogin);
        }
        expect(seen).toEqual(["alice", "alice"]);
      });
    }
  }

  it("a realm that throws makes the login reject, not throw", async () => {
    const portal = new Portal({ requestAvatar: () => { throw new Error("no avatar"); } }, [new InMemoryPasswordChecker({ alice: "secret" })]);
    const p = portal.login(credentials("alice", "secret", false), null, "x");
    await expect(p).rejects.toThrow("no avatar");
  });
});

describe("PortalAuthChallenger.remote_respond", () => {
  it("answers once: the avatar for the right response; a second or non-bytes answer rejects (never throws) with UnauthorizedLogin", async () => {
    const broker = new Broker({ role: "listener" });
    const alice = new Avatar();
    const avatarRealm: Realm = { requestAvatar: (_id, _mind, ...i) => [i[0], alice, () => {}] };
    const portal = new Portal(avatarRealm, [new InMemoryPasswordChecker({ alice: "secret" })]);
    const ch = new Uint8Array(16).fill(7);
    let answered = 0;
    const challenger = new PortalAuthChallenger(portal, broker, "alice", ch, undefined, () => answered++);
    const wrongType = challenger.remote_respond("not bytes", null);
    expect(wrongType).toBeInstanceOf(Promise);
    await expect(wrongType).rejects.toBeInstanceOf(UnauthorizedLogin);
    const avatar = await challenger.remote_respond(respond(ch, "secret"), null);
    // (Sent by reference, wrapped as a perspective: the realm's avatar inside.)
    expect(Object.values(avatar)).toContain(alice);
    const again = challenger.remote_respond(respond(ch, "secret"), null);
    expect(again).toBeInstanceOf(Promise);
    await expect(again).rejects.toBeInstanceOf(UnauthorizedLogin);
    expect(answered).toBe(3);
    const wrong = new PortalAuthChallenger(portal, broker, "alice", ch);
    await expect(wrong.remote_respond(respond(ch, "nope"), null)).rejects.toBeInstanceOf(UnauthorizedLogin);
  });
});
