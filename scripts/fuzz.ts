// Property fuzzing for banana + jelly. The arbitraries and checks are exported for
// test/fuzz.test.ts (a short run in the suite); run directly, this is the long run:
//
//   node --import tsx scripts/fuzz.ts [seconds=60] [seed]      (or: npm run fuzz -- [seconds] [seed])
//
// It prints the seed, runs every property in rounds until the time budget is spent, and prints
// one summary line. It exits 1 on an exception of an unexpected type, a round trip that changes
// the bytes, or an input that hangs (a watchdog thread notices), printing the input in hex.
// The hostile mode (scripts/fuzz-hostile.ts: reference doubling, long runs of one character in
// every text field, huge announced sizes) runs with the rest; the summary names the slowest
// input of the run and the peak memory. `--hostile` runs only the hostile properties.
import fc from "fast-check";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BananaDecoder, BananaError, encode, floatValue, PyFloat, VOCABULARY, type Dialect, type Sexp } from "../src/banana/index.ts";
import {
  DummySecurityOptions, dumps, FrozenSet, InsecureJelly, JellyError, loads, PyDate, PyDateTime, PyDecimal, PyTime, PyTimeDelta, SecurityOptions,
  tuple, unjelly, UnjellyableRegistry, type UnjellyOptions,
} from "../src/jelly/index.ts";
import { announced, ANNOUNCED_MAX_GROWTH, checkAnnounced, checkHostileSexp, hostileSexp, SLOW_MS } from "./fuzz-hostile.ts";

const textEncoder = new TextEncoder();
const utf8 = (s: string): Uint8Array => textEncoder.encode(s);

export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Largest magnitude banana carries with the default 64-digit prefix. */
export const MAX_INT = 2n ** 448n - 1n;

/** Errors a hostile peer may legitimately provoke. Anything else is a bug. */
export function isExpectedError(e: unknown): boolean {
  return e instanceof BananaError || e instanceof JellyError || e instanceof InsecureJelly;
}

/** A check failed in a way that is a bug (a wrong round trip, or an unexpected exception type). */
export class FuzzFailure extends Error {
  override name = "FuzzFailure";
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

const ymd = fc
  .tuple(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }))
  .map(([y, m, d]) => [y, m, Math.min(d, daysIn(y, m))] as const);
const hmsu = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 999_999 }));

const pyDateTime = fc.tuple(ymd, hmsu).map(([[y, m, d], [h, mi, s, us]]) => new PyDateTime(y, m, d, h, mi, s, us));
const pyDate = ymd.map(([y, m, d]) => new PyDate(y, m, d));
const pyTime = hmsu.map(([h, mi, s, us]) => new PyTime(h, mi, s, us));
const pyTimeDelta = fc
  .tuple(fc.integer({ min: -999_999_999, max: 999_999_999 }), fc.integer({ min: 0, max: 86_399 }), fc.integer({ min: 0, max: 999_999 }))
  .map(([d, s, us]) => new PyTimeDelta(d, s, us));
const pyDecimal = fc
  .tuple(fc.oneof(fc.bigInt({ min: -1000n, max: 1000n }), fc.bigInt({ min: -MAX_INT, max: MAX_INT })), fc.oneof(fc.integer({ min: -30, max: 30 }), fc.maxSafeInteger()))
  .map(([c, e]) => new PyDecimal(c, e));

const intEdges = fc.constantFrom(0, 1, -1, 127, 128, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER);
const ints = fc.oneof(fc.maxSafeInteger(), intEdges, fc.integer({ min: -300, max: 300 }));
const bigints = fc.oneof(fc.bigInt({ min: -MAX_INT, max: MAX_INT }), fc.constantFrom(MAX_INT, -MAX_INT, 2n ** 53n, -(2n ** 53n), 2n ** 64n));
const doubles = fc.oneof(fc.double(), fc.constantFrom(-0, NaN, Infinity, -Infinity, 0.5, 2 ** 60, Number.MIN_VALUE));
const pyFloats = fc.oneof(fc.double({ noNaN: true }).map((v) => new PyFloat(Math.trunc(v))), fc.constantFrom(0, -0, 1, -1, 2 ** 53).map((v) => new PyFloat(v)));
const atoms = VOCABULARY.slice(1);
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom(...atoms, "unicode", "pb", "").map(utf8),
);
const strings = fc.oneof(
  fc.string({ unit: "binary", maxLength: 16 }),
  fc.string({ maxLength: 16 }),
  fc.constantFrom(...atoms, "unicode", "__proto__", "constructor", "", "\u{1F600}", "\uFFFF\u{10FFFF}"),
);

