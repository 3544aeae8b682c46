// The matrix: every scenario in every pairing of TypeScript and Twisted peers (client-server:
// ts-ts, ts-py, py-ts, py-py), each run on a fresh connection through a capture proxy, plus the
// replay columns for scenarios with a recording. run.ts is the command line around it; the
// vitest test calls it directly.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { TsClientRunner, tcpConnection, type StepResult } from "./client.ts";
import { compareRun } from "./compare.ts";
import { CaptureProxy } from "./proxy.ts";
import { PyClient, startPyService, type PythonLike, type PyService } from "./pyproc.ts";
import { recordingTraffic, replayClient, replayServer, scenarioSha256, splitEvents, type Recording } from "./replay.ts";
import { REPO_ROOT, type Scenario } from "./scenario.ts";
import { startTsService, type TsService } from "./service.ts";
import { itemStream, transcript } from "./wire.ts";

export const PAIRINGS = ["ts-ts", "ts-py", "py-ts", "py-py"] as const;
export type Pairing = (typeof PAIRINGS)[number];
export const REPLAYS = ["replay-client", "replay-server"] as const;
export type Column = Pairing | (typeof REPLAYS)[number];
export const COLUMNS: readonly Column[] = [...PAIRINGS, ...REPLAYS];

export const COLUMN_TITLES: Record<Column, string> = {
  "ts-ts": "TS->TS",
  "ts-py": "TS->Py",
  "py-ts": "Py->TS",
  "py-py": "Py->Py",
  "replay-client": "replay ts-client",
  "replay-server": "replay ts-server",
};

/** Recordings per Twisted version: fixtures/conformance/<variant>/ (variants of ../shared/legacy-twisted). */
export const FIXTURE_ROOT = join(REPO_ROOT, "fixtures", "conformance");
/** The reference recordings: Debian's Twisted 22.4. */
export const FIXTURE_DIR = join(FIXTURE_ROOT, "debian-22.4");

/**
 * The recordings folder for a Twisted version: its variant's name (py2-20.3.0, debian-22.4,
 * py3-24.7.0...), from the variant when known, else from the versions of Twisted and Python.
 */
export function fixtureDirFor(python: { twisted: string; version: string; variant?: string }): string {
  if (python.variant && /^[a-z0-9][a-z0-9.-]*$/i.test(python.variant)) return join(FIXTURE_ROOT, python.variant);
  const twisted = python.twisted.replace(/\.(rc\d+)$/, "$1");
  if (twisted === "22.4.0") return FIXTURE_DIR;
  return join(FIXTURE_ROOT, `${python.version.startsWith("2.") ? "py2" : "py3"}-${twisted}`);
}
/** Every recording's login challenge: md5("twisted-pb conformance"). */
export const RECORDING_CHALLENGE = "a8f549412a4926d9f417b158376d8a2c";

export interface Cell {
  /** known: failed where the scenario declares a known difference (see scenario.ts). */
  status: "pass" | "fail" | "skip" | "known";
  ms: number;
  firstDifference?: string | null;
  notes?: string[];
  /** For a known difference: the scenario's explanation. */
  why?: string;
  /** Where the traffic of a failing run was written (--keep-traffic). */
  traffic?: string;
}

export interface Row {
  name: string;
  family: string;
  title: string;
  server: string;
  cells: Partial<Record<Column, Cell>>;
}

/** The Python with Twisted the py columns run: which Twisted and Python, and how it is started. */
export interface PythonInfo {
  path: string;
  version: string;
  twisted: string;
  /** A launcher (command, arguments, environment) when the Python is not a plain path. */
  launcher?: PythonLike;
  /** The ../shared/legacy-twisted variant, when chosen by --twisted. */
  variant?: string;
}

const launch = (p: PythonInfo): PythonLike => p.launcher ?? p.path;

export interface Report {
  tool: "twisted-pb conformance";
  startedAt: string;
  durationMs: number;
  node: string;
  python: PythonInfo | null;
  options: { scenario?: string; family?: string; pairings: Pairing[]; replay: boolean };
  columns: Column[];
  /** What ran in each column: which side is twisted-pb, which Twisted and Python, which recordings. */
  columnPeers: Partial<Record<Column, string>>;
  rows: Row[];
  summary: { pass: number; fail: number; skip: number; known: number };
  /** The nondeterministic fields the replay columns handle by name. */
  namedFields: string[];
}

export const NAMED_FIELDS = [
  "login challenge: 16 random bytes in Twisted; recordings are made with a fixed one, our replayed server is given the recording's own, our replayed client answers the recorded one itself",
  "Failure.count: Twisted's process-global failure counter inside CopyableFailure state; set to 0 on both sides before comparing",
  "writes after the first close: never delivered to the other side; not compared",
  "CopyableFailure key order: Twisted 24.7 and 24.10 each write their own (fixtures/versions DIFFERENCES.md section 3); against their recordings the keys are compared in sorted order",
];

