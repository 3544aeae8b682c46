// Login churn where each avatar is handed a Viewable (a ViewPoint per avatar): the broker
// deleted the ViewPoint when the peer let go of it but kept the avatar's (empty) table, so
// 2000 cycles left 2000 entries each holding its avatar. Now the tables return to baseline.
import { describe, expect, it } from "vitest";
import { AllowAnonymousAccess, Avatar, PBClient, PBServer, Portal, Viewable, type Broker, type Realm, type RemoteReference } from "../../src/index.ts";
import { until } from "../net/support.ts";

class Board extends Viewable {
  view_whoami(perspective: unknown) {
    return (perspective as User).n;
  }
}

let made = 0;
class User extends Avatar {
  readonly n = ++made;
  perspective_board() {
    return board;
  }
}
const board = new Board();

const viewPointTables = (b: Broker) => (b as unknown as { viewPoints: Map<unknown, Map<unknown, unknown>> }).viewPoints;

describe("ViewPoints of logged-out avatars", () => {
  it("300 login / view / logout cycles leave the viewPoints table and the object table at their baseline", async () => {
    let loggedOut = 0;
    const realm: Realm = { requestAvatar: () => ["twisted.spread.pb.IPerspective", new User(), () => loggedOut++] };
    const brokers: Broker[] = [];
    await using server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Portal(realm, [new AllowAnonymousAccess()]) });
    server.on("connection", (b) => brokers.push(b));
    await using client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const cycles = 300;
    for (let i = 0; i < cycles; i++) {
      const avatar = await client.loginAnonymous();
      const view = (await avatar.callRemote("board")) as RemoteReference;
      expect(typeof (await view.callRemote("whoami"))).toBe("number");
      // a second view of the same Viewable while the first is held reuses its ViewPoint
      if (i === 0) {
        const again = (await avatar.callRemote("board")) as RemoteReference;
        expect(again.luid).toBe(view.luid);
        expect(viewPointTables(brokers[0]).size).toBe(1);
        if (again !== view) again.release();
      }
      view.release();
      avatar.release();
    }
    const server0 = brokers[0];
    await until(() => loggedOut === cycles && viewPointTables(server0).size === 0 && server0.localObjectCount === 1, 5000, "the tables to empty").catch(() => {});
    expect(loggedOut).toBe(cycles);
    expect(viewPointTables(server0).size).toBe(0);
    expect(server0.localObjectCount).toBe(1); // the root
  });
});
