// Start-up benchmark: how long a fresh Node process takes to import twisted-pb's entry points (the
// built dist/, as npm users get it), beside an empty module, zod and msgpackr, and how long a
// fresh Python takes to import Twisted's PB. Every sample is its own process; the targets take
// turns, round by round, so drift on a noisy machine falls on all of them alike.
//
//   node --import tsx scripts/bench-import.ts [--rounds=N] [--dist=LABEL:DIR ...] [--out=FILE]
//
// --dist (repeatable) measures other builds of the package in the same run (say, an older
// layout built into another directory): each gets its own rows, labelled. Without it, ./dist.
// Printed: the import alone (timed inside the child, around `await import()`), the whole process
// (spawn to exit, as a CLI user waits for it), medians with the 10th-90th percentile spread, and
// ratios to the empty module and to Twisted. Writes reports/bench-import.json with every sample.
//
// This is a script, never a test: timings depend on the machine and on what else runs on it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { findPython } from "../interop/find-python.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const rounds = Number(argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 21);
const out = argv.find((a) => a.startsWith("--out="))?.slice(6) ?? join(root, "reports", "bench-import.json");
const dists = argv.filter((a) => a.startsWith("--dist=")).map((a) => {
  const spec = a.slice(7);
  // LABEL:DIR; a Windows path's drive letter ("C:\\x") is no label.
  const colon = spec.indexOf(":");
  return colon > 1 ? { label: spec.slice(0, colon), dir: resolve(spec.slice(colon + 1)) } : { label: spec, dir: resolve(spec) };
});
if (dists.length === 0) dists.push({ label: "twisted-pb", dir: join(root, "dist") });
if (!Number.isInteger(rounds) || rounds < 3) throw new Error("--rounds must be an integer of at least 3");

interface Target {
  name: string;
  /** Node: the module's URL. Python: the statement to time. */
  node?: string;
  python?: { path: string; statement: string };
}

const scratch = mkdtempSync(join(tmpdir(), "bench-import-"));
const emptyModule = join(scratch, "empty.mjs");
writeFileSync(emptyModule, "export {};\n");
const requireHere = createRequire(import.meta.url);
const targets: Target[] = [{ name: "empty module", node: pathToFileURL(emptyModule).href }];
for (const { label, dir } of dists) {
  for (const [entry, file] of [["", "index.js"], ["/core", "core.js"], ["/inspect", "inspect/index.js"]] as const) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first`);
    targets.push({ name: `${label}${entry}`, node: pathToFileURL(path).href });
  }
}
for (const dep of ["zod", "msgpackr"]) targets.push({ name: dep, node: pathToFileURL(requireHere.resolve(dep)).href });
const py = findPython();
if (py) targets.push({ name: `Twisted ${py.twistedVersion} (twisted.spread.pb)`, python: { path: py.path, statement: "import twisted.spread.pb" } });
else console.log("No Python with Twisted found: Twisted's row is left out.");

interface Sample { importMs: number; processMs: number }

function sampleOnce(t: Target): Sample {
  const began = process.hrtime.bigint();
  const r = t.node
    ? spawnSync(process.execPath, ["--input-type=module", "-e",
        `const t0 = performance.now(); await import(${JSON.stringify(t.node)}); console.log(performance.now() - t0);`], { encoding: "utf8" })
    : spawnSync(t.python!.path, ["-c",
        `import time\nt0 = time.perf_counter()\n${t.python!.statement}\nprint((time.perf_counter() - t0) * 1000)`], { encoding: "utf8" });
  const processMs = Number(process.hrtime.bigint() - began) / 1e6;
  if (r.status !== 0) throw new Error(`${t.name}: exit ${String(r.status)}\n${r.stderr}`);
  return { importMs: Number(r.stdout.trim().split("\n").pop()), processMs };
}

const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
for (const t of targets) sampleOnce(t); // the first run of each warms the OS's file cache
for (let round = 0; round < rounds; round++) {
  for (const t of targets) samples.get(t.name)!.push(sampleOnce(t));
}
rmSync(scratch, { recursive: true, force: true });

function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.ceil(at)] - sorted[lo]) * (at - lo);
}
function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p10: quantile(sorted, 0.1), p90: quantile(sorted, 0.9) };
}

const summary = targets.map((t) => {
  const s = samples.get(t.name)!;
  return { name: t.name, import: stats(s.map((x) => x.importMs)), process: stats(s.map((x) => x.processMs)) };
});
const empty = summary[0];
const twisted = summary.find((s) => s.name.startsWith("Twisted"));
const fmt = (x: number) => x.toFixed(1).padStart(6);
const cell = (s: { median: number; p10: number; p90: number }) => `${fmt(s.median)} (${s.p10.toFixed(1)}-${s.p90.toFixed(1)})`;
console.log(`Import time in a fresh process, ${rounds} rounds, ms: median (10th-90th percentile)`);
console.log(`${"".padEnd(44)}${"import alone".padEnd(22)}${"whole process".padEnd(22)}over empty  Twisted / this (import)`);
for (const s of summary) {
  const over = s === empty ? "" : `+${(s.import.median - empty.import.median).toFixed(1)}`;
  const vsTwisted = twisted && s !== twisted && s !== empty ? `${(twisted.import.median / s.import.median).toFixed(2)}x` : "";
  console.log(`${s.name.padEnd(44)}${cell(s.import).padEnd(22)}${cell(s.process).padEnd(22)}${over.padEnd(11)}${vsTwisted}`);
}

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({
  when: new Date().toISOString(), node: process.version, rounds, dists, summary,
  samples: Object.fromEntries(samples),
}, null, 2));
console.log(`Wrote ${out}`);
