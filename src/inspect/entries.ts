// How a session's transcript entries are made, and the few words they share (counts, sides),
// so the session and its call handlers (calls.ts) write them alike.
import type { Sexp } from "../banana/index.ts";
import { hexOf, type Direction } from "./stream.ts";
import type { Side, TableEntry } from "./table.ts";
import type { Dir, Entry, EntryKind } from "./types.ts";

/** The side that sends in direction `d`. */
export const sideOf = (d: Dir): Side => (d === "c2s" ? "client" : "server");

/** "1 byte", "3 bytes". */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** How many references (obj) or copies (cache) the peer holds of a table entry, in words. */
export function countText(e: TableEntry): string {
  if (e.kind === "cache") return `${e.refs} ${e.refs === 1 ? "copy" : "copies"}`;
  return `${e.refs} ${e.refs === 1 ? "reference" : "references"}`;
}

/** A note: a line about the capture itself, in no direction. */
export function noteEntry(text: string): Entry {
  return { kind: "note", text, details: [], changes: [], warnings: [] };
}

/** The entry of one decoded item of direction `d`, starting at byte `offset`, with its bytes in hex. */
export function itemEntry(kind: EntryKind, d: Direction, offset: number, bytes: Uint8Array, sexp: Sexp | undefined, text: string): Entry {
  const e: Entry = { kind, dir: d.dir, offset, text, details: [], changes: [], warnings: [], hex: hexOf(bytes) };
  if (d.t !== undefined) e.t = d.t;
  if (sexp !== undefined) e.sexp = sexp;
  return e;
}