/**
 * Map/Set identity after a round trip: safe bigints come back as numbers, and so do floats that
 * need no PyFloat wrapper (two PyFloat(2**53) are one Python float key, as they are one JS number).
 */
export function hashKey(v: unknown): unknown {
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (v instanceof PyFloat) {
    const f = floatValue(v.value);
    return f instanceof PyFloat ? v : f;
  }
  return v;
}

const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  ints,
  bigints,
  doubles,
  pyFloats,
  bytes,
  strings,
  pyDateTime,
  pyDate,
  pyTime,
  pyTimeDelta,
  pyDecimal,
);

const uniqueOpts = { selector: hashKey, comparator: "SameValueZero" as const, maxLength: 4 };

/** Values that survive dumps -> loads -> dumps with the very same bytes. */
export const losslessValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; hashable: unknown; container: unknown }>((tie) => {
  const list = fc.array(tie("value"), { maxLength: 4 });
  const map = fc
    .uniqueArray(fc.tuple(tie("hashable"), tie("value")), { ...uniqueOpts, selector: ([k]) => hashKey(k) })
    .map((entries) => new Map(entries));
  const set = fc.uniqueArray(tie("hashable"), uniqueOpts).map((items) => new Set(items));
  return {
    value: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalar, tie("container")),
    hashable: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      scalar,
      fc.array(tie("hashable"), { maxLength: 3 }).map((items) => tuple(...items)),
      fc.uniqueArray(tie("hashable"), uniqueOpts).map((items) => new FrozenSet(items)),
    ),
    container: fc.oneof(
      list,
      list.map((items) => tuple(...items)),
      map,
      set,
      fc.uniqueArray(tie("hashable"), uniqueOpts).map((items) => new FrozenSet(items)),
      fc.dictionary(fc.string({ maxLength: 8 }), tie("value"), { maxKeys: 4 }),
      // Shared and cyclic containers: [reference, n, ...] and [dereference, n].
      fc.oneof(list, map, set).map((c) => [c, tuple(c), c]),
      list.map((l) => {
        l.push(l);
        return l;
      }),
      map.map((m) => m.set("self", m)),
    ),
  };
}).value;

/** Cut points for splitting `length` bytes into chunks. */
export const cutPoints = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 });

export function chunks(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * data.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(data.slice(at, p));
    at = p;
  }
  out.push(data.slice(at));
  return out;
}

/** Bytes that look like banana more often than uniform noise does. */
export const bananaishBytes = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 12 }) },
    { weight: 4, arbitrary: fc.integer({ min: 0x80, max: 0x87 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  ),
  { maxLength: 200 },
).map((b) => Uint8Array.from(b));

export const randomBytes = fc.oneof(fc.uint8Array({ maxLength: 200 }), bananaishBytes);

type Mutation = { op: "flip" | "set" | "insert" | "delete" | "truncate" | "dup"; at: number; value: number; len: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom("flip", "set", "insert", "delete", "truncate", "dup"),
  at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }).map((x) => x),
  value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0xff, 1, 0)),
  len: fc.integer({ min: 1, max: 16 }),
}) as fc.Arbitrary<Mutation>;

