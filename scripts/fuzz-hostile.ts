// The hostile mode of the fuzzer: structures that cost a receiver far more than they cost the
// sender. Reference doubling (a few hundred bytes, 2**40 leaves as a tree) in every place a
// received value is walked (failure type/value/parents, plain values, dictionary values, sets,
// tuples); long runs of one character in every text field (date/time texts, unicode, tags,
// class names, failure text); huge announced sizes (headers announcing 640 KiB strings and
// lists, with a few bytes of body, over many decoders at once). Each input must be refused or
// accepted, and every bounded walk over what was accepted done, within SLOW_MS.
import fc from "fast-check";
import { BananaDecoder, BananaError, encode, LIST, SIZE_LIMIT, STRING, type Sexp } from "../src/banana/index.ts";
import { describeValue, idiomatic, treeSize, unjelly, UnjellyableRegistry, valueText, type UnjellyOptions } from "../src/jelly/index.ts";
import { CopiedFailure, pbBuiltinRegistry } from "../src/pb/index.ts";

/** An input slower than this is a failure of the hostile mode. */
export const SLOW_MS = 2000;

/** PB's own tags (failures among them) and nothing else: no broker, so references to objects are refused. */
const pbRegistry = new UnjellyableRegistry(pbBuiltinRegistry);

/** How a receiver may unjelly a hostile value. */
export const HOSTILE_OPTIONS: UnjellyOptions[] = [{ registry: pbRegistry }, { registry: pbRegistry, mode: "js" }, { registry: pbRegistry, mode: "js", bytesAsText: true }];

const FAILURE_TAG = "twisted.spread.pb.CopyableFailure";

type Shape = "list" | "tuple" | "dict" | "set" | "instance";

/** `levels` of reference doubling with ids from `firstId`, each level holding the one below twice. */
export function doubling(levels: number, firstId: number, leaf: Sexp, shape: Shape): Sexp {
  let e = leaf;
  for (let k = 0; k < levels; k++) {
    const id = firstId + k;
    const ref: Sexp = ["reference", id, e];
    const deref: Sexp = ["dereference", id];
    switch (shape) {
      case "list":
      case "tuple":
        e = [shape, ref, deref];
        break;
      case "dict":
        e = ["dictionary", [["unicode", "a"], ref], [["unicode", "b"], deref]];
        break;
      case "set":
        // A frozenset of two tuples holding the level below: hashable, so accepted as set members.
        e = ["frozenset", ["tuple", ref, 1], ["tuple", deref, 2]];
        break;
      case "instance":
        e = ["copy_reg._reconstructor", ["list", ref, deref]];
        break;
    }
  }
  return e;
}

const runChar = fc.constantFrom(" ", "0", "1", "_", "\t", "a", "-", "+", "\u00e9", "\u0000", "9 ", "1_");
/** Long runs of one character (or pair), with a tail that may make them invalid. */
export const longRun = fc
  .tuple(runChar, fc.integer({ min: 1000, max: 60_000 }), fc.constantFrom("", "x", "1", " 1", "_"))
  .map(([c, n, tail]) => c.repeat(Math.ceil(n / c.length)) + tail);

const leaf: fc.Arbitrary<Sexp> = fc.oneof(
  fc.constantFrom<Sexp>(["unicode", "x"], 1, ["None"], ["list"], "x", ["datetime", "2020 1 2"]),
  longRun.map((s): Sexp => ["unicode", s]),
);

const doublingArb: fc.Arbitrary<(firstId: number) => Sexp> = fc
  .tuple(fc.integer({ min: 5, max: 40 }), leaf, fc.constantFrom<Shape>("list", "tuple", "dict", "set", "instance"))
  .map(([levels, l, shape]) => (firstId: number) => doubling(levels, firstId, l, shape));

/** One text-field bomb: a long run where a date, a text, a tag or a class name goes. */
const textBomb: fc.Arbitrary<Sexp> = fc.tuple(longRun, fc.constantFrom("datetime", "date", "time", "timedelta", "unicode", "tag", "class", "module", "unpersistable", "boolean")).map(([s, where]): Sexp => {
  switch (where) {
    case "tag":
      return [s, 1];
    case "class":
    case "module":
      return [where, s];
    default:
      return [where, s];
  }
});

function failure(parts: { type: Sexp; value: Sexp; traceback: Sexp; parents: Sexp }): Sexp {
  return [
    FAILURE_TAG,
    ["dictionary", [["unicode", "type"], parts.type], [["unicode", "value"], parts.value], [["unicode", "traceback"], parts.traceback], [["unicode", "parents"], parts.parents]],
  ];
}

