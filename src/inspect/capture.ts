// Reading captured PB traffic: the capture format (CAPTURE.md), hex dumps, raw bytes of one
// direction, or a pair of directions; everything becomes chunks for Session.push.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { BananaDecoder, type Sexp } from "../banana/index.ts";
import { interleave } from "./interleave.ts";
import { arrow, type Chunk, type Dir } from "./types.ts";
import { isBytes, isList } from "./sexp.ts";

/** One write of the capture format. `t`: milliseconds since the connection opened (optional). */
export interface CaptureWrite {
  dir: Dir;
  hex: string;
  t?: number;
}

/** The capture format (see CAPTURE.md): the shape of fixtures/sessions/*.json, plus optional times. */
export interface Capture {
  name?: string;
  title?: string;
  twisted?: string;
  python?: string;
  challenge?: string | null;
  /** ISO time the connection opened (the proxy writes it). */
  started?: string;
  writes: CaptureWrite[];
  [other: string]: unknown;
}

/** Traffic read from files, ready to decode. */
export interface LoadedTraffic {
  /** What was read and how it is shown (printed as "# ..." header lines). */
  header: string[];
  chunks: Chunk[];
  /** Only one direction is present. */
  oneSided: boolean;
  /** The chunks carry times. */
  timed: boolean;
}

/** The input files cannot be read as PB traffic (a message for the user, not a crash). */
export class InputError extends Error {
  override name = "InputError";
}

const HEX_RE = /^[0-9a-fA-F]*$/;

function unhex(h: string, where: string): Uint8Array {
  const s = h.replace(/\s+/g, "");
  if (!HEX_RE.test(s) || s.length % 2) throw new InputError(`${where}: not an even number of hex digits`);
  return Uint8Array.from(Buffer.from(s, "hex"));
}

/** Parses and checks a capture (JSON text). */
export function parseCapture(text: string, source = "capture"): Capture {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  const c = data as Capture;
  if (typeof data !== "object" || data === null || !Array.isArray(c.writes)) throw new InputError(`${source}: a capture needs a "writes" array`);
  c.writes.forEach((w, i) => {
    if (typeof w !== "object" || w === null || (w.dir !== "c2s" && w.dir !== "s2c") || typeof w.hex !== "string") {
      throw new InputError(`${source}: writes[${i}] needs dir "c2s" or "s2c" and a hex string`);
    }
    if (w.t !== undefined && (typeof w.t !== "number" || !Number.isFinite(w.t))) throw new InputError(`${source}: writes[${i}].t must be a number (milliseconds)`);
  });
  return c;
}

/** Turns a parsed capture (capture.json) into traffic to decode; `source` names it in messages. */
export function captureTraffic(c: Capture, source: string): LoadedTraffic {
  const header = [`${source}: capture${c.name ? ` "${c.name}"` : ""}, ${c.writes.length} writes in recorded order`];
  if (c.title) header.push(String(c.title));
  if (c.twisted || c.python) header.push(`recorded from Twisted ${c.twisted ?? "?"}, Python ${c.python ?? "?"}`);
  if (c.started) header.push(`connection opened ${c.started}`);
  if (c.challenge) header.push(`login challenge ${c.challenge}`);
  const chunks = c.writes.map((w, i): Chunk => {
    const chunk: Chunk = { dir: w.dir, bytes: unhex(w.hex, `${source}: writes[${i}]`) };
    if (w.t !== undefined) chunk.t = w.t;
    return chunk;
  });
  const dirs = new Set(c.writes.map((w) => w.dir));
  return { header, chunks, oneSided: dirs.size < 2 && c.writes.length > 0, timed: c.writes.some((w) => w.t !== undefined) };
}

/** A hex dump: "#NN C->S 02 80 ..." lines (writes.hex), "C->S ..."/"S->C ..." lines with optional
 * continuation lines, or bare hex of one direction. Lines starting with "#" (other than writes)
 * or "=" are comments. Returns the writes, or one undirected byte string. */