export function mutate(data: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = Array.from(data);
  for (const m of mutations) {
    const at = Math.floor(m.at * (b.length + 1));
    switch (m.op) {
      case "flip":
        if (at < b.length) b[at] ^= 1 << (m.value & 7);
        break;
      case "set":
        if (at < b.length) b[at] = m.value;
        break;
      case "insert":
        b.splice(at, 0, m.value);
        break;
      case "delete":
        b.splice(at, m.len);
        break;
      case "truncate":
        b = b.slice(0, at);
        break;
      case "dup":
        b.splice(at, 0, ...b.slice(at, at + m.len));
        break;
    }
  }
  return Uint8Array.from(b);
}

/** A valid encoding with a few byte-level mutations. */
export const mutatedEncoding = fc
  .tuple(losslessValue, fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([v, ms]) => mutate(dumps(v), ms));

const TAGS = [
  "None", "unicode", "boolean", "list", "tuple", "dictionary", "set", "frozenset", "reference", "dereference", "datetime", "date", "time",
  "timedelta", "decimal", "unpersistable", "persistent", "class", "module", "function", "instance", "method", "m.C", "m.D", "x", "",
];

/** Jelly-shaped expressions built from the grammar of tags, with junk mixed in. */
export const jellyishSexp: fc.Arbitrary<Sexp> = fc.letrec<{ node: Sexp }>((tie) => {
  const atom: fc.Arbitrary<Sexp> = fc.oneof(
    fc.integer({ min: -2, max: 4 }),
    fc.constantFrom<Sexp>(0.5, NaN, -0, new PyFloat(1), 2n ** 70n, Number.MAX_SAFE_INTEGER),
    fc.constantFrom("true", "false", "2020 1 2", "1 2 3 4", "2020 2 30", "x y", "m.C", "m", "", "\u00e9").map(utf8),
    fc.uint8Array({ maxLength: 6 }),
    fc.constantFrom(...TAGS),
  );
  const tagged = fc
    .tuple(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...TAGS) }, { weight: 1, arbitrary: atom }), fc.array(tie("node"), { maxLength: 4 }))
    .map(([tag, rest]): Sexp => [tag, ...rest]);
  return {
    node: fc.oneof({ depthSize: "small", withCrossShrink: true }, atom, tagged, tagged, fc.array(tie("node"), { maxLength: 3 })),
  };
}).node;

// ---------------------------------------------------------------------------------------------
// Checks

const fuzzRegistry = new UnjellyableRegistry();

/** Every way a receiver may unjelly (an empty registry keeps PB's handlers out of it). */
export const UNJELLY_OPTIONS: UnjellyOptions[] = [
  { registry: fuzzRegistry },
  { registry: fuzzRegistry, mode: "js" },
  { registry: fuzzRegistry, mode: "js", bytesAsText: true },
  { registry: fuzzRegistry, security: new DummySecurityOptions() },
  { registry: fuzzRegistry, security: new SecurityOptions().allowInstancesOf("m.C").allowTypes("function").allowModules("m"), mode: "js" },
];

function unexpected(what: string, input: Uint8Array | null, e: unknown): FuzzFailure {
  const err = e as Error;
  const detail = err?.stack ?? String(e);
  return new FuzzFailure(`${what}: unexpected ${err?.name ?? typeof e}: ${err?.message ?? String(e)}${input ? `\ninput hex: ${hex(input)}` : ""}\n${detail}`);
}

/** Runs f; an expected error gives undefined, any other error is a FuzzFailure. */
function tolerate<T>(what: string, input: Uint8Array | null, f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (isExpectedError(e)) return undefined;
    throw unexpected(what, input, e);
  }
}

/** Decodes all of `data` (in the given chunks) and returns the items, or undefined on a BananaError. */
function decodeChunks(data: Uint8Array, parts: readonly Uint8Array[], dialect: Dialect | null): Sexp[] | undefined {
  const items: Sexp[] = [];
  return tolerate("banana decode", data, () => {
    const d = new BananaDecoder((x) => items.push(x), { dialect });
    for (const p of parts) d.feed(p);
    return items;
  });
}

