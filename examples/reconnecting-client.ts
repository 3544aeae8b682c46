// A client that stays connected: ReconnectingPBClient connects (and logs in again, if given
// credentials) with exponential backoff whenever the connection is lost, until stop().
// Against examples/twisted/server.py, whose root method dropMe closes our connection:
//   npx tsx examples/reconnecting-client.ts
import { ReconnectingPBClient, type RemoteReference } from "twisted-pb";

const port = Number(process.env.PB_PORT ?? 8787);
let connections = 0;
let nextRoot: (root: RemoteReference) => void;
let rootArrived = new Promise<RemoteReference>((r) => (nextRoot = r));

const client = new ReconnectingPBClient(
  { host: "127.0.0.1", port },
  {
    initialDelayMs: 100, // first retry after 100 ms, then 200, 400... up to maxDelayMs
    maxDelayMs: 5_000,
    onConnect: ({ root }) => {
      connections += 1;
      console.log(`connected (#${connections})`);
      nextRoot(root);
    },
    onDisconnect: (error, retryInMs) => console.log(`connection lost (${error?.message ?? "closed"}); retrying in ${retryInMs} ms`),
  },
).start();

const timeout = setTimeout(() => {
  console.error("no reconnection within 10 s");
  process.exit(1);
}, 10_000);

let root = await rootArrived;
console.log("echo:", await root.callRemote("echo", "first"));
rootArrived = new Promise<RemoteReference>((r) => (nextRoot = r));
console.log("server says:", await root.callRemote("dropMe")); // it hangs up after answering
root = await rootArrived; // a new connection, a new root reference
console.log("echo after reconnecting:", await root.callRemote("echo", "second"));
clearTimeout(timeout);
await client.stop();
