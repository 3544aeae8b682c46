// The conformance harness against every legacy and newest Twisted set up here (16.6, 18.9 and
// 20.3 on Python 2.7, 24.7.0, 24.10.0rc1; Debian's 22.4 is test/conformance's): every scenario in
// all four pairings plus the replays of that version's own recordings, with no failure; its
// declared known differences all show. Versions that are not set up are skipped, and say why.
import { describe, expect, it } from "vitest";
import { fixtureDirFor, knownFor, runMatrix, type PythonInfo } from "../../interop/conformance/harness.ts";
import { loadScenarios } from "../../interop/conformance/scenario.ts";
import { launcherFor, probe, type TwistedLauncher } from "../../interop/twisted-versions.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";

const VARIANTS = ["py2-16.6.0", "py2-18.9.0", "py2-20.3.0", "py3-24.7.0", "py3-24.10.0rc1"];
const scenarios = loadScenarios();

for (const variant of VARIANTS) {
  const l = launcherFor(variant);
  const found: TwistedLauncher | null = "missing" in l ? null : probe(l);
  const why = "missing" in l ? l.missing : found ? "" : "its Python cannot import Twisted";
  describe.skipIf(!found)(`conformance against Twisted ${variant}${found ? "" : ` (SKIPPED: ${why})`}`, () => {
    it("every cell passes or is a declared difference of this version", async () => {
      const python: PythonInfo = { path: `${found!.command} (${variant})`, version: found!.python!, twisted: found!.twisted!, launcher: found!, variant };
      const dir = fixtureDirFor(python);
      // Twisted 24.7.0's own bug costs a timeout per run that hits it: keep those short.
      // Python 2 versions have no recordings (replays of Python 2 traffic are not supported): live columns only.
      const replay = existsSync(dir);
      expect(replay).toBe(!python.version.startsWith("2."));
      const report = await runMatrix({ scenarios, python, fixtureDir: dir, replay, timeoutMs: 5000 });
      const failures = report.rows.flatMap((r) =>
        Object.entries(r.cells)
          .filter(([, c]) => c!.status === "fail")
          .map(([col, c]) => `${r.name} [${col}]: ${c!.firstDifference}`),
      );
      const s = report.summary;
      console.log(`[conformance ${variant}] Twisted ${python.twisted} / Python ${python.version}: ${s.pass} passed, ${s.known} known, ${s.fail} failed, ${s.skip} skipped`);
      expect(failures).toEqual([]);
      const declared = scenarios.reduce((n, sc) => n + (sc.knownDifferences ?? []).filter((d) => knownFor(d.twisted, python.twisted)).reduce((m, d) => m + d.columns.filter((c) => !c.startsWith("replay") || (replay && existsSync(join(dir, `${sc.name}.json`)))).length, 0), 0);
      expect(s.known).toBe(declared);
      // replays are skipped only where this version could not record the scenario (its own differences)
      const unrecorded = replay ? scenarios.filter((sc) => !existsSync(join(dir, `${sc.name}.json`))).length : 0;
      expect(s.skip).toBe(unrecorded * 2);
      expect(unrecorded).toBeLessThanOrEqual(2);
    }, 300_000);
  });
}
