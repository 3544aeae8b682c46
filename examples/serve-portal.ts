// Serving Twisted clients with a Portal: a Twisted client logs in with
//   factory.login(UsernamePassword(b"alice", b"secret"), client=mind)
// and calls perspective_* methods on the avatar our realm returns. The mind it passed is a
// reference we can call back. Try it with examples/twisted/client.py:
//   npx tsx examples/serve-portal.ts        then   python3 examples/twisted/client.py login 8787
import { Avatar, InMemoryPasswordChecker, IPerspective, PBServer, Portal, type RemoteReference } from "twisted-pb";

class User extends Avatar {
  constructor(
    readonly name: string,
    readonly mind: RemoteReference | null,
  ) {
    super();
  }
  perspective_whoami() {
    return this.name;
  }
  /** Calls the client's mind back `count` times; answers with what it answered. */
  async perspective_startTicks(count: number) {
    const acks: unknown[] = [];
    for (let i = 1; i <= count; i++) acks.push(await this.mind?.callRemote("tick", i));
    return acks;
  }
}

const portal = new Portal(
  {
    // Twisted's IRealm.requestAvatar: [interface, avatar, logout]
    requestAvatar: (avatarId, mind, ...interfaces) => {
      if (!interfaces.includes(IPerspective)) throw new Error("no supported interface");
      const user = new User(String(avatarId), mind as RemoteReference | null);
      return [IPerspective, user, () => console.log(`${user.name} logged out`)];
    },
  },
  [new InMemoryPasswordChecker({ alice: "secret" })],
);

const server = await PBServer.listen({ host: "127.0.0.1", port: Number(process.env.PB_PORT ?? 8787) }, { root: portal });
console.log(`listening on 127.0.0.1:${server.port}`);
const stop = () => void server.close().then(() => process.exit(0));
process.once("SIGINT", stop).once("SIGTERM", stop);
