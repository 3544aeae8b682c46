// Running what a user copies: the examples and the README's samples, as separate processes
// against live Twisted peers (examples/twisted/server.py and client.py). TypeScript runs
// through tsx from the checkout, where tsconfig.json's `paths` map "twisted-pb" to src/, so the
// samples import the package by its name as a user does.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { requirePython } from "../../interop/find-python.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const PYTHON = requirePython().path;
const SERVER_PY = join(ROOT, "examples", "twisted", "server.py");
const CLIENT_PY = join(ROOT, "examples", "twisted", "client.py");

export interface Output {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Waits for a child's exit, killing it after `timeoutMs`. */
function finish(child: ChildProcess, timeoutMs: number, what: string): Promise<Output> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Runs a TypeScript file to completion with tsx (cwd: the checkout, so its tsconfig applies). */
export function runTs(file: string, env: Record<string, string> = {}, timeoutMs = 45_000): Promise<Output> {
  const child = spawn(process.execPath, ["--import", "tsx", file], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  return finish(child, timeoutMs, file);
}

/** Runs examples/twisted/client.py MODE PORT [...]: the Twisted client (or a legacy `variant`), to completion. */
export function runTwistedClient(args: string[], timeoutMs = 45_000, variant?: string): Promise<Output> {
  const [cmd, full] = variant ? [LEGACY_RUN, [variant, CLIENT_PY, ...args]] : [PYTHON, [CLIENT_PY, ...args]];
  const child = spawn(cmd, full, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  return finish(child, timeoutMs, `client.py ${args.join(" ")}`);
}

/** The RESULT line client.py prints. */
export function twistedResult(out: Output): unknown {
  const line = out.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line || out.status !== 0) throw new Error(`Twisted client failed (${out.status}):\n${out.stdout}\n${out.stderr}`);
  return JSON.parse(line.slice(7));
}

export interface Running {
  ports: number[];
  output(): string;
  stop(): Promise<void>;
}

/** Starts a long-running process and waits for `ready` to match its stdout (ports in groups). */
function startProcess(cmd: string, args: string[], env: Record<string, string>, ready: RegExp, what: string, timeoutMs = 30_000): Promise<Running> {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  const running = (ports: number[]): Running => ({
    ports,
    output: () => out,
    async stop() {
      child.stdin?.end();
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} not ready within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(running(m.slice(1).map(Number)));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (d) => (out += d));
    child.once("close", (status) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${status}) before it was ready:\n${out}`));
    });
  });
}

/** Legacy and newest Twisted releases, runnable where /work/shared/legacy-twisted is set up. */
export const LEGACY_RUN = process.env.TWISTED_PB_LEGACY_RUN ?? "/work/shared/legacy-twisted/run.sh";
export function legacyVariantAvailable(variant: string): boolean {
  if (!existsSync(LEGACY_RUN)) return false;
  const r = spawnSync(LEGACY_RUN, [variant, "-c", "import twisted"], { timeout: 30_000 });
  return r.status === 0;
}

/**
 * examples/twisted/server.py on OS-picked ports: ports[0] the root service, ports[1] the
 * Portal. `variant` runs it with that legacy Twisted (see LEGACY_RUN) instead of the default Python.
 */
export function startTwistedServer(tls?: { cert: string; key: string }, variant?: string): Promise<Running> {
  const args = [SERVER_PY, "--port", "0", "--login-port", "0", "--exit-on-stdin-close", ...(tls ? ["--tls", tls.cert, tls.key] : [])];
  const [cmd, full] = variant ? [LEGACY_RUN, [variant, ...args]] : [PYTHON, args];
  return startProcess(cmd, full, {}, /"port": (\d+), "loginPort": (\d+)/, `examples/twisted/server.py${variant ? ` (${variant})` : ""}`);
}

/** A TypeScript server (an example) on an OS-picked port; it prints "listening ... :PORT". */
export function startTsServer(file: string, env: Record<string, string> = {}): Promise<Running> {
  return startProcess(process.execPath, ["--import", "tsx", file], { PB_PORT: "0", ...env }, /listening[^\n]*:(\d+)\n/, file);
}

/** A self-signed certificate for localhost and 127.0.0.1 (openssl), for the TLS examples. */
export function makeCertificate(dir: string): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  if (!existsSync(cert)) {
    const r = spawnSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
      { encoding: "utf8", timeout: 30_000 },
    );
    if (r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.error?.message ?? r.stderr}`);
  }
  return { cert, key };
}
