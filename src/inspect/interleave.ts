// Two directions captured separately, with no timing (c2s.bin and s2c.bin): put their items in
// an order that could have happened. Dialect offer, choice and versions come first; an answer or
// error comes after its call; a message to a luid, a decref, a [local]/[lcache] come after the
// peer handed that luid out; an uncache after the decaches. Among what is possible, a call is
// followed by what its callee says next (a synchronous conversation), nested calls answered first.
import { BananaDecoder, KNOWN_DIALECTS, type Dialect, type Sexp } from "../banana/index.ts";
import { tagText } from "../jelly/text.ts";
import { startsWithPbMessage } from "./stream.ts";
import { DIRS, peerDir, type Chunk, type Dir } from "./types.ts";
import { bytesText, isBytes, isInt, isList } from "./sexp.ts";

interface Item {
  dir: Dir;
  index: number;
  bytes: Uint8Array;
  sexp?: Sexp;
  cmd?: string;
  reqId?: string;
  answerRequired?: boolean;
  /** luids this item hands out ([remote n]) and caches it creates ([tag, n, state]). */
  objs: string[];
  caches: string[];
  /** The peer's luids / caches this item refers to. */
  peerObjs: string[];
  peerCaches: string[];
  /** Items (of either direction) that must come first. */
  deps: Array<[Dir, number]>;
}

/** Decodes one direction into items (plus an undecodable or incomplete tail, kept as its own item). */
function split(dir: Dir, bytes: Uint8Array, dialectAfterFirst: (first: Sexp) => Dialect | null, midSession: boolean): Item[] {
  const items: Item[] = [];
  let start = 0;
  const decoder = new BananaDecoder((sexp) => {
    const end = decoder.offset;
    items.push(describe(dir, items.length, bytes.subarray(start, end), sexp));
    start = end;
    if (items.length === 1 && !midSession) decoder.dialect = dialectAfterFirst(sexp);
  });
  if (midSession) decoder.dialect = "pb";
  try {
    decoder.feed(bytes);
  } catch {
    // the tail below is fed to the session as is, which reports the error at the same offset
  }
  if (start < bytes.length) items.push({ dir, index: items.length, bytes: bytes.subarray(start), objs: [], caches: [], peerObjs: [], peerCaches: [], deps: [] });
  return items;
}

function describe(dir: Dir, index: number, bytes: Uint8Array, sexp: Sexp): Item {
  const it: Item = { dir, index, bytes, sexp, objs: [], caches: [], peerObjs: [], peerCaches: [], deps: [] };
  if (isList(sexp) && sexp.length > 0 && isBytes(sexp[0])) {
    it.cmd = tagText(sexp[0]);
    const id = (x: Sexp | undefined) => (isInt(x) ? String(x) : undefined);
    if ((it.cmd === "message" || it.cmd === "cachemessage") && sexp.length === 7) {
      it.reqId = id(sexp[1]);
      it.answerRequired = sexp[4] !== 0;
      if (it.cmd === "message" && isInt(sexp[2])) it.peerObjs.push(String(sexp[2]));
    } else if ((it.cmd === "answer" || it.cmd === "error") && sexp.length === 3) {
      it.reqId = id(sexp[1]);
    } else if (it.cmd === "decref" && isInt(sexp[1])) it.peerObjs.push(String(sexp[1]));
    else if (it.cmd === "decache" && isInt(sexp[1])) it.peerCaches.push(String(sexp[1]));
  }
  // Walk the value (iteratively, so hostile nesting cannot overflow the stack).
  const stack: Sexp[] = [sexp];
  let budget = 100_000;
  while (stack.length && budget-- > 0) {
    const x = stack.pop()!;
    if (!isList(x)) continue;
    if (x.length >= 2 && isBytes(x[0])) {
      const tag = tagText(x[0]);
      if (tag === "dictionary") {
        // Entries are [key, value]: a key must not be read as a tag.
        for (const pair of x.slice(1)) if (isList(pair)) for (const e of pair) if (isList(e)) stack.push(e);
        continue;
      }
      if (x.length === 2 && isInt(x[1])) {
        if (tag === "remote") it.objs.push(String(x[1]));
        else if (tag === "local") it.peerObjs.push(String(x[1]));
        else if (tag === "lcache") it.peerCaches.push(String(x[1]));
      } else if (x.length === 3 && isInt(x[1]) && tag.includes(".")) it.caches.push(String(x[1]));
    }
    for (const e of x) if (isList(e)) stack.push(e);
  }
  return it;
}

export interface Interleaved {
  chunks: Chunk[];
  /** True when the dependencies could not all be met (hostile or partial captures). */
  forced: boolean;
}

