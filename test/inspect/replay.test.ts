// pb-inspect replay: captures of Twisted client <-> Twisted server conversations (fixtures/pcap,
// recorded with tcpdump; the proxy's capture of the same traffic) played against a live Twisted
// server and a live twisted-pb server, both ways; differences are found and the exit status says so.
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findPython } from "../../interop/find-python.mjs";
import { startPyService, type PyService } from "../../interop/conformance/pyproc.ts";
import { startTsService, type TsService } from "../../interop/conformance/service.ts";
import { challengeResponse, normalizeServerItem, replay } from "../../src/inspect/replay.ts";
import { splitItems, trafficItems } from "../../src/inspect/items.ts";
import { loadTraffic } from "../../src/inspect/capture.ts";
import { encode } from "../../src/banana/index.ts";
import { runBin } from "./support.ts";

const python = findPython();
const PCAP = join("fixtures", "pcap");
const login = join(PCAP, "twisted-login.pcap");
const calls = join(PCAP, "twisted-calls-sll2.pcap");

describe("replay helpers", () => {
  it("the challenge response is pb.respond's md5(md5(password) + challenge)", () => {
    // Twisted 22.4: pb.respond(b"0123456789abcdef", b"secret").hex()
    const r = challengeResponse(new TextEncoder().encode("0123456789abcdef"), new TextEncoder().encode("secret"));
    expect(Buffer.from(r).toString("hex")).toBe("fb654aad50303a26b539858afb969f27");
  });

  it("masks only the login challenge of an answer to login, and Failure.count", () => {
    const answer = (fill: number) => encode(["answer", 1, ["tuple", new Uint8Array(16).fill(fill), ["remote", 1]]], { dialect: "pb" });
    const a = normalizeServerItem(answer(0), new Set(["1"]));
    const b = normalizeServerItem(answer(255), new Set(["1"]));
    expect(a.masked).toEqual(["login challenge"]);
    expect(a.hex).toBe(b.hex);
    // the same answer to a call that was not a login is compared as it is
    expect(normalizeServerItem(answer(0), new Set(["2"])).hex).not.toBe(normalizeServerItem(answer(255), new Set(["2"])).hex);
    const failure = (count: number) =>
      encode(["error", 3, ["twisted.spread.pb.CopyableFailure", ["dictionary", [new TextEncoder().encode("count"), count], [new TextEncoder().encode("type"), new TextEncoder().encode("x.Y")]]]], { dialect: "pb" });
    expect(normalizeServerItem(failure(7), new Set()).hex).toBe(normalizeServerItem(failure(9), new Set()).hex);
    expect(normalizeServerItem(failure(7), new Set()).masked).toEqual(["Failure.count"]);
  });

  it("splits banana streams into items, keeping an unfinished one", () => {
    const { items, rest } = splitItems(new Uint8Array(Buffer.from("02800282706204826e6f6e65" + "02827062" + "0280", "hex")));
    expect(items.map((i) => Buffer.from(i).toString("hex"))).toEqual(["02800282706204826e6f6e65", "02827062"]);
    expect(Buffer.from(rest).toString("hex")).toBe("0280");
  });
});

