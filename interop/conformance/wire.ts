// Wire helpers of the harness: splitting captured chunks into banana items (TCP chunks are not
// PB messages: Twisted coalesces writes made in one reactor turn, the kernel splits big ones),
// the named nondeterministic fields, and the decoded transcript.
import { decode, encode, PyFloat, type Sexp } from "../../src/banana/index.ts";
import type { CaptureEvent, Dir } from "./proxy.ts";
import { splitItems as splitBananaItems } from "../../src/inspect/items.ts";

const hexOf = (b: Uint8Array) => Buffer.from(b).toString("hex");

/**
 * Where the top-level items of a banana stream end (pb-inspect's framing: headers, list counts,
 * string lengths, float bodies; no dialect needed). The complete items and the bytes left over,
 * each a copy of its own.
 */
export function splitItems(buf: Uint8Array): { items: Uint8Array[]; rest: Uint8Array } {
  const { items, rest } = splitBananaItems(buf);
  return { items: items.map((i) => i.slice()), rest: rest.slice() };
}

export interface WireItem {
  dir: Dir;
  hex: string;
}

export interface ItemStream {
  /** Items in the order they completed at the proxy, both directions interleaved. */
  items: WireItem[];
  /** The side that closed first (c2s: the client), or null if neither did. */
  firstClose: Dir | null;
  /** Items read after the first close (they never reached the other side). */
  late: WireItem[];
  /** Bytes left over in a direction that do not make a whole item (should be none). */
  leftovers: Record<Dir, string>;
}

/** Chunks (as captured) to items, both directions in arrival order. */
export function itemStream(events: readonly CaptureEvent[]): ItemStream {
  const buffers: Record<Dir, Uint8Array> = { c2s: new Uint8Array(0), s2c: new Uint8Array(0) };
  const out: ItemStream = { items: [], firstClose: null, late: [], leftovers: { c2s: "", s2c: "" } };
  for (const e of events) {
    if (e.close) {
      if (!out.firstClose) out.firstClose = e.dir;
      continue;
    }
    const joined = Buffer.concat([buffers[e.dir], Buffer.from(e.hex ?? "", "hex")]);
    const { items, rest } = splitItems(joined);
    buffers[e.dir] = rest;
    for (const it of items) (out.firstClose ? out.late : out.items).push({ dir: e.dir, hex: hexOf(it) });
  }
  out.leftovers = { c2s: hexOf(buffers.c2s), s2c: hexOf(buffers.s2c) };
  return out;
}

// ---- the named nondeterministic fields ----------------------------------------------------------

const COPYABLE_FAILURE = "twisted.spread.pb.CopyableFailure";

function text(x: Sexp): string | null {
  if (typeof x === "string") return x;
  if (x instanceof Uint8Array) return Buffer.from(x).toString("latin1");
  if (Array.isArray(x) && x.length === 2 && text(x[0]) === "unicode") return text(x[1]);
  return null;
}

/** The mutable [key, value] pair of `count` inside an error message's CopyableFailure, or null. */
export function failureCountPair(item: Sexp): Sexp[] | null {
  if (!Array.isArray(item) || text(item[0]) !== "error" || item.length !== 3) return null;
  const failure = item[2];
  if (!Array.isArray(failure) || text(failure[0]) !== COPYABLE_FAILURE) return null;
  const state = failure[1];
  if (!Array.isArray(state) || text(state[0]) !== "dictionary") return null;
  for (const pair of state.slice(1)) if (Array.isArray(pair) && pair.length === 2 && text(pair[0]) === "count") return pair as Sexp[];
  return null;
}

/**
 * Named field 1, Failure.count: Twisted's process-global failure counter, meaningless to the
 * peer. In an `error` message carrying a CopyableFailure the count is set to 0; nothing else is
 * touched. Returns the item unchanged (and masked false) when there is no such count.
 */
export function maskFailureCount(hex: string, sortKeys = false): { hex: string; masked: boolean } {
  let items: Sexp[];
  try {
    items = decode(new Uint8Array(Buffer.from(hex, "hex")), { dialect: "pb" });
  } catch {
    return { hex, masked: false };
  }
  if (items.length !== 1) return { hex, masked: false };
  // only when our encoder gives the very same bytes back (so masking cannot hide anything else)
  if (hexOf(encode(items[0], { dialect: "pb" })) !== hex) return { hex, masked: false };
  const pair = failureCountPair(items[0]);
  if (!pair || typeof pair[1] !== "number") return { hex, masked: false };
  pair[1] = 0;
  if (sortKeys) {
    const state = ((items[0] as Sexp[])[2] as Sexp[])[1] as Sexp[];
    const pairs = state.slice(1) as Sexp[][];
    pairs.sort((a, b) => (text(a[0]) ?? "").localeCompare(text(b[0]) ?? ""));
    state.splice(1, pairs.length, ...pairs);
  }
  return { hex: hexOf(encode(items[0], { dialect: "pb" })), masked: true };
}

