// npm run conformance -- [options]: every scenario in every pairing of TypeScript and Twisted
// peers, plus the byte-for-byte replays of Twisted's recorded traffic. See README-section.md.
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { probePython, requirePython } from "../find-python.mjs";
import { FIXTURE_DIR, PAIRINGS, REPLAYS, fixtureDirFor, recordScenarios, runMatrix, type Pairing, type PythonInfo } from "./harness.ts";
import { TWISTED_VARIANTS, launcherFor, launcherFromCommand, probe } from "../twisted-versions.ts";
import { killAllPython } from "./pyproc.ts";
import { formatTable, progressLine, writeReport } from "./report.ts";
import { FAMILY_ORDER, REPO_ROOT, loadScenarios, type Scenario } from "./scenario.ts";

const USAGE = `usage: npm run conformance -- [options]

  --scenario NAME   run only this scenario (repeatable, or comma-separated)
  --family F        run only this family (repeatable: ${FAMILY_ORDER.join(", ")})
  --pairing P       run only this client-server pairing (repeatable: ${PAIRINGS.join(", ")})
  --twisted V       the Twisted version for the py columns: ${TWISTED_VARIANTS.join(", ")}
                    (../shared/legacy-twisted, set up in $LEGACY_TWISTED or ~/.cache/twisted-legacy);
                    replays use fixtures/conformance/V/ and V's own known differences apply
  --python CMD      the Python with Twisted to use: a path, or a launcher command such as
                    "../shared/legacy-twisted/run.sh py2-20.3.0" (default: $TWISTED_PB_PYTHON,
                    /usr/bin/python3, python3)
  --keep-traffic    write the captured traffic of failing runs to <report>/traffic/
  --no-replay       skip the replay columns
  --record          record Twisted's traffic (py-py) of the selected scenarios into
                    fixtures/conformance/<version>/ (the version --twisted or --python gives)
  --report DIR      where report.json and report.html go (default reports/conformance)
  --timeout MS      per run (default 20000)
  --list            list the scenarios and exit
  --help`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: "string", multiple: true },
      family: { type: "string", multiple: true },
      pairing: { type: "string", multiple: true },
      python: { type: "string" },
      twisted: { type: "string" },
      "keep-traffic": { type: "boolean", default: false },
      "no-replay": { type: "boolean", default: false },
      record: { type: "boolean", default: false },
      report: { type: "string", default: join(REPO_ROOT, "reports", "conformance") },
      timeout: { type: "string", default: "20000" },
      list: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const split = (xs: string[] | undefined) => (xs ?? []).flatMap((x) => x.split(",")).map((x) => x.trim()).filter(Boolean);
  const all = loadScenarios();
  let scenarios: Scenario[] = all;
  const names = split(values.scenario);
  const families = split(values.family);
  for (const n of names) if (!all.some((s) => s.name === n)) throw new Error(`no scenario named ${n} (--list shows them)`);
  for (const f of families) if (!all.some((s) => s.family === f)) throw new Error(`no family ${f}; families: ${[...new Set(all.map((s) => s.family))].join(", ")}`);
  if (names.length) scenarios = scenarios.filter((s) => names.includes(s.name));
  if (families.length) scenarios = scenarios.filter((s) => families.includes(s.family));
  if (values.list) {
    for (const s of scenarios) console.log(`${`${s.family}/${s.name}`.padEnd(36)} ${s.server.padEnd(6)} ${s.title}`);
    return 0;
  }
  const pairings = split(values.pairing) as Pairing[];
  for (const p of pairings) if (!(PAIRINGS as readonly string[]).includes(p)) throw new Error(`unknown pairing ${p}; pairings: ${PAIRINGS.join(", ")}`);

  let python: PythonInfo | null = null;
  const needPython = values.record || !pairings.length || pairings.some((p) => p.includes("py"));
  if (values.twisted && values.python) throw new Error("give --twisted or --python, not both");
  if (values.twisted) {
    const l = launcherFor(values.twisted);
    if ("missing" in l) throw new Error(`Twisted ${values.twisted} is not available here: ${l.missing}`);
    const found = probe(l);
    if (!found) throw new Error(`Twisted ${values.twisted}: ${l.command} cannot import twisted`);
    python = { path: `${l.command} (${values.twisted})`, version: found.python!, twisted: found.twisted!, launcher: l, variant: values.twisted };
  } else if (values.python && /\s/.test(values.python.trim())) {
    const l = launcherFromCommand(values.python);
    const found = probe(l);
    if (!found) throw new Error(`${values.python} cannot import twisted`);
    python = { path: values.python.trim(), version: found.python!, twisted: found.twisted!, launcher: l };
  } else if (values.python) {
    const found = probePython(values.python);
    if (!found) throw new Error(`${values.python} cannot import twisted`);
    python = { path: found.path, version: found.pythonVersion, twisted: found.twistedVersion };
  } else if (needPython) {
    const found = requirePython();
    python = { path: found.path, version: found.pythonVersion, twisted: found.twistedVersion };
  }

  if (values.record) return record(scenarios, python!);
  return matrix(scenarios, pairings.length ? pairings : [...PAIRINGS], python, values, { names, families });
}

