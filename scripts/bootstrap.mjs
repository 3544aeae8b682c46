#!/usr/bin/env node
// One entry point for the README's commands: installs what is missing (npm packages, and
// Debian's python3-twisted when no Python with Twisted is found), then runs the job.
// Plain JavaScript with no dependencies: it runs before `npm ci`.
import { spawnSync } from "node:child_process";
import { existsSync, statSync, readFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findPython, missingPythonMessage, PYTHON_ENV_VAR } from "../interop/find-python.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [job, ...rest] = process.argv.slice(2);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function ensureNodeModules() {
  const marker = join(root, "node_modules", ".package-lock.json");
  const lock = join(root, "package-lock.json");
  const fresh = existsSync(marker) && existsSync(lock) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
  if (fresh) return;
  console.error("[setup] installing npm packages (npm ci)");
  if (run("npm", ["ci", "--no-audit", "--no-fund"]) !== 0) {
    console.error("[setup] npm ci failed");
    process.exit(1);
  }
}

function ensurePython() {
  let py = findPython();
  if (py) return py;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot && existsSync("/usr/bin/apt-get")) {
    console.error("[setup] no Python with Twisted found: installing Debian's python3-twisted");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    if (run("apt-get", ["update", "-qq"], { env }) === 0) {
      run("apt-get", ["install", "-y", "-qq", "python3-twisted"], { env });
    }
    py = findPython({ ...process.env });
    if (py) return py;
  }
  console.error(missingPythonMessage());
  process.exit(2);
}

function vitestSummary(jsonFile) {
  try {
    const report = JSON.parse(readFileSync(jsonFile, "utf8"));
    const failed = (report.numFailedTests ?? 0);
    return `${report.numPassedTests ?? 0} passed, ${failed} failed`;
  } catch (e) {
    return null;
  }
}

function tsx(script, args) {
  return run(process.execPath, ["--import", "tsx", script, ...args]);
}

ensureNodeModules();
// `npm run conformance -- --python PATH`: that interpreter is the one to check for Twisted.
const pythonArg = job === "conformance" ? rest.findIndex((a) => a === "--python" || a.startsWith("--python=")) : -1;
const pythonPath = pythonArg < 0 ? null : rest[pythonArg].startsWith("--python=") ? rest[pythonArg].slice(9) : rest[pythonArg + 1];
if (pythonPath) process.env[PYTHON_ENV_VAR] = pythonPath;
const py = ensurePython();
process.env[PYTHON_ENV_VAR] = py.path;
console.error(`[setup] Python ${py.pythonVersion} at ${py.path} with Twisted ${py.twistedVersion}`);

let status;
switch (job) {
  case "test": {
    mkdirSync(join(root, "reports"), { recursive: true });
    const jsonFile = join(root, "reports", "vitest.json");
    status = run(process.execPath, [
      join(root, "node_modules", "vitest", "vitest.mjs"), "run",
      "--reporter=default", "--reporter=json", `--outputFile.json=${jsonFile}`, ...rest,
    ]);
    const line = vitestSummary(jsonFile);
    if (line) console.log(line);
    else { console.log("0 passed, 1 failed"); status = status || 1; }
    break;
  }
  case "conformance":
    status = tsx(join(root, "interop", "conformance", "run.ts"), rest);
    break;
  case "crosscheck":
    status = tsx(join(root, "interop", "crosscheck.ts"), rest);
    break;
  case "fixtures":
    status = run(py.path, [join(root, "scripts", "record_fixtures.py"), ...rest]);
    break;
  case "bench":
    status = tsx(join(root, "scripts", "bench.ts"), rest);
    break;
  case "bench-pb":
    status = tsx(join(root, "scripts", "bench-pb.ts"), rest);
    break;
  case "bench-import":
    // It measures the built package, as npm users get it.
    status = run(process.execPath, [join(root, "scripts", "build.mjs")]);
    if (status === 0) status = tsx(join(root, "scripts", "bench-import.ts"), rest);
    break;
  case "fuzz":
    status = tsx(join(root, "scripts", "fuzz.ts"), rest);
    break;
  default:
    console.error("usage: node scripts/bootstrap.mjs conformance|test|crosscheck|fixtures|bench|bench-pb|bench-import|fuzz [args]");
    status = 2;
}
process.exit(status);
