// Logging into a Twisted PB server (a cred Portal) with a "mind": an object of ours the
// server's avatar can call back. Twisted's realm receives it in requestAvatar(avatarId, mind).
// Against examples/twisted/server.py (user alice, password secret, on its login port 8788):
//   npx tsx examples/login-with-mind.ts
import { CopiedFailure, PBClient, Referenceable } from "twisted-pb";

const loginPort = Number(process.env.PB_LOGIN_PORT ?? 8788);

/** Methods named remote_* can be called by the server; what they return is the answer. */
class Mind extends Referenceable {
  ticks: number[] = [];
  remote_tick(n: number) {
    this.ticks.push(n);
    return `ack ${n}`;
  }
}

const client = await PBClient.connect({ host: "127.0.0.1", port: loginPort });
try {
  const mind = new Mind();
  // The challenge/response login of twisted.spread.pb; the password never travels.
  const avatar = await client.login("alice", "secret", mind);
  console.log("logged in as", await avatar.callRemote("whoami"));
  // The server's avatar calls mind.tick(1), (2), (3), and answers with our acknowledgements.
  const acks = await avatar.callRemote("startTicks", 3);
  console.log("server called us back:", mind.ticks, "and got", acks);
} catch (e) {
  if (e instanceof CopiedFailure && e.check("twisted.cred.error.UnauthorizedLogin")) console.log("wrong user name or password");
  else throw e;
} finally {
  await client.disconnect();
}
