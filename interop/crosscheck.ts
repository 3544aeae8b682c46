// The live cross-check: a seeded TypeScript generator and a seeded Python generator exchange
// values through a real Twisted process, both directions, both dialects, comparing bytes.
//
//   node --import tsx interop/crosscheck.ts [--count N] [--seed S] [--quiet]
//
// For every TypeScript value: our bytes == Twisted's bytes for the same value, and Twisted
// decodes our bytes to that value and re-encodes them identically. For every Python value:
// our bytes for it == Twisted's, and we decode Twisted's bytes to it and re-encode identically.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { PyFloat } from "../src/banana/values.ts";
import { dumps, loads } from "../src/jelly/codec.ts";
import { FrozenSet, PyDate, PyDateTime, PyDecimal, PyTime, PyTimeDelta, Tuple } from "../src/jelly/types.ts";
import { requirePython } from "./find-python.mjs";
import { bytesToHex, canonicalDesc, fromDesc, hexToBytes, toDesc, type Desc } from "./valuedesc.ts";

const here = dirname(fileURLToPath(import.meta.url));
const DIALECTS = ["pb", "none"] as const;

/** mulberry32: small, seedable, the same on every platform. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCAB = ["None", "class", "dereference", "reference", "dictionary", "list", "tuple", "remote", "local", "message", "answer", "error", "decref", "uncache", "cachemessage"];
const NEAR = ["Non", "lists", "unicode", "boolean", "set", "root", "", "versio"];
const TEXT = ["", "a", "hello", "h\u00e9", "\u4e2d\u6587", "\u{1F600}", "\u{10FFFF}", "tab\tnew\nline", "\ufeffbom", "x".repeat(200)];

/** Lossless JS values that Twisted itself round-trips (no cyclic tuples, no ambiguous keys). */
export class ValueGenerator {
  private readonly r: () => number;
  constructor(seed: number) {
    this.r = rng(seed);
  }
  private int(n: number): number {
    return Math.floor(this.r() * n);
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  intValue(): number | bigint {
    switch (this.int(6)) {
      case 0:
        return this.int(256) - 128;
      case 1:
        return this.pick([0, 127, 128, 2 ** 31 - 1, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53 - 1)]);
      case 2:
        return this.pick([2n ** 31n, -(2n ** 31n) - 1n, 2n ** 53n, 2n ** 64n, -(2n ** 63n), 2n ** 448n - 1n, -(2n ** 448n - 1n)]);
      case 3: {
        const bits = 1 + this.int(440);
        let v = 1n;
        for (let i = 0; i < bits; i++) v = (v << 1n) | BigInt(this.int(2));
        const out = this.int(2) ? v : -v;
        return out >= -(2n ** 53n - 1n) && out <= 2n ** 53n - 1n ? Number(out) : out;
      }
      default:
        return this.int(2 ** 31) * (this.int(2) ? 1 : -1);
    }
  }

  floatValue(): number | PyFloat {
    switch (this.int(5)) {
      case 0:
        return this.pick([-0, Infinity, -Infinity, NaN, 5e-324, 1.7976931348623157e308, 1e100, 0.1]);
      case 1:
        return new PyFloat(this.pick([0, 1, -1, 3, 2 ** 53, -(2 ** 40)]));
      default: {
        const v = (this.r() - 0.5) * 10 ** this.int(20);
        return Number.isSafeInteger(v) ? new PyFloat(v) : v;
      }
    }
  }

  bytesValue(): Uint8Array {
    if (this.int(4) === 0) return new TextEncoder().encode(this.pick([...VOCAB, ...NEAR]));
    return Uint8Array.from({ length: this.pick([0, 1, 3, 16, 127, 128, 300]) }, () => this.int(256));
  }

  textValue(): string {
    if (this.int(4) === 0) return this.pick([...VOCAB, ...NEAR]);
    return this.pick(TEXT) + (this.int(2) ? String(this.int(1000)) : "");
  }

