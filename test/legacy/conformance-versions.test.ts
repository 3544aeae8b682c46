// The conformance harness per Twisted version: recordings kept per version, and known
// differences that belong to one version (its own bugs) apply to that version only.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURE_DIR, FIXTURE_ROOT, applyKnown, fixtureDirFor, knownFor } from "../../interop/conformance/harness.ts";
import { Scenario, loadScenarios } from "../../interop/conformance/scenario.ts";
import { compareRun } from "../../interop/conformance/compare.ts";

const base = { name: "x", family: "calls", server: "root", title: "t", steps: [{ op: "call", method: "echo", args: [["int", "1"]], expect: { value: ["int", "1"] } }] };

describe("conformance per Twisted version", () => {
  it("keeps recordings per version, each made by that version", () => {
    expect(fixtureDirFor({ twisted: "22.4.0", version: "3.11.2" })).toBe(FIXTURE_DIR);
    expect(fixtureDirFor({ twisted: "24.10.0.rc1", version: "3.11.2" })).toBe(join(FIXTURE_ROOT, "py3-24.10.0rc1"));
    expect(fixtureDirFor({ twisted: "20.3.0", version: "2.7.18" })).toBe(join(FIXTURE_ROOT, "py2-20.3.0"));
    expect(fixtureDirFor({ twisted: "x", version: "3", variant: "py3-24.7.0" })).toBe(join(FIXTURE_ROOT, "py3-24.7.0"));
    for (const [variant, twisted] of [["debian-22.4", "22.4.0"], ["py3-24.7.0", "24.7.0"], ["py3-24.10.0rc1", "24.10.0.rc1"]]) {
      const dir = join(FIXTURE_ROOT, variant);
      expect(existsSync(dir), dir).toBe(true);
      const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
      expect(files.length).toBeGreaterThanOrEqual(46);
      for (const f of files) expect((JSON.parse(readFileSync(join(dir, f), "utf8")) as { twisted: string }).twisted, f).toBe(twisted);
    }
    // Twisted 24.7.0 cannot record the two scenarios its own bug breaks.
    expect(existsSync(join(FIXTURE_ROOT, "py3-24.7.0", "fail-deferred.json"))).toBe(false);
  });

  it("applies a version's own known difference to that version only, py-py included", () => {
    const sc = Scenario.parse({ ...base, knownDifferences: [{ columns: ["py-py", "ts-py"], twisted: ["24.7.0"], why: "its bug" }] });
    const fail = { status: "fail" as const, ms: 1, firstDifference: "d" };
    const pass = { status: "pass" as const, ms: 1, firstDifference: null };
    expect(applyKnown(sc, "py-py", fail, "24.7.0").status).toBe("known");
    expect(applyKnown(sc, "py-py", fail, "22.4.0").status).toBe("fail");
    expect(applyKnown(sc, "py-py", pass, "22.4.0").status).toBe("pass");
    // declared for 24.7.0 but gone there: reported, so the declaration cannot go stale
    expect(applyKnown(sc, "ts-py", pass, "24.7.0").status).toBe("fail");
    expect(knownFor(["24.7"], "24.7.0")).toBe(true);
    expect(knownFor(["24.7"], "24.10.0")).toBe(false);
  });

  it("refuses a py-py known difference that does not name its Twisted versions (py-py is the control)", () => {
    expect(() => Scenario.parse({ ...base, knownDifferences: [{ columns: ["py-py"], why: "no" }] })).toThrow(/control/);
  });

  it("declares Twisted 24.7.0's failure-a-turn-later bug where it shows", () => {
    const declared = loadScenarios().filter((s) => s.knownDifferences?.some((d) => d.twisted?.includes("24.7.0")));
    expect(declared.map((s) => s.name).sort()).toEqual(["fail-deferred", "fail-relayed"]);
  });

  it("reads a Python 2 peer's values as Python 2 means them, and only where a Python 2 peer took part", () => {
    const sc = Scenario.parse({
      ...base,
      steps: [
        { op: "call", method: "echo", args: [["int", "1"]], expect: { value: ["dict", null, [[["str", "a"], ["bytes", "6869"]], [["int", "2"], ["none"]]]] } },
        { op: "call", method: "fail", expect: { failure: { type: "builtins.ValueError", value: "oops", remote: true } } },
      ],
    });
    // hash order, bytes that are its str, exceptions.ValueError
    const got = [
      { i: 0, op: "call", result: { value: ["dict", null, [[["int", "2"], ["none"]], [["str", "a"], ["str", "hi"]]]] } },
      { i: 1, op: "call", result: { failure: { type: "exceptions.ValueError", value: "oops", remote: true } } },
    ];
    expect(compareRun(sc, got as never, null, { python2: true }).ok).toBe(true);
    expect(compareRun(sc, got as never, null, {}).ok).toBe(false);
    // still a difference for Python 2: other text, other bytes, another exception
    const other = structuredClone(got);
    (other[1].result as { failure: { type: string } }).failure.type = "exceptions.TypeError";
    expect(compareRun(sc, other as never, null, { python2: true }).firstDifference).toMatch(/failure type/);
    const notUtf8 = structuredClone(got);
    ((notUtf8[0].result as { value: unknown[] }).value[2] as unknown[][])[1][1] = ["bytes", "ff"];
    expect(compareRun(sc, notUtf8 as never, null, { python2: true }).ok).toBe(false);
  });
});
