// Codec benchmark: the same four payloads encoded and decoded by this package, by Twisted itself
// (scripts/bench_twisted.py, spawned before and after, never alongside), and by msgpackr, the
// codec a Node user would otherwise reach for. Decoding is fed 64 KiB chunks, as a socket
// delivers them. Prints a table and writes reports/bench-codec.json.
//
//   node --import tsx scripts/bench.ts [--quick] [--no-twisted] [--only=call,list,string,dict]
//
// This is a script, never a test: timings depend on the machine and on what else runs on it.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pack, unpack, isNativeAccelerationEnabled } from "msgpackr";
import { requirePython } from "../interop/find-python.mjs";
import { BananaDecoder, BananaEncoder, type Sexp } from "../src/banana/index.ts";
import { jelly, tuple, unjelly } from "../src/jelly/index.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const NO_TWISTED = argv.includes("--no-twisted");
const ONLY = argv.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const SAMPLES = QUICK ? 3 : 7;
const SAMPLE_MS = QUICK ? 50 : 200;
const WARMUP_MS = QUICK ? 100 : 1000; // long enough for V8 to settle on optimized code
const CHUNK = 64 * 1024;
const MB = 1e6;

// ---- the payloads (scripts/bench_twisted.py builds the same ones) ----------------------------

const utf8 = new TextEncoder();
const callArgs = tuple(1, "hello", 3.5);
const callKw = new Map<string, unknown>(); // the broker sends kwargs as a Map
const listValue: (number | Uint8Array)[] = Array.from({ length: 10000 }, (_, i) => (i % 2 === 0 ? i : utf8.encode(`item${i}`)));
const stringValue = Uint8Array.from({ length: 600 * 1024 }, (_, i) => (i * 7) % 251);
const dictValue: Record<string, unknown> = {};
for (let i = 0; i < 1000; i++) {
  dictValue[`key${i}`] = { id: i, score: i + 0.25, name: `name${i}`, tags: [i, i + 1, i + 2], extra: null };
}

// ---- timing -------------------------------------------------------------------------------------

interface Measurement {
  /** Median over the samples of operations per second of CPU time used by this process. */
  ops: number;
  samples: number[];
  /** The same by the wall clock (lower when other processes take the CPU). */
  wallOps: number;
  iterations: number;
}

let sink: unknown;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Median ops/s over SAMPLES runs of about SAMPLE_MS each, after a warm-up. Rates are per second of
 * CPU time of this process (which counts V8's GC and compiler threads too), so that other work on
 * a shared machine does not skew the ratios; scripts/bench_twisted.py measures the same way.
 */
function measure(fn: () => unknown): Measurement {
  const warmEnd = performance.now() + WARMUP_MS;
  let n = 0;
  while (performance.now() < warmEnd || n < 2) {
    sink = fn();
    n++;
  }
  // Calibrate on a batch, so that fast operations are not timed one by one.
  let iterations = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) sink = fn();
    const dt = performance.now() - t0;
    if (dt >= SAMPLE_MS / 10) {
      iterations = Math.max(1, Math.round((iterations * SAMPLE_MS) / dt));
      break;
    }
    iterations *= 4;
  }
  const samples: number[] = [];
  const wall: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const c0 = cpuSeconds();
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) sink = fn();
    wall.push((iterations * 1000) / (performance.now() - t0));
    samples.push(iterations / (cpuSeconds() - c0));
  }
  return { ops: median(samples), samples, wallOps: median(wall), iterations };
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