  leaf(): unknown {
    switch (this.int(13)) {
      case 0:
        return null;
      case 1:
        return this.int(2) === 1;
      case 2:
      case 3:
        return this.intValue();
      case 4:
        return this.floatValue();
      case 5:
        return this.bytesValue();
      case 6:
      case 7:
        return this.textValue();
      case 8:
        return new PyDateTime(1 + this.int(9999), 1 + this.int(12), 1 + this.int(28), this.int(24), this.int(60), this.int(60), this.int(1_000_000));
      case 9:
        return new PyDate(1 + this.int(9999), 1 + this.int(12), 1 + this.int(28));
      case 10:
        return new PyTime(this.int(24), this.int(60), this.int(60), this.int(1_000_000));
      case 11:
        return new PyTimeDelta(this.int(2_000_000) - 1_000_000, this.int(86400), this.int(1_000_000));
      default:
        return new PyDecimal(BigInt(this.int(2 ** 31)) * BigInt(this.int(2 ** 20)) * (this.int(2) ? 1n : -1n), this.int(40) - 20);
    }
  }

  /** A dict key: hashable, and never two keys Python would consider equal. */
  key(depth: number, used: Set<string>): unknown {
    for (let attempt = 0; attempt < 10; attempt++) {
      let k: unknown;
      switch (this.int(6)) {
        case 0:
          k = this.textValue();
          break;
        case 1:
          k = this.bytesValue();
          break;
        case 2:
          k = this.int(1000) - 500;
          break;
        case 3:
          k = depth > 0 ? this.tupleOfKeys(depth - 1) : this.textValue();
          break;
        case 4:
          k = new PyDateTime(2000 + this.int(30), 1 + this.int(12), 1 + this.int(28));
          break;
        default:
          k = this.int(2) ? new FrozenSet([this.int(8)]) : this.textValue() + "k";
      }
      const id = JSON.stringify(canonicalDesc(toDesc(k)));
      // Python: 1 == 1.0 == True and b"" != ""; compare by the numeric value too.
      const num = typeof k === "number" ? `n:${k}` : id;
      if (!used.has(id) && !used.has(num)) {
        used.add(id);
        used.add(num);
        return k;
      }
    }
    return `unique-${used.size}`;
  }

  private tupleOfKeys(depth: number): Tuple {
    const t = new Tuple<unknown>();
    const n = 1 + this.int(3);
    for (let i = 0; i < n; i++) t.push(this.key(depth, new Set()));
    return t;
  }

  value(depth = 4): unknown {
    if (depth <= 0 || this.int(3) === 0) return this.leaf();
    switch (this.int(6)) {
      case 0:
      case 1: {
        const list: unknown[] = [];
        const n = this.int(6);
        for (let i = 0; i < n; i++) list.push(this.value(depth - 1));
        if (n > 1 && this.int(4) === 0) list.push(list[this.int(n)]); // shared
        if (this.int(8) === 0) list.push(list); // cycle through a list
        return list;
      }
      case 2: {
        const t = new Tuple<unknown>();
        const n = 1 + this.int(5);
        for (let i = 0; i < n; i++) t.push(this.value(depth - 1));
        return t;
      }
      case 3: {
        const m = new Map<unknown, unknown>();
        const used = new Set<string>();
        const n = this.int(6);
        for (let i = 0; i < n; i++) m.set(this.key(2, used), this.value(depth - 1));
        if (this.int(10) === 0) m.set("self", m); // cycle through a dict
        return m;
      }
      case 4: {
        // Small ints iterate in ascending order in CPython, so Twisted keeps this order.
        const members = [...new Set(Array.from({ length: this.int(5) }, () => this.int(8)))].sort((a, b) => a - b);
        return this.int(2) ? new Set(members) : new FrozenSet(members);
      }
      default: {
        const shared = this.value(depth - 1);
        return [shared, this.value(depth - 1), shared];
      }
    }
  }
}

