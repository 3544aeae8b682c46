// PB benchmark: remote calls and logins over TCP (127.0.0.1, OS-chosen ports) for the four
// pairings of a TypeScript or Twisted client with a TypeScript or Twisted server. Every client and
// server is its own process (this script is only the conductor, idle while they run), so each
// pairing gets the same two processes' worth of CPU. The Twisted half is interop/peer.py bench.
//
//   node --import tsx scripts/bench-pb.ts [--quick] [--only=ts-ts,ts-tw,tw-ts,tw-tw]
//       [--measure=smallSeq,smallPipe,dictSeq,dictPipe,login] [--seconds=S] [--rounds=N] [--out=FILE]
//
// BENCH_PB_NODE_ARGS adds flags to the TypeScript client and server processes (e.g. --cpu-prof).
//
// Measured, for each pairing, after a warm-up:
//   - remote echo of a small int: sequential (one call in flight) and pipelined (100 in flight);
//   - the same for a 1,000-entry nested dict (1,000 str keys -> {int, float, str, [3 ints], None});
//   - full logins (connect, username/password login through a Portal, disconnect), one at a time.
// Each: operations/s, p50 and p99 latency. The pairings take turns, in three rounds (--rounds),
// and the best round of each measurement is kept: other work on a shared machine only slows a
// run down. (The pipelined dict runs in the first round only: through Twisted it takes a while.)
// Prints a table with ratios to Twisted -> Twisted and writes reports/bench-pb.json.
//
// This is a script, never a test: timings depend on the machine and on what else runs on it.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
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
}

// ---- the TypeScript server ----------------------------------------------------------------------

/** The CPU time this process has used, in seconds (all threads: GC and JIT included). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

class EchoRoot extends Root {
  remote_echo(x: unknown) {
    return x;
  }
  /** For the client's figures: what the server spent on a measurement. */
  remote_cpu() {
    return cpuSeconds();
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
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] * 1000;
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

