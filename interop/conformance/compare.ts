// The one place where what a scenario expects meets what a driver got: compareRun() walks the
// steps in order and reports the first difference, with a path into the value and both sides
// shown in Python-like notation.
import type { Result, StepResult } from "./client.ts";
import type { Desc, Expect, Scenario, Step } from "./scenario.ts";

const CONTAINERS = new Set(["list", "tuple", "set", "frozenset", "dict"]);

/**
 * Renumbers container ids in order of first appearance (also inside copy/cache nodes), and puts
 * set members in a fixed order: a set's iteration order is not part of its value.
 */
export function canonical(d: Desc, python2 = false): Desc {
  const ids = new Map<number, number>();
  const walk = (x: Desc): Desc => {
    const kind = x[0];
    // Python 2 has one type for text and bytes (str is bytes): UTF-8 bytes are that text.
    if (python2 && kind === "bytes") {
      const text = utf8Text(x[1] as string);
      if (text !== null) return ["str", text];
    }
    if (kind === "ref") return ["ref", ids.get(x[1] as number) ?? -1];
    if (kind === "copy" || kind === "cache") return [kind, x[1], walk(x[2] as Desc)];
    if (typeof kind === "string" && CONTAINERS.has(kind)) {
      let id = x[1] as number | null;
      if (id !== null) {
        const n = ids.size + 1;
        ids.set(id, n);
        id = n;
      }
      if (kind === "dict") {
        const items = (x[2] as [Desc, Desc][]).map(([k, v]) => [walk(k), walk(v)] as [Desc, Desc]);
        // Python 2's dicts have no order (it sends them in hash order).
        if (python2) items.sort((a, b) => cmp(JSON.stringify(a[0]), JSON.stringify(b[0])));
        return [kind, id, items];
      }
      let items = (x[2] as Desc[]).map(walk);
      if ((kind === "set" || kind === "frozenset") && id === null) items = [...items].sort((a, b) => cmp(JSON.stringify(a), JSON.stringify(b)));
      return [kind, id, items];
    }
    return x;
  };
  return walk(d);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function utf8Text(hex: string): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(hex, "hex"));
  } catch {
    return null;
  }
}

/** A built-in's qualified name on Python 3: Python 2 names the same class exceptions.X. */
function builtinOn3(type: string): string {
  return type.startsWith("exceptions.") ? `builtins.${type.slice(11)}` : type;
}

/** Python-like text for a description, cut to `max` characters. */
export function show(d: unknown, max = 100): string {
  const s = render(d);
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

function bytesRepr(hex: string): string {
  let out = "b'";
  for (let i = 0; i < hex.length; i += 2) {
    const c = parseInt(hex.slice(i, i + 2), 16);
    out += c === 0x27 || c === 0x5c ? "\\" + String.fromCharCode(c) : c >= 32 && c < 127 ? String.fromCharCode(c) : "\\x" + hex.slice(i, i + 2);
  }
  return out + "'";
}

function floatRepr(hex: string): string {
  const b = Buffer.from(hex, "hex");
  const v = b.length === 8 ? b.readDoubleBE(0) : NaN;
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Object.is(v, -0)) return "-0.0";
  return Number.isInteger(v) && Math.abs(v) < 1e16 ? `${v}.0` : String(v);
}