/** (1) dumps -> loads -> dumps gives the same bytes, whole and fed in chunks; js mode accepts it. */
export function checkRoundTrip(value: unknown, cuts: readonly number[]): void {
  const first = dumps(value);
  const again = (v: unknown, how: string) => {
    const b = dumps(v);
    if (hex(b) !== hex(first)) throw new FuzzFailure(`round trip (${how}) changed the bytes\n first: ${hex(first)}\nsecond: ${hex(b)}`);
  };
  let back: unknown;
  try {
    back = loads(first);
  } catch (e) {
    throw unexpected("loads of a valid encoding", first, e);
  }
  again(back, "whole");
  const items: Sexp[] = [];
  const decoder = new BananaDecoder((x) => items.push(x), { dialect: "pb" });
  for (const part of chunks(first, cuts)) decoder.feed(part);
  if (decoder.pending || items.length !== 1) throw new FuzzFailure(`chunked decode gave ${items.length} items, pending ${decoder.pending}\ninput hex: ${hex(first)}`);
  again(unjelly(items[0]), "chunked");
  try {
    loads(first, { mode: "js" });
  } catch (e) {
    throw unexpected("js-mode loads of a valid encoding", first, e);
  }
}

/**
 * (2, 3) Hostile bytes: decoding and unjellying raise only BananaError/JellyError/InsecureJelly,
 * however the bytes are split; whatever loads accepts dumps again, and that is a fixed point.
 */
export function checkHostileBytes(data: Uint8Array, cuts: readonly number[]): void {
  for (const dialect of ["pb", "none", null] as const) {
    const whole = decodeChunks(data, [data], dialect);
    const split = decodeChunks(data, chunks(data, cuts), dialect);
    if ((whole === undefined) !== (split === undefined) || (whole && split && whole.length !== split.length)) {
      throw new FuzzFailure(`decoding depends on the chunking (dialect ${dialect})\ninput hex: ${hex(data)}`);
    }
    for (const item of whole ?? []) {
      for (const options of UNJELLY_OPTIONS) tolerate("unjelly", data, () => unjelly(item, options));
    }
  }
  const value = tolerate("loads", data, () => loads(data, { registry: fuzzRegistry }));
  if (value !== undefined) checkFixedPoint(value, data);
}

/** dumps(value) must work and loads/dumps must then give the same bytes. */
function checkFixedPoint(value: unknown, input: Uint8Array | null): void {
  const b1 = tolerate("dumps of an unjellied value", input, () => dumps(value));
  if (b1 === undefined) return;
  let b2: Uint8Array;
  try {
    b2 = dumps(loads(b1, { registry: fuzzRegistry }));
  } catch (e) {
    throw unexpected(`loads/dumps of our own encoding ${hex(b1)}`, input, e);
  }
  if (hex(b1) !== hex(b2)) throw new FuzzFailure(`loads/dumps is not a fixed point\n first: ${hex(b1)}\nsecond: ${hex(b2)}${input ? `\ninput hex: ${hex(input)}` : ""}`);
}

/** (4) Jelly-shaped expressions: unjelly raises only JellyError/InsecureJelly, in every mode. */
export function checkJellyish(sexp: Sexp): void {
  let input: Uint8Array | null = null;
  try {
    input = encode(sexp, { dialect: "pb" });
  } catch {
    input = null;
  }
  for (const options of UNJELLY_OPTIONS) tolerate("unjelly", input, () => unjelly(sexp, options));
  const value = tolerate("unjelly", input, () => unjelly(sexp, { registry: fuzzRegistry }));
  if (value !== undefined) checkFixedPoint(value, input);
}

/** (5) Hostile structures: refused or accepted and walked (rendered, counted, converted) within SLOW_MS. */
export function checkHostile(sexp: Sexp): void {
  const t = performance.now();
  checkHostileSexp(sexp, tolerate);
  const ms = performance.now() - t;
  if (ms > SLOW_MS) throw new FuzzFailure(`hostile input took ${ms.toFixed(0)} ms (more than ${SLOW_MS})\ninput hex: ${hex(encode(sexp, { dialect: "pb" })).slice(0, 2000)}`);
}

