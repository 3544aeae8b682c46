// PB benchmark: remote calls and logins over TCP (127.0.0.1, OS-chosen ports) for the four
// pairings of a TypeScript or Twisted client with a TypeScript or Twisted server. Every client and
// server is its own process (this script is only the conductor, idle while they run), so each
// pairing gets the same two processes' worth of CPU. The Twisted half is interop/peers/bench.py.
//
//   node --import tsx scripts/bench-pb.ts [--quick] [--only=ts-ts,ts-tw,tw-ts,tw-tw]
//       [--measure=smallSeq,smallPipe,dictSeq,dictPipe,login] [--seconds=S] [--rounds=N] [--out=FILE]
//       [--login-warmup=N] (at least N logins of warm-up before each login measurement)
//
// BENCH_PB_NODE_ARGS adds flags to the TypeScript client and server processes (e.g. --cpu-prof).
//
// Measured, for each pairing, after a warm-up:
//   - remote echo of a small int: sequential (one call in flight) and pipelined (100 in flight);
//   - the same for a 1,000-entry nested dict (1,000 str keys -> {int, float, str, [3 ints], None});
//   - full logins (connect, username/password login through a Portal, disconnect), one at a time.
// Each: operations/s, p50 and p99 latency, CPU per operation of both processes (main thread and
// helper threads). The pairings take turns, in three rounds (--rounds); the median round of each
// measurement is shown with the rounds' spread, and ratios are taken within each round. (The
// pipelined dict runs in the first round only: through Twisted it takes a while.) Beside the
// pairings: raw sockets exchanging the same bytes, PB alone in memory, what each sequential rate
// target leaves PB (scripts/bench-budget.ts), a connection ladder and CPU profiles.
// Prints tables with ratios to raw and to Twisted -> Twisted and writes reports/bench-pb.json.
//
// This is a script, never a test: timings depend on the machine and on what else runs on it.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import type { Socket } from "node:net";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { requirePython } from "../interop/find-python.mjs";
import {
  Avatar,
  InMemoryPasswordChecker,
  IPerspective,
  PBClient,
  PBServer,
  Portal,
  Root,
  type AvatarId,
  type LoginResult,
  type Realm,
  type RemoteReference,
} from "../src/index.ts";
import { captureScripts, connect, pingPonger, rawLogin, rawServer, saveScripts, serverCpu, type RawScripts } from "./bench-raw.ts";
import { rateBudget, type Budget } from "./bench-budget.ts";
import { formatProfile, summarizeProfiles } from "./bench-profile.ts";
import { fullGc, youngGc } from "./bench-gc.ts";
import { percentileOf } from "./bench-stats.ts";
import { cpuNow, cpuSeconds, mainThreadCpuSeconds, type CpuReading } from "./thread-cpu.ts";
import { Broker, type Transport } from "../src/pb/index.ts";
import { ROOT_NAME } from "../src/pb/constants.ts";
import { login as portalLogin, PortalRoot } from "../src/cred/pbportal.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const thisFile = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const USERNAME = "user";
const PASSWORD = "pass";
const SMALL = 7;
const DEPTH = 100;

/** The nested dict (interop/peers/bench.py builds the same one). */
function nestedDict(): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  for (let i = 0; i < 1000; i++) d[`key${i}`] = { id: i, score: i + 0.25, name: `name${i}`, tags: [i, i + 1, i + 2], extra: null };
  return d;
}

// ---- what is measured (the same config goes to both clients) ----------------------------------

interface Spec {
  depth: number;
  warmupS: number;
  /** Warm-up calls at least (so a slow pairing still warms up). */
  warmupMin: number;
  seconds: number;
  minCalls: number;
  maxCalls: number;
}

type Name = "smallSeq" | "smallPipe" | "dictSeq" | "dictPipe" | "login";
const NAMES: Name[] = ["smallSeq", "smallPipe", "dictSeq", "dictPipe", "login"];
const LABELS: Record<Name, string> = {
  smallSeq: "small int, sequential",
  smallPipe: `small int, ${DEPTH} in flight`,
  dictSeq: "nested dict, sequential",
  dictPipe: `nested dict, ${DEPTH} in flight`,
  login: "full login, sequential",
};

function config(quick: boolean, seconds?: number): Record<Name, Spec> {
  const s = seconds ?? (quick ? 0.5 : 1);
  const w = quick ? 0.2 : 0.5;
  return {
    smallSeq: { depth: 1, warmupS: w, warmupMin: 100, seconds: s, minCalls: 100, maxCalls: 1e7 },
    smallPipe: { depth: DEPTH, warmupS: w, warmupMin: DEPTH, seconds: s, minCalls: DEPTH, maxCalls: 1e7 },
    // The dict is slow through Twisted (a few calls a second): at least a few sequential calls,
    // and the pipelined run always fills its window once.
    dictSeq: { depth: 1, warmupS: w, warmupMin: 2, seconds: s, minCalls: 5, maxCalls: 1e6 },
    // Twice as long as the others: a pairing that makes ~100 calls a second then gets past filling
    // and draining its window a few times (a slow one makes its 100 calls however long it takes).
    dictPipe: { depth: DEPTH, warmupS: 0, warmupMin: 0, seconds: 2 * s, minCalls: DEPTH, maxCalls: 1e6 },
    login: { depth: 1, warmupS: w, warmupMin: 20, seconds: s, minCalls: 20, maxCalls: 1e6 },
  };
}

interface Result {
  calls: number;
  seconds: number;
  perSec: number;
  p50Us: number;
  p99Us: number;
  depth: number;
  /** CPU time per operation of the client and of the server process. */
  clientCpuUs?: number;
  serverCpuUs?: number;
  /** The part of it spent by the process's main thread (Node processes on Linux); the rest is V8's helper threads (JIT compilation, concurrent GC). */
  clientMainCpuUs?: number;
  serverMainCpuUs?: number;
  /** Operations made to warm up before the measured ones. */
  warmupCalls?: number;
}

// ---- the TypeScript server ----------------------------------------------------------------------


class EchoRoot extends Root {
  remote_echo(x: unknown) {
    return x;
  }
  /** For the client's figures: what the server spent on a measurement. */
  remote_cpu() {
    return cpuSeconds();
  }
  /** What the server's main thread alone spent (-1: not known here); only TypeScript clients ask. */
  remote_cpuMain() {
    return mainThreadCpuSeconds() ?? -1;
  }
  /** For the connection ladder: the server's memory after a full collection. */
  remote_mem() {
    fullGc();
    const m = process.memoryUsage();
    return [m.rss, m.heapUsed + m.external + m.arrayBuffers];
  }
}

class User extends Avatar {
  perspective_echo(x: unknown) {
    return x;
  }
}