function render(d: unknown): string {
  if (!Array.isArray(d) || d.length === 0) return JSON.stringify(d);
  const [kind] = d;
  const items = () => (d[2] as unknown[]).map(render);
  const id = (s: string) => (d[1] !== null && d[1] !== undefined ? `#${String(d[1])}=${s}` : s);
  switch (kind) {
    case "none":
      return "None";
    case "bool":
      return d[1] ? "True" : "False";
    case "int":
      return String(d[1]);
    case "float":
      return floatRepr(d[1] as string);
    case "bytes":
      return bytesRepr(d[1] as string);
    case "str":
      return JSON.stringify(d[1]).replace(/^"|"$/g, "'");
    case "list":
      return id(`[${items().join(", ")}]`);
    case "tuple": {
      const it = items();
      return id(`(${it.join(", ")}${it.length === 1 ? "," : ""})`);
    }
    case "set":
      return id(`{${items().join(", ")}}`);
    case "frozenset":
      return id(`frozenset({${items().join(", ")}})`);
    case "dict":
      return id(`{${(d[2] as [unknown, unknown][]).map(([k, v]) => `${render(k)}: ${render(v)}`).join(", ")}}`);
    case "ref":
      return `#${String(d[1])}`;
    case "remoteref":
      return "<RemoteReference>";
    case "local":
      return `<own ${String(d[1])}>`;
    case "copy":
      return `<copy ${String(d[1])} ${render(d[2])}>`;
    case "cache":
      return `<cache ${String(d[1])} ${render(d[2])}>`;
    case "index":
      return "<index>";
    default:
      return JSON.stringify(d);
  }
}

/** First difference between two canonical descriptions, as [path, expected, actual], or null. */
function diffDesc(exp: unknown, act: unknown, path: string): [string, unknown, unknown] | null {
  if (Array.isArray(exp) && exp.length === 1 && exp[0] === "remoteref") {
    return Array.isArray(act) && act[0] === "remoteref" ? null : [path, exp, act];
  }
  if (!Array.isArray(exp) || !Array.isArray(act)) return JSON.stringify(exp) === JSON.stringify(act) ? null : [path, exp, act];
  const kind = exp[0];
  if (kind !== act[0]) return [path, exp, act];
  if (typeof kind === "string" && CONTAINERS.has(kind)) {
    if (exp[1] !== act[1]) return [`${path} (shared/cyclic id)`, exp, act];
    const a = exp[2] as unknown[];
    const b = act[2] as unknown[];
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (kind === "dict") {
        const [ka, va] = a[i] as [unknown, unknown];
        const [kb, vb] = b[i] as [unknown, unknown];
        const dk = diffDesc(ka, kb, `${path}.key${i}`);
        if (dk) return dk;
        const dv = diffDesc(va, vb, `${path}[${render(ka)}]`);
        if (dv) return dv;
      } else {
        const d = diffDesc(a[i], b[i], `${path}[${i}]`);
        if (d) return d;
      }
    }
    if (a.length !== b.length) return [`${path} (${a.length} items expected, ${b.length} got)`, exp, act];
    return null;
  }
  if (kind === "copy" || kind === "cache") {
    if (exp[1] !== act[1]) return [`${path} (tag)`, exp, act];
    return diffDesc(exp[2], act[2], `${path}.state`);
  }
  return JSON.stringify(exp) === JSON.stringify(act) ? null : [path, exp, act];
}

function substituteIndex(d: unknown, i: number): unknown {
  if (!Array.isArray(d)) return d;
  if (d.length === 1 && d[0] === "index") return ["int", String(i)];
  return d.map((x) => (Array.isArray(x) ? substituteIndex(x, i) : x));
}

export function showResult(r: Result | undefined): string {
  if (!r) return "nothing";
  if ("value" in r) return show(r.value);
  if ("failure" in r) return `failure ${r.failure.type}${r.failure.value !== undefined ? `(${JSON.stringify(r.failure.value)})` : ""}${r.failure.remote === false ? " (local)" : ""}`;
  if ("sent" in r) return "sent";
  if ("ok" in r) return "ok";
  if ("each" in r) return `${r.each.length} results`;
  return `driver error: ${r.error}`;
}

function showExpect(e: Expect): string {
  if (e.value) return show(e.value);
  if (e.ref) return "<RemoteReference>";
  if (e.failure) return `failure ${e.failure.type}${e.failure.value !== undefined ? `(${JSON.stringify(e.failure.value)})` : ""}`;
  if (e.each) return `each ${show(e.each.value)}`;
  return "?";
}

