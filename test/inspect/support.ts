// Helpers for the pb-inspect tests.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BIN = join(ROOT, "bin", "pb-inspect.mjs");
export const EXPECTED = join(ROOT, "test", "inspect", "expected");

/** Set UPDATE_INSPECT_EXPECTED=1 to rewrite the expected transcripts (then read the diff!). */
export const UPDATING = process.env.UPDATE_INSPECT_EXPECTED === "1";

/** Compares with test/inspect/expected/NAME (the spec: read it when it changes). */
export function expectTranscript(name: string, actual: string): void {
  const path = join(EXPECTED, name);
  if (UPDATING || !existsSync(path)) {
    if (!UPDATING) throw new Error(`missing ${path} (run with UPDATE_INSPECT_EXPECTED=1 to write it, then read it)`);
    writeFileSync(path, actual);
    return;
  }
  expect(actual).toBe(readFileSync(path, "utf8"));
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/pb-inspect.mjs to completion (cwd: the repo root). */
export function runBin(args: string[], opts: { input?: string | Uint8Array; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: "", ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`pb-inspect ${args.join(" ")} timed out\n${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** Resolves with the first match of `re` in what the stream prints (rejects after timeoutMs). */
export function waitForOutput(child: ChildProcess, stream: "stdout" | "stderr", re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const s = child[stream]!;
    const timer = setTimeout(() => {
      s.off("data", onData);
      reject(new Error(`timed out waiting for ${re} on ${stream}; saw:\n${seen}`));
    }, timeoutMs);
    const onData = (d: Buffer | string) => {
      seen += d.toString();
      const m = seen.match(re);
      if (m) {
        clearTimeout(timer);
        s.off("data", onData);
        resolve(m);
      }
    };
    s.on("data", onData);
  });
}

/** Kills a child we started (by its pid) and waits for it to exit. */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