async function serve(): Promise<void> {
  const realm: Realm = {
    requestAvatar(_id: AvatarId, _mind: unknown, ...interfaces: string[]): LoginResult {
      if (!interfaces.includes(IPerspective)) throw new Error("no IPerspective");
      return [IPerspective, new User(), () => {}];
    },
  };
  const portal = new Portal(realm, [new InMemoryPasswordChecker({ [USERNAME]: PASSWORD })]);
  const echo = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot() });
  const login = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: portal });
  const timeout = Number(arg("timeout") ?? 600);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.all([echo.close(200), login.close(200)]);
    process.exit(0);
  };
  process.stdin.on("end", stop).on("close", stop).resume();
  process.on("SIGTERM", stop);
  setTimeout(stop, timeout * 1000).unref();
  process.stdout.write(JSON.stringify({ event: "listening", echoPort: echo.port, loginPort: login.port }) + "\n");
}

// ---- the TypeScript client (mirrors interop/peers/bench.py's Loop) -------------------------------------------

function summary(latencies: number[], completed: number, seconds: number, depth: number): Result {
  const lat = Float64Array.from(latencies).sort();
  const pct = (p: number) => percentileOf(lat, p) * 1000;
  return { calls: completed, seconds, perSec: completed / seconds, p50Us: pct(0.5), p99Us: pct(0.99), depth };
}

/** Keeps `depth` operations in flight until `seconds` passed and `minCalls` were made; then drains. */
function loop(op: () => Promise<unknown>, depth: number, seconds: number, minCalls: number, maxCalls: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    let issued = 0;
    let completed = 0;
    let inFlight = 0;
    let failed = false;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    let last = t0;
    const more = (now: number) => !failed && issued < maxCalls && (now < deadline || issued < minCalls);
    const issue = () => {
      issued++;
      inFlight++;
      const t = performance.now();
      op().then(
        () => {
          const now = performance.now();
          latencies.push(now - t);
          completed++;
          inFlight--;
          last = now;
          if (more(now)) issue();
          else if (inFlight === 0) resolve(summary(latencies, completed, (last - t0) / 1000, depth));
        },
        (e) => {
          inFlight--;
          if (!failed) {
            failed = true;
            reject(e);
          }
        },
      );
    };
    for (let i = 0; i < Math.min(depth, maxCalls); i++) issue();
  });
}

/** The server's CPU through remote_cpu (and remote_cpuMain when the server is ours: a Twisted server has only the total). */
function serverCpuVia(root: RemoteReference, ours: boolean): () => Promise<CpuReading> {
  return async () => {
    const total = Number(await root.callRemote("cpu"));
    const main = ours ? Number(await root.callRemote("cpuMain")) : -1;
    return main >= 0 ? { total, main } : { total };
  };
}

/** Sets the CPU figures per operation from readings before and after `calls` operations. */
function setCpu(result: Result, client0: CpuReading, client1: CpuReading, server0: CpuReading, server1: CpuReading): void {
  const per = (a: number, b: number) => ((b - a) * 1e6) / result.calls;
  result.clientCpuUs = per(client0.total, client1.total);
  result.serverCpuUs = per(server0.total, server1.total);
  if (client0.main !== undefined && client1.main !== undefined) result.clientMainCpuUs = per(client0.main, client1.main);
  if (server0.main !== undefined && server1.main !== undefined) result.serverMainCpuUs = per(server0.main, server1.main);
}

/** Warms up, then measures; with the CPU time both processes spent per operation (the server's through remote_cpu). */
function measure(op: () => Promise<unknown>, spec: Spec, root: RemoteReference, serverIsOurs: boolean): Promise<Result> {
  return measureWith(op, spec, serverCpuVia(root, serverIsOurs));
}

async function measureWith(op: () => Promise<unknown>, spec: Spec, serverCpuNow: () => Promise<CpuReading>): Promise<Result> {
  const warm = spec.warmupS > 0 || spec.warmupMin > 0 ? await loop(op, spec.depth, spec.warmupS, Math.max(1, spec.warmupMin), spec.maxCalls) : null;
  youngGc();
  const server0 = await serverCpuNow();
  const client0 = cpuNow();
  const result = await loop(op, spec.depth, spec.seconds, spec.minCalls, spec.maxCalls);
  const client1 = cpuNow();
  const server1 = await serverCpuNow();
  setCpu(result, client0, client1, server0, server1);
  result.warmupCalls = warm?.calls ?? 0;
  return result;
}

async function fullLogin(port: number): Promise<void> {
  const client = await PBClient.connect({ host: "127.0.0.1", port });
  try {
    const avatar = await client.login(USERNAME, PASSWORD);
    if (typeof (avatar as Partial<RemoteReference>).callRemote !== "function") throw new Error("login gave no reference");
  } finally {
    await client.disconnect();
  }
}

/** Python-mode values back to plain ones, to check the echo. */
function plain(x: unknown): unknown {
  if (x instanceof Map) return Object.fromEntries([...x].map(([k, v]) => [String(k), plain(v)]));
  if (Array.isArray(x)) return x.map(plain);
  if (x !== null && typeof x === "object" && "value" in x) return (x as { value: unknown }).value;
  return x;
}

async function runClient(): Promise<void> {
  const echoPort = Number(arg("echo-port"));
  const loginPort = Number(arg("login-port"));
  const specs = JSON.parse(arg("config")!) as Record<Name, Spec>;
  // 100 nested dicts in flight are ~16.8 MB written in one turn: past the default
  // maxOutputBuffer (16 MiB), which drops a connection whose unsent output grows that large.
  // A client that pipelines this much on purpose raises the limit, as this one does.
  const client = await PBClient.connect({ host: "127.0.0.1", port: echoPort }, { limits: { maxOutputBuffer: 64 * 1024 * 1024 } });
  const rootRef = await client.getRootObject();
  const payload = nestedDict();
  if ((await rootRef.callRemote("echo", SMALL)) !== SMALL) throw new Error("echo(7) came back different");
  if (JSON.stringify(plain(await rootRef.callRemote("echo", payload))) !== JSON.stringify(payload)) throw new Error("the nested dict came back different");
  const results: Partial<Record<Name, Result>> = {};
  for (const name of Object.keys(specs) as Name[]) {
    const op =
      name === "login" ? () => fullLogin(loginPort) : name.startsWith("dict") ? () => rootRef.callRemote("echo", payload) : () => rootRef.callRemote("echo", SMALL);
    results[name] = await measure(op, specs[name], rootRef, arg("server") === "ts");
    process.stderr.write(`[bench-pb client] ${name}: ${results[name].perSec.toFixed(1)}/s\n`);
  }
  await client.disconnect();
  process.stdout.write(JSON.stringify({ event: "result", node: process.version, results }) + "\n");
}

// ---- the conductor ------------------------------------------------------------------------------