const piece: fc.Arbitrary<(firstId: number) => Sexp> = fc.oneof(
  doublingArb,
  textBomb.map((t) => () => t),
  fc.constantFrom<Sexp>(["unicode", "boom"], "builtins.ValueError", ["list", ["unicode", "builtins.ValueError"]], 7).map((t) => () => t),
);

/** A hostile expression: doublings and text bombs in every field of a failure, or in a plain container. */
export const hostileSexp: fc.Arbitrary<Sexp> = fc
  .tuple(fc.constantFrom("failure", "list", "dict", "tuple"), fc.array(piece, { minLength: 1, maxLength: 4 }))
  .map(([outer, makers]) => {
    // Distinct reference ids for each piece: a collision would only test the duplicate-id refusal.
    const parts = makers.map((make, i) => make(1 + i * 100));
    const at = (i: number): Sexp => parts[i % parts.length];
    switch (outer) {
      case "failure":
        return failure({ type: at(0), value: at(1), traceback: at(2), parents: ["list", at(3)] });
      case "dict":
        return ["dictionary", ...parts.map((p, i): Sexp => [["unicode", `k${i}`], p])];
      default:
        return [outer, ...parts];
    }
  });

/** Headers announcing huge strings and lists, each followed by a few bytes of body. */
export const announced = fc.array(
  fc.tuple(fc.constantFrom(STRING, LIST), fc.integer({ min: SIZE_LIMIT / 2, max: SIZE_LIMIT }), fc.integer({ min: 0, max: 100 })),
  { minLength: 1, maxLength: 8 },
);

/** A banana header: the digits of n (base 128, least significant first), then the type byte. */
export function header(n: number, type: number): Uint8Array {
  const digits: number[] = [];
  do {
    digits.push(n & 0x7f);
    n = Math.floor(n / 128);
  } while (n > 0);
  return Uint8Array.from([...digits, type]);
}

/** Whatever a receiver does with a received value: render it, count it, convert it. All bounded. */
function walk(value: unknown): void {
  describeValue(value);
  valueText(value, 4096);
  treeSize(value);
  idiomatic(value);
  if (value instanceof CopiedFailure) String(value);
}

/** The hostile check: unjelly (every mode), walk what was accepted; also through banana, split. */
export function checkHostileSexp(sexp: Sexp, tolerate: <T>(what: string, input: Uint8Array | null, f: () => T) => T | undefined): void {
  const bytes = encode(sexp, { dialect: "pb" });
  const items: Sexp[] = [];
  const d = new BananaDecoder((x) => items.push(x), { dialect: "pb" });
  // Fed in three parts, so strings split across chunks take the growing path.
  const third = Math.floor(bytes.length / 3);
  d.feed(bytes.subarray(0, third));
  d.feed(bytes.subarray(third, 2 * third));
  d.feed(bytes.subarray(2 * third));
  for (const options of HOSTILE_OPTIONS) {
    const value = tolerate("unjelly (hostile)", bytes, () => unjelly(items[0], options));
    if (value !== undefined) tolerate("walk (hostile)", bytes, () => walk(value));
  }
}

/** Feeds 200 decoders each announced header and its few body bytes; returns the array-buffer growth in bytes. */
export function checkAnnounced(spec: readonly (readonly [number, number, number])[]): number {
  const before = process.memoryUsage().arrayBuffers;
  const decoders: BananaDecoder[] = [];
  for (let i = 0; i < 200; i++) {
    const d = new BananaDecoder(() => {});
    try {
      for (const [type, size, body] of spec) {
        d.feed(header(size, type));
        if (type === STRING) d.feed(new Uint8Array(body).fill(0x61));
        else {
          // A list's body: its first elements (1-byte ints).
          const elems = new Uint8Array(body * 2);
          for (let k = 0; k < body; k++) elems.set([1, 0x81], 2 * k);
          d.feed(elems);
        }
      }
    } catch (e) {
      if (!(e instanceof BananaError)) throw e;
    }
    decoders.push(d);
  }
  const grown = process.memoryUsage().arrayBuffers - before;
  decoders.length = 0;
  return grown;
}

/** Most array-buffer growth 200 decoders waiting on announced bodies may cause (16 KiB each and slack). */
export const ANNOUNCED_MAX_GROWTH = 200 * 16 * 1024 + 8 * 1024 * 1024;
