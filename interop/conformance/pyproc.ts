// The Python processes of the harness: the reference service (interop/peer.py serve root portal)
// and the persistent client driver (conformance-client). Both speak one JSON object per line on stdout; both exit when their
// stdin closes. Every process started here is tracked and killed on exit, SIGINT or SIGTERM.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { CONFORMANCE_DIR, type Scenario } from "./scenario.ts";
import type { StepResult } from "./client.ts";

const live = new Set<PyProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const p of live) p.kill();
  });
}

/** Kills every Python process still running (SIGINT handlers call it). */
export function killAllPython(): void {
  for (const p of live) p.kill();
}

interface Line {
  event?: string;
  [k: string]: unknown;
}

export class PyProcess {
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly waiters: { pred: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  private readonly lines: Line[] = [];
  private done = false;

  constructor(
    readonly name: string,
    readonly child: ChildProcessWithoutNullStreams,
  ) {
    live.add(this);
    hookExit();
    createInterface({ input: child.stdout }).on("line", (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        line = { event: "stdout", text };
      }
      const w = this.waiters.findIndex((x) => x.pred(line));
      if (w >= 0) this.waiters.splice(w, 1)[0].resolve(line);
      else this.lines.push(line);
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => {
      this.stderr.push(s);
      if (this.stderr.length > 200) this.stderr.splice(0, this.stderr.length - 200);
    });
    this.exited = new Promise((resolve) => {
      const gone = (code: number | null) => {
        this.done = true;
        live.delete(this);
        resolve(code);
      };
      child.once("exit", gone);
      child.once("error", () => gone(null));
    });
  }

  get running(): boolean {
    return !this.done;
  }

  send(obj: unknown): void {
    this.child.stdin.write(JSON.stringify(obj) + "\n");
  }

  /** The next line matching `pred` (already read or still to come), within `ms`. */
  waitFor(pred: (l: Line) => boolean, ms: number, what: string): Promise<Line> {
    const i = this.lines.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.lines.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (l: Line) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        const k = this.waiters.indexOf(waiter);
        if (k >= 0) this.waiters.splice(k, 1);
        reject(new Error(`${this.name}: no ${what} within ${ms} ms${this.diagnostics()}`));
      }, ms);
      this.waiters.push(waiter);
      void this.exited.then(() =>
        setTimeout(() => {
          const k = this.waiters.indexOf(waiter);
          if (k < 0) return;
          this.waiters.splice(k, 1);
          clearTimeout(timer);
          reject(new Error(`${this.name} exited before ${what}${this.diagnostics()}`));
        }, 100),
      );
    });
  }

  diagnostics(): string {
    const err = this.stderr.join("").trim();
    return err ? `\n--- ${this.name} stderr (tail) ---\n${err.slice(-3000)}` : "";
  }

  kill(): void {
    if (!this.done) this.child.kill("SIGKILL");
  }

  /** Closes stdin (the process exits on that), then SIGTERM, then SIGKILL. */
  async stop(): Promise<void> {
    if (this.done) return;
    this.child.stdin.end();
    const gone = (ms: number) => Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    if (await gone(1500)) return;
    this.child.kill("SIGTERM");
    if (await gone(1000)) return;
    this.child.kill("SIGKILL");
    await gone(1000);
  }
}

/**
 * A Python that can import Twisted: a path, or a launcher (a command with arguments put before the
 * script, and environment), such as one Twisted version of ../shared/legacy-twisted.
 */
export type PythonLike = string | { command: string; args: string[]; env: Record<string, string> };

function spawnPython(python: PythonLike, name: string, roleArgs: string[], env: Record<string, string> = {}): PyProcess {
  const launcher = typeof python === "string" ? { command: python, args: [], env: {} } : python;
  const child = spawn(launcher.command, [...launcher.args, "-u", join(CONFORMANCE_DIR, "..", "peer.py"), ...roleArgs], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1", PYTHONHASHSEED: "0", ...launcher.env, ...env },
  });
  return new PyProcess(name, child);
}

export interface PyService {
  proc: PyProcess;
  rootPort: number;
  portalPort: number;
  twisted: string;
  python: string;
}

/** Starts the reference service (interop/peer.py serve root portal: roots.json); `challenge` (hex) fixes every login challenge (recording mode). */
export async function startPyService(python: PythonLike, options: { challenge?: string } = {}): Promise<PyService> {
  const env: Record<string, string> = options.challenge ? { CONFORMANCE_CHALLENGE: options.challenge } : {};
  const proc = spawnPython(python, "serve(root portal)", ["serve", "root", "portal"], env);
  try {
    const l = await proc.waitFor((x) => x.event === "listening", 20_000, "listening line");
    return { proc, rootPort: l.root as number, portalPort: l.portal as number, twisted: String(l.twisted), python: String(l.python) };
  } catch (e) {
    await proc.stop();
    throw e;
  }
}

export interface PyRunResult {
  steps: StepResult[];
  timedOut: boolean;
  error: string | null;
}

/** The persistent conformance-client role: one scenario at a time. */
export class PyClient {
  private nextId = 1;
  private constructor(
    readonly proc: PyProcess,
    readonly twisted: string,
    readonly python: string,
  ) {}

  static async start(python: PythonLike): Promise<PyClient> {
    const proc = spawnPython(python, "conformance-client", ["conformance-client"]);
    try {
      const l = await proc.waitFor((x) => x.event === "ready", 20_000, "ready line");
      return new PyClient(proc, String(l.twisted), String(l.python));
    } catch (e) {
      await proc.stop();
      throw e;
    }
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** Runs a scenario against 127.0.0.1:port; the client gives up by itself after timeoutMs. */
  async run(scenario: Scenario, port: number, timeoutMs: number): Promise<PyRunResult> {
    const id = this.nextId++;
    this.proc.send({ id, scenario, host: "127.0.0.1", port, timeoutMs });
    // A little more than the client's own timeout: if even that passes, the process is wedged.
    const l = await this.proc.waitFor((x) => x.event === "result" && x.id === id, timeoutMs + 5000, `result of ${scenario.name}`);
    return { steps: (l.steps as StepResult[]) ?? [], timedOut: !!l.timedOut, error: (l.error as string | null) ?? null };
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}