interface Event {
  event: string;
  [k: string]: unknown;
}

const children = new Set<ChildProcessWithoutNullStreams>();
process.once("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

/** Starts a process and resolves with its first JSON line with one of `events` (killing it after `timeoutS`). */
function start(name: string, cmd: string, args: string[], events: string[], timeoutS: number): { child: ChildProcessWithoutNullStreams; first: Promise<Event> } {
  const child = spawn(cmd, args, { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  const kill = setTimeout(() => child.kill("SIGKILL"), timeoutS * 1000);
  child.on("exit", () => {
    clearTimeout(kill);
    children.delete(child);
  });
  createInterface({ input: child.stderr }).on("line", (l) => process.stderr.write(`  ${l}\n`));
  const first = new Promise<Event>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      let e: Event;
      try {
        e = JSON.parse(line) as Event;
      } catch {
        process.stderr.write(`  [${name}] ${line}\n`);
        return;
      }
      if (events.includes(e.event)) resolve(e);
      else if (e.event === "error") reject(new Error(`${name}: ${String(e.error)}`));
    });
    child.on("exit", (code, signal) => reject(new Error(`${name} exited (${code ?? signal}) before answering`)));
  });
  return { child, first };
}

async function stop(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.stdin.end();
  const term = setTimeout(() => child.kill("SIGTERM"), 2000);
  const kill = setTimeout(() => child.kill("SIGKILL"), 4000);
  await exited;
  clearTimeout(term);
  clearTimeout(kill);
}

type Side = "ts" | "tw" | "raw";
const PAIRINGS: { id: string; client: Side; server: Side; label: string }[] = [
  { id: "raw", client: "raw", server: "raw", label: "raw TCP, no PB" },
  { id: "ts-ts", client: "ts", server: "ts", label: "TS -> TS" },
  { id: "ts-tw", client: "ts", server: "tw", label: "TS -> Twisted" },
  { id: "tw-ts", client: "tw", server: "ts", label: "Twisted -> TS" },
  { id: "tw-tw", client: "tw", server: "tw", label: "Twisted -> Twisted" },
];

/** Ratios of ops/s to Twisted -> Twisted (the earlier issues' targets). */
const TWISTED_TARGETS: { pairing: string; name: Name; ratio: number }[] = [
  { pairing: "ts-ts", name: "smallPipe", ratio: 15 },
  { pairing: "ts-ts", name: "dictSeq", ratio: 20 },
  { pairing: "ts-ts", name: "dictPipe", ratio: 20 },
  ...(["ts-tw", "tw-ts"] as const).flatMap((pairing) => NAMES.map((name) => ({ pairing, name, ratio: 1.3 }))),
];

/** TS -> TS against the raw sockets exchanging the same bytes: rate at least `rate` of raw, CPU per op at most `cpu` x raw's, both sides. */
const RAW_TARGETS: { name: Name; rate: number; cpu: number }[] = [
  { name: "smallSeq", rate: 0.9, cpu: 1.25 },
  { name: "login", rate: 0.8, cpu: 1.5 },
];

/** CPU per small call of a client broker and a server broker joined in memory (no sockets): PB's own work. */
async function pbAlone(seconds: number): Promise<{ cpuUsPerCall: number; samples: number[]; spreadPct: number }> {
  const server = new Broker({ role: "listener", root: new EchoRoot() });
  const client = new Broker({ role: "initiator" });
  // Delivered on a microtask, as connectInMemory does, without its defensive copy.
  const pipe = (to: Broker): Transport => ({ write: (d) => queueMicrotask(() => to.dataReceived(d)), loseConnection: () => {} });
  server.makeConnection(pipe(client));
  client.makeConnection(pipe(server));
  await client.ready;
  const ref = client.remoteForName(ROOT_NAME);
  const batch = async (n: number) => {
    for (let i = 0; i < n; i++) await ref.callRemote("echo", SMALL);
  };
  await batch(20000);
  const { cpuUs, samples, spreadPct } = await cpuPerOp(batch, Math.max(1000, Math.round((seconds * 1e6) / 5 / 5)));
  return { cpuUsPerCall: cpuUs, samples, spreadPct };
}

/** CPU per operation of `batch(n)`: 5 samples of `n` operations, their median and spread. */
async function cpuPerOp(batch: (n: number) => Promise<void>, n: number): Promise<{ cpuUs: number; samples: number[]; spreadPct: number }> {
  const samples: number[] = [];
  for (let k = 0; k < 5; k++) {
    const c0 = cpuSeconds();
    await batch(n);
    samples.push(((cpuSeconds() - c0) * 1e6) / n);
  }
  const m = medianOf(samples);
  return { cpuUs: m, samples, spreadPct: ((Math.max(...samples) - Math.min(...samples)) / m) * 100 };
}

/**
 * CPU per full login of a client broker and a server broker joined in memory, warm (both sides
 * together): new brokers, dialect choice, portal login with the md5 challenge, both brokers told
 * the connection is gone. What a login costs PB itself, beyond the sockets, with its code warm.
 */