function runTwisted(): PyReport | null {
  if (NO_TWISTED) return null;
  const py = requirePython();
  process.stderr.write(`[bench] Twisted ${py.twistedVersion} on Python ${py.pythonVersion} (${py.path})...\n`);
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
  encode: () => Uint8Array;
  decode: (chunks: Uint8Array[]) => unknown;
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

function sameBytes(a: unknown, b: Uint8Array): boolean {
  return a instanceof Uint8Array && Buffer.compare(a, b) === 0;
}

const cases: Case[] = [
  {
    name: "call",
    label: "call message",
    // Broker._sendMessage: jelly the args and kwargs, then one banana list.
    encode: () => encoder.encode(["message", 17, 0, "echo", 1, jelly(callArgs), jelly(callKw)]),
    // Broker._recv_message: unjelly args and kwargs, each in its own scope.
    decode: (chunks) => {
      const msg = receive(chunks) as readonly Sexp[];
      return [msg[0], msg[1], msg[2], msg[3], msg[4], unjelly(msg[5]), unjelly(msg[6])];
    },
    check: (v) => {
      const m = v as unknown[];
      const args = m[5] as unknown[];
      return m[0] === "message" && args.length === 3 && args[1] === "hello" && m[6] instanceof Map;
    },
    msgpackValue: ["message", 17, 0, "echo", 1, [1, "hello", 3.5], {}],
  },
  {
    name: "list",
    label: "list 10k int/bytes",
    encode: () => encoder.encode(jelly(listValue)),
    decode: (chunks) => unjelly(receive(chunks)),
    check: (v) => {
      const a = v as unknown[];
      return a.length === listValue.length && a[0] === 0 && sameBytes(a[9999], listValue[9999] as Uint8Array);
    },
    msgpackValue: listValue,
  },
  {
    name: "string",
    label: "600 KiB bytes",
    encode: () => encoder.encode(stringValue),
    decode: (chunks) => receive(chunks),
    check: (v) => sameBytes(v, stringValue),
    msgpackValue: stringValue,
  },
  {
    name: "dict",
    label: "dict 1000 x 5 fields",
    encode: () => encoder.encode(jelly(dictValue)),
    decode: (chunks) => unjelly(receive(chunks)),
    check: (v) => v instanceof Map && v.size === 1000 && (v.get("key999") as Map<string, unknown>).get("name") === "name999",
    msgpackValue: dictValue,
  },
];

interface Side {
  ops: number;
  mbps: number;
  samples: number[];
  wallOps: number;
}
interface Row {
  payload: string;
  bytes: { banana: number; msgpack: number };
  encode: { ts: Side; twisted: Side | null; msgpackr: Side; tsOverTwisted: number | null; tsOverMsgpackr: number };
  decode: { ts: Side; twisted: Side | null; msgpackr: Side; tsOverTwisted: number | null; tsOverMsgpackr: number };
}

function side(m: Measurement, bytes: number): Side {
  return { ops: m.ops, mbps: (m.ops * bytes) / MB, samples: m.samples, wallOps: m.wallOps };
}

function msgpackDecode(chunks: Uint8Array[]): unknown {
  // A framed msgpack protocol joins the chunks of a message, then unpacks it.
  return unpack(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
}

// ---- run --------------------------------------------------------------------------------------------

// Twisted runs before and after this process measures, so that a load that comes and goes on the
// machine does not favour us: each Twisted figure is the faster of its two medians.
const pyRuns: PyReport[] = [];
const first = runTwisted();
if (first) pyRuns.push(first);

interface Measured {
  c: Case;
  wire: Uint8Array;
  mpBytes: number;
  tsEnc: Side;
  tsDec: Side;
  mpEnc: Side;
  mpDec: Side;
}
const measured: Measured[] = [];
let memcpy: { set: Side; slice: Side; stringDecodeOverSet: number; stringDecodeOverSlice: number } | null = null;

for (const c of cases) {
  if (ONLY && !ONLY.includes(c.name)) continue;
  process.stderr.write(`[bench] ${c.label}...\n`);
  const wire = c.encode();
  const chunks = chunked(wire);
  if (!c.check(c.decode(chunks))) throw new Error(`${c.name}: round trip failed`);
  const mp = pack(c.msgpackValue);
  const mpChunks = chunked(new Uint8Array(mp));
  const tsEnc = side(measure(c.encode), wire.length);
  const tsDec = side(measure(() => c.decode(chunks)), wire.length);
  const mpEnc = side(measure(() => pack(c.msgpackValue)), mp.length);
  const mpDec = side(measure(() => msgpackDecode(mpChunks)), mp.length);
  measured.push({ c, wire, mpBytes: mp.length, tsEnc, tsDec, mpEnc, mpDec });

  if (c.name === "string") {
    // One plain memory copy of the same 600 KiB, both ways a JS program copies bytes: set() into
    // an array made once (cache-warm, no allocation), and slice() (a new array, as a decoded string is).
    process.stderr.write("[bench] memory copy...\n");
    const dst = new Uint8Array(stringValue.length);
    const set = side(
      measure(() => {
        dst.set(stringValue);
        return dst;
      }),
      stringValue.length,
    );
    const slice = side(
      measure(() => stringValue.slice()),
      stringValue.length,
    );
    // Bytes of string per second: the wire adds 5 bytes of header to the 614,400.
    const payloadRate = tsDec.ops * stringValue.length;
    memcpy = {
      set,
      slice,
      stringDecodeOverSet: payloadRate / (set.ops * stringValue.length),
      stringDecodeOverSlice: payloadRate / (slice.ops * stringValue.length),
    };
  }
}

const second = pyRuns.length ? runTwisted() : null;
if (second) pyRuns.push(second);

/** The faster of the Twisted medians for one payload and operation. */
function twistedSide(name: string, op: "encode" | "decode"): Side | null {
  let best: Side | null = null;
  for (const run of pyRuns) {
    const p = run.payloads[name];
    if (!p) continue;
    const s = side(p[op], p.bytes);
    if (!best || s.ops > best.ops) best = s;
  }
  return best;
}

const rows: Row[] = [];
const mismatches: string[] = [];
for (const m of measured) {
  const { c, wire } = m;
  for (const run of pyRuns.slice(0, 1)) {
    const pyc = run.payloads[c.name];
    if (pyc && (pyc.bytes !== wire.length || pyc.sha256 !== sha256(wire))) {
      mismatches.push(`${c.name}: TS wrote ${wire.length} bytes${pyc.hex ? ` (${toHex(wire)})` : ""}, Twisted ${pyc.bytes}${pyc.hex ? ` (${pyc.hex})` : ""}`);
    }
  }
  const pyEnc = twistedSide(c.name, "encode");
  const pyDec = twistedSide(c.name, "decode");
  rows.push({
    payload: c.name,
    bytes: { banana: wire.length, msgpack: m.mpBytes },
    encode: { ts: m.tsEnc, twisted: pyEnc, msgpackr: m.mpEnc, tsOverTwisted: pyEnc ? m.tsEnc.ops / pyEnc.ops : null, tsOverMsgpackr: m.tsEnc.ops / m.mpEnc.ops },
    decode: { ts: m.tsDec, twisted: pyDec, msgpackr: m.mpDec, tsOverTwisted: pyDec ? m.tsDec.ops / pyDec.ops : null, tsOverMsgpackr: m.tsDec.ops / m.mpDec.ops },
  });
}
const py = pyRuns[0] ?? null;

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

const header = ["payload", "bytes", "op", "TS msg/s", "TS MB/s", "Twisted msg/s", "Tw MB/s", "msgpackr msg/s", "mp MB/s", "TS/Twisted", "TS/msgpackr"];
const widths = [22, 15, 7, 9, 8, 13, 8, 14, 8, 10, 11];
const lines: string[] = [];
lines.push(header.map((h, i) => pad(h, widths[i], i < 3)).join(" "));
lines.push(widths.map((w) => "-".repeat(w)).join(" "));
for (const r of rows) {
  const label = cases.find((c) => c.name === r.payload)!.label;
  for (const op of ["encode", "decode"] as const) {
    const x = r[op];
    lines.push(
      [
        pad(op === "encode" ? label : "", widths[0], true),
        pad(op === "encode" ? `${r.bytes.banana}/${r.bytes.msgpack}` : "", widths[1], true),
        pad(op, widths[2], true),
        pad(fmtOps(x.ts.ops), widths[3]),
        pad(fmtMB(x.ts.mbps), widths[4]),
        pad(x.twisted ? fmtOps(x.twisted.ops) : "-", widths[5]),
        pad(x.twisted ? fmtMB(x.twisted.mbps) : "-", widths[6]),
        pad(fmtOps(x.msgpackr.ops), widths[7]),
        pad(fmtMB(x.msgpackr.mbps), widths[8]),
        pad(fmtRatio(x.tsOverTwisted), widths[9]),
        pad(fmtRatio(x.tsOverMsgpackr), widths[10]),
      ].join(" "),
    );
  }
}

interface Target {
  what: string;
  value: number | null;
  goal: number;
  met: boolean | null;
}
const targets: Target[] = [];
for (const r of rows) {
  if (r.payload === "string") continue;
  for (const op of ["encode", "decode"] as const) {
    const v = r[op].tsOverTwisted;
    targets.push({ what: `${r.payload} ${op} TS/Twisted >= 20x`, value: v, goal: 20, met: v === null ? null : v >= 20 });
  }
}
if (memcpy) {
  // The decoder must deliver a new array (the string arrives in ten chunks), so the copy it is held
  // to is the one that also makes a new array: slice(). Against set() into a warm preallocated
  // array it is shown too; that ratio depends on whether the allocator hands back warm memory.
  const v = memcpy.stringDecodeOverSlice;
  targets.push({ what: "600 KiB string decode >= 0.5 x one memory copy (slice)", value: v, goal: 0.5, met: v >= 0.5 });
  targets.push({ what: "(for information) 600 KiB string decode / set() into a preallocated array", value: memcpy.stringDecodeOverSet, goal: 0.5, met: memcpy.stringDecodeOverSet >= 0.5 });
}

const out: string[] = [];
out.push(
  `Node ${process.version}${py ? `, Twisted ${py.twisted} on Python ${py.python}` : ", Twisted not run"}, msgpackr native acceleration: ${isNativeAccelerationEnabled ? "on" : "off"}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)} at the end`,
);
out.push(`per second of process CPU time (wall-clock rates in the JSON), median of ${SAMPLES} samples of ~${SAMPLE_MS} ms after ${WARMUP_MS} ms warm-up; decode fed ${CHUNK / 1024} KiB Buffer chunks; MB = 10^6 bytes of each format's own encoding (bytes column: banana/msgpack)`);
if (pyRuns.length > 1) out.push("Twisted measured before and after; each Twisted figure is the faster of the two medians");
out.push("");
out.push(...lines);
if (memcpy) {
  out.push("");
  const dec = rows.find((r) => r.payload === "string")!.decode.ts;
  out.push(
    `600 KiB string: decode ${fmtMB((dec.ops * stringValue.length) / MB)} MB/s; one memory copy: set() ${fmtMB(memcpy.set.mbps)} MB/s, slice() ${fmtMB(memcpy.slice.mbps)} MB/s; ` +
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
      machine: { cpus: cpus().length, loadavg: loadavg() },
      msgpackrNative: isNativeAccelerationEnabled,
      settings: { samples: SAMPLES, sampleMs: SAMPLE_MS, warmupMs: WARMUP_MS, chunk: CHUNK, mb: MB },
      payloads: rows,
      memcpy,
      targets,
      wireMismatches: mismatches,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nwrote ${jsonPath}`);
void sink;
if (mismatches.length) process.exitCode = 1;
