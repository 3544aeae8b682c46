// PB's calls and releases, once a session has negotiated: message and cachemessage (what is
// called, with what), answer and error (paired with the call they answer), decref, decache and
// uncache (the object table counted down). Keeps each direction's calls still waiting for an answer.
import type { Sexp } from "../banana/index.ts";
import { tagText } from "../jelly/text.ts";
import { countText, itemEntry, sideOf } from "./entries.ts";
import { summarizeFailure } from "./failure.ts";
import { tableHooks, type Hint } from "./hooks.ts";
import { loginAnswerHints, loginCall, type LoginCall } from "./login.ts";
import { Pretty, type PbHooks, type PrettyLimits } from "./pretty.ts";
import { bytesText, isBytes, isInt, isList, rawRepr, scalarRepr, utf8OrNull, type List } from "./sexp.ts";
import type { Direction } from "./stream.ts";
import { otherSide, type ObjectTable, type ObjKind, type TableEntry } from "./table.ts";
import { DIRS, arrow, peerDir, type Dir, type Entry } from "./types.ts";

interface Pending {
  label: string;
  login?: LoginCall;
}

/** How a session's calls are described: its object table, its limits, what the capture holds. */
export interface CallsContext {
  table: ObjectTable;
  limits: PrettyLimits;
  /** Only one direction was captured. */
  oneSided: boolean;
  /** Whether the capture holds the whole session so far (so an unknown id is the peer's fault). */
  complete: () => boolean;
}

/** Describes a session's calls, answers and releases, pairing each answer with its call. */
export class Calls {
  private readonly pending: Record<Dir, Map<string, Pending>> = { c2s: new Map(), s2c: new Map() };

  constructor(private readonly ctx: CallsContext) {}

  /** The calls never answered, one line each (none when only one direction was captured). */
  unanswered(): string[] {
    const lines: string[] = [];
    for (const dir of DIRS) {
      if (this.ctx.oneSided) break; // the answers are in the direction not captured
      for (const [id, p] of this.pending[dir]) lines.push(`never answered: ${arrow(dir)} message #${id} to ${p.label}`);
    }
    return lines;
  }

  private idText(x: Sexp): string {
    return isInt(x) ? String(x) : scalarRepr(x);
  }

  /** How the target of a message is named: root, obj 2 (avatar of b'alice'), cache 3 (__main__.Counter). */
  private target(d: Direction, kind: "message" | "cachemessage", objectID: Sexp, warnings: string[]): { full: string; short: string; entry?: TableEntry } {
    if (kind === "message" && isBytes(objectID)) {
      const name = bytesText(objectID);
      if (name === "root") {
        if (d.dir === "s2c") warnings.push("the client has no root object");
        return { full: "root", short: "root" };
      }
      return { full: `obj ${scalarRepr(objectID)}`, short: `obj ${scalarRepr(objectID)}` };
    }
    const id = this.idText(objectID);
    // message: an object of the receiver; cachemessage: a cache the sender owns.
    const side = kind === "message" ? otherSide(sideOf(d.dir)) : sideOf(d.dir);
    const k: ObjKind = kind === "message" ? "obj" : "cache";
    const entry = this.ctx.table.get(side, k, id);
    if (!entry) {
      if (this.ctx.complete()) warnings.push(`${side} ${k} ${id} is not registered: Twisted answers with an error (Invalid Object ID)`);
      return { full: `${k} ${id} (unknown)`, short: `${k} ${id}` };
    }
    const what = k === "cache" ? (entry.className ?? entry.what) : entry.what;
    return { full: `${k} ${id} (${what})`, short: `${k} ${id}`, entry };
  }

