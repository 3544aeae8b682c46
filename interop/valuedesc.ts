// Value descriptions (interop/VALUES.md) <-> lossless JS values, independent of the codec.
import { floatValue, PyFloat } from "../src/banana/values.ts";
import { FrozenSet, PyDate, PyDateTime, PyDecimal, PyTime, PyTimeDelta, PyUnicode, Tuple, Unpersistable } from "../src/jelly/types.ts";

export type Desc = readonly unknown[];

const hexToBytes = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
const bytesToHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function floatFromHex(h: string): number {
  return new DataView(hexToBytes(h).buffer).getFloat64(0, false);
}
function floatToHex(v: number): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, false);
  return bytesToHex(b);
}

function intValue(text: string): number | bigint {
  const b = BigInt(text);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

// Map and Set fold -0 into +0; the codec keeps such a key as PyFloat(-0).
const keyOf = (v: unknown) => (Object.is(v, -0) ? new PyFloat(-0) : v);

/** Builds the JS value a description stands for (shared ids give the same object). */
export function fromDesc(desc: Desc): unknown {
  const byId = new Map<number, unknown>();
  const build = (d: Desc): unknown => {
    const [kind] = d;
    switch (kind) {
      case "none":
        return null;
      case "bool":
        return d[1] as boolean;
      case "int":
        return intValue(d[1] as string);
      case "float":
        return floatValue(floatFromHex(d[1] as string));
      case "bytes":
        return hexToBytes(d[1] as string);
      case "str":
        return d[1] as string;
      case "ref": {
        if (!byId.has(d[1] as number)) throw new Error(`ref to unknown id ${d[1]}`);
        return byId.get(d[1] as number);
      }
      case "list":
      case "tuple":
      case "set":
      case "frozenset": {
        const id = d[1] as number | null;
        const items = d[2] as Desc[];
        if (kind === "list" || kind === "tuple") {
          const arr: unknown[] = kind === "tuple" ? new Tuple() : [];
          if (id !== null) byId.set(id, arr);
          for (const it of items) arr.push(build(it));
          return arr;
        }
        const s = kind === "set" ? new Set<unknown>() : new FrozenSet<unknown>();
        if (id !== null) byId.set(id, s);
        for (const it of items) s.add(keyOf(build(it)));
        return s;
      }
      case "dict": {
        const m = new Map<unknown, unknown>();
        if (d[1] !== null) byId.set(d[1] as number, m);
        for (const [k, v] of d[2] as [Desc, Desc][]) m.set(keyOf(build(k)), build(v));
        return m;
      }
      case "datetime": {
        const f = d[1] as number[];
        return new PyDateTime(f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
      }
      case "date": {
        const f = d[1] as number[];
        return new PyDate(f[0], f[1], f[2]);
      }
      case "time": {
        const f = d[1] as number[];
        return new PyTime(f[0], f[1], f[2], f[3]);
      }
      case "timedelta": {
        const f = d[1] as number[];
        return new PyTimeDelta(f[0], f[1], f[2]);
      }
      case "decimal":
        return new PyDecimal(BigInt(d[1] as string), d[2] as number);
      case "unpersistable": {
        // Twisted's Unpersistable.reason reads "Unpersistable data: b'...'"; the wire held the inner text.
        const reason = d[1] as string;
        const m = /^Unpersistable data: b'(.*)'$/s.exec(reason);
        return new Unpersistable(m ? m[1] : reason);
      }
      default:
        throw new Error(`unknown description kind ${String(kind)}`);
    }
  };
  return build(desc);
}

/** Describes a lossless JS value; containers met more than once get ids in depth-first order. */
export function toDesc(value: unknown): Desc {
  const seen = new Map<object, number>();
  const count = (v: unknown) => {
    if (typeof v !== "object" || v === null) return;
    if (!(Array.isArray(v) || v instanceof Map || v instanceof Set)) return;
    const n = seen.get(v) ?? 0;
    seen.set(v, n + 1);
    if (n > 0) return;
    if (v instanceof Map) for (const [k, x] of v) (count(k), count(x));
    else for (const x of v as Iterable<unknown>) count(x);
  };
  count(value);
  const ids = new Map<object, number>();
  let next = 1;
  const done = new Set<object>();
  const go = (v: unknown): Desc => {
    if (v === null || v === undefined) return ["none"];
    if (typeof v === "boolean") return ["bool", v];
    if (typeof v === "number") {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return ["int", String(v)];
      return ["float", floatToHex(v)];
    }
    if (typeof v === "bigint") return ["int", v.toString()];
    if (typeof v === "string") return ["str", v];
    if (v instanceof PyUnicode) return ["str", v.text]; // unicode from a Python 2 peer (the "bytes" string mode)
    if (v instanceof PyFloat) return ["float", floatToHex(v.value)];
    if (v instanceof Uint8Array) return ["bytes", bytesToHex(v)];
    if (v instanceof PyDateTime) return ["datetime", [v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond]];
    if (v instanceof PyDate) return ["date", [v.year, v.month, v.day]];
    if (v instanceof PyTime) return ["time", [v.hour, v.minute, v.second, v.microsecond]];
    if (v instanceof PyTimeDelta) return ["timedelta", [v.days, v.seconds, v.microseconds]];
    if (v instanceof PyDecimal) return ["decimal", v.coefficient.toString(), v.exponent];
    if (v instanceof Unpersistable) {
      const r = typeof v.reason === "string" ? v.reason : new TextDecoder().decode(v.reason);
      return ["unpersistable", `Unpersistable data: b'${r}'`];
    }
    if (typeof v === "object" && (Array.isArray(v) || v instanceof Map || v instanceof Set)) {
      if (done.has(v)) return ["ref", ids.get(v)!];
      done.add(v);
      let id: number | null = null;
      if ((seen.get(v) ?? 0) > 1) {
        id = next++;
        ids.set(v, id);
      }
      if (v instanceof Map) return ["dict", id, [...v].map(([k, x]) => [go(k), go(x)])];
      const kind = Array.isArray(v) ? (v instanceof Tuple ? "tuple" : "list") : v instanceof FrozenSet ? "frozenset" : "set";
      return [kind, id, [...(v as Iterable<unknown>)].map(go)];
    }
    throw new Error(`cannot describe ${String(v)}`);
  };
  return go(value);
}

export { bytesToHex, hexToBytes };

/** Renumbers container ids in order of first appearance, so two descriptions of one value compare equal. */
export function canonicalDesc(desc: Desc): Desc {
  const map = new Map<number, number>();
  const walk = (d: Desc): Desc => {
    const [kind] = d;
    if (kind === "ref") return ["ref", map.get(d[1] as number) ?? -1];
    if (["list", "tuple", "set", "frozenset", "dict"].includes(kind as string)) {
      let id = d[1] as number | null;
      if (id !== null) {
        const n = map.size + 1;
        map.set(id, n);
        id = n;
      }
      const items = kind === "dict" ? (d[2] as [Desc, Desc][]).map(([k, v]) => [walk(k), walk(v)]) : (d[2] as Desc[]).map(walk);
      return [kind, id, items];
    }
    return d;
  };
  return walk(desc);
}

/** A banana-level description (fixtures' "sexp" vectors) as a banana expression. */
export function sexpFromDesc(desc: Desc): import("../src/banana/values.ts").Sexp {
  const [kind] = desc;
  switch (kind) {
    case "int":
      return intValue(desc[1] as string);
    case "float":
      return floatValue(floatFromHex(desc[1] as string));
    case "bytes":
      return hexToBytes(desc[1] as string);
    case "list":
      return (desc[2] as Desc[]).map(sexpFromDesc);
    default:
      throw new Error(`not a banana description: ${String(kind)}`);
  }
}