export function parseHexText(text: string, source = "hex"): { writes: Chunk[]; late: number } | { bytes: Uint8Array } {
  const writes: { dir: Dir | null; hex: string[] }[] = [];
  let late = 0;
  let current: { dir: Dir | null; hex: string[] } | null = null;
  text.split(/\r?\n/).forEach((line, n) => {
    const s = line.trim();
    if (s === "") return;
    const m = /^(?:#\d+\s+)?(C->S|S->C|c2s|s2c)\b:?\s*(.*)$/.exec(s);
    if (m) {
      const dir: Dir = m[1] === "C->S" || m[1] === "c2s" ? "c2s" : "s2c";
      if (/\sLATE$/.test(m[2])) {
        // writes.hex marks what Twisted wrote after connectionLost: it never reached the wire.
        late++;
        current = null;
        return;
      }
      current = { dir, hex: [] };
      writes.push(current);
      if (m[2]) current.hex.push(m[2]);
      return;
    }
    if (s.startsWith("#") || s.startsWith("=")) return;
    if (!/^[0-9a-fA-F\s]+$/.test(s)) throw new InputError(`${source} line ${n + 1}: neither hex nor a C->S / S->C line: ${s.slice(0, 60)}`);
    if (!current) {
      current = { dir: null, hex: [] };
      writes.push(current);
    }
    current.hex.push(s);
  });
  if (writes.length === 0) throw new InputError(`${source}: no hex bytes found`);
  if (writes.every((w) => w.dir === null)) return { bytes: unhex(writes.flatMap((w) => w.hex).join(""), source) };
  if (writes.some((w) => w.dir === null)) throw new InputError(`${source}: hex before the first C->S / S->C line`);
  return { writes: writes.map((w, i) => ({ dir: w.dir as Dir, bytes: unhex(w.hex.join(""), `${source} write ${i}`) })), late };
}

/** Which direction a single stream probably is: the listener starts with its dialect list, the
 * initiator with its choice (a bare string). Null when it cannot tell. */
export function guessDirection(bytes: Uint8Array): Dir | null {
  let first: Sexp | undefined;
  const d = new BananaDecoder((x) => {
    if (first === undefined) first = x;
  });
  try {
    d.feed(bytes.subarray(0, 4096));
  } catch {
    // only the first item matters
  }
  if (first === undefined) return null;
  if (isBytes(first)) return "c2s";
  if (isList(first) && first.length > 0 && first.every(isBytes)) return "s2c";
  return null;
}

export type InputFormat = "auto" | "capture" | "hex" | "raw";

/** What a file holds: JSON capture, hex text or raw bytes (banana always has bytes >= 0x80, so raw PB is never pure text). */
export function sniff(data: Uint8Array): Exclude<InputFormat, "auto"> {
  let i = 0;
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x0a || data[i] === 0x0d || data[i] === 0x09)) i++;
  if (data[i] === 0x7b) return "capture";
  for (let k = 0; k < data.length; k++) if (data[k] >= 0x80 || (data[k] < 0x20 && data[k] !== 0x0a && data[k] !== 0x0d && data[k] !== 0x09)) return "raw";
  return data.length ? "hex" : "raw";
}

export interface LoadOptions {
  format?: InputFormat;
  /** Direction of a one-direction input (default: guessed). */
  dir?: Dir;
  /** Reads stdin for "-". */
  readStdin?: () => Uint8Array;
}

function readInput(path: string, opts: LoadOptions): Uint8Array {
  if (path === "-") {
    if (!opts.readStdin) throw new InputError("cannot read stdin here");
    return opts.readStdin();
  }
  if (!existsSync(path)) throw new InputError(`${path}: no such file`);
  return Uint8Array.from(readFileSync(path));
}

