// Reading a failure: a Twisted server's exception arrives as a CopiedFailure with the
// exception's qualified type, its str(), its class hierarchy and (if the server allows it)
// the traceback. check() and trap() match by Python name, as Twisted's Failure does.
// Against examples/twisted/server.py:   npx tsx examples/failures.ts
import { CallAbandoned, CopiedFailure, PBClient, UnauthorizedLogin } from "twisted-pb";

const port = Number(process.env.PB_PORT ?? 8787);
const loginPort = Number(process.env.PB_LOGIN_PORT ?? 8788);

const client = await PBClient.connect({ host: "127.0.0.1", port });
const root = await client.getRootObject();

try {
  await root.callRemote("fail");
} catch (e) {
  if (!(e instanceof CopiedFailure)) throw e;
  // Python 3 names builtins "builtins.ValueError", Python 2 "exceptions.ValueError": check both.
  console.log("type:", e.type, "| value:", e.value);
  console.log("is a ValueError:", e.check("builtins.ValueError", "exceptions.ValueError") !== null);
  console.log("first line of the traceback:", e.traceback.split("\n")[0]);
}

try {
  await root.callRemote("failBuild", "nope");
} catch (e) {
  // trap() returns the matching name, or rethrows the failure when nothing matches.
  if (e instanceof CopiedFailure) console.log("trapped:", e.trap("__main__.BuildFailed", "twisted.spread.pb.Error"), "-", e.value);
  else throw e;
}

try {
  await root.callRemote("noSuchMethod");
} catch (e) {
  if (e instanceof CopiedFailure) console.log("unknown method:", e.type, "-", e.value);
  else throw e;
}

// A call can be given up locally: the timeout rejects with CallAbandoned (the answer, if it
// ever comes, is dropped).
try {
  await root.call("slow", { args: [2], timeout: 200 }); // milliseconds; the server takes 2 s
  console.log("answered within the timeout");
} catch (e) {
  if (e instanceof CallAbandoned) console.log("abandoned:", e.message);
  else throw e;
}
await client.disconnect();

// A refused login is a failure too: UnauthorizedLogin, checked inside the try.
const other = await PBClient.connect({ host: "127.0.0.1", port: loginPort });
try {
  await other.login("alice", "wrong");
} catch (e) {
  if (e instanceof CopiedFailure && e.check("twisted.cred.error.UnauthorizedLogin")) console.log("login refused:", UnauthorizedLogin.name);
  else throw e;
} finally {
  await other.disconnect();
}
