#!/usr/bin/env node
// `npm run build` (also run by `prepack`): a clean dist/ from src/, in two steps.
//   1. tsc with tsconfig.build.json: JavaScript, .d.ts and source maps, a file per module.
//   2. esbuild bundles that JavaScript from the package's entry points (those of `exports` and the
//      pb-inspect CLI), code shared between entries in dist/chunks/, so one class is one object
//      whichever entry a user imports it from. Node then loads a handful of files instead of
//      ~110: importing twisted-pb takes about a third of the time (`npm run bench:import`).
//      The per-module JavaScript is removed; the .d.ts files stay as tsc wrote them. The
//      bundle's source maps lead back to src/ through tsc's.
// esbuild renames a top-level name that two modules share, which would change a function's or
// class's `name` (seen in stack traces and logs); the build refuses such a rename instead of
// paying keepNames' cost on every closure made at run time.
// Plain JavaScript so it runs on any platform without a shell.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { renamedNames, topLevelNames } from "./build-names.mjs";

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

const modules = filesUnder(dist).filter((f) => f.endsWith(".js"));
const sourceNames = new Set();
for (const f of modules) for (const name of topLevelNames(readFileSync(f, "utf8"))) sourceNames.add(name);

const { build } = await import("esbuild");
// Beside dist/, so the source maps' relative paths to src/ stay right once the files move in.
const staging = mkdtempSync(join(root, ".build-"));
try {
  await build({
    entryPoints: ENTRIES.map((e) => join(dist, e)),
    outbase: dist,
    outdir: staging,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    packages: "external",
    chunkNames: "chunks/[name]-[hash]",
    sourcemap: "linked",
    logLevel: "warning",
  });
  const bundled = filesUnder(staging).filter((f) => f.endsWith(".js"));
  const renamed = [];
  for (const f of bundled) {
    for (const name of renamedNames(sourceNames, readFileSync(f, "utf8"))) renamed.push(`${relative(staging, f)}: ${name}`);
  }
  if (renamed.length) {
    console.error(`build: esbuild renamed top-level functions or classes that share a name across modules (give each a name of its own):\n  ${renamed.join("\n  ")}`);
    process.exitCode = 1;
  } else {
    for (const f of filesUnder(dist)) if (f.endsWith(".js") || f.endsWith(".js.map")) rmSync(f);
    for (const f of filesUnder(staging)) {
      const to = join(dist, relative(staging, f));
      mkdirSync(dirname(to), { recursive: true });
      renameSync(f, to);
    }
  }
} finally {
  rmSync(staging, { recursive: true, force: true });
}
