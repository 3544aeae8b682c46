// `pb-inspect replay CAPTURE --against HOST:PORT`: plays the client's side of a captured
// conversation against a live server and reports, message by message, where the server's
// answers differ from the captured ones.
//
// The client's items are sent in their captured order, each once the server has sent everything
// it had sent before it in the capture (or a timeout passed). The server's items are compared in
// order, byte for byte after the nondeterministic fields are handled as the conformance harness
// handles them (interop/conformance/wire.ts):
// - the login challenge (16 random bytes in the answer to root.login): masked in the comparison;
//   given the password, the client's `respond` is recomputed for the server's new challenge
//   (pb.respond: md5(md5(password) + challenge)), otherwise it is sent as captured (and the
//   server will refuse it, which shows as a difference);
// - Failure.count (a process-global counter inside a CopyableFailure): set to 0 on both sides.
import { createHash } from "node:crypto";
import { createConnection, type Socket } from "node:net";
import { decode, encode, type Sexp } from "../banana/index.ts";
import { tagText } from "../jelly/text.ts";
import { ItemSplitter, type WireItem } from "./items.ts";
import { Session } from "./session.ts";
import { isBytes, isInt, isList } from "./sexp.ts";
import type { Dir, Entry } from "./types.ts";

/** The live server a capture is replayed against (TCP, TLS or a Unix socket). */
export interface ReplayTarget {
  host?: string;
  port?: number;
  /** A Unix socket path instead of host and port. */
  path?: string;
}

/** Options of a replay: the server to replay against, the passwords, the time limits. */
export interface ReplayOptions {
  target: ReplayTarget;
  /**
   * The password(s) of the captured logins: for each `respond`, the one that gives the captured
   * response for the captured challenge is used to answer the server's new challenge.
   */
  password?: string | string[];
  /** How long to wait for each server message (default 5000 ms). */
  timeoutMs?: number;
  /** How long to watch for server messages beyond the captured ones at the end (default 300 ms). */
  settleMs?: number;
  /** Report lines. */
  out: (line: string) => void;
  /** Connects (default: TCP or Unix socket to `target`). */
  connect?: (t: ReplayTarget) => Socket;
}

/** What a replay found: whether every answer matched, and the differences message by message. */
export interface ReplayResult {
  same: boolean;
  /** Server messages compared. */
  compared: number;
  differing: number;
  missing: number;
  extra: number;
  notes: string[];
}

