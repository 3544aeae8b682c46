// Codec benchmark: the same four payloads encoded and decoded by this package, by Twisted itself
// (scripts/bench_twisted.py), and by msgpackr, the codec a Node user would otherwise reach for.
// Decoding is fed 64 KiB chunks, as a socket delivers them. Prints a table and writes
// reports/bench-codec.json.
//
//   node --import tsx scripts/bench.ts [--quick] [--no-twisted] [--only=call,list,string,dict] [--rounds=N]
//                                      [--no-ladder | --only-ladder] [--ladder=list,dict,string] [--ladder-rewarm=MS]
//
// Method: each measurement is warmed up, calibrated to runs of about SAMPLE_MS and sampled
// SAMPLES times; the median is kept. Then each operation is timed alone for LATENCY_MS, for its
// p50 and p99 latency (Twisted's too, in bench_twisted.py). Rates are per second of CPU time of
// the measuring process (Node: process.cpuUsage, which also counts V8's GC and compiler threads;
// Python: time.process_time), so that other work on a shared machine skews the ratios less;
// wall-clock medians are in the JSON. Twisted (a separate process, never running alongside) and this
// package take turns, ROUNDS times (Twisted, TS, Twisted, TS), and each figure is the best of its
// round medians: other work on the machine only ever slows a run down. TS and msgpackr samples
// alternate within a round.
//
// TS encodes through jelly with Jellied (jelly and banana in one pass for plain data, as dumps()
// does); the "enc tree" rows encode the same bytes the two-step way, jelly() then encode(), which
// is what PB's broker did when this was written.
//
// This is a script, never a test: timings depend on the machine and on what else runs on it.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pack, unpack, isNativeAccelerationEnabled, Packr } from "msgpackr";
import { requirePython } from "../interop/find-python.mjs";
import { BananaDecoder, BananaEncoder, type Sexp } from "../src/banana/index.ts";
import { defaultRegistry, globalSecurity, jelly, Jellied, tuple, unjelly } from "../src/jelly/index.ts";
import { FastReceiver, Predecoded } from "../src/jelly/fastreceive.ts";
import { pbJellyPositions, pbTextPositions } from "../src/pb/predecoded.ts";
import { decodeUtf8 } from "../src/jelly/text.ts";
import { encodeWalk, floorBuilder } from "./ladder-floor.ts";
import { fullGc, youngGc } from "./bench-gc.ts";
import { percentileOf } from "./bench-stats.ts";
import { intsAndBytes, recordsDict } from "./payloads.ts";
import { isDeepStrictEqual } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const NO_TWISTED = argv.includes("--no-twisted");
const ONLY = argv.find((a) => a.startsWith("--only="))?.slice(7).split(",");
// --only-ladder: the size ladder alone (no payload table, no Twisted); --ladder=list,dict,string picks its families.
const ONLY_LADDER = argv.includes("--only-ladder");
const LADDER_FAMILIES = argv.find((a) => a.startsWith("--ladder="))?.slice(9).split(",") ?? ["list", "dict", "string"];
const SAMPLES = QUICK ? 3 : 7;
const ROUNDS = Math.max(1, Number(argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? (QUICK ? 1 : 2)));
const SAMPLE_MS = QUICK ? 50 : 200;
const WARMUP_MS = QUICK ? 100 : 1000; // long enough for V8 to settle on optimized code
// After the samples, each operation is also timed one at a time for this long (at most
// LATENCY_MAX_OPS operations), for its latency percentiles; the timer's own cost is printed.
const LATENCY_MS = QUICK ? 50 : 200;
const LATENCY_MAX_OPS = 200_000;
const CHUNK = 64 * 1024;
const MB = 1e6;

// ---- the payloads (scripts/bench_twisted.py builds the same ones) ----------------------------

const callArgs = tuple(1, "hello", 3.5);
const callKw = new Map<string, unknown>(); // the broker sends kwargs as a Map
const listValue = intsAndBytes(10_000);
const stringValue = Uint8Array.from({ length: 600 * 1024 }, (_, i) => (i * 7) % 251);
const dictValue = recordsDict(1000);

// ---- timing -------------------------------------------------------------------------------------

let sink: unknown;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Timing {
  cpu: number;
  wall: number;
}

/** One of the things timed: run `iterations` times and tell how long that took. */
interface Contender {
  warm(ms: number): Promise<void>;
  calibrate(ms: number): Promise<number>;
  run(iterations: number): Promise<Timing>;
  /** Each operation timed alone for about `ms`: their durations in microseconds. */
  latency(ms: number): Promise<Float64Array>;
}

function local(fn: () => unknown): Contender {
  return {
    async warm(ms) {
      const end = performance.now() + ms;
      let n = 0;
      while (performance.now() < end || n < 2) {
        sink = fn();
        n++;
      }
    },
    async calibrate(ms) {
      // On growing batches, so that fast operations are not timed one by one.
      for (let iterations = 1; ; iterations *= 4) {
        const t0 = performance.now();
        for (let i = 0; i < iterations; i++) sink = fn();
        const dt = performance.now() - t0;
        if (dt >= ms / 10) return Math.max(1, Math.round((iterations * ms) / dt));
      }
    },
    async run(iterations) {
      const c0 = cpuSeconds();
      const t0 = performance.now();
      for (let i = 0; i < iterations; i++) sink = fn();
      return { wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - c0 };
    },
    async latency(ms) {
      return timeEach(fn, ms);
    },
  };
}

