// A PB conversation, message by message: feed it the bytes of each direction as they come
// ({dir, t, bytes}) and it returns transcript entries. It decodes with src/banana (one streaming
// decoder per direction), follows the dialect negotiation and hands each PB call, answer and
// release to calls.ts, which pairs answers with their calls and keeps both sides' object tables,
// so each luid and cache id is shown with what it is.
import { BananaDecodeError, KNOWN_DIALECTS, type Dialect, type Sexp } from "../banana/index.ts";
import { tagText } from "../jelly/text.ts";
import { Calls } from "./calls.ts";
import { countText, itemEntry, noteEntry, plural, sideOf } from "./entries.ts";
import { DEFAULT_LIMITS, pretty, type PrettyLimits } from "./pretty.ts";
import { bytesText, isBytes, isList, rawRepr, scalarRepr, type List } from "./sexp.ts";
import { Resync, type Boundary } from "./resync.ts";
import { Direction, startsWithPbMessage } from "./stream.ts";
import { ObjectTable } from "./table.ts";
import { DIRS, arrow, type Chunk, type Dir, type Entry } from "./types.ts";

export { DIRS, arrow, peerDir, type Chunk, type Dir, type Entry, type EntryKind } from "./types.ts";
export { startsWithPbMessage } from "./stream.ts";

/** Options of a {@link Session}. */
export interface SessionOptions {
  limits?: PrettyLimits;
  /** Only one direction was captured: answers without calls and unknown luids are expected. */
  oneSided?: boolean;
  /**
   * "connection": the capture starts when the connection opened (a proxy). "mid-session": the
   * dialect negotiation is not in it (dialect pb assumed). "auto" (default): mid-session when a
   * direction starts with a list whose first element is a vocabulary token.
   */
  start?: "auto" | "connection" | "mid-session";
}

/** Decodes one PB connection's two directions into transcript entries, following the object table. */
export class Session {
  readonly table = new ObjectTable();
  private readonly dirs: Record<Dir, Direction>;
  private readonly calls: Calls;
  private readonly limits: PrettyLimits;
  private out: Entry[] = [];
  private chosen: Dialect | null = null;
  private startMode: "auto" | "connection" | "mid-session";
  private ended = false;
  private midSession = false;
  private lastT: number | undefined;

