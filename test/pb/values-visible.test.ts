// Received values that users log or serialize show their data, and Unpersistable reads as
// Twisted prints it.
import { describe, expect, it } from "vitest";
import { PyFloat, tuple, unjelly, Unpersistable } from "../../src/jelly/index.ts";
import { Referenceable, RemoteReference } from "../../src/pb/index.ts";
import { pair, TakingRoot } from "./support.ts";

class Secret {
  hidden = 1;
}

class Report extends Referenceable {
  remote_report() {
    return new Map<unknown, unknown>([
      ["name", "build 7"],
      ["took", new PyFloat(2)],
      ["steps", tuple("compile", "test")],
      ["flags", new Set(["fast"])],
      [3, "three"],
    ]);
  }
  remote_oddKeys() {
    return new Map<unknown, unknown>([[tuple(1, 2), "pair"]]);
  }
  remote_float() {
    return new PyFloat(1);
  }
  remote_tuple() {
    return tuple(new PyFloat(0.5), "x");
  }
  remote_secret() {
    return new Secret();
  }
}

class ServerRoot extends TakingRoot {
  report = new Report();
  remote_report() {
    return this.report;
  }
}

async function setup(role: "client" | "server", values: "python" | "js") {
  const root = new ServerRoot();
  if (role === "client") {
    const p = await pair(root, {}, { values });
    return { report: (await p.client.remoteForName("root").callRemote("report")) as RemoteReference, close: p.close };
  }
  const p = await pair(root, { values });
  await p.client.remoteForName("root").callRemote("take", new Report());
  return { report: root.client!, close: p.close };
}

describe.each([
  ["client", "python"],
  ["client", "js"],
  ["server", "python"],
  ["server", "js"],
] as const)("JSON.stringify of received values (%s receiving, values: %s)", (role, values) => {
  it("a dictionary, a tuple and a float show their data", async () => {
    const { report, close } = await setup(role, values);
    const got = await report.callRemote("report");
    expect(JSON.parse(JSON.stringify(got))).toEqual({ name: "build 7", took: 2, steps: ["compile", "test"], flags: ["fast"], 3: "three" });
    expect(JSON.stringify(await report.callRemote("float"))).toBe("1");
    expect(JSON.stringify(await report.callRemote("tuple"))).toBe(`[0.5,"x"]`);
    // Keys JSON cannot hold: the entries, as pairs.
    expect(JSON.stringify(await report.callRemote("oddKeys"))).toBe(`[[[1,2],"pair"]]`);
    close();
  });

  it("a received Unpersistable reads as Twisted prints it", async () => {
    const { report, close } = await setup(role, values);
    const u = (await report.callRemote("secret")) as Unpersistable;
    expect(u).toBeInstanceOf(Unpersistable);
    expect(String(u)).toMatch(/^Unpersistable\("Unpersistable data: b'instance of class [\w.]*Secret deemed insecure'"\)$/);
    expect(u.twistedReason).toMatch(/^Unpersistable data: b'instance of class [\w.]*Secret deemed insecure'$/);
    close();
  });
});

describe("Unpersistable text", () => {
  // The expected strings were printed by Twisted 22.4 (repr(jelly.unjelly(...))).
  it("matches Twisted's repr, quotes and escapes included", () => {
    const u = unjelly(["unpersistable", new TextEncoder().encode("instance of class x.Y deemed insecure")] as never) as Unpersistable;
    expect(String(u)).toBe(`Unpersistable("Unpersistable data: b'instance of class x.Y deemed insecure'")`);
    expect(u.twistedReason).toBe("Unpersistable data: b'instance of class x.Y deemed insecure'");
    const q = unjelly(["unpersistable", new TextEncoder().encode("it's")] as never) as Unpersistable;
    expect(String(q)).toBe(`Unpersistable('Unpersistable data: b"it\\'s"')`);
    const bin = unjelly(["unpersistable", Uint8Array.of(0, 0x5c, 0xff, 0x0a)] as never) as Unpersistable;
    expect(bin.twistedReason).toBe("Unpersistable data: b'\\x00\\\\\\xff\\n'");
    // Made here (not received): the reason as is, as Twisted's own placeholders.
    expect(String(unjelly(["persistent"] as never))).toBe(`Unpersistable('Persistent callback not found')`);
  });
});