/** Warms up, then measures; with the CPU time both processes spent per operation (the server's through remote_cpu). */
async function measure(op: () => Promise<unknown>, spec: Spec, root: RemoteReference): Promise<Result> {
  if (spec.warmupS > 0 || spec.warmupMin > 0) await loop(op, spec.depth, spec.warmupS, Math.max(1, spec.warmupMin), spec.maxCalls);
  (globalThis as { gc?: () => void }).gc?.();
  const server0 = Number(await root.callRemote("cpu"));
  const client0 = cpuSeconds();
  const result = await loop(op, spec.depth, spec.seconds, spec.minCalls, spec.maxCalls);
  const client1 = cpuSeconds();
  const server1 = Number(await root.callRemote("cpu"));
  result.clientCpuUs = ((client1 - client0) * 1e6) / result.calls;
  result.serverCpuUs = ((server1 - server0) * 1e6) / result.calls;
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
  const client = await PBClient.connect({ host: "127.0.0.1", port: echoPort });
  const rootRef = await client.getRootObject();
  const payload = nestedDict();
  if ((await rootRef.callRemote("echo", SMALL)) !== SMALL) throw new Error("echo(7) came back different");
  if (JSON.stringify(plain(await rootRef.callRemote("echo", payload))) !== JSON.stringify(payload)) throw new Error("the nested dict came back different");
  const results: Partial<Record<Name, Result>> = {};
  for (const name of Object.keys(specs) as Name[]) {
    const op =
      name === "login" ? () => fullLogin(loginPort) : name.startsWith("dict") ? () => rootRef.callRemote("echo", payload) : () => rootRef.callRemote("echo", SMALL);
    results[name] = await measure(op, specs[name], rootRef);
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

type Side = "ts" | "tw";
const PAIRINGS: { id: string; client: Side; server: Side; label: string }[] = [
  { id: "ts-ts", client: "ts", server: "ts", label: "TS -> TS" },
  { id: "ts-tw", client: "ts", server: "tw", label: "TS -> Twisted" },
  { id: "tw-ts", client: "tw", server: "ts", label: "Twisted -> TS" },
  { id: "tw-tw", client: "tw", server: "tw", label: "Twisted -> Twisted" },
];

const TARGETS: { pairing: string; name: Name; ratio: number }[] = [
  { pairing: "ts-ts", name: "smallSeq", ratio: 5 },
  { pairing: "ts-ts", name: "smallPipe", ratio: 10 },
  { pairing: "ts-ts", name: "dictSeq", ratio: 20 },
  { pairing: "ts-ts", name: "dictPipe", ratio: 20 },
  { pairing: "ts-ts", name: "login", ratio: 5 },
  ...(["ts-tw", "tw-ts"] as const).flatMap((pairing) => NAMES.map((name) => ({ pairing, name, ratio: 1.3 }))),
];

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function us(n: number): string {
  return n >= 10_000 ? `${fmt(n / 1000, 1)} ms` : `${fmt(n)} us`;
}

async function conduct(): Promise<void> {
  const quick = argv.includes("--quick");
  const only = arg("only")?.split(",");
  const out = arg("out") ?? join(root, "reports", "bench-pb.json");
  const py = requirePython();
  const measures = arg("measure")?.split(",") as Name[] | undefined;
  const specs = Object.fromEntries(Object.entries(config(quick, arg("seconds") ? Number(arg("seconds")) : undefined)).filter(([n]) => !measures || measures.includes(n as Name))) as Record<Name, Spec>;
  const pairings = PAIRINGS.filter((p) => !only || only.includes(p.id));
  const ROUNDS = Math.max(1, Number(arg("rounds") ?? (quick ? 1 : 3)));
  // BENCH_PB_NODE_ARGS adds flags to the TypeScript processes (for example --cpu-prof).
  const extra = process.env.BENCH_PB_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const nodeArgs = ["--expose-gc", ...extra, "--import", "tsx", thisFile];
  const began = performance.now();

  const needTs = pairings.some((p) => p.server === "ts");
  const needTw = pairings.some((p) => p.server === "tw");
  const tsServer = needTs ? start("ts server", process.execPath, [...nodeArgs, "--role=server"], ["listening"], 400) : null;
  const twServer = needTw ? start("twisted server", py.path, [join(root, "interop", "peer.py"), "bench", "server", "--timeout", "400"], ["listening"], 400) : null;
  // The best round of each measurement is kept (other work on the machine only ever slows a
  // run down); the pairings take turns, so that such work falls on all of them alike.
  const results: Record<string, Record<Name, Result>> = {};
  const rounds: Record<string, Partial<Record<Name, number[]>>> = {};
  try {
    const ports = { ts: await tsServer?.first, tw: await twServer?.first };
    for (let round = 1; round <= ROUNDS; round++) {
      // The pipelined dict takes long through Twisted (a hundred calls at a few a second): once.
      const roundSpecs = round === 1 ? specs : Object.fromEntries(Object.entries(specs).filter(([n]) => n !== "dictPipe"));
      if (Object.keys(roundSpecs).length === 0) break;
      for (const p of pairings) {
        const server = ports[p.server]!;
        const portArgs = [`--echo-port=${server.echoPort}`, `--login-port=${server.loginPort}`];
        process.stderr.write(`[bench-pb] round ${round}/${ROUNDS}: ${p.label}\n`);
        const config = JSON.stringify(roundSpecs);
        const c =
          p.client === "ts"
            ? start(`${p.label} client`, process.execPath, [...nodeArgs, "--role=client", ...portArgs, `--config=${config}`], ["result"], 150)
            : start(`${p.label} client`, py.path, [join(root, "interop", "peer.py"), "bench", "client", `--echo-port`, String(server.echoPort), `--login-port`, String(server.loginPort), "--config", config, "--timeout", "150"], ["result"], 160);
        try {
          const got = (await c.first).results as Record<Name, Result>;
          const mine = (results[p.id] ??= {} as Record<Name, Result>);
          const seen = (rounds[p.id] ??= {});
          for (const [name, r] of Object.entries(got) as [Name, Result][]) {
            (seen[name] ??= []).push(r.perSec);
            if (!mine[name] || r.perSec > mine[name].perSec) mine[name] = r;
          }
        } finally {
          await stop(c.child);
        }
      }
    }
  } finally {
    await Promise.all([tsServer && stop(tsServer.child), twServer && stop(twServer.child)]);
  }
  const elapsedS = (performance.now() - began) / 1000;

  // ---- the table ----
  const base = results["tw-tw"];
  const rows: string[][] = [["measurement", "pairing", "ops/s", "x Tw->Tw", "p50", "p99", "client CPU/op", "server CPU/op"]];
  for (const name of NAMES) {
    for (const p of pairings) {
      const r = results[p.id]?.[name];
      if (!r) continue;
      const ratio = base?.[name] ? r.perSec / base[name].perSec : NaN;
      const cpu = (x: number | undefined) => (x === undefined ? "-" : x < 10 ? `${fmt(x, 1)} us` : us(x));
      rows.push([LABELS[name], p.label, fmt(r.perSec, r.perSec < 100 ? 1 : 0), Number.isNaN(ratio) ? "-" : `${fmt(ratio, 2)}x`, us(r.p50Us), us(r.p99Us), cpu(r.clientCpuUs), cpu(r.serverCpuUs)]);
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

  const targets = base
    ? TARGETS.filter((t) => results[t.pairing]?.[t.name]).map((t) => {
        const ratio = results[t.pairing][t.name].perSec / base[t.name].perSec;
        return { ...t, achieved: ratio, met: ratio >= t.ratio };
      })
    : [];
  if (targets.length) {
    console.log("\ntargets (ops/s relative to Twisted -> Twisted):");
    for (const t of targets) {
      const label = PAIRINGS.find((p) => p.id === t.pairing)!.label;
      console.log(`  ${t.met ? "met    " : "MISSED "} ${label.padEnd(14)} ${LABELS[t.name].padEnd(28)} ${fmt(t.achieved, 2).padStart(7)}x  (target ${t.ratio}x)`);
    }
  }
  console.log(`\n${fmt(elapsedS, 1)} s in all; ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), Node ${process.version}, Python ${py.pythonVersion}, Twisted ${py.twistedVersion}`);

  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, python: py.pythonVersion, twisted: py.twistedVersion },
    quick,
    config: specs,
    rounds: ROUNDS,
    pairings: Object.fromEntries(pairings.map((p) => [p.id, { label: p.label, client: p.client, server: p.server, results: results[p.id], perSecByRound: rounds[p.id] }])),
    ratiosToTwisted: base ? Object.fromEntries(pairings.map((p) => [p.id, Object.fromEntries(NAMES.filter((n) => results[p.id]?.[n]).map((n) => [n, results[p.id][n].perSec / base[n].perSec]))])) : null,
    targets,
    elapsedS,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
  console.log(`wrote ${out}`);
}

const role = arg("role");
const main = role === "server" ? serve : role === "client" ? runClient : conduct;
main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
