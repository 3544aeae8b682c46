// Finds a Python interpreter that can `import twisted`.
// Order: $TWISTED_PB_PYTHON, /usr/bin/python3 (Debian's python3-twisted), then `python3` on PATH.
// Plain JavaScript with no dependencies so the bootstrap can use it before `npm ci`.
import { spawnSync } from "node:child_process";

export const PYTHON_ENV_VAR = "TWISTED_PB_PYTHON";

const PROBE = "import sys, twisted; print(twisted.__version__); print(sys.version.split()[0])";

/** @returns {{ path: string, twistedVersion: string, pythonVersion: string } | { error: string, tried: string[] }} */
export function probePython(candidate) {
  const r = spawnSync(candidate, ["-c", PROBE], { encoding: "utf8", timeout: 20_000 });
  if (r.error || r.status !== 0) return null;
  const [twistedVersion, pythonVersion] = r.stdout.trim().split("\n");
  return { path: candidate, twistedVersion, pythonVersion };
}

export function pythonCandidates(env = process.env) {
  const list = [];
  if (env[PYTHON_ENV_VAR]) list.push(env[PYTHON_ENV_VAR]);
  list.push("/usr/bin/python3", "python3");
  return list;
}

let cached;

/** The first candidate that imports twisted, or null. Cached per process. */
export function findPython(env = process.env) {
  if (cached !== undefined && env === process.env) return cached;
  let found = null;
  for (const c of pythonCandidates(env)) {
    found = probePython(c);
    if (found) break;
  }
  if (env === process.env) cached = found;
  return found;
}

export function missingPythonMessage(env = process.env) {
  return [
    "No Python with Twisted was found. Tried: " + pythonCandidates(env).join(", ") + ".",
    "Install Twisted for one of them, for example:",
    "  Debian/Ubuntu:  apt-get install python3-twisted   (for /usr/bin/python3)",
    "  anywhere else:  python3 -m pip install twisted",
    `or point ${PYTHON_ENV_VAR} at a Python that can 'import twisted'.`,
  ].join("\n");
}

/** Like findPython, but throws a clear error when none is found. */
export function requirePython(env = process.env) {
  const p = findPython(env);
  if (!p) throw new Error(missingPythonMessage(env));
  return p;
}