/** Times each call of `fn` alone (process.hrtime, ns resolution) for about `ms`: microseconds each. */
function timeEach(fn: () => unknown, ms: number): Float64Array {
  const times = new Float64Array(LATENCY_MAX_OPS);
  const end = performance.now() + ms;
  let n = 0;
  while (n < LATENCY_MAX_OPS && (n < 2 || performance.now() < end)) {
    const t0 = process.hrtime.bigint();
    sink = fn();
    times[n++] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  return times.subarray(0, n);
}

/** p50, p99 and the count of a set of latencies (microseconds). */
function percentiles(us: Float64Array): Latency {
  const sorted = Float64Array.from(us).sort();
  return { p50Us: percentileOf(sorted, 0.5), p99Us: percentileOf(sorted, 0.99), ops: sorted.length };
}

interface Measurement {
  /** Median over the samples of operations per second of CPU time used by the measuring process. */
  ops: number;
  samples: number[];
  /** The same by the wall clock (lower when other processes take the CPU). */
  wallOps: number;
  iterations: number;
  /** Each operation timed alone after the samples. */
  latency?: Latency;
}

/** Latency percentiles of operations timed one at a time, in microseconds (the timer's cost included). */
interface Latency {
  p50Us: number;
  p99Us: number;
  ops: number;
}

/** Warms up and calibrates each contender, then takes their samples in turns. */
async function measureTogether(contenders: (Contender | null)[]): Promise<(Measurement | null)[]> {
  const iterations: number[] = [];
  for (const c of contenders) {
    if (!c) {
      iterations.push(0);
      continue;
    }
    await c.warm(WARMUP_MS);
    iterations.push(await c.calibrate(SAMPLE_MS));
  }
  const cpu: number[][] = contenders.map(() => []);
  const wall: number[][] = contenders.map(() => []);
  for (let s = 0; s < SAMPLES; s++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[k];
      if (!c) continue;
      const t = await c.run(iterations[k]);
      cpu[k].push(iterations[k] / t.cpu);
      wall[k].push(iterations[k] / t.wall);
    }
  }
  const latencies: (Latency | undefined)[] = [];
  for (const c of contenders) latencies.push(c ? percentiles(await c.latency(LATENCY_MS)) : undefined);
  return contenders.map((c, k) => (c ? { ops: median(cpu[k]), samples: cpu[k], wallOps: median(wall[k]), iterations: iterations[k], latency: latencies[k] } : null));
}

// ---- Twisted --------------------------------------------------------------------------------------

interface PySide {
  bytes: number;
  sha256: string;
  hex?: string;
  encode: Measurement;
  decode: Measurement;
}
interface PyReport {
  twisted: string;
  python: string;
  chunk: number;
  payloads: Record<string, PySide>;
}

function runTwisted(round: number): PyReport {
  const py = requirePython();
  process.stderr.write(`[bench] round ${round}/${ROUNDS}: Twisted ${py.twistedVersion} on Python ${py.pythonVersion} (${py.path})\n`);
  const r = spawnSync(py.path, [join(root, "scripts", "bench_twisted.py"), ...(QUICK ? ["--quick"] : [])], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`bench_twisted.py exited with ${r.status}`);
  return JSON.parse(r.stdout) as PyReport;
}

// ---- this package ---------------------------------------------------------------------------------

interface Case {
  name: string;
  label: string;
  /** Encoding as the broker does it (jelly in one pass with the bytes: Jellied; large strings by reference). */
  encode: () => Uint8Array | Uint8Array[];
  /** The same bytes through jelly()'s expression, then encode() (what PB's broker does as of this writing). */
  encodeTree?: () => Uint8Array;
  /** Decoding as the broker does it: one pass for plain data (FastReceiver). */
  decode: (chunks: Uint8Array[]) => unknown;
  /** The same through BananaDecoder's expression, then unjelly() (the broker before the one-pass decoder). */
  decodeTree: (chunks: Uint8Array[]) => unknown;
  check: (decoded: unknown) => boolean;
  msgpackValue: unknown;
}

// One encoder and one decoder, long-lived as a broker's are, dialect "pb" negotiated.
const encoder = new BananaEncoder({ dialect: "pb" });
let received: Sexp | undefined;
let count = 0;
const decoder = new BananaDecoder(
  (item) => {
    received = item;
    count++;
  },
  { dialect: "pb" },
);

function receive(chunks: Uint8Array[]): Sexp {
  count = 0;
  for (let i = 0; i < chunks.length; i++) decoder.feed(chunks[i]);
  if (count !== 1 || decoder.pending) throw new Error("incomplete decode");
  return received!;
}

// The broker's receiver: PB messages with their jelly parts unjellied in one pass; and one whose
// top-level items are each one jelly value.
const unjellyOptions = { security: globalSecurity, registry: defaultRegistry, mode: "python" as const, bytesAsText: false, maxDepth: 1000 };
let fastReceived: Sexp | undefined;
let fastCount = 0;
const onFast = (item: Sexp) => {
  fastReceived = item;
  fastCount++;
};
// As the broker without a trace hook: the method name comes as text.
const pbReceiver = new FastReceiver(onFast, { dialect: "pb", unjelly: unjellyOptions, jellyAt: pbJellyPositions, textAt: pbTextPositions });
const valueReceiver = new FastReceiver(onFast, { dialect: "pb", unjelly: unjellyOptions, jellyAt: null });

function receiveFast(r: FastReceiver, chunks: Uint8Array[]): Sexp {
  fastCount = 0;
  for (let i = 0; i < chunks.length; i++) r.feed(chunks[i]);
  if (fastCount !== 1 || r.pending) throw new Error("incomplete decode");
  // Not kept here: the last result alive would be a second graph for the next decode's GC to mark.
  const got = fastReceived!;
  fastReceived = undefined;
  return got;
}

/** What the broker's unserialize() gives for what the receiver delivered. */
function valueOf(x: Sexp): unknown {
  return (x as unknown) instanceof Predecoded ? (x as unknown as Predecoded).value : unjelly(x);
}

// A transport that drops what it is given (Twisted's side writes to a sink too).
let written = 0;
function sendParts(parts: Uint8Array[]): Uint8Array[] {
  for (let i = 0; i < parts.length; i++) written += parts[i].length;
  return parts;
}

function flat(x: Uint8Array | Uint8Array[]): Uint8Array {
  return Array.isArray(x) ? Buffer.concat(x) : x;
}

function sameBytes(a: unknown, b: Uint8Array): boolean {
  return a instanceof Uint8Array && Buffer.compare(a, b) === 0;
}