const md5 = (...parts: Uint8Array[]) => {
  const h = createHash("md5");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** pb.respond(challenge, password): the response a Twisted client sends. */
export function challengeResponse(challenge: Uint8Array, password: Uint8Array): Uint8Array {
  return md5(md5(password), challenge);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const tag = (x: Sexp | undefined): string | null => (isBytes(x) ? tagText(x) : null);

function decodeOne(bytes: Uint8Array): Sexp | null {
  try {
    const items = decode(bytes, { dialect: "pb" });
    if (items.length !== 1) return null;
    // only when our encoder gives the very same bytes back, so a rewrite changes nothing else
    return hex(encode(items[0], { dialect: "pb" })) === hex(bytes) ? items[0] : null;
  } catch {
    return null;
  }
}

/** A server item for comparison: the login challenge and Failure.count masked. */
export function normalizeServerItem(bytes: Uint8Array, loginIds: Set<string>): { hex: string; masked: string[]; challenge?: { luid: string; bytes: Uint8Array } } {
  const x = decodeOne(bytes);
  if (!x || !isList(x) || x.length !== 3) return { hex: hex(bytes), masked: [] };
  const kind = tag(x[0]);
  const masked: string[] = [];
  let challenge: { luid: string; bytes: Uint8Array } | undefined;
  const copy = cloneLists(x) as Sexp[];
  if (kind === "answer" && loginIds.has(String(x[1]))) {
    const r = copy[2];
    if (isList(r) && r.length === 3 && tag(r[0]) === "tuple" && r[1] instanceof Uint8Array && isList(r[2]) && tag(r[2][0]) === "remote" && isInt(r[2][1])) {
      challenge = { luid: String(r[2][1]), bytes: r[1] };
      (r as Sexp[])[1] = new Uint8Array(0);
      masked.push("login challenge");
    }
  }
  if (kind === "error") {
    const f = copy[2];
    if (isList(f) && f.length === 2 && tag(f[0]) === "twisted.spread.pb.CopyableFailure" && isList(f[1]) && tag(f[1][0]) === "dictionary") {
      for (const pair of f[1].slice(1)) {
        if (isList(pair) && pair.length === 2 && textOf(pair[0]) === "count" && isInt(pair[1])) {
          (pair as Sexp[])[1] = 0;
          masked.push("Failure.count");
        }
      }
    }
  }
  return { hex: masked.length ? hex(encode(copy, { dialect: "pb" })) : hex(bytes), masked, ...(challenge ? { challenge } : {}) };
}

/** A copy of the list structure (leaves shared): enough to replace elements. */
function cloneLists(x: Sexp): Sexp {
  return isList(x) ? x.map(cloneLists) : x;
}

function textOf(x: Sexp): string | null {
  if (isBytes(x)) return tagText(x);
  if (isList(x) && x.length === 2 && tag(x[0]) === "unicode" && isBytes(x[1])) return tagText(x[1]);
  return null;
}

/** The ids of root.login calls in a client item, and a respond call's challenger luid. */
function clientCall(bytes: Uint8Array): { id: string; method: string; target: string; item: Sexp[] } | null {
  const x = decodeOne(bytes);
  if (!x || !isList(x) || x.length !== 7 || tag(x[0]) !== "message") return null;
  const method = isBytes(x[3]) ? tagText(x[3]) : "";
  const target = isBytes(x[2]) ? tagText(x[2]) : String(x[2]);
  return { id: String(x[1]), method, target, item: x as Sexp[] };
}

/** Renders items as transcript lines: one Session per stream. */
class Renderer {
  private readonly session = new Session({ start: "connection" });
  text(dir: Dir, bytes: Uint8Array): string {
    const entries: Entry[] = this.session.push({ dir, bytes });
    const main = entries.find((e) => e.kind !== "note");
    return main ? main.text : `(${bytes.length} bytes)`;
  }
}

/** Replays the client's items of `items` against the target. */
export async function replay(items: WireItem[], opts: ReplayOptions): Promise<ReplayResult> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const out = opts.out;
  const result: ReplayResult = { same: true, compared: 0, differing: 0, missing: 0, extra: 0, notes: [] };
  const passwords = (opts.password === undefined ? [] : Array.isArray(opts.password) ? opts.password : [opts.password]).map((p) => new TextEncoder().encode(p));
  const captured = new Renderer();
  const live = new Renderer();
  const expected: { bytes: Uint8Array; text: string }[] = [];
  const got: Uint8Array[] = [];
  const loginIds = new Set<string>();
  const liveChallenges = new Map<string, Uint8Array>();
  const capturedChallenges = new Map<string, Uint8Array>();
  const masks = new Map<string, number>();
  let closed: string | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  const socket = (opts.connect ?? defaultConnect)(opts.target);
  const splitter = new ItemSplitter();
  socket.on("data", (d: Buffer) => {
    try {
      for (const it of splitter.push(new Uint8Array(d))) got.push(it);
    } catch (e) {
      closed = `the server sent bytes that are not banana (${(e as Error).message})`;
      socket.destroy();
    }
    notify();
  });
  socket.on("error", (e) => {
    closed ??= `connection error: ${e.message}`;
    notify();
  });
  socket.on("close", () => {
    closed ??= "the server closed the connection";
    notify();
  });
  await new Promise<void>((resolve) => {
    socket.once("connect", () => resolve());
    socket.once("error", () => resolve());
    socket.once("close", () => resolve());
  });
  if (closed !== null && got.length === 0 && socket.destroyed) {
    out(`cannot connect: ${closed}`);
    throw new ReplayConnectError(closed);
  }

  // After a wait timed out with nothing new from the server, the next waits are short: a server
  // that stopped answering costs one timeout, not one per remaining message.
  let stalled = false;
  const waitFor = async (cond: () => boolean, ms: number): Promise<boolean> => {
    const before = got.length;
    const end = Date.now() + (stalled ? Math.min(ms, 200) : ms);
    while (!cond() && closed === null && Date.now() < end) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, Math.max(1, Math.min(50, end - Date.now())));
      });
    }
    const ok = cond();
    if (got.length > before) stalled = false;
    if (!ok && got.length === before) stalled = true;
    return ok;
  };

  let n = 0; // server items compared so far
  const compareUpTo = (k: number, final: boolean) => {
    while (n < k && n < expected.length) {
      const exp = expected[n];
      if (n >= got.length) {
        if (!final) return;
        result.missing++;
        result.same = false;
        out(`S->C  MISSING    ${exp.text}`);
        out(`                 the server did not send it${closed ? ` (${closed})` : ` within ${timeoutMs} ms`}`);
        n++;
        continue;
      }
      const a = normalizeServerItem(exp.bytes, loginIds);
      const b = normalizeServerItem(got[n], loginIds);
      if (b.challenge) liveChallenges.set(b.challenge.luid, b.challenge.bytes);
      if (a.challenge) capturedChallenges.set(a.challenge.luid, a.challenge.bytes);
      for (const m of a.masked) if (b.masked.includes(m)) masks.set(m, (masks.get(m) ?? 0) + 1);
      const text = live.text("s2c", got[n]);
      result.compared++;
      if (a.hex === b.hex) out(`S->C  same       ${text}${a.masked.length ? `   [${a.masked.join(", ")} masked]` : ""}`);
      else {
        result.differing++;
        result.same = false;
        out(`S->C  DIFFERENT`);
        out(`        captured: ${exp.text}`);
        out(`        now:      ${text}`);
        out(`        first difference at byte ${firstDiff(a.hex, b.hex)} of the message`);
      }
      n++;
    }
  };

  for (const it of items) {
    if (it.dir === "s2c") {
      expected.push({ bytes: it.bytes, text: captured.text("s2c", it.bytes) });
      continue;
    }
    const capturedText = captured.text("c2s", it.bytes);
    await waitFor(() => got.length >= expected.length, timeoutMs);
    compareUpTo(expected.length, true);
    if (closed !== null && socket.destroyed) {
      out(`C->S  NOT SENT   ${capturedText}   (${closed})`);
      result.same = false;
      continue;
    }
    let bytes = it.bytes;
    let note = "";
    const call = clientCall(it.bytes);
    if (call && call.target === "root" && call.method === "login") loginIds.add(call.id);
    if (call && call.method === "respond" && call.target !== "root") {
      const luid = call.target;
      const fresh = liveChallenges.get(luid);
      const old = capturedChallenges.get(luid);
      const args = call.item[5];
      if (fresh && old && hex(fresh) !== hex(old) && isList(args) && args.length === 3 && tag(args[0]) === "tuple" && args[1] instanceof Uint8Array) {
        const capturedResponse = hex(args[1]);
        const password = passwords.find((pw) => hex(challengeResponse(old, pw)) === capturedResponse);
        if (password) {
          const item = cloneLists(call.item) as Sexp[];
          (item[5] as Sexp[])[1] = challengeResponse(fresh, password);
          bytes = encode(item, { dialect: "pb" });
          note = "   [response recomputed for the server's new challenge]";
        } else if (passwords.length) {
          // A login that used another password (a wrong one, say): the stale response fails as it did.
          note = "   [no --password gives the captured response: sent as captured, so the server refuses it (as it did if the captured login failed)]";
        } else {
          note = "   [sent as captured: the server drew a new challenge, so it will refuse this response; give --password]";
          result.notes.push("the login response was sent as captured (no --password): the server's answer to it is expected to differ");
        }
      }
    }
    const sentText = live.text("c2s", bytes);
    out(`C->S  sent       ${sentText}${note}`);
    socket.write(bytes);
  }
  await waitFor(() => got.length >= expected.length, timeoutMs);
  // a little more time: anything beyond the captured answers is reported too
  await waitFor(() => got.length > expected.length, Math.min(opts.settleMs ?? 300, timeoutMs));
  compareUpTo(expected.length, true);
  for (let k = expected.length; k < got.length; k++) {
    result.extra++;
    result.same = false;
    out(`S->C  EXTRA      ${live.text("s2c", got[k])}`);
  }
  socket.destroy();
  for (const [m, c] of masks) result.notes.push(`${m} masked in ${c} message(s)`);
  const total = expected.length;
  out(
    result.same
      ? `same: all ${total} server messages as captured${result.notes.length ? ` (${result.notes.join("; ")})` : ""}`
      : `different: ${result.differing} differ, ${result.missing} missing, ${result.extra} extra, of ${total} captured server messages${result.notes.length ? ` (${result.notes.join("; ")})` : ""}`,
  );
  return result;
}

function firstDiff(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return Math.floor(i / 2);
}

function defaultConnect(t: ReplayTarget): Socket {
  return t.path !== undefined ? createConnection({ path: t.path }) : createConnection({ host: t.host ?? "127.0.0.1", port: t.port ?? 8787 });
}

/** The server could not be reached. */
export class ReplayConnectError extends Error {
  override name = "ReplayConnectError";
}
