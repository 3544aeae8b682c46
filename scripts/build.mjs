#!/usr/bin/env node
// `npm run build` (also run by `prepack`): a clean dist/ from src/, in two steps.
//   1. tsc with tsconfig.build.json: JavaScript, .d.ts and source maps, a file per module.
//   2. esbuild bundles that JavaScript from the package's entry points (those of `exports` and the
//      pb-inspect CLI), code shared between entries in dist/chunks/, so one class is one object
//      whichever entry a user imports it from. Node then loads a handful of files instead of
//      ~110: importing twisted-pb takes about a third of the time (`npm run bench:import`).
//      The per-module JavaScript is removed; the .d.ts files stay as tsc wrote them. The
//      bundle's source maps lead back to src/ through tsc's.
// keepNames: bundling renames a top-level name two modules share (`armTimer2`) and gives a class
// that refers to itself an inner name (`var PBClient = class _PBClient`); either would change a
// function's or class's `name`, which stack traces, util.inspect and remote errors' types show.
// Its cost at run time (a `name` defined on each named closure made) was within the noise of an
// in-memory call benchmark.
// All or nothing: if bundling fails, dist/ is removed rather than left half made.
// Plain JavaScript so it runs on any platform without a shell.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
/** The modules users reach: package.json's exports, and bin/pb-inspect.mjs's import. */
const ENTRIES = ["index.js", "core.js", "inspect/index.js", "inspect/cli.js"];

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const compiled = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit", cwd: root });
if (compiled.error) throw compiled.error;
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

// Beside dist/, so the source maps' relative paths to src/ stay right once the files move in.
const staging = mkdtempSync(join(root, ".build-"));
try {
  const { build } = await import("esbuild");
  await build({
    entryPoints: ENTRIES.map((e) => join(dist, e)),
    // Paths in the output (comments, chunk hashes) relative to the project, wherever it is built from.
    absWorkingDir: root,
    outbase: dist,
    outdir: staging,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    packages: "external",
    chunkNames: "chunks/[name]-[hash]",
    sourcemap: "linked",
    keepNames: true,
    logLevel: "warning",
  });
  for (const f of filesUnder(dist)) if (f.endsWith(".js") || f.endsWith(".js.map")) rmSync(f);
  for (const f of filesUnder(staging)) {
    const to = join(dist, relative(staging, f));
    mkdirSync(dirname(to), { recursive: true });
    renameSync(f, to);
  }
} catch (e) {
  rmSync(dist, { recursive: true, force: true });
  console.error(`build: bundling failed, dist/ removed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  rmSync(staging, { recursive: true, force: true });
}