const cases: Case[] = [
  {
    name: "call",
    label: "call message",
    // Broker._sendMessage: jelly the args and kwargs, then one banana list.
    encode: () => encoder.encode(["message", 17, 0, "echo", 1, new Jellied(callArgs), new Jellied(callKw)]),
    encodeTree: () => encoder.encode(["message", 17, 0, "echo", 1, jelly(callArgs), jelly(callKw)]),
    // Broker._recv_message: the method name as text (as msgpackr gives it); unjelly args and
    // kwargs, each in its own scope.
    decode: (chunks) => {
      const msg = receiveFast(pbReceiver, chunks) as readonly Sexp[];
      return [msg[0], msg[1], msg[2], decodeUtf8(msg[3] as Uint8Array | string), msg[4], valueOf(msg[5]), valueOf(msg[6])];
    },
    decodeTree: (chunks) => {
      const msg = receive(chunks) as readonly Sexp[];
      return [msg[0], msg[1], msg[2], decodeUtf8(msg[3] as Uint8Array | string), msg[4], unjelly(msg[5]), unjelly(msg[6])];
    },
    check: (v) => {
      const m = v as unknown[];
      const args = m[5] as unknown[];
      return m[0] === "message" && m[3] === "echo" && args.length === 3 && args[1] === "hello" && m[6] instanceof Map;
    },
    msgpackValue: ["message", 17, 0, "echo", 1, [1, "hello", 3.5], {}],
  },
  {
    name: "list",
    label: "list 10k int/bytes",
    encode: () => encoder.encode(new Jellied(listValue)),
    encodeTree: () => encoder.encode(jelly(listValue)),
    decode: (chunks) => valueOf(receiveFast(valueReceiver, chunks)),
    decodeTree: (chunks) => unjelly(receive(chunks)),
    check: (v) => {
      const a = v as unknown[];
      return a.length === listValue.length && a[0] === 0 && sameBytes(a[9999], listValue[9999] as Uint8Array);
    },
    msgpackValue: listValue,
  },
  {
    name: "string",
    label: "600 KiB bytes",
    // The broker's send path: the string is referred to, not copied (the socket gathers the parts).
    encode: () => sendParts(encoder.encodeParts(stringValue)),
    encodeTree: () => encoder.encode(stringValue),
    decode: (chunks) => valueOf(receiveFast(valueReceiver, chunks)),
    decodeTree: (chunks) => unjelly(receive(chunks)),
    check: (v) => sameBytes(v, stringValue),
    msgpackValue: stringValue,
  },
  {
    name: "dict",
    label: "dict 1000 x 5 fields",
    encode: () => encoder.encode(new Jellied(dictValue)),
    encodeTree: () => encoder.encode(jelly(dictValue)),
    decode: (chunks) => valueOf(receiveFast(valueReceiver, chunks)),
    decodeTree: (chunks) => unjelly(receive(chunks)),
    check: (v) => v instanceof Map && v.size === 1000 && (v.get("key999") as Map<string, unknown>).get("name") === "name999",
    msgpackValue: dictValue,
  },
];

interface Side {
  ops: number;
  mbps: number;
  samples: number[];
  /** (max - min) / median of the samples, in percent. */
  spreadPct: number;
  wallOps: number;
  latency?: Latency;
}
interface Row {
  payload: string;
  bytes: { banana: number; msgpack: number };
  encodeTree: { ts: Side; twisted: Side | null; tsOverTwisted: number | null } | null;
  decodeTree: { ts: Side; twisted: Side | null; msgpackr: Side; tsOverTwisted: number | null; tsOverMsgpackr: number; onePassOverTree: number };
  encode: { ts: Side; twisted: Side | null; msgpackr: Side; tsOverTwisted: number | null; tsOverMsgpackr: number };
  decode: { ts: Side; twisted: Side | null; msgpackr: Side; tsOverTwisted: number | null; tsOverMsgpackr: number };
}

function side(m: Measurement, bytes: number): Side {
  const spreadPct = m.samples.length ? ((Math.max(...m.samples) - Math.min(...m.samples)) / m.ops) * 100 : 0;
  return { ops: m.ops, mbps: (m.ops * bytes) / MB, samples: m.samples, spreadPct, wallOps: m.wallOps, latency: m.latency };
}

