// Starting and stopping the Python PB peers of the live tests (interop/peer.py serve live-root or
// live-portal, and live-client), always bounded in time and always killed in the end.
//
// Each peer prints one JSON object per line on stdout ({"event": ...}); PyProcess collects them
// and lets a test wait for one. stop() closes stdin (the peers exit on that), then kills.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { requirePython } from "./find-python.mjs";

const here = dirname(fileURLToPath(import.meta.url));

export interface PyEvent {
  event: string;
  [key: string]: unknown;
}

const live = new Set<PyProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if a test forgot to stop a peer: never leave Python processes behind.
  process.once("exit", () => {
    for (const p of live) p.kill();
  });
}

/** One running Python peer. */
export class PyProcess {
  readonly events: PyEvent[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: { pred: (e: PyEvent) => boolean; resolve: (e: PyEvent) => void }[] = [];
  private hasExited = false;

  constructor(
    readonly name: string,
    readonly child: ChildProcessWithoutNullStreams,
  ) {
    live.add(this);
    installExitHook();
    createInterface({ input: child.stdout }).on("line", (line) => {
      let e: PyEvent;
      try {
        e = JSON.parse(line) as PyEvent;
      } catch {
        e = { event: "stdout", text: line };
      }
      this.events.push(e);
      for (const w of [...this.waiters]) {
        if (w.pred(e)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => this.stderr.push(s));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code) => {
        this.hasExited = true;
        live.delete(this);
        resolve(code);
      });
      child.once("error", () => {
        this.hasExited = true;
        live.delete(this);
        resolve(null);
      });
    });
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /** Events of one kind seen so far. */
  eventsOf(kind: string): PyEvent[] {
    return this.events.filter((e) => e.event === kind);
  }

  /** The first event (already seen or still to come) that matches, within `timeoutMs`. */
  waitFor(pred: (e: PyEvent) => boolean, timeoutMs = 10_000, what = "event"): Promise<PyEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (e: PyEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms${this.diagnostics()}`));
      }, timeoutMs);
      this.waiters.push(waiter);
      void this.exited.then(() =>
        setTimeout(() => {
          if (!this.waiters.includes(waiter)) return;
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          clearTimeout(timer);
          reject(new Error(`${this.name} exited before ${what}${this.diagnostics()}`));
        }, 50),
      );
    });
  }

  waitForEvent(kind: string, pred: (e: PyEvent) => boolean = () => true, timeoutMs = 10_000): Promise<PyEvent> {
    return this.waitFor((e) => e.event === kind && pred(e), timeoutMs, `"${kind}" event`);
  }

  diagnostics(): string {
    const err = this.stderr.join("").trim();
    return err ? `\n--- ${this.name} stderr ---\n${err.slice(-4000)}` : "";
  }

  /** Sends SIGKILL if still running. */
  kill(): void {
    if (!this.hasExited) this.child.kill("SIGKILL");
  }

  /** Closes stdin (the peer exits on that), then SIGTERM, then SIGKILL; bounded to ~3 s. */
  async stop(graceMs = 1500): Promise<void> {
    if (this.hasExited) return;
    this.child.stdin.end();
    const gone = (ms: number) => Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    if (await gone(graceMs)) return;
    this.child.kill("SIGTERM");
    if (await gone(1000)) return;
    this.child.kill("SIGKILL");
    await gone(1000);
  }
}

/** Starts `interop/peer.py ROLE ...args` under the Python that has Twisted; `name` labels its diagnostics. */
export function spawnPeer(name: string, role: string, args: string[]): PyProcess {
  const py = requirePython();
  const child = spawn(py.path, ["-u", join(here, "peer.py"), role, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" },
  });
  return new PyProcess(name, child);
}

export interface PyServerOptions {
  mode?: "root" | "portal";
  /** 0 (default) lets the OS choose; a fixed port restarts a server where it was. */
  port?: number;
  unix?: string;
  tls?: { cert: string; key: string };
  unsafeTracebacks?: boolean;
  pbVersion?: number;
  dialects?: string[];
  mindCalls?: number;
  anonymous?: boolean;
  /** The server exits by itself after this long (seconds). */
  lifetime?: number;
  startTimeoutMs?: number;
}

export interface PyServer extends PyProcess {
  port: number;
  path?: string;
}

/** Starts interop/peer.py serve live-root (or live-portal: interop/conformance/roots.json) and resolves once it listens. */
export async function startPyServer(options: PyServerOptions = {}): Promise<PyServer> {
  const root = options.mode === "portal" ? "live-portal" : "live-root";
  const args = [root, "--port", String(options.port ?? 0), "--lifetime", String(options.lifetime ?? 90)];
  if (options.unix) args.push("--unix", options.unix);
  if (options.tls) args.push("--tls", options.tls.cert, options.tls.key);
  if (options.unsafeTracebacks) args.push("--unsafe-tracebacks");
  if (options.pbVersion !== undefined) args.push("--pb-version", String(options.pbVersion));
  if (options.dialects) args.push("--dialects", options.dialects.join(","));
  if (options.mindCalls !== undefined) args.push("--mind-calls", String(options.mindCalls));
  if (options.anonymous === false) args.push("--no-anonymous");
  const proc = spawnPeer(`serve(${root})`, "serve", args);
  try {
    const e = await proc.waitForEvent("listening", () => true, options.startTimeoutMs ?? 15_000);
    return Object.assign(proc, { port: (e[root] as number | undefined) ?? 0, path: e.path as string | undefined });
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

export type Desc = readonly unknown[];

export interface FailureInfo {
  copied: boolean;
  type: string;
  value: string;
  parents: string[];
  traceback?: string;
  keys?: string[];
  pickled?: number | null;
  unsafeTracebacks?: boolean;
}

export interface StepResult {
  i: number;
  op: string;
  label: string;
  ok: boolean;
  seq: number;
  value?: Desc;
  failure?: FailureInfo;
  trapped?: string | null;
  sync?: boolean;
}

export interface CallRecord {
  seq: number;
  name: string;
  method: string;
  args?: Desc;
  kwargs?: Desc;
}

export interface PyReport {
  results: StepResult[];
  calls: CallRecord[];
  timedOut: boolean;
  /** Everything the client printed (log events included). */
  events: PyEvent[];
  /** The result of the step with this label (throws if there is none). */
  step(label: string): StepResult;
}

export interface Scenario {
  host?: string;
  port?: number;
  unix?: string;
  tls?: { ca: string; hostname?: string };
  dialects?: string[];
  version?: number;
  timeout?: number;
  unsafeTracebacks?: boolean;
  steps: Record<string, unknown>[];
}

export interface PyClient extends PyProcess {
  /** Resolves with the report once the client is done (or rejects after `timeoutMs`). */
  report: Promise<PyReport>;
}

/** Starts interop/peer.py live-client on a scenario; it runs concurrently with the caller. */
export function startPyClient(scenario: Scenario, timeoutMs = 25_000): PyClient {
  const sc = { timeout: Math.max(1, Math.floor(timeoutMs / 1000) - 2), ...scenario };
  const proc = spawnPeer("live-client", "live-client", ["-"]);
  proc.child.stdin.end(JSON.stringify(sc));
  const report = (async () => {
    try {
      const e = await proc.waitForEvent("report", () => true, timeoutMs);
      const results = e.results as StepResult[];
      return {
        results,
        calls: e.calls as CallRecord[],
        timedOut: e.timedOut as boolean,
        events: proc.events,
        step(label: string): StepResult {
          const r = results.find((x) => x.label === label);
          if (!r) throw new Error(`no step labelled ${label}; have ${results.map((x) => x.label).join(", ")}${proc.diagnostics()}`);
          return r;
        },
      };
    } catch (err) {
      const crash = proc.events.find((x) => x.event === "crash");
      if (crash) throw new Error(`pb_client crashed: ${String(crash.text)}`);
      throw err;
    } finally {
      await proc.stop();
    }
  })();
  return Object.assign(proc, { report });
}

/** Runs a scenario to its end. */
export function runPyClient(scenario: Scenario, timeoutMs = 25_000): Promise<PyReport> {
  return startPyClient(scenario, timeoutMs).report;
}

/** Stops every peer still running (afterAll). */
export async function stopAllPeers(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "twisted-pb-live-"): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A self-signed certificate for localhost / 127.0.0.1, made with the openssl command, or null
 * (with the reason) when openssl is not available.
 */
export function makeSelfSignedCert(dir: string): { cert: string; key: string; certPem: string } | { skip: string } {
  const which = spawnSync("which", ["openssl"], { encoding: "utf8" });
  if (which.status !== 0 || !which.stdout.trim()) return { skip: "the openssl command is not installed (which openssl found nothing)" };
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const r = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    { encoding: "utf8", timeout: 20_000 },
  );
  if (r.status !== 0) return { skip: `openssl could not make a certificate: ${r.stderr || r.error}` };
  const certPem = readFileSync(cert, "utf8");
  return { cert, key, certPem };
}

