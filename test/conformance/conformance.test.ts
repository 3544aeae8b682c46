// The conformance harness (interop/conformance): the whole matrix must pass, and the harness must
// be able to fail: a wrong expectation, a changed byte in a recording, a stale recording and a
// known difference that does not show are all reported, each with its first difference.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findPython } from "../../interop/find-python.mjs";
import { canonical, compareRun } from "../../interop/conformance/compare.ts";
import { FIXTURE_DIR, PAIRINGS, knownFor, loadRecording, recordingPath, runMatrix, type Report } from "../../interop/conformance/harness.ts";
import { replayClient, replayServer, scenarioSha256, type Recording } from "../../interop/conformance/replay.ts";
import { Scenario, loadScenarios } from "../../interop/conformance/scenario.ts";
import { splitItems } from "../../interop/conformance/wire.ts";

const found = findPython();
const python = found ? { path: found.path, version: found.pythonVersion, twisted: found.twistedVersion } : null;
const scenarios = loadScenarios();
const byName = (n: string) => scenarios.find((s) => s.name === n)!;
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

const temps: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "pb-conformance-"));
  temps.push(d);
  return d;
};
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe("the catalogue", () => {
  it("covers every family the issue asks for, with unique names and valid steps", () => {
    const families = new Set(scenarios.map((s) => s.family));
    expect([...families].sort()).toEqual(["cache", "calls", "copy", "failures", "login", "pager", "view"]);
    expect(scenarios.length).toBeGreaterThanOrEqual(40);
    // a disconnect in the middle of each family
    for (const f of families) {
      expect(
        scenarios.some((s) => s.family === f && s.steps.some((st) => st.op === "disconnect" || (st.op === "call" && st.method === "dropMe"))),
        f,
      ).toBe(true);
    }
  });

  it("has a recording from Twisted for every scenario, made for the scenario as it is now", () => {
    for (const s of scenarios) {
      const rec = loadRecording(s.name);
      expect(rec, s.name).not.toBe(null);
      expect(rec!.twisted).toMatch(/^\d+\.\d+/);
      expect(rec!.scenarioSha256, `${s.name}: stale recording (npm run conformance -- --record --scenario ${s.name})`).toBe(scenarioSha256(s));
      expect(rec!.writes.length, s.name).toBeGreaterThan(3);
    }
  });
});

describe("wire and comparison helpers", () => {
  it("splits a stream into banana items whatever the chunking", () => {
    // [b"pb", b"none"], b"pb", [version, 6] (vocab), then half of a string
    const bytes = Buffer.from("02800282706204826e6f6e650282706202801387068105826869", "hex");
    const { items, rest } = splitItems(bytes);
    expect(items.map((i) => Buffer.from(i).toString("hex"))).toEqual(["02800282706204826e6f6e65", "02827062", "028013870681"]);
    expect(Buffer.from(rest).toString("hex")).toBe("05826869");
  });

  it("compares sets without order and shared containers by shape", () => {
    expect(canonical(["set", null, [["int", "2"], ["int", "1"]]])).toEqual(canonical(["set", null, [["int", "1"], ["int", "2"]]]));
    expect(canonical(["list", 7, [["ref", 7]]])).toEqual(["list", 1, [["ref", 1]]]);
  });
});