function msgpackDecode(chunks: Uint8Array[]): unknown {
  // A framed msgpack protocol joins the chunks of a message, then unpacks it.
  return unpack(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
}

/** The bytes as a socket delivers them: Node Buffers of at most 64 KiB, each with its own memory. */
function chunked(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) out.push(Buffer.from(bytes.subarray(i, Math.min(bytes.length, i + CHUNK))));
  return out;
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

// ---- run --------------------------------------------------------------------------------------------

type Op = "encode" | "decode" | "encodeTree" | "decodeTree";
interface Pass {
  ts: Record<string, Record<Op, Measurement>>;
  msgpackr: Record<string, Record<Op, Measurement>>;
  memcpy: { decode: Measurement; slice: Measurement; set: Measurement } | null;
}

const selected = cases.filter((c) => !ONLY_LADDER && (!ONLY || ONLY.includes(c.name)));
const wires = new Map(selected.map((c) => [c.name, flat(c.encode())]));
for (const c of selected) {
  if (c.encodeTree && Buffer.compare(c.encodeTree(), wires.get(c.name)!) !== 0) throw new Error(`${c.name}: Jellied and jelly() give different bytes`);
}
const mpBytes = new Map(selected.map((c) => [c.name, pack(c.msgpackValue).length]));

async function tsPass(round: number): Promise<Pass> {
  const pass: Pass = { ts: {}, msgpackr: {}, memcpy: null };
  for (const c of selected) {
    const chunks = chunked(wires.get(c.name)!);
    if (!c.check(c.decode(chunks))) throw new Error(`${c.name}: round trip failed`);
    if (!c.check(c.decodeTree(chunks))) throw new Error(`${c.name}: round trip (tree) failed`);
    const mpChunks = chunked(new Uint8Array(pack(c.msgpackValue)));
    for (const op of ["encode", "decode"] as const) {
      process.stderr.write(`[bench] round ${round}/${ROUNDS}: ${c.label}, ${op}\n`);
      const ts = op === "encode" ? local(c.encode) : local(() => c.decode(chunks));
      const tree = op === "encode" ? (c.encodeTree ? local(c.encodeTree) : null) : local(() => c.decodeTree(chunks));
      const mp = op === "encode" ? local(() => pack(c.msgpackValue)) : local(() => msgpackDecode(mpChunks));
      const [mTs, mMp, mTree] = await measureTogether([ts, mp, tree]);
      const mine = (pass.ts[c.name] ??= {} as Record<Op, Measurement>);
      mine[op] = mTs!;
      if (mTree) mine[op === "encode" ? "encodeTree" : "decodeTree"] = mTree;
      (pass.msgpackr[c.name] ??= {} as Record<Op, Measurement>)[op] = mMp!;
    }
    if (c.name === "string") {
      // One plain memory copy of the same 600 KiB, both ways a JS program copies bytes: slice()
      // (a new array, as a decoded string is) and set() into an array made once (cache-warm,
      // nothing allocated), sampled in turns with the decode itself.
      process.stderr.write(`[bench] round ${round}/${ROUNDS}: 600 KiB string decode against one memory copy\n`);
      const dst = new Uint8Array(stringValue.length);
      const [decode, slice, set] = await measureTogether([
        local(() => c.decode(chunks)),
        local(() => stringValue.slice()),
        local(() => {
          dst.set(stringValue);
          return dst;
        }),
      ]);
      pass.memcpy = { decode: decode!, slice: slice!, set: set! };
    }
  }
  return pass;
}

// ---- the size ladder: time per byte as payloads grow ---------------------------------------------
//
// Method. Each step (family and size) is measured on its own: a full GC before it, so that the
// previous step's garbage is not billed to it. Within a step, the encoders run first, in turns,
// with the value alive; then the value is dropped (a receiver does not hold the sender's value) and
// the decoders run, in turns, with only the bytes alive. Each sample starts after a full GC (the
// other contender's garbage is not billed to it) and ends with one, timed: every sample pays for
// collecting all the garbage it made, including what a sample too short to reach V8's next
// collection would leave behind. Results are dropped as soon as they are made (holding the last
// one would keep a second 100k graph alive for the next operation to mark). A sample runs at least
// LADDER_MIN_ITERATIONS operations and about LADDER_SAMPLE_MS (longer than the payload table's
// samples, so that the closing GC, ~7-9 ms for this script's own heap, weighs ~2% on the small
// steps); median of SAMPLES samples. The JSON also has each sample without its closing GC
// (loopNsPerByte). GC pauses (main thread, from perf_hooks) are summed per sample: their share of
// the sample's wall time is shown.

interface LadderSide {
  nsPerByte: number;
  /** The same sample without its closing GC (what it leaves is then not billed to it). */
  loopNsPerByte: number;
  spreadPct: number;
  /** Share of the samples' wall time spent in GC pauses (median sample), minor and major. */
  gcMinorPct: number;
  gcMajorPct: number;
  iterations: number;
  samplesNs: number[];
}

interface LadderStep {
  family: string;
  size: string;
  bytes: number;
  msgpackBytes: number;
  /** The broker's send path: encodeParts() (chunks handed over, large strings by reference). */
  encode: LadderSide;
  /** encode(): the same bytes as one fresh array. */
  encodeOne: LadderSide;
  decode: LadderSide;
  /** msgpackr encoding / decoding the same value, ns per byte of msgpack: the yardstick's own growth. */
  msgpackrEncode: LadderSide;
  msgpackrDecode: LadderSide;
  /**
   * The floor: the decoded result's graph built again by a plain loop from parts already known (no
   * parsing; same arrays, Maps, pooled Uint8Array views, fresh strings), ns per byte of banana.
   * Its growth is what the result itself costs as it grows.
   */
  floorBuild: LadderSide;
  /**
   * The encode side's floor: every item and key of the value visited once and every container
   * remembered in an identity set (what jelly must do before writing), ns per byte of banana.
   */
  floorWalk: LadderSide;
}

type LadderOp = "encode" | "encodeOne" | "decode" | "msgpackrEncode" | "msgpackrDecode" | "floorBuild" | "floorWalk";
const LADDER_OPS: LadderOp[] = ["encode", "encodeOne", "decode", "msgpackrEncode", "msgpackrDecode", "floorBuild", "floorWalk"];
const LADDER_MIN_ITERATIONS = QUICK ? 1 : 3;
/**
 * After the full collection that starts each ladder sample, the operation runs this long (and at
 * least twice) untimed before the sample. A forced full collection, made at a moment when no
 * instance of a short-lived class is alive (a jelly writer, a decoder's frame), frees the maps
 * (hidden classes) V8's optimized code was made for, and V8 throws that code away ("weak
 * objects" in --trace-deopt): 10-16 of our encoder's functions were optimized again inside every
 * sample, 25-75 ms of a 400 ms sample's CPU; msgpackr's decoder 8-20, its encoder (one
 * long-lived Packr) none. Collections V8 makes by itself mark incrementally and did not do this
 * in our tests; only the benchmark's forced ones do. The untimed runs use the family's smallest payload, so that a large one's
 * results are not left in the old generation for the sample to pay. --ladder-rewarm=0 measures
 * the old way.
 */
const LADDER_REWARM_MS = Number(argv.find((a) => a.startsWith("--ladder-rewarm="))?.slice(16) ?? (QUICK ? 20 : 100));
const LADDER_SAMPLE_MS = 2 * SAMPLE_MS;

async function sizeLadder(families: string[]): Promise<{ steps: LadderStep[]; flatness: Record<string, Record<LadderOp, number>>; flatnessWithoutClosingGc: Record<string, Record<LadderOp, number>> }> {
  const { PerformanceObserver, constants } = await import("node:perf_hooks");
  const pauses: { start: number; duration: number; major: boolean }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      pauses.push({ start: e.startTime, duration: e.duration, major: kind !== constants.NODE_PERFORMANCE_GC_MINOR });
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

  /** Takes the samples of some contenders in turns; each fn returns something, dropped at once. */
  async function measure(fns: (() => unknown)[], bytes: number[], rewarm: (() => unknown)[] = fns): Promise<LadderSide[]> {
    let dropped = 0;
    const loop = (fn: () => unknown, n: number) => {
      for (let i = 0; i < n; i++) if (fn() === undefined) dropped++;
    };
    const iterations: number[] = [];
    for (const fn of fns) {
      const end = performance.now() + WARMUP_MS;
      let n = 0;
      while (performance.now() < end || n < 2) {
        loop(fn, 1);
        n++;
      }
      // Calibrated on growing batches, so that fast operations are not timed one by one.
      for (let batch = 1; ; batch *= 4) {
        const t0 = performance.now();
        loop(fn, batch);
        const dt = performance.now() - t0;
        if (dt >= LADDER_SAMPLE_MS / 10 || batch >= 1 << 24) {
          iterations.push(Math.max(LADDER_MIN_ITERATIONS, Math.round((batch * LADDER_SAMPLE_MS) / Math.max(dt, 1e-3))));
          break;
        }
      }
    }
    const ns: number[][] = fns.map(() => []);
    const loopNs: number[][] = fns.map(() => []);
    const gcShares: { minor: number; major: number }[][] = fns.map(() => []);
    for (let s = 0; s < SAMPLES; s++) {
      for (let k = 0; k < fns.length; k++) {
        fullGc();
        if (LADDER_REWARM_MS > 0) {
          const end = performance.now() + LADDER_REWARM_MS;
          for (let n = 0; n < 2 || performance.now() < end; n++) loop(rewarm[k], 1);
          // What the warm-up left in the young generation; a full collection here would undo it.
          youngGc();
        }
        await tick();
        const c0 = cpuSeconds();
        const t0 = performance.now();
        loop(fns[k], iterations[k]);
        const cpuLoop = cpuSeconds() - c0;
        fullGc();
        const t1 = performance.now();
        const cpu = cpuSeconds() - c0;
        await tick();
        await tick();
        let minor = 0;
        let major = 0;
        for (const p of pauses) {
          if (p.start < t0 || p.start > t1) continue;
          if (p.major) major += p.duration;
          else minor += p.duration;
        }
        pauses.length = 0;
        ns[k].push((cpu * 1e9) / iterations[k] / bytes[k]);
        loopNs[k].push((cpuLoop * 1e9) / iterations[k] / bytes[k]);
        gcShares[k].push({ minor: (minor / (t1 - t0)) * 100, major: (major / (t1 - t0)) * 100 });
      }
    }
    if (dropped < 0) throw new Error("unreachable");
    return fns.map((_, k) => {
      const sorted = [...ns[k]].sort((a, b) => a - b);
      const med = sorted[sorted.length >> 1];
      const at = ns[k].indexOf(med);
      return {
        nsPerByte: med,
        loopNsPerByte: [...loopNs[k]].sort((a, b) => a - b)[loopNs[k].length >> 1],
        spreadPct: ((sorted[sorted.length - 1] - sorted[0]) / med) * 100,
        gcMinorPct: gcShares[k][at].minor,
        gcMajorPct: gcShares[k][at].major,
        iterations: iterations[k],
        samplesNs: ns[k],
      };
    });
  }

  const all: { family: string; sizes: [string, () => unknown][] }[] = [
    { family: "list", sizes: [1000, 10_000, 100_000].map((n) => [`${n / 1000}k`, () => intsAndBytes(n)]) },
    { family: "dict", sizes: [1000, 10_000, 100_000].map((n) => [`${n / 1000}k`, () => recordsDict(n)]) },
    { family: "string", sizes: [1, 8, 64, 640].map((k) => [`${k} KiB`, () => Uint8Array.from({ length: k * 1024 }, (_, i) => (i * 7) % 251)]) },
  ];
  const steps: LadderStep[] = [];
  for (const f of all.filter((x) => families.includes(x.family))) {
    // The same operations on the family's smallest payload, for the untimed runs after each
    // sample's full collection (LADDER_REWARM_MS): they make V8 optimize the same code again
    // without leaving a large payload's results in the old generation for the sample to pay.
    let smallest: { encode: (() => unknown)[]; decode: (() => unknown)[] } | null = null;
    for (const [size, make] of f.sizes) {
      fullGc();
      let value: unknown = make();
      const ladderEncoder = new BananaEncoder({ dialect: "pb" });
      // Large byte strings go by reference on the broker's path (encodeParts), so a string is
      // sent as it is; other values are jellied in one pass, as the broker's send path does.
      const wrap = (v: unknown) => (f.family === "string" ? (v as Uint8Array) : new Jellied(v));
      const parts = () => sendParts(ladderEncoder.encodeParts(wrap(value)));
      const one = () => ladderEncoder.encode(wrap(value));
      const bytes = flat(parts());
      if (Buffer.compare(bytes, one()) !== 0) throw new Error(`ladder ${f.family} ${size}: encodeParts() and encode() differ`);
      const chunks = chunked(bytes);
      // Maps of 65,536 keys or more need msgpackr's variable map size. One Packr, reused as a
      // sender would (its records are written into each message: every pack is self-contained).
      const packr = new Packr({ variableMapSize: true });
      const mp = new Uint8Array(packr.pack(value));
      if (packr.pack(value).length !== mp.length) throw new Error("msgpackr's output changed from one pack to the next");
      process.stderr.write(`[bench] size ladder: ${f.family} ${size} (${bytes.length} bytes), encode\n`);
      const encoders = [parts, one, () => packr.pack(value), () => encodeWalk(value)];
      const [e, e1, me, fw] = await measure(encoders, [bytes.length, bytes.length, mp.length, bytes.length], smallest?.encode);
      // The receiver's side: only the bytes are alive.
      value = null;
      process.stderr.write(`[bench] size ladder: ${f.family} ${size}, decode\n`);
      // The floor rebuilds what the decoder gives (checked equal), from parts gathered once.
      const decodeOnce = () => valueOf(receiveFast(valueReceiver, chunks));
      let build: (() => unknown) | null = floorBuilder(decodeOnce());
      // (A large byte string decodes to a Buffer view of its chunk, the floor's to a Uint8Array copy: compared by bytes.)
      const rebuilt = build();
      const decoded = decodeOnce();
      const same = rebuilt instanceof Uint8Array && decoded instanceof Uint8Array ? Buffer.compare(rebuilt, decoded) === 0 : isDeepStrictEqual(rebuilt, decoded);
      if (!same) throw new Error(`ladder ${f.family} ${size}: the floor's value differs from the decoder's`);
      const decoders = [decodeOnce, () => unpack(mp), build];
      const [d, md, fb] = await measure(decoders, [bytes.length, mp.length, bytes.length], smallest?.decode);
      if (smallest) build = null;
      else {
        // Kept for the larger sizes: the smallest payload's value, bytes and floor stay alive.
        const small = make();
        const encodeSmall = [() => sendParts(ladderEncoder.encodeParts(wrap(small))), () => ladderEncoder.encode(wrap(small)), () => packr.pack(small), () => encodeWalk(small)];
        smallest = { encode: encodeSmall, decode: decoders };
      }
      steps.push({ family: f.family, size, bytes: bytes.length, msgpackBytes: mp.length, encode: e, encodeOne: e1, decode: d, msgpackrEncode: me, msgpackrDecode: md, floorBuild: fb, floorWalk: fw });
    }
  }
  observer.disconnect();
  const flatness: Record<string, Record<LadderOp, number>> = {};
  const flatnessWithoutClosingGc: Record<string, Record<LadderOp, number>> = {};
  for (const f of all.filter((x) => families.includes(x.family))) {
    const mine = steps.filter((x) => x.family === f.family);
    // Growth: the dearest byte at any size against a byte of the smallest size. (Fixed costs make
    // small payloads dearer per byte, which is no growth: a string sent by reference costs the
    // same at any size.)
    const ratio = (k: LadderOp) => Math.max(...mine.map((x) => x[k].nsPerByte)) / mine[0][k].nsPerByte;
    flatness[f.family] = Object.fromEntries(LADDER_OPS.map((op) => [op, ratio(op)])) as Record<LadderOp, number>;
    const loopRatio = (k: LadderOp) => Math.max(...mine.map((x) => x[k].loopNsPerByte)) / mine[0][k].loopNsPerByte;
    flatnessWithoutClosingGc[f.family] = Object.fromEntries(LADDER_OPS.map((op) => [op, loopRatio(op)])) as Record<LadderOp, number>;
  }
  return { steps, flatness, flatnessWithoutClosingGc };
}

const pyRuns: PyReport[] = [];
const passes: Pass[] = [];
for (let round = 1; !ONLY_LADDER && round <= ROUNDS; round++) {
  if (!NO_TWISTED) pyRuns.push(runTwisted(round));
  passes.push(await tsPass(round));
}

/** The best of the round medians (other work on the machine only ever slows a run down). */
function best(ms: (Measurement | undefined)[]): Measurement {
  const present = ms.filter((m): m is Measurement => m !== undefined);
  return present.reduce((a, b) => (b.ops > a.ops ? b : a));
}

const py = pyRuns[0] ?? null;
const rows: Row[] = [];
const mismatches: string[] = [];
for (const c of selected) {
  const wire = wires.get(c.name)!;
  const pyc = py?.payloads[c.name];
  if (pyc && (pyc.bytes !== wire.length || pyc.sha256 !== sha256(wire))) {
    mismatches.push(`${c.name}: TS wrote ${wire.length} bytes${pyc.hex ? ` (${toHex(wire)})` : ""}, Twisted ${pyc.bytes}${pyc.hex ? ` (${pyc.hex})` : ""}`);
  }
  const row = (op: "encode" | "decode") => {
    const ts = side(best(passes.map((p) => p.ts[c.name][op])), wire.length);
    const msgpackr = side(best(passes.map((p) => p.msgpackr[c.name][op])), mpBytes.get(c.name)!);
    const twisted = pyc ? side(best(pyRuns.map((r) => r.payloads[c.name]?.[op])), pyc.bytes) : null;
    return { ts, twisted, msgpackr, tsOverTwisted: twisted ? ts.ops / twisted.ops : null, tsOverMsgpackr: ts.ops / msgpackr.ops };
  };
  let encodeTree: Row["encodeTree"] = null;
  if (c.encodeTree) {
    const ts = side(best(passes.map((p) => p.ts[c.name].encodeTree)), wire.length);
    const twisted = pyc ? side(best(pyRuns.map((r) => r.payloads[c.name]?.encode)), pyc.bytes) : null;
    encodeTree = { ts, twisted, tsOverTwisted: twisted ? ts.ops / twisted.ops : null };
  }
  const decode = row("decode");
  const dt = side(best(passes.map((p) => p.ts[c.name].decodeTree)), wire.length);
  const decodeTree = {
    ts: dt,
    twisted: decode.twisted,
    msgpackr: decode.msgpackr,
    tsOverTwisted: decode.twisted ? dt.ops / decode.twisted.ops : null,
    tsOverMsgpackr: dt.ops / decode.msgpackr.ops,
    onePassOverTree: decode.ts.ops / dt.ops,
  };
  rows.push({ payload: c.name, bytes: { banana: wire.length, msgpack: mpBytes.get(c.name)! }, encode: row("encode"), encodeTree, decode, decodeTree });
}

let memcpy: { decode: Side; set: Side; slice: Side; stringDecodeOverSet: number; stringDecodeOverSlice: number } | null = null;
if (passes.length > 0 && passes.every((p) => p.memcpy)) {
  const n = stringValue.length; // bytes of string: the wire adds 5 bytes of header
  const decode = best(passes.map((p) => p.memcpy!.decode));
  const slice = best(passes.map((p) => p.memcpy!.slice));
  const set = best(passes.map((p) => p.memcpy!.set));
  memcpy = {
    decode: side(decode, n),
    slice: side(slice, n),
    set: side(set, n),
    stringDecodeOverSlice: decode.ops / slice.ops,
    stringDecodeOverSet: decode.ops / set.ops,
  };
}

// ---- report -------------------------------------------------------------------------------------------

function fmtOps(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}
function fmtMB(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}
function fmtRatio(n: number | null): string {
  return n === null ? "-" : n >= 10 ? `${n.toFixed(0)}x` : `${n.toFixed(1)}x`;
}
function pad(s: string, w: number, left = false): string {
  return left ? s.padEnd(w) : s.padStart(w);
}

const header = ["payload", "bytes", "op", "TS msg/s", "spread", "TS MB/s", "Twisted msg/s", "Tw MB/s", "msgpackr msg/s", "mp MB/s", "TS/Twisted", "TS/msgpackr"];
const widths = [22, 15, 10, 9, 6, 8, 13, 8, 14, 8, 10, 11];
const lines: string[] = [];
lines.push(header.map((h, i) => pad(h, widths[i], i < 3)).join(" "));
lines.push(widths.map((w) => "-".repeat(w)).join(" "));
for (const r of rows) {
  const label = cases.find((c) => c.name === r.payload)!.label;
  const ops: [string, { ts: Side; twisted: Side | null; msgpackr?: Side; tsOverTwisted: number | null; tsOverMsgpackr?: number }][] = [["encode", r.encode]];
  if (r.encodeTree) ops.push(["enc tree*", r.encodeTree]);
  ops.push(["decode", r.decode]);
  ops.push(["dec tree*", r.decodeTree]);
  ops.forEach(([op, x], k) => {
    lines.push(
      [
        pad(k === 0 ? label : "", widths[0], true),
        pad(k === 0 ? `${r.bytes.banana}/${r.bytes.msgpack}` : "", widths[1], true),
        pad(op, widths[2], true),
        pad(fmtOps(x.ts.ops), widths[3]),
        pad(`${x.ts.spreadPct.toFixed(0)}%`, widths[4]),
        pad(fmtMB(x.ts.mbps), widths[5]),
        pad(x.twisted ? fmtOps(x.twisted.ops) : "-", widths[6]),
        pad(x.twisted ? fmtMB(x.twisted.mbps) : "-", widths[7]),
        pad(x.msgpackr ? fmtOps(x.msgpackr.ops) : "", widths[8]),
        pad(x.msgpackr ? fmtMB(x.msgpackr.mbps) : "", widths[9]),
        pad(fmtRatio(x.tsOverTwisted), widths[10]),
        pad(x.tsOverMsgpackr !== undefined ? fmtRatio(x.tsOverMsgpackr) : "", widths[11]),
      ].join(" "),
    );
  });
}
lines.push("");
const timerCost = percentiles(timeEach(() => undefined, LATENCY_MS)).p50Us;
const fmtUs = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)} ms` : x >= 10 ? `${x.toFixed(0)} us` : `${x.toFixed(2)} us`);
const latencyCell = (x: Side | null | undefined) => (x?.latency ? `${fmtUs(x.latency.p50Us)} / ${fmtUs(x.latency.p99Us)}` : "-");
lines.push(`latency of one operation, p50 / p99 (each timed alone for ~${LATENCY_MS} ms after the samples, at least twice, in the best round; where fewer than 100 were timed, p99 is the slowest; a timed empty operation: ${fmtUs(timerCost)}):`);
lines.push(`${pad("payload", 22, true)} ${pad("op", 10, true)} ${pad("TS", 22)} ${pad("Twisted", 22)} ${pad("msgpackr", 22)}`);
for (const r of rows) {
  const label = cases.find((c) => c.name === r.payload)!.label;
  const ops: [string, { ts: Side; twisted: Side | null; msgpackr?: Side }][] = [["encode", r.encode]];
  if (r.encodeTree) ops.push(["enc tree*", { ts: r.encodeTree.ts, twisted: null }]);
  ops.push(["decode", r.decode]);
  ops.push(["dec tree*", { ts: r.decodeTree.ts, twisted: null }]);
  ops.forEach(([op, x], k) => {
    lines.push(`${pad(k === 0 ? label : "", 22, true)} ${pad(op, 10, true)} ${pad(latencyCell(x.ts), 22)} ${pad(op.endsWith("*") ? "" : latencyCell(x.twisted), 22)} ${pad(op.endsWith("*") ? "" : latencyCell(x.msgpackr), 22)}`);
  });
}
lines.push("");
lines.push("encode: jelly and banana in one pass (new Jellied(value) in the expression, as dumps() does); falls back to jelly()'s expression for");
lines.push("        anything but plain data; the 600 KiB string: encodeParts(), the string referred to, not copied (the broker's send path).");
lines.push("        *enc tree: jelly() builds the expression, encode() writes it; for the string, encode() copying it into one array (before).");
lines.push("decode: the broker's receiver (FastReceiver): plain data unjellied in one pass from the bytes; *dec tree: BananaDecoder's");
lines.push("        expression, then unjelly() (the broker before). spread: (max - min) / median of the TS samples of the best round.");

interface Target {
  what: string;
  value: number | null;
  goal: number;
  met: boolean | null;
}
const targets: Target[] = [];
for (const r of rows) {
  if (r.payload === "string") continue;
  const v = r.decode.tsOverMsgpackr;
  targets.push({ what: `${r.payload} decode TS/msgpackr >= 0.5 (one pass; tree path was ${r.decodeTree.tsOverMsgpackr.toFixed(2)})`, value: v, goal: 0.5, met: v >= 0.5 });
}
for (const r of rows) {
  if (r.payload !== "string") continue;
  const v = r.encode.tsOverTwisted;
  targets.push({ what: `600 KiB string encode (by reference) TS/Twisted >= 1 (copying: ${fmtRatio(r.encodeTree?.tsOverTwisted ?? null)})`, value: v, goal: 1, met: v === null ? null : v >= 1 });
}
for (const r of rows) {
  if (r.payload === "string") continue;
  for (const op of ["encode", "decode"] as const) {
    const v = r[op].tsOverTwisted;
    targets.push({ what: `${r.payload} ${op} TS/Twisted >= 20x`, value: v, goal: 20, met: v === null ? null : v >= 20 });
  }
}
for (const r of rows) {
  if (!r.encodeTree) continue;
  const v = r.encodeTree.tsOverTwisted;
  targets.push({ what: `(for information) ${r.payload} encode through jelly()'s expression, TS/Twisted`, value: v, goal: 20, met: v === null ? null : v >= 20 });
}
if (memcpy) {
  // The decoder must deliver a new array (the string arrives in ten chunks), so the copy it is held
  // to is the one that also makes a new array: slice(). Against set() into a warm preallocated
  // array it is shown too; that ratio depends on whether the allocator hands back warm memory.
  const v = memcpy.stringDecodeOverSlice;
  targets.push({ what: "600 KiB string decode >= 0.5 x one memory copy (slice)", value: v, goal: 0.5, met: v >= 0.5 });
  const str = rows.find((r) => r.payload === "string");
  if (str) {
    const e = str.encode.ts.ops / memcpy.slice.ops;
    targets.push({ what: "600 KiB string encode (by reference) >= 0.5 x one memory copy (slice)", value: e, goal: 0.5, met: e >= 0.5 });
  }
  targets.push({ what: "(for information) 600 KiB string decode / set() into a preallocated array", value: memcpy.stringDecodeOverSet, goal: 0.5, met: memcpy.stringDecodeOverSet >= 0.5 });
}