async function record(scenarios: Scenario[], python: PythonInfo): Promise<number> {
  if (python.version.startsWith("2.")) {
    // Our replayed side would have to write what the Python 2 drivers chose to make unicode or
    // native str, and dicts in Python 2's hash order: not something to compare byte for byte yet.
    console.error(`not recording Twisted ${python.twisted} on Python ${python.version}: replays of Python 2 traffic are not supported (its live columns are)`);
    return 2;
  }
  const dir = fixtureDirFor(python);
  console.log(`recording ${scenarios.length} scenario(s) between Twisted ${python.twisted} peers (Python ${python.version}, ${python.path}) into ${relative(REPO_ROOT, dir)}/`);
  const results = await recordScenarios(scenarios, python, (r, i, total) => {
    const head = `[${String(i + 1).padStart(String(total).length)}/${total}] ${r.name.padEnd(30)}`;
    console.log(r.ok ? `${head} recorded ${r.items} items` : `${head} NOT recorded: ${r.firstDifference}`);
  }, dir);
  const bad = results.filter((r) => !r.ok);
  console.log(`${results.length - bad.length} recorded, ${bad.length} not recorded (${relative(REPO_ROOT, dir)}/)`);
  return bad.length ? 1 : 0;
}

async function matrix(
  scenarios: Scenario[],
  pairings: Pairing[],
  python: PythonInfo | null,
  values: { "keep-traffic"?: boolean; "no-replay"?: boolean; report?: string; timeout?: string },
  filters: { names: string[]; families: string[] },
): Promise<number> {
  const reportDir = values.report!;
  // No recordings of Python 2 traffic (see record()): its runs have the live columns only.
  const py2 = python?.version.startsWith("2.") ?? false;
  const replay = !values["no-replay"] && !py2;
  if (py2 && !values["no-replay"]) console.log("replays: none for Python 2 Twisted (its traffic is not recorded: the live columns are the check)");
  const columns = [...pairings, ...(replay ? REPLAYS : [])];
  console.log(
    `conformance: ${scenarios.length} scenario(s) x ${pairings.join(", ")}${replay ? " + replays" : ""}` +
      (python ? `; Twisted ${python.twisted} on Python ${python.version} (${python.path})` : ""),
  );
  const fixtureDir = python ? fixtureDirFor(python) : FIXTURE_DIR;
  if (replay) console.log(`replays: recordings of ${relative(REPO_ROOT, fixtureDir)}/${existsSync(fixtureDir) ? "" : " (none for this version: replay cells are skipped; record them with --record)"}`);
  const report = await runMatrix({
    scenarios,
    pairings,
    replay,
    python,
    keepTraffic: values["keep-traffic"] ? join(reportDir, "traffic") : null,
    timeoutMs: Number(values.timeout),
    fixtureDir,
    onProgress: (row, i, total) => console.log(progressLine(row, i, total, columns)),
  });
  if (filters.names.length) report.options.scenario = filters.names.join(",");
  if (filters.families.length) report.options.family = filters.families.join(",");
  console.log("");
  console.log(formatTable(report));
  const files = writeReport(report, reportDir);
  console.log(`\nreport: ${files.json}\n        ${files.html}`);
  return report.summary.fail ? 1 : 0;
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping the Python peers`);
    killAllPython();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    killAllPython();
    process.exit(2);
  },
);
