// The server's root: one that cannot be a root is refused when listening (not at the first
// connection, which used to throw out of Node's connection handler and end the process), and a
// rootObject() that throws drops that connection with a logged error while the server goes on.
import { describe, expect, it } from "vitest";
import { Broker, type LogEntry, PBClient, PBConnectionLost, PBServer, Referenceable, Root } from "../../src/index.ts";
import { until } from "./support.ts";

class EchoRoot extends Root {
  remote_echo(x: unknown) {
    return x;
  }
}

const at = { host: "127.0.0.1", port: 0 };

describe("a root that is not one", () => {
  it.each([
    ["a plain Referenceable", new Referenceable(), /Referenceable lacks/],
    ["an object without rootObject", { remote_echo: () => 1 }, /Object lacks/],
    ["null", null, /null lacks/],
  ])("%s: listen() rejects with a TypeError that says what to pass", async (_what, root, named) => {
    const listening = PBServer.listen(at, { root: root as never });
    await expect(listening).rejects.toThrow(TypeError);
    await expect(listening).rejects.toThrow(named);
    await expect(listening).rejects.toThrow(/extend Root/);
  });

  it("a listener Broker made by hand refuses it too", () => {
    expect(() => new Broker({ role: "listener", root: new Referenceable() as never })).toThrow(TypeError);
  });

  it("a Root and a hand-written PBRoot are both served", async () => {
    const shared = new EchoRoot();
    for (const root of [new EchoRoot(), { rootObject: () => shared }]) {
      await using server = await PBServer.listen(at, { root });
      await using client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
      expect(await (await client.getRootObject()).callRemote("echo", "hi")).toBe("hi");
    }
  });
});

describe("a rootObject() that throws", () => {
  it("drops that connection with the error logged; the process and the next connections go on", async () => {
    const logged: LogEntry[] = [];
    let failNext = true;
    const root = {
      rootObject: () => {
        if (failNext) {
          failNext = false;
          throw new Error("no root for you");
        }
        return new EchoRoot();
      },
    };
    await using server = await PBServer.listen(at, { root, log: (e) => logged.push(e) });
    const refused = PBClient.connect({ host: "127.0.0.1", port: server.port }, { timeout: 5000 }).then(
      (c) => c.getRootObject(),
      (e: unknown) => e,
    );
    // The dialect offer is never sent: the client sees the connection lost, not a hang.
    expect(await refused).toBeInstanceOf(PBConnectionLost);
    await until(() => logged.some((e) => e.level === "error" && /no root for you/.test(e.message)), 2000, "the logged error");
    await until(() => server.connectionCount === 0, 2000, "the dropped connection to be gone");
    await using client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    expect(await (await client.getRootObject()).callRemote("echo", 2)).toBe(2);
  });
});
