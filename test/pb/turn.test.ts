// Twisted adds `pickled` to a failure only when the method's Deferred had already failed when the
// broker got it; a failure from a later reactor turn goes without it (fixtures/sessions/root.json,
// failDeferred vs failLater). Here: a promise rejected in the turn the call was delivered in
// (its microtasks included) gives pickled=1, one rejected from a later setImmediate or timer
// does not, whichever phase of the event loop delivered the call.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Broker, CopiedFailure, Root, type Transport } from "../../src/pb/index.ts";
import { ROOT_NAME } from "../../src/pb/constants.ts";
import { PBClient, PBServer } from "../../src/index.ts";
import { transportOf } from "../../src/net/connection.ts";
import { until } from "../net/support.ts";

class TurnRoot extends Root {
  remote_rejectNow() {
    return Promise.reject(new Error("now"));
  }
  async remote_rejectAfterAwaits() {
    for (let i = 0; i < 5; i++) await Promise.resolve(i);
    throw new Error("after awaits");
  }
  remote_rejectInImmediate() {
    return new Promise((_, reject) => setImmediate(() => reject(new Error("immediate"))));
  }
  remote_rejectInTimer() {
    return new Promise((_, reject) => setTimeout(() => reject(new Error("timer")), 0));
  }
  /** The timer is due before the loop gets to any later setImmediate (the method takes 3 ms). */
  remote_rejectInTimerSlowly() {
    const p = new Promise((_, reject) => setTimeout(() => reject(new Error("timer")), 0));
    const until = performance.now() + 3;
    while (performance.now() < until);
    return p;
  }
  remote_echo(x: unknown) {
    return x;
  }
  remote_big() {
    return BIG;
  }
}

const BIG = new Uint8Array(600 * 1024).fill(7);

type Phase = "microtask" | "immediate" | "timer";

/** A client and server broker whose client-to-server bytes are delivered from the given phase of the event loop. */
async function phasedPair(phase: Phase): Promise<{ client: Broker; server: Broker }> {
  const server = new Broker({ role: "listener", root: new TurnRoot(), log: () => {} });
  const client = new Broker({ role: "initiator", log: () => {} });
  const deliver = (d: Uint8Array) => {
    const copy = d.slice();
    if (phase === "immediate") setImmediate(() => server.dataReceived(copy));
    else if (phase === "timer") setTimeout(() => server.dataReceived(copy), 0);
    else queueMicrotask(() => server.dataReceived(copy));
  };
  const toServer: Transport = { write: deliver, loseConnection: () => {} };
  const toClient: Transport = { write: (d) => { const copy = d.slice(); queueMicrotask(() => client.dataReceived(copy)); }, loseConnection: () => {} };
  server.makeConnection(toClient);
  client.makeConnection(toServer);
  await client.ready;
  return { client, server };
}

