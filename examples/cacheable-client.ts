// A Twisted pb.Cacheable kept in sync in Node. The server's Scoreboard (examples/twisted/server.py)
// is copied once; then the server calls observe_score on our copy at every change.
//   npx tsx examples/cacheable-client.ts
// Serving a Cacheable to Twisted clients: examples/cacheable-server.ts.
import { PBClient, RemoteCache, setUnjellyableForClass } from "twisted-pb";

const port = Number(process.env.PB_PORT ?? 8787);

class RemoteScoreboard extends RemoteCache {
  declare scores: Map<string, number>;
  observe_score(name: string, points: number) {
    this.scores.set(name, points);
  }
}
setUnjellyableForClass("__main__.Scoreboard", RemoteScoreboard);

const client = await PBClient.connect({ host: "127.0.0.1", port });
const root = await client.getRootObject();
const board = (await root.callRemote("getBoard")) as RemoteScoreboard;
await root.callRemote("score", "alice", 10);
console.log("alice:", board.scores.get("alice")); // Twisted sends the update before the answer
console.log("same object when sent again:", (await root.callRemote("getBoard")) === board);
console.log("goes back as the original:", await root.callRemote("isBoard", board));
board.release(); // or let it be garbage collected; Twisted then calls stoppedObserving
await client.disconnect();