  /** A message or cachemessage: the call, its target and arguments; it waits for its answer unless none is wanted. */
  message(d: Direction, cmd: "message" | "cachemessage", item: List, bytes: Uint8Array, start: number): Entry {
    const [, reqId, objectID, method, answerRequired, args, kwargs] = item;
    const warnings: string[] = [];
    const target = this.target(d, cmd, objectID, warnings);
    const name = isBytes(method) ? (utf8OrNull(method) ?? scalarRepr(method)) : `<method name ${rawRepr(method)}>`;
    const label = `${target.short}.${name}`;
    const id = this.idText(reqId);
    const e = itemEntry(cmd, d, start, bytes, item, "");
    e.requestId = id;
    e.warnings.push(...warnings);

    // Login: name what the login hands out.
    const { login, hints } = loginCall(cmd, target, name, args, this.ctx.limits);

    const from = `message #${id}`;
    const hooks = this.hooks(d, e, from, `argument of ${label}`, hints);
    const call = new Pretty(hooks, this.ctx.limits).callArgs(args, kwargs, new Pretty(hooks, this.ctx.limits));
    e.text = `${cmd} #${id} -> ${target.full}.${name}(${call})`;
    if (answerRequired === 0) e.text += "  [no answer wanted]";
    else if (answerRequired !== 1) e.details.push(`answerRequired is ${rawRepr(answerRequired)}`);
    if (answerRequired !== 0) {
      if (this.pending[d.dir].has(id)) e.warnings.push(`request #${id} is already waiting for an answer`);
      this.pending[d.dir].set(id, { label, login });
    }
    return e;
  }

  /** An answer or error, shown with the call it answers. */
  answer(d: Direction, cmd: "answer" | "error", item: List, bytes: Uint8Array, start: number): Entry {
    const [, reqId, payload] = item;
    const id = this.idText(reqId);
    const asked = this.pending[peerDir(d.dir)].get(id);
    this.pending[peerDir(d.dir)].delete(id);
    const e = itemEntry(cmd, d, start, bytes, item, "");
    e.requestId = id;
    const label = asked ? asked.label : this.ctx.oneSided ? "call not in this capture" : "unknown call";
    if (!asked && this.ctx.complete()) e.warnings.push(`no message #${id} from the peer is waiting for it: Twisted drops the connection (KeyError)`);

    const login = asked?.login;
    const hints = cmd === "answer" && login ? loginAnswerHints(login, payload) : new Map<string, Hint>();
    const hooks = this.hooks(d, e, `${cmd} #${id}`, `result of ${asked ? label : `call #${id}`}`, hints);
    const p = new Pretty(hooks, this.ctx.limits);
    if (cmd === "answer") {
      e.text = `answer #${id} (${label}) = ${p.value(payload)}`;
    } else {
      const failure = summarizeFailure(payload);
      if (failure) {
        e.text = `error #${id} (${label}): ${failure.line}`;
        e.details.push(...failure.traceback);
        if (login?.kind === "respond" || login?.kind === "anonymous") e.details.push(`login ${login.user ? `of ${login.user} ` : ""}refused`);
      } else {
        e.text = `error #${id} (${label}): ${p.value(payload)}`;
        if (isList(payload) && payload.length === 2 && isBytes(payload[0]) && tagText(payload[0]) === "unicode") {
          e.warnings.push("a text error value: Twisted's receiver fails on it (TypeError) and drops the connection");
        }
      }
    }
    return e;
  }

  /** A decref, decache or uncache: the object table counted down, the entry removed when none is left. */
  release(d: Direction, cmd: "decref" | "decache" | "uncache", item: List, bytes: Uint8Array, start: number): Entry {
    const id = this.idText(item[1]);
    // decref/decache come from the holder (about the peer's object); uncache from the owner.
    const side = cmd === "uncache" ? sideOf(d.dir) : otherSide(sideOf(d.dir));
    const kind: ObjKind = cmd === "decref" ? "obj" : "cache";
    const entry = this.ctx.table.get(side, kind, id);
    const e = itemEntry(cmd, d, start, bytes, item, "");
    e.text = `${cmd} ${kind} ${id}${entry ? ` (${entry.what})` : " (unknown)"}`;
    if (!entry) {
      if (this.ctx.complete()) e.warnings.push(`${side} ${kind} ${id} is not registered: Twisted drops the connection (KeyError)`);
      return e;
    }
    if (cmd === "uncache") entry.refs = 0;
    else entry.refs--;
    if (cmd === "decache" && entry.refs <= 0) {
      // The owner forgets it when it sends uncache (next).
      entry.refs = 0;
      e.details.push("no copies left: the owner will send uncache");
    } else if (entry.refs <= 0) {
      this.ctx.table.remove(entry);
      e.changes.push({ op: "remove", side, kind, id, what: entry.what, from: entry.from });
    } else {
      e.details.push(`${countText(entry)} left`);
    }
    return e;
  }

  private hooks(d: Direction, e: Entry, from: string, generic: string, hints: Map<string, Hint>): PbHooks {
    return tableHooks(this.ctx.table, sideOf(d.dir), e, from, generic, hints, this.ctx.complete());
  }
}