const out: string[] = [];
out.push(
  `Node ${process.version}${py ? `, Twisted ${py.twisted} on Python ${py.python}` : ", Twisted not run"}, msgpackr native acceleration: ${isNativeAccelerationEnabled ? "on" : "off"}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)} at the end`,
);
out.push(`per second of process CPU time (wall-clock rates in the JSON), median of ${SAMPLES} samples of ~${SAMPLE_MS} ms after ${WARMUP_MS} ms warm-up (Twisted: scripts/bench_twisted.py); decode fed ${CHUNK / 1024} KiB Buffer chunks; MB = 10^6 bytes of each format's own encoding (bytes column: banana/msgpack)`);
out.push(`${ROUNDS} round(s) of Twisted then TS (TS and msgpackr samples alternating); each figure is the best of its round medians`);
out.push("");
out.push(...lines);
if (memcpy) {
  out.push("");
  out.push(
    `600 KiB string (measured in turns): decode ${fmtMB(memcpy.decode.mbps)} MB/s; one memory copy: slice() ${fmtMB(memcpy.slice.mbps)} MB/s, set() ${fmtMB(memcpy.set.mbps)} MB/s; ` +
      `decode / copy = ${memcpy.stringDecodeOverSlice.toFixed(2)} (slice), ${memcpy.stringDecodeOverSet.toFixed(2)} (set)`,
  );
}
out.push("");
out.push("targets:");
for (const t of targets) {
  const v = t.value === null ? "n/a" : t.goal >= 1 ? fmtRatio(t.value) : t.value.toFixed(2);
  const mark = t.what.startsWith("(") ? "    " : t.met === null ? "n/a " : t.met ? "MET " : "MISS";
  out.push(`  ${mark}  ${t.what}: ${v}`);
}
if (mismatches.length) {
  out.push("");
  out.push("WIRE MISMATCH between TS and Twisted:");
  for (const m of mismatches) out.push(`  ${m}`);
}
const ladder = argv.includes("--no-ladder") || (ONLY && !ONLY_LADDER) ? null : await sizeLadder(LADDER_FAMILIES);
if (ladder) {
  const cell = (x: LadderSide) => `${x.nsPerByte.toFixed(2)} ${`${x.spreadPct.toFixed(0)}%`.padStart(4)} ${`${x.gcMinorPct.toFixed(0)}+${x.gcMajorPct.toFixed(0)}%`.padStart(6)}`;
  const w = 19;
  out.push("");
  out.push("size ladder: ns per byte (of banana; msgpackr: of msgpack), spread, share of the sample's wall time in GC pauses (minor+major, the closing full GC included)");
  out.push(`  ${"payload".padEnd(14)} ${"bytes".padStart(9)} ${"mp bytes".padStart(9)} ${"encode(parts)".padStart(w)} ${"encode()".padStart(w)} ${"msgpackr enc".padStart(w)} ${"decode".padStart(w)} ${"msgpackr dec".padStart(w)} ${"floor (build)".padStart(w)} ${"floor (walk)".padStart(w)}`);
  for (const x of ladder.steps) {
    out.push(
      `  ${`${x.family} ${x.size}`.padEnd(14)} ${String(x.bytes).padStart(9)} ${String(x.msgpackBytes).padStart(9)} ${cell(x.encode).padStart(w)} ${cell(x.encodeOne).padStart(w)} ${cell(x.msgpackrEncode).padStart(w)} ${cell(x.decode).padStart(w)} ${cell(x.msgpackrDecode).padStart(w)} ${cell(x.floorBuild).padStart(w)} ${cell(x.floorWalk).padStart(w)}`,
    );
  }
  out.push("  encode(parts): encodeParts(), the broker's send path (a message past 1 MiB handed over in chunks, large strings by reference); encode(): one fresh array");
  out.push("  floor (build): the decoded result's graph built again by a plain loop from known parts (no parsing), per byte of banana: what the result itself costs");
  out.push("  floor (walk): the value's items and keys visited once, its containers remembered in an identity set (no writing), per byte of banana: what jelly must do before encoding");
  for (const [family, r] of Object.entries(ladder.flatness)) {
    for (const op of ["encode", "encodeOne", "decode"] as const) {
      const v = r[op];
      const yard = op === "decode" ? r.msgpackrDecode : r.msgpackrEncode;
      const floor = op === "decode" ? `; the floor (building the result alone): ${r.floorBuild.toFixed(2)}` : family === "string" ? "" : `; the floor (walking the value alone): ${r.floorWalk.toFixed(2)}`;
      const name = op === "encodeOne" ? "encode()" : op === "encode" ? "encode (parts)" : "decode";
      targets.push({ what: `size ladder, ${family} ${name}: dearest ns per byte / smallest size's <= 2 (msgpackr: ${yard.toFixed(2)})`, value: v, goal: 2, met: v <= 2 });
      const loop = ladder.flatnessWithoutClosingGc[family][op];
      out.push(
        `  ${v <= 2 ? "MET " : "MISS"}  ${family} ${name}: dearest ns per byte at any size / at the smallest = ${v.toFixed(2)} (target <= 2; msgpackr on the same values: ${yard.toFixed(2)}${floor}; without the closing GC: ${loop.toFixed(2)})`,
      );
    }
  }
}
console.log(out.join("\n"));

mkdirSync(join(root, "reports"), { recursive: true });
const jsonPath = join(root, "reports", "bench-codec.json");
writeFileSync(
  jsonPath,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      twisted: py ? { version: py.twisted, python: py.python, runs: pyRuns } : null,
      rounds: passes,
      machine: { cpus: cpus().length, loadavg: loadavg() },
      msgpackrNative: isNativeAccelerationEnabled,
      settings: { samples: SAMPLES, sampleMs: SAMPLE_MS, warmupMs: WARMUP_MS, rounds: ROUNDS, chunk: CHUNK, mb: MB },
      payloads: rows,
      memcpy,
      targets,
      sizeLadder: ladder,
      wireMismatches: mismatches,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nwrote ${jsonPath}`);
void sink;
if (mismatches.length) process.exitCode = 1;
