// The Twisted versions the project is tested against, and how to start a Python with each one.
// The trees come from ../shared/legacy-twisted/setup.sh (LEGACY_TWISTED, by default
// ~/.cache/twisted-legacy); this does what its run.sh does, so the tests need only the trees
// and the interpreters, not the shared folder itself.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { findPython } from "./find-python.mjs";
import { PyProcess } from "./pbpeers.ts";

export const TWISTED_VARIANTS = ["py2-16.6.0", "py2-18.9.0", "py2-20.3.0", "debian-22.4", "py3-24.7.0", "py3-24.10.0rc1"] as const;
export type TwistedVariant = (typeof TWISTED_VARIANTS)[number];

/** A Python that can import one Twisted version. */
export interface TwistedLauncher {
  variant: string;
  command: string;
  /** Put before the script and its arguments. */
  args: string[];
  env: Record<string, string>;
  /** Filled by probe(). */
  twisted?: string;
  python?: string;
}

export function legacyDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LEGACY_TWISTED || join(homedir(), ".cache", "twisted-legacy");
}

/** How to run `variant`, or why it cannot run here. */
export function launcherFor(variant: string, env: NodeJS.ProcessEnv = process.env): TwistedLauncher | { missing: string } {
  const dir = legacyDir(env);
  const base: Record<string, string> = { PYTHONNOUSERSITE: "1", PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" };
  if (variant === "debian-22.4") {
    const py = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : findPython()?.path;
    if (!py) return { missing: "no Python 3 with Twisted" };
    return { variant, command: py, args: [], env: base };
  }
  const m = /^(py2|py3)-(.+)$/.exec(variant);
  if (!m) return { missing: `unknown variant ${variant}` };
  const tree = join(dir, `${m[1]}-twisted-${m[2]}`);
  if (!existsSync(join(tree, "twisted"))) return { missing: `no tree ${tree} (run ../shared/legacy-twisted/setup.sh, or set LEGACY_TWISTED)` };
  if (m[1] === "py2") {
    if (!existsSync("/usr/bin/python2.7")) return { missing: "no /usr/bin/python2.7 (run ../shared/legacy-twisted/setup.sh)" };
    return { variant, command: "/usr/bin/python2.7", args: [], env: { ...base, PYTHONPATH: `${tree}:${join(dir, "py2-deps")}`, PURE_PYTHON: "1" } };
  }
  return { variant, command: "/usr/bin/python3", args: [], env: { ...base, PYTHONPATH: `${tree}:${join(dir, "py3-deps")}` } };
}

/**
 * A launcher from a command line given by the user (`--python "run.sh py2-20.3.0"`): the first
 * word is the program, the rest go before the script.
 */
export function launcherFromCommand(commandLine: string): TwistedLauncher {
  const words = commandLine.trim().split(/\s+/);
  return { variant: commandLine.trim(), command: words[0], args: words.slice(1), env: { PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" } };
}

/** Asks the launcher's Python for its Twisted and Python versions; null if it cannot import Twisted. */
export function probe(launcher: TwistedLauncher): TwistedLauncher | null {
  const r = spawnSync(launcher.command, [...launcher.args, "-c", "import sys, twisted.spread.pb, twisted; print(twisted.__version__); print('%d.%d.%d' % tuple(sys.version_info[:3]))"], {
    encoding: "utf8",
    timeout: 20_000,
    env: { ...process.env, ...launcher.env },
  });
  if (r.error || r.status !== 0) return null;
  const [twisted, python] = r.stdout.trim().split("\n");
  return { ...launcher, twisted, python };
}

/** Starts `script` (a path) under the launcher's Python; stdout JSON lines become events. */
export function spawnWith(launcher: TwistedLauncher, name: string, script: string, args: string[]): PyProcess {
  const child = spawn(launcher.command, [...launcher.args, "-u", script, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...launcher.env },
  });
  return new PyProcess(name, child);
}
