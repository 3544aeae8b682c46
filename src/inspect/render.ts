// Transcript entries as text (optionally coloured) or as JSON Lines.
import { sexpJson } from "./sexp.ts";
import { arrow, type Entry } from "./types.ts";
import type { TableChange } from "./table.ts";

export interface TextOptions {
  color?: boolean;
  /** Show times (seconds, from the entry's `t` in ms). */
  times?: boolean;
  /** Show each item's bytes under it. */
  hex?: boolean;
  /** Put before every line (e.g. "[2] " for a proxy's second connection). */
  prefix?: string;
}

const ANSI = {
  reset: "\x1b[0m",
  dim: "\x1b[2m",
  bold: "\x1b[1m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  magenta: "\x1b[35m",
  cyan: "\x1b[36m",
};

type Paint = (code: keyof typeof ANSI, s: string) => string;

/** Colours only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function shouldColor(stream: { isTTY?: boolean }, mode: "auto" | "always" | "never" = "auto", env: NodeJS.ProcessEnv = process.env): boolean {
  if (mode === "always") return true;
  if (mode === "never") return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return stream.isTTY === true;
}

export function changeText(c: TableChange): string {
  return c.op === "add" ? `+ ${c.side} ${c.kind} ${c.id} = ${c.what} (${c.from})` : `- ${c.side} ${c.kind} ${c.id} released: ${c.what} (${c.from})`;
}

function timeText(t: number | undefined): string {
  return t === undefined ? " ".repeat(10) : (t / 1000).toFixed(6).padStart(10);
}

/** One entry as text lines (no trailing newline). */
export function entryText(e: Entry, opts: TextOptions = {}): string {
  const paint: Paint = opts.color ? (code, s) => ANSI[code] + s + ANSI.reset : (_code, s) => s;
  const prefix = (opts.prefix ?? "") + (opts.times ? timeText(e.t) + "  " : "");
  const lines: string[] = [];
  const indent = prefix.replace(/./g, " ") + "       ";
  if (e.kind === "note" || e.kind === "end" || e.kind === "gap") {
    lines.push(prefix + (e.kind === "gap" ? paint("red", `-- ${e.text}`) : paint("dim", `-- ${e.text}`)));
    for (const d of e.details) lines.push(indent + paint("dim", d));
    return lines.join("\n");
  }
  const dir = e.dir ? paint(e.dir === "c2s" ? "cyan" : "yellow", arrow(e.dir)) + "  " : "";
  const bad = e.kind === "error" || e.kind === "decode-error" || e.kind === "unknown";
  lines.push(prefix + dir + (bad ? paint("red", e.text) : e.text));
  for (const d of e.details) lines.push(indent + "  " + paint("dim", d));
  for (const c of e.changes) lines.push(indent + paint(c.op === "add" ? "green" : "magenta", changeText(c)));
  for (const w of e.warnings) lines.push(indent + paint("red", `! ${w}`));
  if (opts.hex && e.hex) {
    for (let i = 0; i < e.hex.length; i += 64) lines.push(indent + paint("dim", "| " + e.hex.slice(i, i + 64).replace(/(..)(?!$)/g, "$1 ")));
  }
  return lines.join("\n");
}

/** One entry as a JSON object (one line of JSON Lines). */
export function entryJson(e: Entry, extra: Record<string, unknown> = {}): string {
  const o: Record<string, unknown> = { ...extra, kind: e.kind };
  if (e.dir) o.dir = e.dir;
  o.t = e.t ?? null;
  if (e.offset !== undefined) o.offset = e.offset;
  if (e.requestId !== undefined) o.requestId = e.requestId;
  o.text = e.text;
  if (e.details.length) o.details = e.details;
  if (e.changes.length) o.changes = e.changes;
  if (e.warnings.length) o.warnings = e.warnings;
  if (e.sexp !== undefined) o.sexp = sexpJson(e.sexp);
  if (e.hex !== undefined) o.hex = e.hex;
  return JSON.stringify(o);
}