/** First difference between one step's expectation and its result, or null. */
export function diffStep(step: Step, r: Result | undefined, python2 = false): string | null {
  if (!r) return "no result (the run stopped before this step)";
  if ("error" in r) return `driver error: ${r.error}`;
  const e = step.expect;
  if (!e) {
    if ("failure" in r) return `expected success, got ${showResult(r)}`;
    return null;
  }
  if (e.failure) {
    if (!("failure" in r)) return `expected ${showExpect(e)}, got ${showResult(r)}`;
    const f = r.failure;
    if (f.type !== e.failure.type && !(python2 && builtinOn3(f.type) === e.failure.type)) return `failure type: expected ${e.failure.type}, got ${f.type} (${JSON.stringify(f.value)})`;
    if (e.failure.value !== undefined && f.value !== e.failure.value) return `failure value: expected ${JSON.stringify(e.failure.value)}, got ${JSON.stringify(f.value)}`;
    if (e.failure.remote !== undefined && f.remote !== e.failure.remote) return `failure: expected it ${e.failure.remote ? "from the peer" : "raised locally"}, got the other`;
    return null;
  }
  if (e.ref) {
    if ("value" in r && Array.isArray(r.value) && r.value[0] === "remoteref") return null;
    return `expected a RemoteReference, got ${showResult(r)}`;
  }
  if (e.value) {
    if (!("value" in r)) return `expected ${showExpect(e)}, got ${showResult(r)}`;
    const d = diffDesc(canonical(e.value, python2), canonical(r.value, python2), "value");
    return d ? `${d[0]}: expected ${show(d[1])}, got ${show(d[2])}` : null;
  }
  if (e.each) {
    if (!("each" in r)) return `expected ${showExpect(e)}, got ${showResult(r)}`;
    const count = step.op === "inFlight" ? step.count : r.each.length;
    if (r.each.length !== count) return `expected ${count} results, got ${r.each.length}`;
    for (const [i, item] of r.each.entries()) {
      if (!("value" in item)) return `call #${i}: expected ${show(substituteIndex(e.each.value, i))}, got ${showResult(item)}`;
      const d = diffDesc(canonical(substituteIndex(e.each.value, i) as Desc, python2), canonical(item.value, python2), `call #${i} value`);
      if (d) return `${d[0]}: expected ${show(d[1])}, got ${show(d[2])}`;
    }
    return null;
  }
  return null;
}

export interface RunVerdict {
  ok: boolean;
  /** "step 3 call echo: value[1]: expected 5, got 6" */
  firstDifference: string | null;
  failedStep: number | null;
}

function stepLabel(step: Step, i: number): string {
  const what =
    step.op === "call" || step.op === "inFlight" || step.op === "pages"
      ? `${step.op} ${step.target === "root" ? "" : step.target + "."}${step.method}`
      : step.op === "login"
        ? `login ${step.username}/${step.password}`
        : "target" in step && typeof step.target === "string"
          ? `${step.op} ${step.target}`
          : step.op;
  return `step ${i} ${what}`;
}

export interface CompareOptions {
  /**
   * A Twisted peer on Python 2 took part: values are read as Python 2 means them (UTF-8 bytes are
   * its str, dicts have no order, exceptions.X is the built-in builtins.X).
   */
  python2?: boolean;
}

/** Compares a whole run with its scenario: the first difference, in step order. */
export function compareRun(scenario: Scenario, results: readonly StepResult[], runError?: string | null, options: CompareOptions = {}): RunVerdict {
  for (const [i, step] of scenario.steps.entries()) {
    const r = results.find((x) => x.i === i)?.result;
    const d = diffStep(step, r, options.python2 ?? false);
    if (d) {
      const why = !r && runError ? `${d}: ${runError.split("\n")[0]}` : d;
      return { ok: false, firstDifference: `${stepLabel(step, i)}: ${why}`, failedStep: i };
    }
  }
  if (runError) return { ok: false, firstDifference: `after the last step: ${runError.split("\n")[0]}`, failedStep: null };
  return { ok: true, firstDifference: null, failedStep: null };
}