/** A [message, id, objectID, method, ...] item's request id and method name, if it is one. */
export function messageOf(hex: string): { kind: string; requestID: unknown; method?: string; body: Sexp } | null {
  try {
    const [item] = decode(new Uint8Array(Buffer.from(hex, "hex")), { dialect: "pb" });
    if (!Array.isArray(item)) return null;
    const kind = text(item[0]);
    if (!kind) return null;
    if (kind === "message" || kind === "cachemessage") return { kind, requestID: item[1], method: text(item[3]) ?? undefined, body: item };
    if (kind === "answer" || kind === "error") return { kind, requestID: item[1], body: item };
    return { kind, requestID: null, body: item };
  } catch {
    return null;
  }
}

/**
 * Named field 2, the login challenge: the 16 bytes Twisted draws from `random` and answers to
 * each `login` call; the recording's own are read back from the answers here (in order).
 */
export function loginChallenges(items: readonly WireItem[]): Uint8Array[] {
  const loginIDs = new Set<unknown>();
  const out: Uint8Array[] = [];
  for (const it of items) {
    const m = messageOf(it.hex);
    if (!m) continue;
    if (it.dir === "c2s" && m.kind === "message" && m.method === "login") loginIDs.add(m.requestID);
    if (it.dir === "s2c" && m.kind === "answer" && loginIDs.has(m.requestID)) {
      const result = (m.body as readonly Sexp[])[2];
      // [tuple, challenge, [remote, luid]]
      if (Array.isArray(result) && text(result[0]) === "tuple" && result[1] instanceof Uint8Array) out.push(result[1]);
    }
  }
  return out;
}

// ---- transcript ---------------------------------------------------------------------------------

function quote(b: Uint8Array): string {
  let s = "'";
  for (const c of b) s += c === 0x27 || c === 0x5c ? "\\" + String.fromCharCode(c) : c >= 32 && c < 127 ? String.fromCharCode(c) : "\\x" + c.toString(16).padStart(2, "0");
  return s + "'";
}

/** One decoded item: $atom = vocabulary, 'x' = byte string, float:x, [ ... ] = list. */
export function renderSexp(x: Sexp): string {
  if (typeof x === "string") return "$" + x;
  if (x instanceof Uint8Array) return quote(x);
  if (x instanceof PyFloat) return `float:${x.value.toFixed(1)}`;
  if (typeof x === "number") return Number.isInteger(x) && !Object.is(x, -0) ? String(x) : `float:${Object.is(x, -0) ? "-0.0" : String(x)}`;
  if (typeof x === "bigint") return `${x}L`;
  if (typeof x === "boolean") return x ? "1" : "0";
  if (Array.isArray(x)) return `[${x.map(renderSexp).join(", ")}]`;
  return String(x);
}

export function renderItem(hex: string): string {
  try {
    const items = decode(new Uint8Array(Buffer.from(hex, "hex")), { dialect: "pb" });
    return items.map(renderSexp).join(" ");
  } catch (e) {
    return `<undecodable: ${(e as Error).message}>`;
  }
}

/** The decoded transcript of a capture, one line per item. */
export function transcript(stream: ItemStream, header: string[]): string {
  const lines = header.map((h) => `# ${h}`);
  lines.push("# notation: $name = vocabulary atom, 'x' = byte string, float:x = FLOAT, nL = LONGINT/LONGNEG");
  stream.items.forEach((it, i) => {
    const n = Buffer.from(it.hex, "hex").length;
    lines.push(`#${String(i).padStart(2, "0")} ${it.dir === "c2s" ? "C->S" : "S->C"} ${String(n).padStart(5)}  ${renderItem(it.hex)}`);
  });
  if (stream.firstClose) lines.push(`## ${stream.firstClose === "c2s" ? "client" : "server"} closed the connection`);
  stream.late.forEach((it) => lines.push(`## late (never delivered) ${it.dir === "c2s" ? "C->S" : "S->C"} ${renderItem(it.hex)}`));
  return lines.join("\n") + "\n";
}