async function pbAloneLogin(seconds: number): Promise<{ cpuUsPerLogin: number; samples: number[]; spreadPct: number }> {
  const realm: Realm = { requestAvatar: (_id: AvatarId, _mind: unknown): LoginResult => [IPerspective, new User(), () => {}] };
  const portal = new Portal(realm, [new InMemoryPasswordChecker({ [USERNAME]: PASSWORD })]);
  const once = async () => {
    const server = new Broker({ role: "listener", root: new PortalRoot(portal) });
    const client = new Broker({ role: "initiator" });
    const pipe = (to: Broker): Transport => ({ write: (d) => queueMicrotask(() => to.dataReceived(d)), loseConnection: () => {} });
    server.makeConnection(pipe(client));
    client.makeConnection(pipe(server));
    await client.ready;
    await portalLogin(client.remoteForName(ROOT_NAME), USERNAME, PASSWORD);
    client.connectionLost();
    server.connectionLost();
  };
  const batch = async (n: number) => {
    for (let i = 0; i < n; i++) await once();
  };
  await batch(3000);
  const { cpuUs, samples, spreadPct } = await cpuPerOp(batch, Math.max(200, Math.round((seconds * 1e6) / 5 / 150)));
  return { cpuUsPerLogin: cpuUs, samples, spreadPct };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function us(n: number): string {
  return n >= 10_000 ? `${fmt(n / 1000, 1)} ms` : `${fmt(n)} us`;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The round whose rate is the median (so its latencies and CPU go with it), and the spread of the rates. */
function medianRun(runs: Result[]): { run: Result; spreadPct: number; n: number } {
  const sorted = [...runs].sort((a, b) => a.perSec - b.perSec);
  const run = sorted[(sorted.length - 1) >> 1];
  const rates = runs.map((r) => r.perSec);
  return { run, spreadPct: ((Math.max(...rates) - Math.min(...rates)) / medianOf(rates)) * 100, n: runs.length };
}

async function conduct(): Promise<void> {
  const quick = argv.includes("--quick");
  const only = arg("only")?.split(",");
  const out = arg("out") ?? join(root, "reports", "bench-pb.json");
  const py = requirePython();
  const measures = arg("measure")?.split(",") as Name[] | undefined;
  const specs = Object.fromEntries(Object.entries(config(quick, arg("seconds") ? Number(arg("seconds")) : undefined)).filter(([n]) => !measures || measures.includes(n as Name))) as Record<Name, Spec>;
  // --login-warmup=N: at least N logins before each login measurement. Each round's client is a
  // new process, and V8 optimizes a function only after it has run a while: a login runs a few
  // hundred functions once each, so the first few thousand logins (raw's too) run partly
  // unoptimized code. N = 3000 or so measures the steady state a long-lived process reaches.
  if (specs.login && arg("login-warmup")) specs.login = { ...specs.login, warmupMin: Number(arg("login-warmup")) };
  const pairings = PAIRINGS.filter((p) => !only || only.includes(p.id));
  const ROUNDS = Math.max(1, Number(arg("rounds") ?? (quick ? 1 : 3)));
  const profile = !argv.includes("--no-profile");
  const ladderArg = arg("ladder") ?? (quick ? "100,1000" : "100,1000,5000");
  const ladder = ladderArg === "none" || argv.includes("--no-ladder") ? [] : ladderArg.split(",").filter(Boolean).map(Number);
  // BENCH_PB_NODE_ARGS adds flags to the TypeScript processes (for example --cpu-prof).
  const extra = process.env.BENCH_PB_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const nodeArgs = ["--expose-gc", ...extra, "--import", "tsx", thisFile];
  const began = performance.now();

  // The raw baseline's bytes: those of a PB session, captured in memory.
  mkdirSync(join(root, "reports"), { recursive: true });
  const scriptFile = join(root, "reports", "bench-raw-script.json");
  const scripts = await captureScripts(USERNAME, PASSWORD, SMALL);
  saveScripts(scriptFile, scripts);
  const bytesOf = (steps: RawScripts["call"]) => steps.reduce((n, st) => n + st.hex.length / 2, 0);
  process.stderr.write(`[bench-pb] raw scripts: a call is ${scripts.call.length} turns (${bytesOf(scripts.call)} bytes), a login ${scripts.login.length} turns (${bytesOf(scripts.login)} bytes)\n`);

  const needTs = pairings.some((p) => p.server === "ts") || ladder.length > 0;
  const needTw = pairings.some((p) => p.server === "tw");
  // The connection ladder compares with raw sockets at the same number of connections.
  const needRaw = pairings.some((p) => p.server === "raw") || ladder.length > 0;
  const tsServer = needTs ? start("ts server", process.execPath, [...nodeArgs, "--role=server"], ["listening"], 900) : null;
  const twServer = needTw ? start("twisted server", py.path, [join(root, "interop", "peer.py"), "serve", "bench-echo", "bench-login", "--lifetime", "900"], ["listening"], 900) : null;
  const rawSrv = needRaw ? start("raw server", process.execPath, [...nodeArgs, "--role=raw-server", `--script=${scriptFile}`, "--timeout=900"], ["listening"], 900) : null;
  // Every round is kept; the table shows the median round and the spread. The pairings take
  // turns within a round, so that other work on the machine falls on all of them alike.
  const runs: Record<string, Partial<Record<Name, Result[]>>> = {};
  const ladderResults: unknown[] = [];
  let profiles: Record<string, ReturnType<typeof summarizeProfiles>> = {};
  /** Operations each profiled run made (warm-up included), for busy time per operation. */
  const profiledOps: Record<string, number> = {};
  try {
    // interop/peer.py serve names each port by its root (interop/conformance/roots.json)
    const tw = await twServer?.first;
    const ports = { ts: await tsServer?.first, tw: tw && ({ ...tw, echoPort: tw["bench-echo"], loginPort: tw["bench-login"] } as Event), raw: await rawSrv?.first };
    for (let round = 1; round <= ROUNDS; round++) {
      // The pipelined dict takes long through Twisted (a hundred calls at a few a second): once.
      const roundSpecs = round === 1 ? specs : Object.fromEntries(Object.entries(specs).filter(([n]) => n !== "dictPipe"));
      if (Object.keys(roundSpecs).length === 0) break;
      for (const p of pairings) {
        const server = ports[p.server]!;
        const portArgs = [`--echo-port=${server.echoPort}`, `--login-port=${server.loginPort}`];
        process.stderr.write(`[bench-pb] round ${round}/${ROUNDS}: ${p.label}\n`);
        const config = JSON.stringify(p.client === "raw" ? Object.fromEntries(Object.entries(roundSpecs).filter(([n]) => n === "smallSeq" || n === "login" || n === "smallPipe")) : roundSpecs);
        const c =
          p.client === "raw"
            ? start(`${p.label} client`, process.execPath, [...nodeArgs, "--role=raw-client", `--script=${scriptFile}`, `--control-port=${server.controlPort}`, ...portArgs, `--config=${config}`], ["result"], 150)
            : p.client === "ts"
              ? start(`${p.label} client`, process.execPath, [...nodeArgs, "--role=client", `--server=${p.server}`, ...portArgs, `--config=${config}`], ["result"], 150)
              : start(`${p.label} client`, py.path, [join(root, "interop", "peer.py"), "bench", "client", `--echo-port`, String(server.echoPort), `--login-port`, String(server.loginPort), "--config", config, "--timeout", "150"], ["result"], 160);
        try {
          const got = (await c.first).results as Record<Name, Result>;
          const mine = (runs[p.id] ??= {});
          for (const [name, r] of Object.entries(got) as [Name, Result][]) (mine[name] ??= []).push({ ...r, round } as Result);
        } finally {
          await stop(c.child);
        }
      }
    }
    // The connection ladder: N connections to the TS server, idle memory, then all calling.
    for (const n of ladder) {
      process.stderr.write(`[bench-pb] connection ladder: ${n} connections (raw, then TS -> TS)\n`);
      const seconds = `--seconds=${quick ? 1 : 2}`;
      const r = start(`raw ladder ${n}`, process.execPath, [...nodeArgs, "--role=raw-ladder-client", `--script=${scriptFile}`, `--echo-port=${ports.raw!.echoPort}`, `--control-port=${ports.raw!.controlPort}`, `--conns=${n}`, seconds], ["result"], 300);
      let raw: Event;
      try {
        raw = await r.first;
      } finally {
        await stop(r.child);
      }
      const c = start(`ladder ${n}`, process.execPath, [...nodeArgs, "--role=ladder-client", `--echo-port=${ports.ts!.echoPort}`, `--conns=${n}`, seconds], ["result"], 300);
      try {
        ladderResults.push({ ...(await c.first), raw: raw.result });
      } finally {
        await stop(c.child);
      }
    }
  } finally {
    await Promise.all([tsServer && stop(tsServer.child), twServer && stop(twServer.child), rawSrv && stop(rawSrv.child)]);
  }

  // Where the time goes: TS client and server under --cpu-prof, small calls then logins; the
  // raw sockets' client and server too for the small calls, so the profiles can be set side by side.
  if (profile && pairings.some((p) => p.id === "ts-ts")) {
    const withRaw = pairings.some((p) => p.id === "raw");
    for (const name of ["smallSeq", "smallPipe", "login"] as Name[]) {
      if (!specs[name]) continue;
      for (const kind of withRaw && name !== "login" ? (["ts", "raw"] as const) : (["ts"] as const)) {
        const key = kind === "raw" ? `raw ${name}` : name;
        const dir = join(root, "reports", "profiles", kind === "raw" ? `raw-${name}` : name);
        rmSync(dir, { recursive: true, force: true });
        const profArgs = (who: string) => ["--expose-gc", "--cpu-prof", `--cpu-prof-dir=${join(dir, who)}`, "--import", "tsx", thisFile];
        const config = `--config=${JSON.stringify({ [name]: { ...specs[name], seconds: Math.max(2, specs[name].seconds) } })}`;
        process.stderr.write(`[bench-pb] profiling ${kind === "raw" ? "raw TCP" : "TS -> TS"} ${name}\n`);
        const srv = start(`${kind} server (profiled)`, process.execPath, [...profArgs("server"), ...(kind === "raw" ? ["--role=raw-server", `--script=${scriptFile}`] : ["--role=server"])], ["listening"], 300);
        try {
          const server = await srv.first;
          const ports = [`--echo-port=${server.echoPort}`, `--login-port=${server.loginPort}`];
          const clientArgs = kind === "raw" ? ["--role=raw-client", `--script=${scriptFile}`, `--control-port=${server.controlPort}`] : ["--role=client"];
          const c = start(`${kind} client (profiled)`, process.execPath, [...profArgs("client"), ...clientArgs, ...ports, config], ["result"], 150);
          const got = ((await c.first).results as Record<Name, Result>)[name];
          profiledOps[key] = got.calls + (got.warmupCalls ?? 0);
          await stop(c.child);
        } finally {
          await stop(srv.child);
        }
        for (const who of ["client", "server"]) {
          try {
            profiles[`${key}/${who}`] = summarizeProfiles(join(dir, who));
          } catch (e) {
            process.stderr.write(`[bench-pb] no profile for ${key}/${who}: ${String(e)}\n`);
          }
        }
      }
    }
  }
  // The raw login under the same profiler, so that the login's profile is read against raw's
  // (the per-login table below): what PB adds is then kind by kind.
  if (profile && specs.login && pairings.some((p) => p.id === "ts-ts") && pairings.some((p) => p.id === "raw")) {
    const dir = join(root, "reports", "profiles", "login-raw");
    rmSync(dir, { recursive: true, force: true });
    const profArgs = (who: string) => ["--expose-gc", "--cpu-prof", `--cpu-prof-dir=${join(dir, who)}`, "--import", "tsx", thisFile];
    process.stderr.write(`[bench-pb] profiling raw login\n`);
    const srv = start("raw server (profiled)", process.execPath, [...profArgs("server"), "--role=raw-server", `--script=${scriptFile}`, "--timeout=300"], ["listening"], 300);
    try {
      const server = await srv.first;
      const spec = { login: { ...specs.login, seconds: Math.max(2, specs.login.seconds) } };
      const c = start("raw client (profiled)", process.execPath, [...profArgs("client"), "--role=raw-client", `--script=${scriptFile}`, `--control-port=${server.controlPort}`, `--echo-port=${server.echoPort}`, `--login-port=${server.loginPort}`, `--config=${JSON.stringify(spec)}`], ["result"], 150);
      await c.first;
      await stop(c.child);
    } finally {
      await stop(srv.child);
    }
    for (const who of ["client", "server"]) {
      try {
        profiles[`login-raw/${who}`] = summarizeProfiles(join(dir, who));
      } catch (e) {
        process.stderr.write(`[bench-pb] no profile for login-raw/${who}: ${String(e)}\n`);
      }
    }
  }
  // PB's own work, without sockets: two brokers in this process, back to back in memory.
  const alone = await pbAlone(quick ? 0.5 : 1.5);
  const aloneLogin = specs.login ? await pbAloneLogin(quick ? 0.5 : 1.5) : null;
  const elapsedS = (performance.now() - began) / 1000;

  // ---- the table ----
  const med = (id: string, name: Name) => (runs[id]?.[name]?.length ? medianRun(runs[id]![name]!) : null);
  const rows: string[][] = [["measurement", "pairing", "ops/s", "spread", "x Tw->Tw", "x raw", "p50", "p99", "client CPU/op", "server CPU/op"]];
  const cpu = (x: number | undefined) => (x === undefined ? "-" : x < 10 ? `${fmt(x, 1)} us` : us(x));
  for (const name of NAMES) {
    for (const p of pairings) {
      const m = med(p.id, name);
      if (!m) continue;
      const base = med("tw-tw", name);
      const raw = med("raw", name);
      const r = m.run;
      rows.push([
        LABELS[name],
        p.label,
        fmt(r.perSec, r.perSec < 100 ? 1 : 0),
        `${fmt(m.spreadPct, 0)}%`,
        base ? `${fmt(r.perSec / base.run.perSec, 2)}x` : "-",
        raw && p.id !== "raw" ? `${fmt(r.perSec / raw.run.perSec, 2)}x` : "-",
        us(r.p50Us),
        us(r.p99Us),
        cpu(r.clientCpuUs),
        cpu(r.serverCpuUs),
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(line(rows[0]));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  let prev = "";
  for (const r of rows.slice(1)) {
    if (prev && r[0] !== prev) console.log("");
    console.log(line(r[0] === prev ? ["", ...r.slice(1)] : r));
    prev = r[0];
  }
  console.log(`\nmedian of ${ROUNDS} round(s) (spread: (max - min) / median of the rounds' rates); p50/p99 and CPU from the median round; raw: ${bytesOf(scripts.call)} bytes a call, ${scripts.login.length} turns and ${bytesOf(scripts.login)} bytes a login`);

  // Ratios are taken within each round (the pairings run back to back), then their median.
  const perRound = (a: string, b: string, name: Name, f: (x: Result, y: Result) => number): number | null => {
    const ra = runs[a]?.[name];
    const rb = runs[b]?.[name];
    if (!ra || !rb) return null;
    const vals: number[] = [];
    for (const x of ra) {
      const y = rb.find((r) => (r as Result & { round: number }).round === (x as Result & { round: number }).round);
      if (y) vals.push(f(x, y));
    }
    return vals.length ? medianOf(vals) : null;
  };
  interface TargetOut {
    what: string;
    achieved: number;
    goal: string;
    met: boolean;
  }
  const targets: TargetOut[] = [];
  for (const t of RAW_TARGETS) {
    const rate = perRound("ts-ts", "raw", t.name, (x, y) => x.perSec / y.perSec);
    const ccpu = perRound("ts-ts", "raw", t.name, (x, y) => x.clientCpuUs! / y.clientCpuUs!);
    const scpu = perRound("ts-ts", "raw", t.name, (x, y) => x.serverCpuUs! / y.serverCpuUs!);
    if (rate !== null) targets.push({ what: `TS -> TS ${LABELS[t.name]}: rate / raw`, achieved: rate, goal: `>= ${t.rate}`, met: rate >= t.rate });
    if (ccpu !== null) targets.push({ what: `TS -> TS ${LABELS[t.name]}: client CPU per op / raw`, achieved: ccpu, goal: `<= ${t.cpu}`, met: ccpu <= t.cpu });
    if (scpu !== null) targets.push({ what: `TS -> TS ${LABELS[t.name]}: server CPU per op / raw`, achieved: scpu, goal: `<= ${t.cpu}`, met: scpu <= t.cpu });
  }
  for (const t of TWISTED_TARGETS) {
    const r = perRound(t.pairing, "tw-tw", t.name, (x, y) => x.perSec / y.perSec);
    if (r !== null) targets.push({ what: `${PAIRINGS.find((p) => p.id === t.pairing)!.label} ${LABELS[t.name]}: rate / Twisted -> Twisted`, achieved: r, goal: `>= ${t.ratio}`, met: r >= t.ratio });
  }
  if (targets.length) {
    console.log("\ntargets (ratios taken within each round, median over the rounds):");
    for (const t of targets) console.log(`  ${t.met ? "met    " : "MISSED "} ${t.what.padEnd(62)} ${fmt(t.achieved, 2).padStart(7)}  (target ${t.goal})`);
  }
  // Where a Node process's CPU goes: its main thread (the code that runs the operations) and V8's
  // helper threads (compiling hot functions, marking and sweeping concurrently). A new client
  // process each round compiles PB's code during the measurement; a long-lived one has done so.
  const threadRows: string[] = [];
  for (const name of NAMES) {
    for (const p of pairings) {
      const m = med(p.id, name)?.run;
      if (!m || (m.clientMainCpuUs === undefined && m.serverMainCpuUs === undefined)) continue;
      // (A Twisted side has no such split: Python runs on one thread.)
      const part = (all: number | undefined, main: number | undefined) => (main === undefined ? "-" : `${cpu(main)} main + ${cpu(Math.max(0, (all ?? main) - main))} helpers`);
      threadRows.push(`  ${LABELS[name].padEnd(28)} ${p.label.padEnd(20)} client ${part(m.clientCpuUs, m.clientMainCpuUs).padEnd(28)} server ${part(m.serverCpuUs, m.serverMainCpuUs)}`);
    }
    const mc = perRound("ts-ts", "raw", name, (x, y) => (x.clientMainCpuUs ?? NaN) / (y.clientMainCpuUs ?? NaN));
    const ms = perRound("ts-ts", "raw", name, (x, y) => (x.serverMainCpuUs ?? NaN) / (y.serverMainCpuUs ?? NaN));
    if (mc !== null && ms !== null && Number.isFinite(mc) && Number.isFinite(ms)) threadRows.push(`  ${"".padEnd(28)} main threads alone, TS -> TS / raw: client ${fmt(mc, 2)}, server ${fmt(ms, 2)}`);
  }
  if (threadRows.length) {
    console.log("\nCPU per op by thread (median round; main = the event loop running the operations, helpers = V8 compiling and collecting concurrently):");
    for (const r of threadRows) console.log(r);
  }
  console.log(
    `\nPB alone (client and server brokers in one process, in memory, no sockets): ${fmt(alone.cpuUsPerCall, 2)} us CPU per small call for both sides together ` +
      `(median of ${alone.samples.length} samples, spread ${fmt(alone.spreadPct, 0)}%): what a call costs beyond the socket work the raw rows do`,
  );
  if (aloneLogin) {
    console.log(
      `PB alone, full login (in memory, warm, portal and md5 included): ${fmt(aloneLogin.cpuUsPerLogin, 1)} us CPU per login for both sides together ` +
        `(median of ${aloneLogin.samples.length} samples, spread ${fmt(aloneLogin.spreadPct, 0)}%): against the TS -> TS login's CPU per side above, the rest is the sockets and code gone cold between logins`,
    );
  }
  // What the sequential rate targets leave PB (scripts/bench-budget.ts): the ceiling any PB
  // whose work ran at its warm in-memory cost could reach here, and how much dearer the same work
  // was over the sockets.
  const budgets: Record<string, Budget> = {};
  const bothSides = (r: Result) => (r.clientCpuUs !== undefined && r.serverCpuUs !== undefined ? r.clientCpuUs + r.serverCpuUs : undefined);
  for (const t of RAW_TARGETS) {
    const raw = med("raw", t.name)?.run;
    const ts = med("ts-ts", t.name)?.run;
    const pbAloneUs = t.name === "login" ? aloneLogin?.cpuUsPerLogin : alone.cpuUsPerCall;
    if (!raw || !ts || pbAloneUs === undefined) continue;
    budgets[t.name] = rateBudget({ rawPerSec: raw.perSec, rateTarget: t.rate, pbAloneUs, rawCpuUs: bothSides(raw), tsCpuUs: bothSides(ts) });
  }
  if (Object.keys(budgets).length) {
    console.log("\nwhat the rate targets leave PB (sequential: both sides' work lies on the path to the next operation; times per operation, both sides together):");
    for (const [name, b] of Object.entries(budgets)) {
      const took = b.addedCpuUs === undefined ? "" : `; TS -> TS spent ${cpu(b.addedCpuUs)} of CPU above raw's${b.addedOverAlone === undefined ? "" : ` (${fmt(b.addedOverAlone, 1)}x PB alone)`}`;
      const reach = b.ceiling < b.rateTarget ? `: below the target, out of reach here for any PB that costs what ours does warm` : "";
      console.log(
        `  ${LABELS[name as Name].padEnd(28)} raw ${cpu(b.rawUsPerOp)} an op; at >= ${b.rateTarget}x raw PB may add ${cpu(b.allowedUs)}; PB alone (warm) takes ${cpu(b.pbAloneUs)}: ` +
          `ceiling ${fmt(b.ceiling, 2)}x raw${reach}${took}`,
      );
    }
  }
  if (ladderResults.length) {
    console.log("\nconnection ladder (every connection one small call in flight; raw = the same bytes over as many raw sockets; memory per connection after a full GC, idle):");
    console.log(`  ${"conns".padStart(6)}  ${"raw calls/s".padStart(11)}  ${"calls/s".padStart(9)}  ${"x raw".padStart(6)}  ${"p50".padStart(9)}  ${"p99".padStart(9)}  ${"raw p99".padStart(9)}  ${"server CPU/call".padStart(15)}  ${"raw".padStart(7)}  ${"server heap/conn".padStart(16)}  ${"server RSS/conn".padStart(15)}  ${"client heap/conn".padStart(16)}`);
    const rows = ladderResults as { conns: number; result: Result; raw?: Result; memory: Record<string, number> }[];
    for (const e of rows) {
      const kb = (b: number) => `${fmt(b / 1024, 1)} KiB`;
      const xr = e.raw ? `${(e.result.perSec / e.raw.perSec).toFixed(2)}x` : "-";
      console.log(
        `  ${String(e.conns).padStart(6)}  ${(e.raw ? fmt(e.raw.perSec) : "-").padStart(11)}  ${fmt(e.result.perSec).padStart(9)}  ${xr.padStart(6)}  ${us(e.result.p50Us).padStart(9)}  ${us(e.result.p99Us).padStart(9)}  ${(e.raw ? us(e.raw.p99Us) : "-").padStart(9)}  ${cpu(e.result.serverCpuUs).padStart(15)}  ${(e.raw ? cpu(e.raw.serverCpuUs) : "-").padStart(7)}  ${kb(e.memory.serverHeapPerConn).padStart(16)}  ${kb(e.memory.serverRssPerConn).padStart(15)}  ${kb(e.memory.clientHeapPerConn).padStart(16)}`,
      );
    }
    if (rows.length > 1) {
      const first = rows[0];
      const last = rows[rows.length - 1];
      const held = (a: Result, b: Result) => (b.perSec / a.perSec).toFixed(2);
      const rawHeld = first.raw && last.raw ? held(first.raw, last.raw) : "-";
      console.log(`  throughput held from ${first.conns} to ${last.conns} connections: TS -> TS ${held(first.result, last.result)}x, raw sockets ${rawHeld}x (rate at ${last.conns} / rate at ${first.conns})`);
    }
  }
  for (const [key, list] of Object.entries(profiles)) {
    const busiest = list[0];
    if (!busiest) continue;
    console.log("");
    const rawKey = key.startsWith("raw ") || key.startsWith("login-raw/");
    const where = key.startsWith("raw ") ? `raw-${key.slice(4)}` : key;
    const what = key.startsWith("login-raw/") ? `raw TCP, no PB, login/${key.slice(10)}` : rawKey ? `raw TCP, no PB ${key.slice(4)}` : `TS -> TS ${key}`;
    for (const l of formatProfile(`profile, ${what} (node --cpu-prof; reports/profiles/${where})`, busiest)) console.log(l);
    // Per operation (the warm-up's included; sampled time, so a process preempted inside a system call counts it).
    const ops = profiledOps[key.slice(0, key.lastIndexOf("/"))];
    if (ops) {
      const per = (pct: number) => fmt((busiest.busyMs * 1000 * pct) / 100 / ops, 2);
      const pb = Object.entries(busiest.kinds).filter(([k]) => k.startsWith("twisted-pb")).reduce((n, [, v]) => n + v, 0);
      console.log(`  per operation (${fmt(ops)} ops): ${per(100)} us busy; socket system calls ${per(busiest.kinds["socket system calls"] ?? 0)} us, twisted-pb code ${per(pb)} us, GC ${per(busiest.kinds["GC"] ?? 0)} us`);
    }
  }
  const loginTable = loginCostByKind(profiles, med("raw", "login")?.run, med("ts-ts", "login")?.run);
  if (loginTable.length) {
    console.log("\nfull login, CPU per login by kind of work: each process's profile shares (start-up and idle left out) times its");
    console.log("measured CPU per login (median round). The JS profiler sees a system call's time as the native call that made it.");
    for (const l of loginTable) console.log(l);
  }
  console.log(`\n${fmt(elapsedS, 1)} s in all; ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average ${loadavg()[0].toFixed(1)} at the end, Node ${process.version}, Python ${py.pythonVersion}, Twisted ${py.twistedVersion}`);

  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg(), node: process.version, python: py.pythonVersion, twisted: py.twistedVersion },
    quick,
    config: specs,
    rounds: ROUNDS,
    rawScripts: { call: scripts.call, login: scripts.login },
    pairings: Object.fromEntries(
      pairings.map((p) => [
        p.id,
        {
          label: p.label,
          client: p.client,
          server: p.server,
          median: Object.fromEntries(NAMES.filter((n) => med(p.id, n)).map((n) => [n, { ...med(p.id, n)!.run, spreadPct: med(p.id, n)!.spreadPct }])),
          runs: runs[p.id],
        },
      ]),
    ),
    targets,
    ladder: ladderResults,
    pbAlone: alone,
    pbAloneLogin: aloneLogin,
    budgets,
    profiles,
    profiledOps,
    elapsedS,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
  console.log(`wrote ${out}`);
}

/**
 * The login's CPU per login split by kind of work, raw next to TS -> TS, both roles: the profile
 * shares of each process times the CPU per login measured for it. Lines for the terminal.
 */
function loginCostByKind(profiles: Record<string, ReturnType<typeof summarizeProfiles>>, raw: Result | undefined, ts: Result | undefined): string[] {
  const cols = [
    { head: "raw client", p: profiles["login-raw/client"]?.[0], cpu: raw?.clientCpuUs },
    { head: "TS client", p: profiles["login/client"]?.[0], cpu: ts?.clientCpuUs },
    { head: "raw server", p: profiles["login-raw/server"]?.[0], cpu: raw?.serverCpuUs },
    { head: "TS server", p: profiles["login/server"]?.[0], cpu: ts?.serverCpuUs },
  ];
  if (cols.some((c) => !c.p || c.cpu === undefined)) return [];
  const kinds = [...new Set(cols.flatMap((c) => Object.keys(c.p!.kinds)))];
  const cost = (c: (typeof cols)[number], k: string) => ((c.p!.kinds[k] ?? 0) / 100) * c.cpu!;
  kinds.sort((a, b) => cost(cols[1], b) + cost(cols[3], b) - (cost(cols[1], a) + cost(cols[3], a)));
  const w = Math.max(...kinds.map((k) => k.length), 12);
  const out = [`  ${"kind of work".padEnd(w)}  ${cols.map((c) => c.head.padStart(11)).join("  ")}`];
  for (const k of kinds) out.push(`  ${k.padEnd(w)}  ${cols.map((c) => `${fmt(cost(c, k), 0)} us`.padStart(11)).join("  ")}`);
  out.push(`  ${"all".padEnd(w)}  ${cols.map((c) => `${fmt(c.cpu!, 0)} us`.padStart(11)).join("  ")}`);
  return out;
}

// ---- raw sockets (scripts/bench-raw.ts) and the connection ladder -------------------------------

async function rawServerRole(): Promise<void> {
  const scripts = JSON.parse(readFileSync(arg("script")!, "utf8")) as RawScripts;
  const srv = await rawServer(scripts);
  const stop = () => {
    srv.close();
    process.exit(0);
  };
  process.stdin.on("end", stop).on("close", stop).resume();
  process.on("SIGTERM", stop);
  setTimeout(stop, Number(arg("timeout") ?? 600) * 1000).unref();
  process.stdout.write(JSON.stringify({ event: "listening", echoPort: srv.port, loginPort: srv.loginPort, controlPort: srv.controlPort }) + "\n");
}

async function rawClientRole(): Promise<void> {
  const scripts = JSON.parse(readFileSync(arg("script")!, "utf8")) as RawScripts;
  const specs = JSON.parse(arg("config")!) as Record<Name, Spec>;
  const controlPort = Number(arg("control-port"));
  const socket = await connect(Number(arg("echo-port")));
  const ping = pingPonger(socket, scripts);
  const loginPort = Number(arg("login-port"));
  const results: Partial<Record<Name, Result>> = {};
  for (const name of Object.keys(specs) as Name[]) {
    const op = name === "login" ? () => rawLogin(loginPort, scripts) : name === "smallSeq" || name === "smallPipe" ? ping : null;
    if (!op) continue;
    results[name] = await measureWith(op, specs[name], () => serverCpu(controlPort));
    process.stderr.write(`[bench-pb raw client] ${name}: ${results[name].perSec.toFixed(1)}/s\n`);
  }
  socket.destroy();
  process.stdout.write(JSON.stringify({ event: "result", node: process.version, results }) + "\n");
}

/** A quarter of a ladder step's measurement, at most half a second. */
const ladderWarmSeconds = (seconds: number) => Math.min(0.5, seconds / 4);

/**
 * Untimed calls on every connection before a ladder step's measurement: each step's client is a
 * new process, and the memory readings before it end with full collections, after which V8
 * optimizes again code whose maps that collection freed (see LADDER_REWARM_MS in bench.ts). Raw's
 * client gets the same, so both are measured warm.
 */
async function keepCalling(calls: (() => Promise<unknown>)[], seconds: number): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    calls.map(async (call) => {
      while (performance.now() < deadline) await call();
    }),
  );
  youngGc();
}

/**
 * The connection ladder's measurement: every connection makes its calls one after another for
 * `seconds`, all connections at once; rate, latencies and both sides' CPU per call.
 */
async function everyConnectionCalls(calls: (() => Promise<unknown>)[], seconds: number, serverCpuNow: () => Promise<CpuReading>): Promise<Result> {
  const server0 = await serverCpuNow();
  const c0 = cpuNow();
  const latencies: number[] = [];
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    calls.map(async (call) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await call();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const c1 = cpuNow();
  const server1 = await serverCpuNow();
  const result = summary(latencies, latencies.length, elapsed, calls.length);
  setCpu(result, c0, c1, server0, server1);
  return result;
}

/** N raw connections to the raw ping-pong server, one call's bytes in flight on each: the ladder's yardstick. */
async function rawLadderClientRole(): Promise<void> {
  const scripts = JSON.parse(readFileSync(arg("script")!, "utf8")) as RawScripts;
  const n = Number(arg("conns"));
  const seconds = Number(arg("seconds") ?? 2);
  const port = Number(arg("echo-port"));
  const controlPort = Number(arg("control-port"));
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i += 100) sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => connect(port)))));
  const pings = sockets.map((s) => pingPonger(s, scripts));
  await Promise.all(pings.map((p) => p()));
  await keepCalling(pings, ladderWarmSeconds(seconds));
  const result = await everyConnectionCalls(pings, seconds, () => serverCpu(controlPort));
  for (const s of sockets) s.destroy();
  process.stdout.write(JSON.stringify({ event: "result", conns: n, result }) + "\n");
}