describe.skipIf(!python)("replay against live servers (Twisted and twisted-pb)", () => {
  let py: PyService;
  let ts: TsService;

  beforeAll(async () => {
    py = await startPyService(python!.path);
    ts = await startTsService();
  }, 30_000);

  afterAll(async () => {
    await py?.proc.stop();
    await ts?.close();
  });

  const against = (port: number) => `127.0.0.1:${port}`;

  it("a Twisted login conversation replayed against the same Twisted server: same, exit 0", async () => {
    const r = await runBin(["replay", login, "--conn", "1", "--against", against(py.portalPort), "--password", "secret"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("[response recomputed for the server's new challenge]");
    expect(r.stdout).toContain("[login challenge masked]");
    expect(r.stdout).toContain("[Failure.count masked]");
    expect(r.stdout).toMatch(/^same: all 7 server messages as captured/m);
    expect(r.code).toBe(0);
  });

  it("the same capture replayed against a twisted-pb server: same, exit 0", async () => {
    const r = await runBin(["replay", login, "--conn", "1", "--against", against(ts.portalPort), "--password", "secret"]);
    expect(r.stdout).toMatch(/^same: all 7 server messages as captured/m);
    expect(r.code).toBe(0);
  });

  it("without --password the login is refused: the answers differ, message by message, exit 1", async () => {
    const r = await runBin(["replay", login, "--conn", "1", "--against", against(ts.portalPort)]);
    expect(r.stdout).toContain("give --password");
    expect(r.stdout).toMatch(/S->C {2}DIFFERENT\n {8}captured: answer #2 \(obj 1\.respond\) = <remote #2 avatar of b'alice'>\n {8}now: {6}error #2 \(obj 1\.respond\): twisted\.cred\.error\.UnauthorizedLogin/);
    expect(r.stdout).toMatch(/^different: /m);
    expect(r.code).toBe(1);
  });

  it("a wrong password is noticed (it does not give the captured response): the response goes as captured and the login fails", async () => {
    const r = await runBin(["replay", login, "--conn", "1", "--against", against(py.portalPort), "--password", "wrong"]);
    expect(r.stdout).toContain("no --password gives the captured response");
    expect(r.code).toBe(1);
  });

  it("several logins with different passwords (a wrong one, an unknown user, the right one): each uses the password that gives its captured response", async () => {
    // fixtures/conformance/debian-22.4/login-wrong-password.json: recorded from Twisted 22.4 by the conformance harness
    const rec = join("fixtures", "conformance", "debian-22.4", "login-wrong-password.json");
    for (const port of [py.portalPort, ts.portalPort]) {
      const r = await runBin(["replay", rec, "--against", against(port), "--password", "wrong", "--password", "secret"]);
      expect(r.stdout.match(/\[response recomputed for the server's new challenge\]/g)?.length).toBe(3);
      expect(r.stdout).toMatch(/^same: all 9 server messages as captured/m);
      expect(r.code).toBe(0);
      // with only the right password, the wrong-password login goes as captured, and is refused as it was
      const one = await runBin(["replay", rec, "--against", against(port), "--password", "secret"]);
      expect(one.stdout).toContain("no --password gives the captured response");
      expect(one.stdout).toMatch(/^same: all 9 server messages as captured/m);
    }
  });

  it("every conformance recording (fixtures/conformance, Twisted 22.4) replays as captured against Twisted and twisted-pb, but for the known differences", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const dir = join("fixtures", "conformance");
    const results: string[] = [];
    for (const f of readdirSync(dir).filter((x) => x.endsWith(".json"))) {
      const rec = JSON.parse(readFileSync(join(dir, f), "utf8")) as { server: string };
      for (const [name, svc] of [["twisted", py], ["twisted-pb", ts]] as const) {
        const port = rec.server === "portal" ? svc.portalPort : svc.rootPort;
        // in process (the library's replay), for speed: the command line is tested above
        const lines: string[] = [];
        const { items } = trafficItems(loadTraffic([join(dir, f)]));
        const r = await replay(items, { target: { host: "127.0.0.1", port }, password: ["wrong", "secret"], timeoutMs: 2000, settleMs: 30, out: (l) => lines.push(l) });
        if (!r.same) results.push(`${f} against ${name}: ${lines[lines.length - 1]}`);
      }
    }
    // echo-own-reference: a difference the conformance scenario lists (Twisted 22.4 sends the decref
    // before the answer; twisted-pb lets go later, by garbage collection)
    expect(results.filter((r) => !r.startsWith("echo-own-reference.json against twisted-pb"))).toEqual([]);
  }, 300_000);

  it("against a different server (the root server instead of the portal) every difference is reported", async () => {
    const r = await runBin(["replay", login, "--conn", "1", "--against", against(py.rootPort), "--password", "secret"]);
    expect(r.stdout).toMatch(/DIFFERENT|MISSING/);
    expect(r.code).toBe(1);
  });

  for (const conn of [1, 3, 5]) {
    it(`calls capture, connection ${conn} (echo, references, callbacks from the server): same against Twisted and twisted-pb`, async () => {
      for (const port of [py.rootPort, ts.rootPort]) {
        const r = await runBin(["replay", calls, "--conn", String(conn), "--against", against(port)]);
        expect(r.stdout, r.stdout).toMatch(/^same: all \d+ server messages as captured/m);
        expect(r.code).toBe(0);
      }
    });
  }

  it("replays the proxy's own capture (proxy --save conn-N) as well", async () => {
    const dir = join(PCAP, "twisted-login.proxy", "proxy-1", "conn-1");
    for (const port of [py.portalPort, ts.portalPort]) {
      const r = await runBin(["replay", dir, "--against", against(port), "--password", "secret"]);
      expect(r.stdout).toMatch(/^same: all 7 server messages as captured/m);
      expect(r.code).toBe(0);
    }
  });
});

describe("replay: errors", () => {
  let closed: Server;
  let port = 0;
  beforeAll(async () => {
    // a port that accepts and immediately closes: the server "answers" nothing
    closed = createServer((s) => s.destroy());
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    port = (closed.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => closed.close(() => r())));

  it("a server that hangs up: every captured answer is missing, exit 1", async () => {
    const r = await runBin(["replay", login, "--conn", "1", "--against", `127.0.0.1:${port}`, "--timeout", "500"]);
    expect(r.stdout).toContain("MISSING");
    expect(r.code).toBe(1);
  });

  it("nothing listening: exit 3", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const free = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await runBin(["replay", login, "--conn", "1", "--against", `127.0.0.1:${free}`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("cannot connect");
  });

  it("a capture with a gap in the client's side cannot be replayed: exit 1 with the reason", async () => {
    const r = await runBin(["replay", join(PCAP, "twisted-calls-lost.pcap"), "--conn", "1", "--against", "127.0.0.1:9"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot be replayed");
  });

  it("usage errors: exit 2", async () => {
    expect((await runBin(["replay", login])).code).toBe(2);
    expect((await runBin(["replay", "--against", "127.0.0.1:1"])).code).toBe(2);
  });
});

describe("replay: a server that stops answering", () => {
  it("costs one timeout, not one per message", async () => {
    // accepts, sends the dialect offer and the version, then never says anything again
    const sockets: import("node:net").Socket[] = [];
    const silent = createServer((s) => {
      sockets.push(s);
      s.on("error", () => {});
      s.write(Buffer.from("02800282706204826e6f6e65" + "028013870681", "hex"));
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    try {
      const t0 = Date.now();
      const r = await runBin(["replay", calls, "--conn", "1", "--against", `127.0.0.1:${port}`, "--timeout", "1500"]);
      const took = Date.now() - t0;
      expect(r.code).toBe(1);
      expect(r.stdout.match(/MISSING/g)?.length).toBe(10);
      // 10 answers missing: one 1.5 s timeout and short waits after it (plus process start-up)
      expect(took).toBeLessThan(10 * 1500);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  }, 30_000);
});