/** Orders the items of two raw directions causally, as chunks ready for Session.push. */
export function interleave(c2s: Uint8Array, s2c: Uint8Array): Interleaved {
  const mid = { c2s: c2s.length > 0 && startsWithPbMessage(c2s), s2c: s2c.length > 0 && startsWithPbMessage(s2c) };
  const midSession = mid.c2s || mid.s2c;
  // The client's first item is its dialect choice; it applies to both directions afterwards.
  let chosen: Dialect | null = null;
  const known = (x: Sexp): Dialect | null => (isBytes(x) && (KNOWN_DIALECTS as readonly string[]).includes(bytesText(x)) ? (bytesText(x) as Dialect) : null);
  const q: Record<Dir, Item[]> = { c2s: [], s2c: [] };
  q.c2s = split("c2s", c2s, (first) => (chosen = known(first)), midSession);
  q.s2c = split("s2c", s2c, (first) => chosen ?? (isList(first) ? (first.map(known).find((d) => d !== null) ?? null) : null), midSession);

  // Dependencies, through indexes of what each direction hands out (first occurrence wins).
  const index = (dir: Dir) => {
    const objs = new Map<string, number>();
    const caches = new Map<string, number>();
    const calls = new Map<string, number>();
    const decaches = new Map<string, number[]>();
    for (const it of q[dir]) {
      for (const o of it.objs) if (!objs.has(o)) objs.set(o, it.index);
      for (const c of it.caches) if (!caches.has(c)) caches.set(c, it.index);
      if ((it.cmd === "message" || it.cmd === "cachemessage") && it.reqId !== undefined && !calls.has(it.reqId)) calls.set(it.reqId, it.index);
      if (it.cmd === "decache") for (const c of it.peerCaches) decaches.set(c, [...(decaches.get(c) ?? []), it.index]);
    }
    return { objs, caches, calls, decaches };
  };
  const made = { c2s: index("c2s"), s2c: index("s2c") };
  for (const dir of DIRS) {
    const peer = peerDir(dir);
    const p = made[peer];
    const after = (it: Item, i: number | undefined) => {
      if (i !== undefined) it.deps.push([peer, i]);
    };
    for (const it of q[dir]) {
      if (!midSession) {
        if (dir === "c2s" && it.index === 0 && q.s2c.length > 0) it.deps.push(["s2c", 0]);
        if (dir === "s2c" && it.index > 0 && q.c2s.length > 0) it.deps.push(["c2s", 0]);
      }
      if ((it.cmd === "answer" || it.cmd === "error") && it.reqId !== undefined) after(it, p.calls.get(it.reqId));
      for (const o of it.peerObjs) after(it, p.objs.get(o));
      for (const c of it.peerCaches) after(it, p.caches.get(c));
      if (it.cmd === "uncache" && isList(it.sexp) && isInt(it.sexp[1])) for (const i of p.decaches.get(String(it.sexp[1])) ?? []) after(it, i);
    }
  }

  // Merge.
  const next: Record<Dir, number> = { c2s: 0, s2c: 0 };
  const outstanding: Item[] = []; // calls waiting for their answer, most recent last
  const chunks: Chunk[] = [];
  let forced = false;
  const head = (dir: Dir): Item | undefined => q[dir][next[dir]];
  const ready = (dir: Dir): boolean => {
    const it = head(dir);
    return it !== undefined && it.deps.every(([d, i]) => next[d] > i);
  };
  const answers = (it: Item | undefined, call: Item): boolean =>
    it !== undefined && (it.cmd === "answer" || it.cmd === "error") && it.dir !== call.dir && it.reqId === call.reqId;
  while (head("c2s") || head("s2c")) {
    let pick: Dir | undefined;
    // 1. an answer to the most recent outstanding call it answers
    for (let k = outstanding.length - 1; k >= 0 && !pick; k--) {
      const callee = peerDir(outstanding[k].dir);
      if (ready(callee) && answers(head(callee), outstanding[k])) pick = callee;
    }
    // 2. the callee of the most recent call goes on
    if (!pick && outstanding.length) {
      const callee = peerDir(outstanding[outstanding.length - 1].dir);
      if (ready(callee)) pick = callee;
    }
    // 3. the client drives; 4. anything; 5. nothing is possible: take the client's next item
    if (!pick) pick = ready("c2s") ? "c2s" : ready("s2c") ? "s2c" : undefined;
    if (!pick) {
      forced = true;
      pick = head("c2s") ? "c2s" : "s2c";
    }
    const it = head(pick)!;
    next[pick]++;
    chunks.push({ dir: pick, bytes: it.bytes });
    if ((it.cmd === "message" || it.cmd === "cachemessage") && it.answerRequired) outstanding.push(it);
    if (it.cmd === "answer" || it.cmd === "error") {
      const k = outstanding.findLastIndex((c) => answers(it, c));
      if (k >= 0) outstanding.splice(k, 1);
    }
  }
  return { chunks, forced };
}