  constructor(options: SessionOptions = {}) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.startMode = options.start ?? "auto";
    this.calls = new Calls({ table: this.table, limits: this.limits, oneSided: options.oneSided ?? false, complete: () => !options.oneSided && !this.midSession });
    const onItem = (d: Direction, item: Sexp, bytes: Uint8Array, start: number) => {
      try {
        this.item(d, item, bytes, start);
      } catch (e) {
        // A bug here must not stop the decoder (or the proxy): show it and go on.
        this.out.push(itemEntry("unknown", d, start, bytes, item, `internal error while describing this item: ${String(e)}`));
      }
    };
    this.dirs = { c2s: new Direction("c2s", onItem), s2c: new Direction("s2c", onItem) };
    if (this.startMode === "mid-session") this.assumeNegotiated();
  }

  /** Feeds bytes of one direction; returns the entries they completed. */
  push(chunk: Chunk): Entry[] {
    const d = this.dirs[chunk.dir];
    d.t = chunk.t;
    if (chunk.t !== undefined) this.lastT = chunk.t;
    d.total += chunk.bytes.length;
    if (d.skipping > 0) {
      const n = Math.min(d.skipping, chunk.bytes.length);
      d.skipping -= n;
      chunk = { ...chunk, bytes: chunk.bytes.subarray(n) };
    }
    if (chunk.bytes.length === 0) return [];
    if (d.resync) {
      const found = d.resync.push(chunk.bytes);
      if (found) this.resynced(d, found);
      return this.flush();
    }
    if (d.failure) return []; // counted in the summary, not decoded
    if (this.startMode === "auto" && !d.negotiated && d.items === 0 && d.decoder.offset === 0 && d.chunks.length === 0) {
      if (startsWithPbMessage(chunk.bytes)) {
        this.assumeNegotiated();
        this.out.push(noteEntry(`no dialect negotiation at the start of ${arrow(d.dir)}: the capture starts mid-session, dialect pb assumed`));
      }
      this.startMode = "connection";
    }
    this.feed(d, chunk.bytes);
    return this.flush();
  }

  /**
   * Bytes of one direction the capture does not hold: `lost` of them (null: an unknown number,
   * the capture starting in the middle of the connection). Decoding resumes at the first message
   * boundary after them that is certain (resync.ts); what is skipped to get there is reported.
   */
  gap(g: { dir: Dir; lost: number | null; why: string; t?: number; skip?: number }): Entry[] {
    const d = this.dirs[g.dir];
    if (g.t !== undefined) {
      d.t = g.t;
      this.lastT = g.t;
    }
    const e: Entry = { kind: "gap", dir: g.dir, offset: d.total, text: "", details: [], changes: [], warnings: [] };
    if (g.t !== undefined) e.t = g.t;
    if (d.resync && d.resync.held > 0) e.details.push(`${plural(d.resync.held, "byte")} from byte ${d.resyncAt} before it skipped: no message boundary found in them`);
    if (g.lost === null) {
      e.text = `${arrow(g.dir)} starts mid-stream (${g.why}): decoding begins at the first message boundary it can be sure of, dialect pb assumed`;
    } else {
      e.text = `${plural(g.lost, "byte")} of ${arrow(g.dir)} missing at byte ${d.total} (${g.why})`;
      if (!d.resync && !d.failure && (d.decoder.pending || d.fed > d.itemStart)) e.details.push(`the item from byte ${d.at(d.itemStart)} is lost with them`);
      d.total += g.lost;
      e.details.push("objects and calls in the missing bytes are unknown: references to them are shown as unknown, without warnings");
    }
    this.midSession = true;
    this.chosen ??= "pb";
    this.startMode = "connection";
    d.resync = null;
    d.resyncAt = d.total;
    if (g.skip === undefined) d.resync = new Resync();
    else {
      // The caller looked ahead (a packet capture is all there): resume right away.
      const at = d.total + g.skip;
      e.details.push(`decoding resumes at byte ${at}, the first message boundary it can be sure of${g.skip ? ` (${plural(g.skip, "byte")} from byte ${d.total} skipped)` : ""}`);
      d.restart(at, this.chosen);
      d.negotiated = true;
      d.skipping = g.skip;
    }
    this.out.push(e);
    return this.flush();
  }

  /** A direction ended (FIN: its sender closed; RST: the connection was reset). */
  closed(dir: Dir, how: "fin" | "rst", t?: number): Entry[] {
    const e = noteEntry(how === "fin" ? `${arrow(dir)}: ${sideOf(dir)} closed its side of the connection (FIN)` : `${arrow(dir)}: ${sideOf(dir)} reset the connection (RST)`);
    e.dir = dir;
    if (t !== undefined) {
      e.t = t;
      this.lastT = t;
    }
    this.out.push(e);
    return this.flush();
  }

  /** Feeds one chunk of any kind: bytes, a gap or a close. */
  take(chunk: Chunk): Entry[] {
    if (chunk.gap) return this.gap({ dir: chunk.dir, ...chunk.gap, t: chunk.t });
    if (chunk.close) return this.closed(chunk.dir, chunk.close, chunk.t);
    return this.push(chunk);
  }

  private feed(d: Direction, bytes: Uint8Array): void {
    d.chunks.push(bytes);
    d.fed += bytes.length;
    try {
      d.decoder.feed(bytes);
    } catch (e) {
      this.decodeError(d, e);
    }
  }

  private resynced(d: Direction, found: Boundary): void {
    const at = d.resyncAt + found.skipped;
    d.resync = null;
    const skipped = found.skipped ? `; ${plural(found.skipped, "byte")} from byte ${d.resyncAt} skipped` : "";
    this.out.push(noteEntry(`${arrow(d.dir)}: decoding resumes at byte ${at}, the first message boundary it can be sure of${skipped}`));
    d.restart(at, this.chosen ?? "pb");
    d.negotiated = true;
    this.feed(d, found.rest);
  }

  /** Ends the capture (at time `t`, if known): what was left incomplete, what is still registered, what was never answered. */
  end(t?: number): Entry[] {
    if (this.ended) return [];
    this.ended = true;
    const details: string[] = [];
    for (const dir of DIRS) {
      const d = this.dirs[dir];
      if (!d.resync) continue;
      const found = d.resync.finish();
      if (found) this.resynced(d, found);
      else if (d.resync.held) {
        this.out.push(noteEntry(`${arrow(dir)}: ${plural(d.resync.held, "byte")} from byte ${d.resyncAt} not decoded: no message boundary found in them`));
        d.resync = null;
      }
    }
    for (const dir of DIRS) {
      const d = this.dirs[dir];
      const head = `${arrow(dir)}: ${plural(d.total, "byte")}, ${plural(d.items, "item")}`;
      if (d.failure) details.push(`${head}; ${d.total - d.at(d.itemStart)} bytes from byte ${d.at(d.itemStart)} on not decoded (decode error at byte ${d.at(d.failure.offset)})`);
      else if (d.decoder.pending || d.fed > d.itemStart) details.push(`${head}; the capture ends inside an item: ${d.total - d.at(d.itemStart)} bytes from byte ${d.at(d.itemStart)} incomplete`);
      else details.push(head);
    }
    const live = this.table.live();
    if (live.length) {
      details.push("still registered:");
      for (const e of live) details.push(`  ${e.side} ${e.kind} ${e.id} = ${e.what} (${e.from}), ${countText(e)}`);
    }
    details.push(...this.calls.unanswered());
    const e: Entry = { kind: "end", text: "end of capture", details, changes: [], warnings: [] };
    const last = t ?? this.lastT;
    if (last !== undefined) e.t = last;
    this.out.push(e);
    return this.flush();
  }

  private flush(): Entry[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private assumeNegotiated(): void {
    for (const dir of DIRS) {
      this.dirs[dir].negotiated = true;
      this.dirs[dir].decoder.dialect = "pb";
    }
    this.chosen = "pb";
    this.startMode = "connection";
    this.midSession = true;
  }

  private decodeError(d: Direction, e: unknown): void {
    const err = e instanceof BananaDecodeError ? e : new BananaDecodeError(String(e), d.itemStart);
    d.failure = err;
    const pendingBytes = d.pendingBytes();
    const upTo = Math.max(0, Math.min(pendingBytes.length, err.offset - d.itemStart + 1));
    const shown = pendingBytes.subarray(Math.max(0, upTo - 48), upTo);
    const entry = itemEntry("decode-error", d, d.at(d.itemStart), pendingBytes.subarray(0, upTo), undefined, `decode error at byte ${d.at(err.offset)}: ${err.message}`);
    entry.details.push(`in the item starting at byte ${d.at(d.itemStart)}; bytes up to the failing one:${shown.length < upTo ? " ..." : ""} ${Buffer.from(shown).toString("hex").replace(/(..)(?!$)/g, "$1 ")}`);
    entry.warnings.push("Twisted logs this and drops the connection; the rest of this direction is not decoded");
    this.out.push(entry);
  }

  // ------------------------------------------------------------------------------------------
  // items

  private item(d: Direction, item: Sexp, bytes: Uint8Array, start: number): void {
    d.items++;
    if (!d.negotiated) {
      d.negotiated = true;
      this.out.push(d.dir === "s2c" ? this.offer(d, item, bytes, start) : this.choice(d, item, bytes, start));
      return;
    }
    if (!isList(item) || item.length === 0 || !isBytes(item[0])) {
      const e = itemEntry("unknown", d, start, bytes, item, `not a PB message: ${rawRepr(item)}`);
      e.warnings.push(isList(item) && item.length === 0 ? "Twisted drops the connection (IndexError)" : "Twisted drops the connection (ProtocolError: Non-list expression received)");
      this.out.push(e);
      return;
    }
    const cmd = tagText(item[0]);
    const want: Record<string, number> = { version: 2, message: 7, cachemessage: 7, answer: 3, error: 3, decref: 2, decache: 2, uncache: 2, didNotUnderstand: 2 };
    if (!(cmd in want)) {
      const e = itemEntry("unknown", d, start, bytes, item, `unknown command ${scalarRepr(item[0])}: ${rawRepr(item)}`);
      e.warnings.push("Twisted 22.4 fails to answer didNotUnderstand and drops the connection");
      this.out.push(e);
      return;
    }
    if (item.length !== want[cmd]) {
      const e = itemEntry("unknown", d, start, bytes, item, `${cmd} with ${plural(item.length - 1, "field")} instead of ${want[cmd] - 1}: ${rawRepr(item)}`);
      e.warnings.push("Twisted drops the connection (TypeError)");
      this.out.push(e);
      return;
    }
    switch (cmd) {
      case "version":
        return this.version(d, item, bytes, start);
      case "message":
      case "cachemessage":
        this.out.push(this.calls.message(d, cmd, item, bytes, start));
        return;
      case "answer":
      case "error":
        this.out.push(this.calls.answer(d, cmd, item, bytes, start));
        return;
      case "decref":
      case "decache":
      case "uncache":
        this.out.push(this.calls.release(d, cmd, item, bytes, start));
        return;
      default: {
        const e = itemEntry("didNotUnderstand", d, start, bytes, item, `didNotUnderstand ${pretty(item[1], this.limits)}`);
        this.out.push(e);
      }
    }
  }

  private offer(d: Direction, item: Sexp, bytes: Uint8Array, start: number): Entry {
    if (isList(item) && item.every(isBytes)) {
      const names = (item as readonly (Uint8Array | string)[]).map((x) => bytesText(x));
      const e = itemEntry("dialect", d, start, bytes, item, `dialects offered: ${names.join(", ")}`);
      const first = names.find((n): n is Dialect => (KNOWN_DIALECTS as readonly string[]).includes(n));
      // The listener switches when the choice arrives; until then assume the one a client would take.
      d.decoder.dialect = this.chosen ?? first ?? null;
      if (!first) e.warnings.push("no dialect a Twisted client knows: it drops the connection");
      return e;
    }
    const e = itemEntry("dialect", d, start, bytes, item, `expected the listener's list of dialects, got ${rawRepr(item)}`);
    e.warnings.push("a Twisted client drops the connection");
    return e;
  }

  private choice(d: Direction, item: Sexp, bytes: Uint8Array, start: number): Entry {
    if (isBytes(item)) {
      const name = bytesText(item);
      const e = itemEntry("dialect", d, start, bytes, item, `dialect chosen: ${name}`);
      if ((KNOWN_DIALECTS as readonly string[]).includes(name)) {
        this.chosen = name as Dialect;
        d.decoder.dialect = this.chosen;
        this.dirs.s2c.decoder.dialect = this.chosen;
      } else e.warnings.push("not a dialect Twisted knows: the listener drops the connection");
      return e;
    }
    const e = itemEntry("dialect", d, start, bytes, item, `expected the client's dialect choice, got ${rawRepr(item)}`);
    e.warnings.push("a Twisted listener drops the connection");
    return e;
  }

  private version(d: Direction, item: List, bytes: Uint8Array, start: number): void {
    const e = itemEntry("version", d, start, bytes, item, `version ${rawRepr(item[1])}`);
    if (item[1] !== 6) e.warnings.push("Twisted speaks version 6: it drops the connection (Version Incompatibility)");
    this.out.push(e);
  }
}