/** (6) Huge announced sizes over 200 decoders: memory follows the bytes received, not the headers. */
export function checkAnnouncedSizes(spec: readonly (readonly [number, number, number])[]): void {
  const grown = checkAnnounced(spec);
  if (grown > ANNOUNCED_MAX_GROWTH) throw new FuzzFailure(`200 decoders waiting on announced sizes grew array buffers by ${grown} bytes: ${JSON.stringify(spec)}`);
}

export const properties = {
  roundtrip: fc.property(losslessValue, cutPoints, (v, cuts) => checkRoundTrip(v, cuts)),
  random: fc.property(randomBytes, cutPoints, (b, cuts) => checkHostileBytes(b, cuts)),
  mutated: fc.property(mutatedEncoding, cutPoints, (b, cuts) => checkHostileBytes(b, cuts)),
  sexp: fc.property(jellyishSexp, (s) => checkJellyish(s)),
  hostile: fc.property(hostileSexp, (s) => checkHostile(s)),
  announced: fc.property(announced, (spec) => checkAnnouncedSizes(spec)),
};

export type PropertyName = keyof typeof properties;

/** The input of a counterexample, in hex, for the report. */
export function counterexampleHex(name: PropertyName, example: readonly unknown[]): string {
  try {
    if (name === "roundtrip") return hex(dumps(example[0]));
    if (name === "sexp" || name === "hostile") return hex(encode(example[0] as Sexp, { dialect: "pb" })).slice(0, 4000);
    if (name === "announced") return JSON.stringify(example[0]);
    return hex(example[0] as Uint8Array);
  } catch (e) {
    return `(cannot encode: ${(e as Error).message}) ${fc.stringify(example)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The long run: a worker does the fuzzing, the main thread watches for hangs.

interface WorkerInput {
  fuzzWorker: true;
  seconds: number;
  seed: number;
  /** Only the hostile properties. */
  hostileOnly: boolean;
  progress: SharedArrayBuffer;
  current: SharedArrayBuffer;
}

type WorkerReport =
  | { kind: "done"; runs: Record<PropertyName, number>; rounds: number; slowest: Slowest[]; peakHeap: number }
  | { kind: "failure"; property: PropertyName; seed: number; path: string | null; inputHex: string; message: string; example: string };

/**
 * The slowest single input of a property in a run: how long, how many bytes, its start in hex,
 * and how long it took when run again at the end (a first time can include a collection or the
 * machine's other work; an input that is slow in itself is slow again).
 */
interface Slowest {
  property: PropertyName;
  ms: number;
  bytes: number;
  hexStart: string;
  rerunMs: number | null;
}

/** Runs an input again from its recorded bytes, where the property's input is bytes; its time in ms, or null. */
function rerun(name: PropertyName, input: Uint8Array): number | null {
  const t = performance.now();
  if (name === "random" || name === "mutated") checkHostileBytes(input, []);
  else if (name === "hostile") checkHostile(decodeOne(input));
  else return null;
  return performance.now() - t;
}

function decodeOne(bytes: Uint8Array): Sexp {
  const items: Sexp[] = [];
  new BananaDecoder((x) => items.push(x), { dialect: "pb" }).feed(bytes);
  return items[0];
}

const HANG_SECONDS = 20;
const CURRENT_MAX = 1 << 20;

function runWorker({ seconds, seed, hostileOnly, progress, current }: WorkerInput): void {
  const beat = new Int32Array(progress);
  const currentLength = new Int32Array(current, 0, 2);
  const currentBytes = new Uint8Array(current, 8);
  const slowest = new Map<PropertyName, { ms: number; input: Uint8Array }>();
  let peakHeap = 0;
  let started = 0;
  let currentName: PropertyName | "" = "";
  let currentInput: Uint8Array = new Uint8Array(0);
  // The previous input's time is taken when the next one starts (and at the end of a batch).
  const finishRun = () => {
    if (currentName === "") return;
    const ms = performance.now() - started;
    if (ms > (slowest.get(currentName)?.ms ?? -1)) slowest.set(currentName, { ms, input: currentInput });
    currentName = "";
  };
  let runsSinceSample = 0;
  const record = (name: PropertyName, data: Uint8Array) => {
    finishRun();
    if (++runsSinceSample >= 20) {
      runsSinceSample = 0;
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
    }
    Atomics.add(beat, 0, 1);
    const n = Math.min(data.length, CURRENT_MAX);
    currentBytes.set(data.subarray(0, n));
    currentLength[0] = n;
    currentLength[1] = Object.keys(properties).indexOf(name);
    currentName = name;
    currentInput = data;
    started = performance.now();
  };
  // Watched versions of the properties: each run first records its input for the watchdog.
  const watched: Record<PropertyName, fc.IProperty<unknown[]>> = {
    roundtrip: fc.property(losslessValue, cutPoints, (v, cuts) => {
      record("roundtrip", tolerate("dumps", null, () => dumps(v)) ?? new Uint8Array(0));
      checkRoundTrip(v, cuts);
    }),
    random: fc.property(randomBytes, cutPoints, (b, cuts) => {
      record("random", b);
      checkHostileBytes(b, cuts);
    }),
    mutated: fc.property(mutatedEncoding, cutPoints, (b, cuts) => {
      record("mutated", b);
      checkHostileBytes(b, cuts);
    }),
    sexp: fc.property(jellyishSexp, (s) => {
      record("sexp", tolerate("encode", null, () => encode(s, { dialect: "pb" })) ?? new Uint8Array(0));
      checkJellyish(s);
    }),
    hostile: fc.property(hostileSexp, (s) => {
      record("hostile", encode(s, { dialect: "pb" }));
      checkHostile(s);
    }),
    announced: fc.property(announced, (spec) => {
      record("announced", new TextEncoder().encode(JSON.stringify(spec)));
      checkAnnouncedSizes(spec);
    }),
  } as Record<PropertyName, fc.IProperty<unknown[]>>;
  if (hostileOnly) for (const name of ["roundtrip", "random", "mutated", "sexp"] as const) delete (watched as Partial<typeof watched>)[name];
  const runs: Record<PropertyName, number> = { roundtrip: 0, random: 0, mutated: 0, sexp: 0, hostile: 0, announced: 0 };
  const batch: Record<PropertyName, number> = { roundtrip: 100, random: 300, mutated: 200, sexp: 300, hostile: 30, announced: 5 };
  const deadline = Date.now() + seconds * 1000;
  let round = 0;
  while (Date.now() < deadline) {
    for (const name of Object.keys(watched) as PropertyName[]) {
      const roundSeed = (seed + round * 7919 + Object.keys(watched).indexOf(name)) | 0;
      const details = fc.check(watched[name], { seed: roundSeed, numRuns: batch[name] });
      finishRun();
      runs[name] += details.numRuns;
      if (details.failed) {
        const example = details.counterexample ?? [];
        const err = details.errorInstance as Error | undefined;
        parentPort!.postMessage({
          kind: "failure",
          property: name,
          seed: roundSeed,
          path: details.counterexamplePath,
          inputHex: counterexampleHex(name, example),
          message: err instanceof Error ? (err.stack ?? err.message) : String(err),
          example: fc.stringify(example).slice(0, 4000),
        } satisfies WorkerReport);
        return;
      }
      if (Date.now() >= deadline) break;
    }
    round++;
  }
  const report: Slowest[] = [...slowest].map(([property, { ms, input }]) => ({
    property,
    ms,
    bytes: input.length,
    hexStart: hex(input.subarray(0, 32)),
    rerunMs: rerun(property, input),
  }));
  report.sort((a, b) => b.ms - a.ms);
  parentPort!.postMessage({ kind: "done", runs, rounds: round, slowest: report, peakHeap } satisfies WorkerReport);
}

function main(): void {
  const hostileOnly = process.argv.includes("--hostile");
  const args = process.argv.slice(2).filter((a) => a !== "--hostile");
  const seconds = args[0] === undefined ? 60 : Number(args[0]);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error("usage: node --import tsx scripts/fuzz.ts [seconds=60] [seed]");
    process.exit(2);
  }
  const seed = args[1] !== undefined ? Number(args[1]) | 0 : process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) | 0 : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  console.log(`fuzz: seed ${seed}, budget ${seconds} s (reproduce with: node --import tsx scripts/fuzz.ts ${seconds} ${seed})`);

  const progress = new SharedArrayBuffer(4);
  const current = new SharedArrayBuffer(8 + CURRENT_MAX);
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const self = import.meta.url;
  // Node 20 does not carry --import tsx into workers: register it in the worker first.
  const worker = new Worker(`import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(self)}); });`, {
    eval: true,
    workerData: { fuzzWorker: true, seconds, seed, hostileOnly, progress, current } satisfies WorkerInput,
  });
  const started = Date.now();
  const beat = new Int32Array(progress);
  let lastBeat = -1;
  let lastChange = Date.now();
  let finished = false;
  // Peak resident memory of the whole process (the worker included), sampled every 100 ms.
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);

  const finish = (code: number, line: string) => {
    if (finished) return;
    finished = true;
    clearInterval(watchdog);
    clearInterval(sampler);
    console.log(line);
    void worker.terminate().finally(() => process.exit(code));
  };

  const watchdog = setInterval(() => {
    const now = Atomics.load(beat, 0);
    if (now !== lastBeat) {
      lastBeat = now;
      lastChange = Date.now();
      return;
    }
    if (Date.now() - lastChange > HANG_SECONDS * 1000) {
      const lengths = new Int32Array(current, 0, 2);
      const input = new Uint8Array(current, 8, lengths[0]).slice();
      const name = Object.keys(properties)[lengths[1]] ?? "?";
      console.log(`fuzz: HANG: property ${name} made no progress for ${HANG_SECONDS} s\ninput hex: ${hex(input)}`);
      finish(1, `fuzz: FAILED (hang) after ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${seed}`);
    }
  }, 1000);

  worker.on("message", (report: WorkerReport) => {
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    if (report.kind === "done") {
      const total = Object.values(report.runs).reduce((a, b) => a + b, 0);
      const per = Object.entries(report.runs)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
      const mib = (n: number) => (n / 1048576).toFixed(1);
      for (const s of report.slowest) {
        const again = s.rerunMs === null ? "" : `, ${s.rerunMs.toFixed(1)} ms run again`;
        console.log(`fuzz: slowest ${s.property} input: ${s.ms.toFixed(1)} ms${again}, ${s.bytes} bytes, starting ${s.hexStart}`);
      }
      console.log(`fuzz: peak memory: ${mib(peakRss)} MiB resident (process), ${mib(report.peakHeap)} MiB heap + array buffers (fuzzing thread)`);
      finish(0, `fuzz: OK ${total} runs in ${elapsed} s (${per}), seed ${seed}`);
    } else {
      console.log(`fuzz: property ${report.property} failed (seed ${report.seed}, path ${report.path})`);
      console.log(`input hex: ${report.inputHex}`);
      console.log(`counterexample: ${report.example}`);
      console.log(report.message);
      finish(1, `fuzz: FAILED property ${report.property} after ${elapsed} s, seed ${seed}`);
    }
  });
  worker.on("error", (e) => finish(1, `fuzz: FAILED: the fuzzing thread crashed: ${e.stack ?? e.message}, seed ${seed}`));
  worker.on("exit", (code) => finish(1, `fuzz: FAILED: the fuzzing thread exited (${code}) without a report, seed ${seed}`));
}

const entry = process.argv[1] ? pathToFileURL(resolve(process.argv[1])).href : "";
if (!isMainThread && (workerData as Partial<WorkerInput> | null)?.fuzzWorker === true) runWorker(workerData as WorkerInput);
else if (isMainThread && entry === import.meta.url) main();