/** N connections to the TS echo server: memory per idle connection on both sides, then all of them calling at once. */
async function ladderClientRole(): Promise<void> {
  const n = Number(arg("conns"));
  const seconds = Number(arg("seconds") ?? 2);
  const port = Number(arg("echo-port"));
  const first = await PBClient.connect({ host: "127.0.0.1", port });
  const probe = await first.getRootObject();
  const mem = async () => (await probe.callRemote("mem")) as [number, number];
  fullGc();
  const client0 = process.memoryUsage();
  const server0 = await mem();
  const clients: PBClient[] = [];
  const roots: RemoteReference[] = [];
  // Connect in waves, so that a listen backlog never refuses anyone.
  for (let i = 0; i < n; i += 100) {
    const wave = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => PBClient.connect({ host: "127.0.0.1", port })));
    clients.push(...wave);
    roots.push(...(await Promise.all(wave.map((c) => c.getRootObject()))));
  }
  await Promise.all(roots.map((r) => r.callRemote("echo", SMALL)));
  fullGc();
  const client1 = process.memoryUsage();
  const server1 = await mem();
  const perConn = (a: number, b: number) => Math.max(0, (b - a) / n);
  const memory = {
    serverHeapPerConn: perConn(server0[1], server1[1]),
    serverRssPerConn: perConn(server0[0], server1[0]),
    clientHeapPerConn: perConn(client0.heapUsed + client0.external + client0.arrayBuffers, client1.heapUsed + client1.external + client1.arrayBuffers),
    clientRssPerConn: perConn(client0.rss, client1.rss),
  };
  // Every connection calls, one call in flight each, for `seconds`.
  const calls = roots.map((r) => () => r.callRemote("echo", SMALL));
  await keepCalling(calls, ladderWarmSeconds(seconds));
  const result = await everyConnectionCalls(calls, seconds, serverCpuVia(probe, true));
  await Promise.all(clients.map((c) => c.disconnect()));
  await first.disconnect();
  process.stdout.write(JSON.stringify({ event: "result", conns: n, result, memory }) + "\n");
}

const role = arg("role");
const main =
  role === "server"
    ? serve
    : role === "client"
      ? runClient
      : role === "raw-server"
        ? rawServerRole
        : role === "raw-client"
          ? rawClientRole
          : role === "ladder-client"
            ? ladderClientRole
            : role === "raw-ladder-client"
              ? rawLadderClientRole
              : conduct;
main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