/** One direction's bytes from a raw or hex file. */
function directionBytes(path: string, opts: LoadOptions): Uint8Array {
  const data = readInput(path, opts);
  const format = opts.format && opts.format !== "auto" ? opts.format : sniff(data);
  if (format === "capture") throw new InputError(`${path}: a capture holds both directions; give it alone`);
  if (format === "raw") return data;
  const parsed = parseHexText(Buffer.from(data).toString("latin1"), path);
  if ("bytes" in parsed) return parsed.bytes;
  throw new InputError(`${path}: has C->S / S->C lines; give it alone`);
}

/** Two directions without timing, interleaved causally. */
export function pairTraffic(c2s: Uint8Array, s2c: Uint8Array, header: string[]): LoadedTraffic {
  const { chunks, forced } = interleave(c2s, s2c);
  header.push("no timing: the two directions are interleaved causally (dialect and versions first, each answer after its call); the real order may differ");
  if (forced) header.push("some items could not be placed after what they refer to (inconsistent or partial capture)");
  return { header, chunks, oneSided: c2s.length === 0 || s2c.length === 0, timed: false };
}

/** Reads what `pb-inspect decode` was given: one path (capture, hex, raw, or a directory) or two (the directions). */
export function loadTraffic(paths: string[], opts: LoadOptions = {}): LoadedTraffic {
  if (paths.length === 2) {
    let [a, b] = paths;
    const named = (p: string, d: Dir) => basename(p).toLowerCase().includes(d);
    if (named(a, "s2c") && named(b, "c2s")) [a, b] = [b, a];
    return pairTraffic(directionBytes(a, opts), directionBytes(b, opts), [`C->S from ${a}, S->C from ${b}`]);
  }
  if (paths.length !== 1) throw new InputError("give one capture file, a directory, or the two direction files (C->S first)");
  const path = paths[0];
  if (path !== "-" && existsSync(path) && statSync(path).isDirectory()) {
    const cap = join(path, "capture.json");
    if (existsSync(cap)) return loadTraffic([cap], { ...opts, format: "capture" });
    const c2s = join(path, "c2s.bin");
    const s2c = join(path, "s2c.bin");
    if (existsSync(c2s) || existsSync(s2c)) {
      const read = (p: string) => (existsSync(p) ? Uint8Array.from(readFileSync(p)) : new Uint8Array(0));
      return pairTraffic(read(c2s), read(s2c), [`${path}: c2s.bin and s2c.bin`]);
    }
    throw new InputError(`${path}: a directory needs capture.json, or c2s.bin and s2c.bin`);
  }
  const data = readInput(path, opts);
  const format = opts.format && opts.format !== "auto" ? opts.format : sniff(data);
  const name = path === "-" ? "stdin" : path;
  if (format === "capture") return captureTraffic(parseCapture(Buffer.from(data).toString("utf8"), name), name);
  let bytes: Uint8Array;
  if (format === "hex") {
    const parsed = parseHexText(Buffer.from(data).toString("latin1"), name);
    if ("writes" in parsed) {
      const dirs = new Set(parsed.writes.map((w) => w.dir));
      const header = [`${name}: hex dump, ${parsed.writes.length} writes in recorded order`];
      if (parsed.late) header.push(`${parsed.late} write(s) marked LATE left out (written after connectionLost: never on the wire)`);
      return { header, chunks: parsed.writes, oneSided: dirs.size < 2, timed: false };
    }
    bytes = parsed.bytes;
  } else bytes = data;
  const guessed = guessDirection(bytes);
  const dir = opts.dir ?? guessed ?? "c2s";
  const how = opts.dir ? "given" : guessed ? "guessed from its first item; --dir to change" : "unknown, assumed; --dir to change";
  return {
    header: [`${name}: ${format === "hex" ? "hex" : "raw bytes"} of one direction, ${arrow(dir)} (${how}); the other direction is not in this capture`],
    chunks: [{ dir, bytes }],
    oneSided: true,
    timed: false,
  };
}