async function pickled(call: Promise<unknown>): Promise<unknown> {
  const e = await call.then(
    () => {
      throw new Error("the call should have failed");
    },
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(CopiedFailure);
  return (e as CopiedFailure).state.has("pickled") ? (e as CopiedFailure).state.get("pickled") : "absent";
}

/**
 * Counts how often the turn's shared 0 ms marker timer (named onTimer) is armed, made or
 * re-armed with refresh(), from now until restore().
 */
function watchTurnTimer(): { armed(): number; reset(): void; restore(): void } {
  const probe = setTimeout(() => {}, 0);
  clearTimeout(probe);
  const refresh = vi.spyOn(Object.getPrototypeOf(probe) as { refresh(): unknown }, "refresh");
  const made = vi.spyOn(globalThis, "setTimeout");
  const turnMarker = (fn: unknown) => typeof fn === "function" && fn.name === "onTimer";
  return {
    armed: () => refresh.mock.contexts.filter((t) => turnMarker((t as { _onTimeout?: unknown })._onTimeout)).length + made.mock.calls.filter(([fn]) => turnMarker(fn)).length,
    reset: () => {
      refresh.mockClear();
      made.mockClear();
    },
    restore: () => {
      refresh.mockRestore();
      made.mockRestore();
    },
  };
}

const EXPECTED: [string, unknown][] = [
  ["rejectNow", 1],
  ["rejectAfterAwaits", 1],
  ["rejectInImmediate", "absent"],
  ["rejectInTimer", "absent"],
  ["rejectInTimerSlowly", "absent"],
];

describe("the call's turn (pickled failures)", () => {
  for (const phase of ["microtask", "immediate", "timer"] as Phase[]) {
    it(`delivered from a ${phase}: pickled only for a promise rejected in that turn`, async () => {
      const { client } = await phasedPair(phase);
      const root = client.remoteForName(ROOT_NAME);
      for (const [method, want] of EXPECTED) expect([method, await pickled(root.callRemote(method))]).toEqual([method, want]);
      // Several calls delivered in one chunk share the turn; each gets its own verdict.
      const together = await Promise.all(EXPECTED.map(([method]) => pickled(root.callRemote(method))));
      expect(together).toEqual(EXPECTED.map(([, want]) => want));
    });
  }

  it("a chunk of calls answered at once and calls answered later: each verdict as if alone", async () => {
    const { client } = await phasedPair("immediate");
    const root = client.remoteForName(ROOT_NAME);
    const calls = [root.callRemote("echo", 1), ...EXPECTED.map(([method]) => pickled(root.callRemote(method))), root.callRemote("echo", 2)];
    expect(await Promise.all(calls)).toEqual([1, ...EXPECTED.map(([, want]) => want), 2]);
  });

  it("input another broker handles synchronously inside a method does not end the method's turn", async () => {
    // A second connection whose calls reach its server synchronously, made from inside a method.
    const inner = new Broker({ role: "listener", root: new TurnRoot(), log: () => {} });
    const innerClient = new Broker({ role: "initiator", log: () => {} });
    inner.makeConnection({ write: (d) => { const copy = d.slice(); queueMicrotask(() => innerClient.dataReceived(copy)); }, loseConnection: () => {} });
    innerClient.makeConnection({ write: (d) => inner.dataReceived(d.slice()), loseConnection: () => {} });
    await innerClient.ready;
    const innerRoot = innerClient.remoteForName(ROOT_NAME);
    class NestingRoot extends Root {
      remote_nestedRejectNow() {
        void innerRoot.callRemote("echo", 1);
        return Promise.reject(new Error("now"));
      }
    }
    const server = new Broker({ role: "listener", root: new NestingRoot(), log: () => {} });
    const client = new Broker({ role: "initiator", log: () => {} });
    server.makeConnection({ write: (d) => { const copy = d.slice(); queueMicrotask(() => client.dataReceived(copy)); }, loseConnection: () => {} });
    client.makeConnection({ write: (d) => { const copy = d.slice(); setImmediate(() => server.dataReceived(copy)); }, loseConnection: () => {} });
    await client.ready;
    expect(await pickled(client.remoteForName(ROOT_NAME).callRemote("nestedRejectNow"))).toBe(1);
  });

  describe("over TCP (delivered from I/O)", () => {
    let server: PBServer;
    beforeAll(async () => {
      server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new TurnRoot(), log: () => {} });
    });
    afterAll(async () => {
      await server.close(500);
    });

    it("pickled only for a promise rejected in the turn the call arrived in, call after call", async () => {
      const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
      const root = await client.getRootObject();
      for (let round = 0; round < 3; round++) {
        for (const [method, want] of EXPECTED) expect([method, await pickled(root.callRemote(method))]).toEqual([method, want]);
        expect(await root.callRemote("echo", round)).toBe(round);
      }
      const together = await Promise.all(EXPECTED.map(([method]) => pickled(root.callRemote(method))));
      expect(together).toEqual(EXPECTED.map(([, want]) => want));
      await client.disconnect();
    });

    it("calls read from the socket arm no turn timer: a timer always due within 1 ms makes every sleep of the loop re-arm a kernel timer", async () => {
      const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
      const root = await client.getRootObject();
      await root.callRemote("echo", 0);
      const timer = watchTurnTimer();
      try {
        // Calls a few milliseconds apart: the marker, re-armed at most once a millisecond, would be armed for each.
        for (let i = 0; i < 20; i++) {
          expect(await root.callRemote("echo", i)).toBe(i);
          await pickled(root.callRemote("rejectNow"));
          await new Promise((r) => setImmediate(r));
          const until = performance.now() + 2;
          while (performance.now() < until);
        }
        expect(timer.armed()).toBe(0);
      } finally {
        timer.restore();
        await client.disconnect();
      }
    });

    it("calls read while reading was paused (the peer slow to take big answers) get the same verdicts once it resumes", async () => {
      // Construction: the client stops reading and asks for 40 answers of 600 KB, more than the
      // kernel's buffers hold, so the server stops reading; the calls sent then wait in Node's
      // read buffer, and flow from a nextTick when the client reads again and the output drains
      // (not from an I/O callback: their turn arms the timer marker as well).
      const slowServer = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new TurnRoot(), log: () => {}, limits: { outputHighWaterMark: 64 * 1024, maxOutputBuffer: 64 * 1024 * 1024 } });
      const accepted = new Promise<{ broker: Broker; socket: import("node:net").Socket }>((r) => slowServer.once("connection", (broker, socket) => r({ broker, socket })));
      const client = await PBClient.connect({ host: "127.0.0.1", port: slowServer.port });
      const { broker: serverSide, socket: serverSocket } = await accepted;
      const timer = watchTurnTimer();
      try {
        const root = await client.getRootObject();
        client.socket.pause();
        const bigs = Array.from({ length: 40 }, () => root.callRemote("big"));
        await until(() => transportOf(serverSocket, serverSide)!.readingPaused, 5000, "the server to stop reading");
        const verdicts = Promise.all(EXPECTED.map(([method]) => pickled(root.callRemote(method))));
        await until(() => serverSocket.readableLength > 0, 5000, "the calls to wait in the server's read buffer");
        timer.reset();
        client.socket.resume();
        expect(await verdicts).toEqual(EXPECTED.map(([, want]) => want));
        expect(((await Promise.all(bigs)) as Uint8Array[]).every((a) => a.length === BIG.length)).toBe(true);
        expect(timer.armed()).toBeGreaterThan(0);
        expect(serverSide.isDisconnected).toBe(false);
      } finally {
        timer.restore();
        await client.disconnect();
        await slowServer.close(500);
      }
    });
  });
});
