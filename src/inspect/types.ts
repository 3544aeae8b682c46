// The vocabulary shared by the pb-inspect modules: directions, input chunks, transcript entries.
import type { Sexp } from "../banana/index.ts";
import type { TableChange } from "./table.ts";

/** A direction: client to server, or server to client. */
export type Dir = "c2s" | "s2c";
export const DIRS: readonly Dir[] = ["c2s", "s2c"];
/** The arrow a transcript shows for a direction ("C->S" or "S->C"). */
export const arrow = (d: Dir): string => (d === "c2s" ? "C->S" : "S->C");
export const peerDir = (d: Dir): Dir => (d === "c2s" ? "s2c" : "c2s");

/** Some bytes of one direction, as they arrived; `t` in milliseconds (from the start of the capture). */
export interface Chunk {
  dir: Dir;
  bytes: Uint8Array;
  t?: number;
  /** Not bytes but a hole in this direction (a packet capture's gap); `bytes` is then empty. */
  gap?: { lost: number | null; why: string; skip?: number };
  /** Not bytes: this direction ended here (FIN or RST seen in a packet capture). */
  close?: "fin" | "rst";
}

/** What a transcript entry is. */
export type EntryKind =
  | "note"
  | "gap"
  | "dialect"
  | "version"
  | "message"
  | "cachemessage"
  | "answer"
  | "error"
  | "decref"
  | "decache"
  | "uncache"
  | "didNotUnderstand"
  | "unknown"
  | "decode-error"
  | "end";

/** One line of the transcript (a PB message, a decoding failure, a note), with what it changed. */
export interface Entry {
  kind: EntryKind;
  dir?: Dir;
  /** Milliseconds, when the capture has times. */
  t?: number;
  /** Where the item starts in its direction's byte stream. */
  offset?: number;
  /** The main line: "message #3 -> obj 2 (avatar of b'alice').echo(1, 'hi')". */
  text: string;
  /** Lines shown under it: a traceback, notes. */
  details: string[];
  /** Objects handed out or released by this message. */
  changes: TableChange[];
  /** Protocol problems: what Twisted would do with it. */
  warnings: string[];
  /** The exact bytes of the item, hex. */
  hex?: string;
  /** The decoded banana expression. */
  sexp?: Sexp;
  requestId?: string;
}
