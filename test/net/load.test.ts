// Load and faults over real sockets (127.0.0.1, OS-chosen ports), TypeScript on both ends.
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PBClient, PBServer, Referenceable, Root, kwargs, PBConnectionLost, type RemoteReference } from "../../src/index.ts";

class Counter extends Referenceable {
  n = 0;
  remote_inc(by: number) {
    return (this.n += by);
  }
}

class LoadRoot extends Root {
  remote_echo(x: unknown) {
    return x;
  }
  remote_add(a: number, b: number) {
    return a + b;
  }
  remote_counter() {
    return new Counter();
  }
  remote_hang() {
    return new Promise(() => {});
  }
}

let server: PBServer;
beforeAll(async () => {
  server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new LoadRoot() });
});
afterAll(async () => {
  await server.close(500);
});

describe("load", () => {
  it("serves 500 concurrent clients making 200 calls each, every answer correct", async () => {
    const clients = await Promise.all(Array.from({ length: 500 }, () => PBClient.connect({ host: "127.0.0.1", port: server.port })));
    try {
      const results = await Promise.all(
        clients.map(async (client, c) => {
          const root = await client.getRootObject();
          const counter = (await root.callRemote("counter")) as RemoteReference;
          let wrong = 0;
          const calls: Promise<void>[] = [];
          for (let i = 0; i < 200; i++) {
            if (i % 2) calls.push(root.callRemote("add", c, i).then((r) => void (r !== c + i && wrong++)));
            else calls.push(counter.callRemote("inc", 1).then(() => {}));
          }
          await Promise.all(calls);
          const final = await counter.callRemote("inc", 0);
          return wrong + (final === 100 ? 0 : 1);
        }),
      );
      expect(results.reduce((a, b) => a + b, 0)).toBe(0);
    } finally {
      await Promise.all(clients.map((c) => c.disconnect()));
    }
  }, 120_000);
});

describe("faults", () => {
  it("carries on for other connections when a peer sends garbage or dies mid-call", async () => {
    const good = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const root = await good.getRootObject();
    const garbage = net.connect({ host: "127.0.0.1", port: server.port });
    await new Promise((r) => garbage.once("connect", r));
    garbage.resume();
    const closed = new Promise((r) => garbage.once("close", r));
    garbage.write(Buffer.from([0x02, 0x82, 0x70, 0x62, 0xff, 0xff]));
    await closed;
    const victim = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const vroot = await victim.getRootObject();
    const pending = vroot.callRemote("hang");
    victim.socket.destroy();
    await expect(pending).rejects.toBeInstanceOf(PBConnectionLost);
    expect(await root.callRemote("echo", kwargs({ x: 1 }).get("x"))).toBe(1);
    expect(await root.callRemote("add", 2, 3)).toBe(5);
    await good.disconnect();
  });

  it("a client sees PBConnectionLost for its pending calls when the server goes away", async () => {
    const s = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new LoadRoot() });
    const c = await PBClient.connect({ host: "127.0.0.1", port: s.port });
    const r = await c.getRootObject();
    // handled from the start: close() resolves only once the connection is gone, by which
    // time the client has seen the hang-up
    const pending = r.callRemote("hang").catch((e: unknown) => e);
    await s.close(10);
    expect(await pending).toBeInstanceOf(PBConnectionLost);
    await c.closed;
  });
});