/** The Python peer: one JSON request per line. */
export class TwistedPeer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = "";

  constructor(python = requirePython().path) {
    this.proc = spawn(python, [join(here, "peer.py"), "crosscheck"], { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stderr.on("data", (d) => (this.stderr += d));
    createInterface({ input: this.proc.stdout }).on("line", (line) => this.waiting.shift()?.(line));
    this.proc.on("exit", () => {
      for (const w of this.waiting.splice(0)) w(JSON.stringify({ ok: false, error: `peer exited: ${this.stderr.slice(-2000)}` }));
    });
  }

  request<T = Record<string, unknown>>(req: object): Promise<T & { ok: boolean; error?: string }> {
    return new Promise((resolve) => {
      this.waiting.push((line) => resolve(JSON.parse(line)));
      this.proc.stdin.write(JSON.stringify(req) + "\n");
    });
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export interface Mismatch {
  direction: string;
  dialect: string;
  what: string;
  value: Desc;
  expected?: string;
  got?: string;
}

export interface CrosscheckResult {
  twisted: string;
  python: string;
  tsValues: number;
  pyValues: number;
  comparisons: number;
  mismatches: Mismatch[];
}

export async function crosscheck(options: { count: number; seed: number; python?: string }): Promise<CrosscheckResult> {
  const peer = new TwistedPeer(options.python);
  const mismatches: Mismatch[] = [];
  let comparisons = 0;
  const compare = (m: Omit<Mismatch, "expected" | "got">, expected: string, got: string) => {
    comparisons++;
    if (expected !== got) mismatches.push({ ...m, expected, got });
  };
  try {
    const version = await peer.request<{ twisted: string; python: string }>({ op: "version" });
    if (!version.ok) throw new Error(`Twisted peer failed to start: ${version.error}`);

    // TypeScript generator -> Twisted.
    const gen = new ValueGenerator(options.seed);
    for (let i = 0; i < options.count; i++) {
      const value = gen.value();
      const desc = canonicalDesc(toDesc(value));
      for (const dialect of DIALECTS) {
        const ours = bytesToHex(dumps(value, { dialect }));
        const theirs = await peer.request<{ hex: string }>({ op: "encode", value: desc, dialect });
        compare({ direction: "ts->py", dialect, what: "Twisted's encoding of our value", value: desc }, theirs.ok ? theirs.hex : `error ${theirs.error}`, ours);
        const back = await peer.request<{ hex: string; value: Desc }>({ op: "roundtrip", hex: ours, dialect });
        compare({ direction: "ts->py", dialect, what: "Twisted's re-encoding of our bytes", value: desc }, ours, back.ok ? back.hex : `error ${back.error}`);
        compare({ direction: "ts->py", dialect, what: "the value Twisted decoded", value: desc }, JSON.stringify(desc), back.ok ? JSON.stringify(canonicalDesc(back.value)) : `error ${back.error}`);
      }
    }

    // Python generator -> TypeScript.
    const generated = await peer.request<{ values: { value: Desc; pb: string; none: string }[] }>({ op: "generate", seed: options.seed, count: options.count });
    if (!generated.ok) throw new Error(`Twisted generator failed: ${generated.error}`);
    for (const v of generated.values) {
      const desc = canonicalDesc(v.value);
      for (const dialect of DIALECTS) {
        const m = { direction: "py->ts", dialect, value: desc };
        let ours: string;
        try {
          ours = bytesToHex(dumps(fromDesc(v.value), { dialect }));
        } catch (e) {
          ours = `error ${String(e)}`;
        }
        compare({ ...m, what: "our encoding of Twisted's value" }, v[dialect], ours);
        try {
          const decoded = loads(hexToBytes(v[dialect]), { dialect });
          compare({ ...m, what: "the value we decoded" }, JSON.stringify(desc), JSON.stringify(canonicalDesc(toDesc(decoded))));
          compare({ ...m, what: "our re-encoding of Twisted's bytes" }, v[dialect], bytesToHex(dumps(decoded, { dialect })));
        } catch (e) {
          compare({ ...m, what: "decoding Twisted's bytes" }, v[dialect], `error ${String(e)}`);
        }
      }
    }
    return { twisted: version.twisted, python: version.python, tsValues: options.count, pyValues: generated.values.length, comparisons, mismatches };
  } finally {
    await peer.close();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const count = opt("--count", 2000);
  const seed = opt("--seed", Date.now() % 2 ** 31);
  const started = performance.now();
  console.log(`crosscheck: seed ${seed}, ${count} values from each side, dialects pb and none`);
  const r = await crosscheck({ count, seed });
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`Twisted ${r.twisted} on Python ${r.python}`);
  console.log(`TypeScript -> Twisted: ${r.tsValues} values; Twisted -> TypeScript: ${r.pyValues} values`);
  console.log(`${r.comparisons} byte/value comparisons in ${secs} s, ${r.mismatches.length} mismatches`);
  for (const m of r.mismatches.slice(0, 10)) {
    console.log(`\nMISMATCH ${m.direction} [${m.dialect}] ${m.what}\n  value:    ${JSON.stringify(m.value).slice(0, 400)}\n  expected: ${m.expected?.slice(0, 400)}\n  got:      ${m.got?.slice(0, 400)}`);
  }
  if (r.mismatches.length) {
    console.log(`\nFAILED: rerun with --seed ${seed} to reproduce`);
    process.exitCode = 1;
  } else console.log("OK: every byte matched");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 2;
  });
}