export interface MatrixOptions {
  scenarios: Scenario[];
  pairings?: readonly Pairing[];
  /** Run the replay columns for scenarios that have a recording (default true). */
  replay?: boolean;
  python: PythonInfo | null;
  /** Write the capture of failing runs here (fixtures/sessions shape, with t). */
  keepTraffic?: string | null;
  timeoutMs?: number;
  onProgress?: (row: Row, index: number, total: number) => void;
  /** Where recordings are read from (default fixtures/conformance). */
  fixtureDir?: string;
}

const withTimeout = <T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`timed out after ${ms} ms`));
    }, ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e)),
    );
  });

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Applies the scenario's declared known differences to one cell. */
export function applyKnown(sc: Scenario, column: Column, cell: Cell, twisted: string | null = null): Cell {
  const k = sc.knownDifferences?.find((d) => (d.columns as readonly string[]).includes(column) && knownFor(d.twisted, twisted));
  if (!k) return cell;
  if (cell.status === "fail") return { ...cell, status: "known", why: k.why };
  if (cell.status === "pass") {
    return { ...cell, status: "fail", firstDifference: `a known difference is declared for this column but did not show; remove it from the scenario if it is gone (${k.why})` };
  }
  return cell;
}

/** A difference declared for some Twisted versions (prefixes of the version, e.g. "24.7") or for all. */
export function knownFor(versions: readonly string[] | undefined, twisted: string | null): boolean {
  if (!versions) return true;
  return twisted !== null && versions.some((v) => twisted === v || twisted.startsWith(`${v}.`));
}

export interface Peers {
  ts: TsService | null;
  py: PyService | null;
  pyClient: PyClient | null;
  pythonPath: PythonLike | null;
}

export async function startPeers(pairings: readonly Pairing[], pythonPath: PythonLike | null): Promise<Peers> {
  const needPyServer = pairings.some((p) => p.endsWith("-py"));
  const needPyClient = pairings.some((p) => p.startsWith("py-"));
  const needTs = pairings.some((p) => p.endsWith("-ts"));
  if ((needPyServer || needPyClient) && !pythonPath) throw new Error("a Python with Twisted is needed for the py pairings");
  const [ts, py, pyClient] = await Promise.all([
    needTs ? startTsService() : null,
    needPyServer ? startPyService(pythonPath!) : null,
    needPyClient ? PyClient.start(pythonPath!) : null,
  ]);
  return { ts, py, pyClient, pythonPath };
}

export async function stopPeers(p: Peers): Promise<void> {
  await Promise.all([p.ts?.close(), p.py?.proc.stop(), p.pyClient?.stop()]);
}

export interface LiveRun {
  cell: Cell;
  results: StepResult[];
  error: string | null;
  proxy: CaptureProxy;
}