describe.runIf(python)("the matrix (Twisted at hand)", () => {
  let report: Report;

  it("runs every scenario in all four pairings and both replays with no failure", async () => {
    report = await runMatrix({ scenarios, python });
    const failures = report.rows.flatMap((r) =>
      Object.entries(r.cells)
        .filter(([, c]) => c!.status === "fail")
        .map(([col, c]) => `${r.name} [${col}]: ${c!.firstDifference}`),
    );
    expect(failures).toEqual([]);
    expect(report.summary.skip).toBe(0);
    expect(report.rows).toHaveLength(scenarios.length);
    // every declared known difference showed, and nothing else is "known"
    // (those declared for other Twisted versions only do not apply)
    const declared = scenarios.reduce((n, s) => n + (s.knownDifferences ?? []).filter((d) => knownFor(d.twisted, python!.twisted)).reduce((m, d) => m + d.columns.length, 0), 0);
    expect(report.summary.known).toBe(declared);
    // the control pairing never needs an excuse
    for (const r of report.rows) expect(r.cells["py-py"]!.status, r.name).toBe("pass");
  }, 180_000);

  it("names the nondeterministic fields it handled", () => {
    const login = report.rows.find((r) => r.name === "login-wrong-password")!;
    expect(login.cells["replay-server"]!.notes!.join("\n")).toMatch(/challenge\(s\) injected/);
    expect(login.cells["replay-server"]!.notes!.join("\n")).toMatch(/Failure\.count masked in 2 error/);
    expect(login.cells["replay-client"]!.notes!.join("\n")).toMatch(/answered the 3 recorded challenge/);
    expect(report.namedFields.join("\n")).toMatch(/challenge/);
  });

  it("reports a deliberately wrong expectation as a failure, with its first difference and the traffic", async () => {
    const sc = clone(byName("kwargs"));
    // expected ((1, 'two'), {...}); say 'three' instead of 'two'
    const step = sc.steps[0] as unknown as { expect: { value: unknown[] } };
    ((step.expect.value[2] as unknown[][])[0][2] as unknown[][])[1] = ["str", "three"];
    const traffic = tempDir();
    const r = await runMatrix({ scenarios: [Scenario.parse(sc)], pairings: ["ts-ts", "py-py"], replay: false, python, keepTraffic: traffic });
    for (const p of ["ts-ts", "py-py"] as const) {
      const cell = r.rows[0].cells[p]!;
      expect(cell.status).toBe("fail");
      expect(cell.firstDifference).toBe("step 0 call echoArgs: value[0][1]: expected 'three', got 'two'");
      expect(existsSync(cell.traffic!)).toBe(true);
      const saved = JSON.parse(readFileSync(cell.traffic!, "utf8")) as { writes: { dir: string; t: number; hex: string }[] };
      expect(saved.writes.some((w) => w.dir === "c2s" && typeof w.t === "number")).toBe(true);
    }
    expect(r.summary.fail).toBe(2);
  }, 60_000);

  it("reports a declared known difference that does not show as a failure", async () => {
    const sc = clone(byName("echo-unpersistable"));
    sc.knownDifferences = [{ columns: ["ts-py"], why: "not really" }];
    const r = await runMatrix({ scenarios: [Scenario.parse(sc)], pairings: ["ts-py"], replay: false, python });
    expect(r.rows[0].cells["ts-py"]!.status).toBe("fail");
    expect(r.rows[0].cells["ts-py"]!.firstDifference).toMatch(/declared for this column but did not show/);
  }, 60_000);
});

describe("the replays can fail", () => {
  const sc = byName("fail-value-error");
  const rec = JSON.parse(readFileSync(recordingPath(sc.name, FIXTURE_DIR), "utf8")) as Recording;
  const patch = (r: Recording, dir: "c2s" | "s2c", from: string, to: string): Recording => {
    const out = clone(r);
    const w = out.writes.find((x) => x.dir === dir && x.hex.includes(from))!;
    expect(w, `a ${dir} item containing ${from}`).toBeDefined();
    w.hex = w.hex.replace(from, to);
    return out;
  };
  const hex = (s: string) => Buffer.from(s).toString("hex");

  it("passes on the recording as it is", async () => {
    expect((await replayServer(rec, sc)).ok).toBe(true);
    expect((await replayClient(rec, sc)).ok).toBe(true);
  });

  it("our server: a server item changed in the recording (the failure text)", async () => {
    const v = await replayServer(patch(rec, "s2c", hex("oops"), hex("oopz")), sc);
    expect(v.ok).toBe(false);
    expect(v.firstDifference).toMatch(/^item #\d+ S->C differs at byte \d+ \(Failure\.count masked\): Twisted .*'oopz'.* \| ours .*'oops'/);
  });

  it("our client: a client item changed in the recording (the method name)", async () => {
    const v = await replayClient(patch(rec, "c2s", hex("fail"), hex("fall")), sc);
    expect(v.ok).toBe(false);
    expect(v.firstDifference).toMatch(/^item #\d+ C->S differs at byte \d+: Twisted .*'fall'.* \| ours .*'fail'/);
  });

  it("a masked field stays masked only where it is named: the failure count, not the type", async () => {
    const counted = await replayServer(rec, sc);
    expect(counted.notes.join("\n")).toMatch(/Failure\.count masked in 1 error/);
    const v = await replayServer(patch(rec, "s2c", hex("builtins.ValueError"), hex("builtins.ValueErrox")), sc);
    expect(v.ok).toBe(false);
  });

  it.runIf(python)("a stale recording (the scenario changed since) is a failure", async () => {
    const dir = tempDir();
    const changed = clone(sc);
    const step = changed.steps[1] as unknown as { args: unknown[]; expect: unknown };
    step.args = [["int", "2"]];
    step.expect = { value: ["int", "2"] };
    writeFileSync(join(dir, `${sc.name}.json`), JSON.stringify(rec));
    const r = await runMatrix({ scenarios: [Scenario.parse(changed)], pairings: ["ts-ts"], python, fixtureDir: dir });
    expect(r.rows[0].cells["replay-client"]!.status).toBe("fail");
    expect(r.rows[0].cells["replay-client"]!.firstDifference).toMatch(/stale/);
  }, 60_000);

  it("compareRun reports a missing step result with the run's error", () => {
    const v = compareRun(sc, [], "could not connect: refused");
    expect(v.ok).toBe(false);
    expect(v.firstDifference).toBe("step 0 call fail: no result (the run stopped before this step): could not connect: refused");
  });
});

it("the pairings are the four of the issue", () => {
  expect([...PAIRINGS]).toEqual(["ts-ts", "ts-py", "py-ts", "py-py"]);
});