/** One scenario in one pairing, through a capture proxy. */
export async function runLive(sc: Scenario, pairing: Pairing, peers: Peers, timeoutMs: number): Promise<LiveRun> {
  const [client, server] = pairing.split("-") as ["ts" | "py", "ts" | "py"];
  const service = server === "ts" ? peers.ts! : peers.py!;
  const port = sc.server === "root" ? service.rootPort : service.portalPort;
  const proxy = await CaptureProxy.start(port);
  const start = performance.now();
  let results: StepResult[] = [];
  let error: string | null = null;
  try {
    if (client === "ts") {
      const conn = await tcpConnection(proxy.port);
      const runner = new TsClientRunner(sc, conn);
      try {
        results = await withTimeout(runner.run(), timeoutMs, () => conn.abort());
      } catch (e) {
        results = runner.results;
        error = e instanceof Error ? e.message : String(e);
      } finally {
        runner.dispose();
      }
    } else {
      if (!peers.pyClient || !peers.pyClient.running) peers.pyClient = await PyClient.start(peers.pythonPath!);
      try {
        const r = await peers.pyClient.run(sc, proxy.port, timeoutMs);
        results = r.steps;
        error = r.error;
      } catch (e) {
        // wedged: start a fresh one for the next run
        error = e instanceof Error ? e.message : String(e);
        await peers.pyClient.stop();
      }
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const ms = Math.round(performance.now() - start);
  // let the proxy see both ends close
  for (let i = 0; i < 40 && proxy.events.filter((e) => e.close).length < 2; i++) await sleep(5);
  await proxy.close();
  const py = peers.py?.python ?? peers.pyClient?.python ?? "";
  const v = compareRun(sc, results, error, { python2: pairing !== "ts-ts" && py.startsWith("2.") });
  return { cell: { status: v.ok ? "pass" : "fail", ms, firstDifference: v.firstDifference }, results, error, proxy };
}

export function recordingPath(name: string, dir = FIXTURE_DIR): string {
  return join(dir, `${name}.json`);
}

export function loadRecording(name: string, dir = FIXTURE_DIR): Recording | null {
  const p = recordingPath(name, dir);
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as Recording) : null;
}

async function runReplay(sc: Scenario, which: "replay-client" | "replay-server", dir: string): Promise<Cell> {
  const rec = loadRecording(sc.name, dir);
  if (!rec) return { status: "skip", ms: 0, firstDifference: null, notes: ["no recording (npm run conformance -- --record)"] };
  if (rec.scenarioSha256 !== scenarioSha256(sc)) {
    return { status: "fail", ms: 0, firstDifference: "the recording is stale: the scenario changed since it was recorded (re-record with --record)" };
  }
  const v = which === "replay-client" ? await replayClient(rec, sc) : await replayServer(rec, sc);
  return { status: v.ok ? "pass" : "fail", ms: v.ms, firstDifference: v.firstDifference, notes: [`${v.compared} item(s) compared`, ...v.notes] };
}

function trafficFile(dir: string, sc: Scenario, pairing: string, run: LiveRun, peers: Peers): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${sc.name}.${pairing}.json`);
  const { writes, closes } = splitEvents(run.proxy.events);
  const [client, server] = pairing.split("-");
  const body = {
    name: sc.name,
    title: sc.title,
    pairing,
    twisted: peers.py?.twisted ?? peers.pyClient?.twisted ?? null,
    python: peers.py?.python ?? peers.pyClient?.python ?? null,
    client: client === "ts" ? "twisted-pb" : "twisted",
    server: server === "ts" ? "twisted-pb" : "twisted",
    challenge: null,
    firstDifference: run.cell.firstDifference,
    results: run.results,
    error: run.error,
    writes,
    closes,
  };
  writeFileSync(file, JSON.stringify(body, null, 1) + "\n");
  const stream = itemStream(run.proxy.events);
  writeFileSync(file.replace(/\.json$/, ".txt"), transcript(stream, [`${sc.family}/${sc.name} in ${pairing}: ${sc.title}`, `first difference: ${run.cell.firstDifference}`]));
  return file;
}

function describeColumns(columns: readonly Column[], python: PythonInfo | null, dir: string): Partial<Record<Column, string>> {
  const tw = python ? `Twisted ${python.twisted} on Python ${python.version}${python.variant ? ` (${python.variant})` : ""}` : "Twisted (none)";
  const side = (s: string) => (s === "ts" ? "twisted-pb" : tw);
  const out: Partial<Record<Column, string>> = {};
  const rec = relative(REPO_ROOT, dir);
  for (const c of columns) {
    if (c === "replay-client") out[c] = `twisted-pb client against the server side of the recordings in ${rec}/`;
    else if (c === "replay-server") out[c] = `twisted-pb server against the client side of the recordings in ${rec}/`;
    else {
      const [client, server] = c.split("-");
      out[c] = `client: ${side(client)}; server: ${side(server)}`;
    }
  }
  return out;
}

/** Runs the matrix and returns the report (the caller prints and writes it). */
export async function runMatrix(o: MatrixOptions): Promise<Report> {
  const started = new Date();
  const t0 = performance.now();
  const pairings = [...(o.pairings ?? PAIRINGS)];
  const replay = o.replay ?? true;
  const timeoutMs = o.timeoutMs ?? 20_000;
  const dir = o.fixtureDir ?? FIXTURE_DIR;
  const columns: Column[] = [...pairings, ...(replay ? REPLAYS : [])];
  const rows: Row[] = [];
  const peers = await startPeers(pairings, o.python ? launch(o.python) : null);
  const twisted = o.python?.twisted ?? null;
  try {
    for (const [index, sc] of o.scenarios.entries()) {
      const row: Row = { name: sc.name, family: sc.family, title: sc.title, server: sc.server, cells: {} };
      for (const pairing of pairings) {
        const run = await runLive(sc, pairing, peers, timeoutMs);
        const cell = applyKnown(sc, pairing, run.cell, twisted);
        if (cell.status !== "pass" && o.keepTraffic) cell.traffic = trafficFile(o.keepTraffic, sc, pairing, { ...run, cell }, peers);
        row.cells[pairing] = cell;
      }
      if (replay) for (const which of REPLAYS) row.cells[which] = applyKnown(sc, which, await runReplay(sc, which, dir), twisted);
      rows.push(row);
      o.onProgress?.(row, index, o.scenarios.length);
    }
  } finally {
    await stopPeers(peers);
  }
  const summary = { pass: 0, fail: 0, skip: 0, known: 0 };
  for (const r of rows) for (const c of Object.values(r.cells)) summary[c!.status]++;
  return {
    tool: "twisted-pb conformance",
    startedAt: started.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    node: process.version,
    python: o.python,
    options: { pairings, replay },
    columns,
    columnPeers: describeColumns(columns, o.python, dir),
    rows,
    summary,
    namedFields: NAMED_FIELDS,
  };
}

// ---- recording ------------------------------------------------------------------------------------

export interface RecordResult {
  name: string;
  ok: boolean;
  firstDifference: string | null;
  file?: string;
  items?: number;
}

/** One py-py run with fresh Twisted processes, a fixed challenge and PYTHONHASHSEED=0. */
async function recordOnce(sc: Scenario, python: PythonInfo): Promise<{ run: LiveRun; py: PyService }> {
  const [py, pyClient] = await Promise.all([startPyService(launch(python), { challenge: RECORDING_CHALLENGE }), PyClient.start(launch(python))]);
  const peers: Peers = { ts: null, py, pyClient, pythonPath: launch(python) };
  try {
    return { run: await runLive(sc, "py-py", peers, 20_000), py };
  } finally {
    await stopPeers(peers);
  }
}

/**
 * Records each scenario between Twisted peers (py-py) through the capture proxy into
 * fixtures/conformance/<name>.json and .txt. Every run gets a fresh service and client process
 * (Failure.count and other process-global state start the same way every time), with
 * PYTHONHASHSEED=0 and a fixed login challenge. Each scenario is recorded twice: only a run that
 * passes, twice with the very same items, is written (a recording must not depend on timing).
 */
export async function recordScenarios(
  scenarios: Scenario[],
  python: PythonInfo,
  onProgress?: (r: RecordResult, i: number, total: number) => void,
  dir = FIXTURE_DIR,
): Promise<RecordResult[]> {
  mkdirSync(dir, { recursive: true });
  const out: RecordResult[] = [];
  for (const [i, sc] of scenarios.entries()) {
    const first = await recordOnce(sc, python);
    const second = first.run.cell.status === "pass" ? await recordOnce(sc, python) : null;
    const stream = itemStream(first.run.proxy.events);
    const traffic = recordingTraffic(first.run.proxy.events);
    let result: RecordResult;
    if (first.run.cell.status !== "pass") {
      result = { name: sc.name, ok: false, firstDifference: first.run.cell.firstDifference ?? "failed" };
    } else if (second!.run.cell.status !== "pass") {
      result = { name: sc.name, ok: false, firstDifference: `second run: ${second!.run.cell.firstDifference ?? "failed"}` };
    } else if (stream.leftovers.c2s || stream.leftovers.s2c) {
      result = { name: sc.name, ok: false, firstDifference: "the capture ends inside an item" };
    } else if (JSON.stringify(traffic) !== JSON.stringify(recordingTraffic(second!.run.proxy.events))) {
      const b = recordingTraffic(second!.run.proxy.events);
      const k = traffic.writes.findIndex((w, j) => w.hex !== b.writes[j]?.hex || w.dir !== b.writes[j]?.dir);
      result = {
        name: sc.name,
        ok: false,
        firstDifference: `not deterministic: two runs differ${k >= 0 ? ` from item #${k}` : ""} (the scenario lets both sides write at once; make a step wait)`,
      };
    } else {
      const py = first.py;
      const rec: Recording = {
        name: sc.name,
        family: sc.family,
        title: sc.title,
        server: sc.server,
        twisted: py.twisted,
        python: py.python,
        recordedBy: "npm run conformance -- --record (interop/conformance/harness.ts recordScenarios): Twisted conformance-client -> capture proxy -> Twisted serve root portal (interop/peer.py)",
        scenarioSha256: scenarioSha256(sc),
        challenge: RECORDING_CHALLENGE,
        pythonHashSeed: "0",
        ...traffic,
      };
      const file = recordingPath(sc.name, dir);
      writeFileSync(file, JSON.stringify(rec, null, 1) + "\n");
      writeFileSync(
        file.replace(/\.json$/, ".txt"),
        transcript(stream, [
          `scenario ${sc.family}/${sc.name} (${sc.server} server): ${sc.title}`,
          `recorded from twisted ${py.twisted}, python ${py.python}, by npm run conformance -- --record (do not edit)`,
          `client: interop/peer.py conformance-client, server: interop/peer.py serve root portal, through the capture proxy`,
          `login challenge (fixed for recording): ${RECORDING_CHALLENGE}`,
        ]),
      );
      result = { name: sc.name, ok: true, firstDifference: null, file, items: stream.items.length };
    }
    out.push(result);
    onProgress?.(result, i, scenarios.length);
  }
  return out;
}
