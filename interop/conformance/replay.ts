// Replay of recorded Twisted traffic (fixtures/conformance/<name>.json), one TypeScript role at a
// time, against nothing but the recording:
//
// - "replay ts-client": our client driver runs the scenario on a Broker whose only peer is the
//   recorded server items; it must write exactly the recorded client items.
// - "replay ts-server": our service's Broker is fed the recorded client items; it must write
//   exactly the recorded server items.
//
// Walking the recorded items in order, an item of the peer's is fed to our broker (after letting
// our side finish what the earlier input made it do), and an item of ours must have come out of
// our broker by then (waiting for it), equal to the recording. Our side may write earlier than
// Twisted did (Twisted's interleaving includes TCP timing), never later than the peer input that
// followed it in the recording, never in another order, and nothing more at the end.
//
// The nondeterministic fields, each handled by name here and nowhere else (wire.ts):
// - the login challenge: our server is given the recording's own challenges (read from the
//   recorded answers to `login`), so the recorded responses are right for it; our client answers
//   the recorded challenge itself, so its response bytes are compared as they are;
// - Failure.count inside a CopyableFailure: set to 0 in both before comparing;
// - items after the first close: they never reached the other side, so they are not compared.
import { createHash } from "node:crypto";
import { Broker, type LogEntry, type Transport } from "../../src/index.ts";
import { TsClientRunner, type ClientConnection, type StepResult } from "./client.ts";
import { compareRun } from "./compare.ts";
import type { CaptureEvent, Dir } from "./proxy.ts";
import type { Scenario } from "./scenario.ts";
import { portalRoot, rootFactory } from "./service.ts";
import { itemStream, loginChallenges, maskFailureCount, renderItem, splitItems, type ItemStream } from "./wire.ts";

/**
 * fixtures/conformance/<name>.json. The traffic is stored as banana items (one PB message or
 * dialect token each), not as the TCP chunks the proxy happened to read: chunking depends on
 * timing, items do not, so a recording is the same every time it is made.
 */
export interface Recording {
  name: string;
  family: string;
  title: string;
  server: "root" | "portal";
  twisted: string;
  python: string;
  recordedBy: string;
  /** sha256 of the scenario as recorded (the replay refuses a stale recording). */
  scenarioSha256: string;
  /** The fixed challenge the recording's server drew every login challenge as (hex). */
  challenge: string | null;
  pythonHashSeed: string;
  /** Which side closed the connection first. */
  closedBy: "client" | "server" | null;
  /** Every item that crossed the proxy before the first close, in order; both directions. */
  writes: { dir: Dir; hex: string }[];
  /** Items read after the first close: they never reached the other side. */
  late: { dir: Dir; hex: string }[];
}

/** sha256 of what decides the traffic (the server kind and the steps; not titles or explanations). */
export function scenarioSha256(s: Scenario): string {
  return createHash("sha256").update(JSON.stringify({ server: s.server, steps: s.steps })).digest("hex");
}

/** A recording's traffic as an item stream. */
export function recordingStream(r: Recording): ItemStream {
  return {
    items: r.writes,
    late: r.late,
    firstClose: r.closedBy === "client" ? "c2s" : r.closedBy === "server" ? "s2c" : null,
    leftovers: { c2s: "", s2c: "" },
  };
}

/** The recording's fields made from a capture (items, not chunks). */
export function recordingTraffic(events: readonly CaptureEvent[]): Pick<Recording, "closedBy" | "writes" | "late"> {
  const s = itemStream(events);
  return { closedBy: s.firstClose === "c2s" ? "client" : s.firstClose === "s2c" ? "server" : null, writes: s.items, late: s.late };
}

/** Capture events as the traffic files of failing runs keep them: chunks with times, and closes. */
export function splitEvents(events: readonly CaptureEvent[]): { writes: { dir: Dir; t: number; hex: string }[]; closes: { dir: Dir; t: number; afterWrite: number }[] } {
  const writes: { dir: Dir; t: number; hex: string }[] = [];
  const closes: { dir: Dir; t: number; afterWrite: number }[] = [];
  for (const e of events) {
    if (e.close) closes.push({ dir: e.dir, t: e.t, afterWrite: writes.length });
    else writes.push({ dir: e.dir, t: e.t, hex: e.hex ?? "" });
  }
  return { writes, closes };
}

export interface ReplayVerdict {
  ok: boolean;
  firstDifference: string | null;
  /** The named fields handled, and anything else worth knowing. */
  notes: string[];
  /** Items of ours compared equal. */
  compared: number;
  ms: number;
}

const nextTurn = () => new Promise<void>((r) => setTimeout(r, 0)).then(() => new Promise<void>((r) => setImmediate(r)));
async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await nextTurn();
}

class Difference extends Error {}

/** Our broker's writes, cut into items. */
class Produced {
  readonly items: string[] = [];
  private rest: Uint8Array = new Uint8Array(0);
  closedAt: number | null = null;
  afterClose = 0;
  push(data: Uint8Array): void {
    if (this.closedAt !== null) {
      this.afterClose++;
      return;
    }
    const { items, rest } = splitItems(Buffer.concat([this.rest, data]));
    this.rest = rest;
    for (const it of items) this.items.push(Buffer.from(it).toString("hex"));
  }
  get leftover(): number {
    return this.rest.length;
  }
}

function describeItem(hex: string, max = 150): string {
  const s = renderItem(hex);
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/** Both texts cut to a window around their first difference. */
function around(a: string, b: string, before = 50, after = 90): [string, string] {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - before);
  const cut = (s: string) => (from > 0 ? "…" : "") + s.slice(from, i + after) + (s.length > i + after ? "…" : "");
  return [cut(a), cut(b)];
}

/** Where two hex strings first differ, as a byte offset. */
function firstByte(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return Math.floor(i / 2);
}

interface WalkOptions {
  stream: ItemStream;
  ours: Dir;
  broker: Broker;
  produced: Produced;
  ourWaitMs: number;
  /** The recording's Twisted writes CopyableFailure keys in an order of its own (not 22.4's): compare them sorted. */
  sortFailureKeys?: boolean;
  notes: string[];
  failed: () => string | null;
}

/**
 * Named field 3: the key order of a CopyableFailure's state. We write Twisted 22.4's (Python 3) or
 * Twisted 16.6-20.3's (Python 2); 24.7 and 24.10 each write their own (fixtures/versions
 * DIFFERENCES.md section 3), so against their recordings the keys are compared in sorted order.
 */
function ownFailureKeyOrder(rec: Recording): boolean {
  return !/^(22\.4\.|16\.6\.|18\.9\.|20\.3\.)/.test(rec.twisted);
}

async function walk(o: WalkOptions): Promise<number> {
  let n = 0;
  let masked = 0;
  const { items } = o.stream;
  for (let k = 0; k < items.length; k++) {
    const it = items[k];
    const where = `item #${String(k).padStart(2, "0")} ${it.dir === "c2s" ? "C->S" : "S->C"}`;
    if (it.dir === o.ours) {
      const end = Date.now() + o.ourWaitMs;
      while (o.produced.items.length <= n && Date.now() < end && !o.failed() && o.produced.closedAt === null) await nextTurn();
      const bad = o.failed();
      if (o.produced.items.length <= n) {
        throw new Difference(`${where}: ours never wrote ${describeItem(it.hex, 100)}${bad ? ` (${bad})` : o.produced.closedAt !== null ? " (our side had closed the connection)" : ""}`);
      }
      const ours = maskFailureCount(o.produced.items[n], o.sortFailureKeys);
      const theirs = maskFailureCount(it.hex, o.sortFailureKeys);
      if (ours.masked && theirs.masked) masked++;
      if (ours.hex !== theirs.hex) {
        const [a, b] = around(renderItem(theirs.hex), renderItem(ours.hex));
        throw new Difference(`${where} differs at byte ${firstByte(ours.hex, theirs.hex)}${ours.masked ? " (Failure.count masked)" : ""}: Twisted ${a} | ours ${b}`);
      }
      n++;
    } else {
      await settle();
      if (o.produced.closedAt !== null) throw new Difference(`${where}: our side closed the connection before this input`);
      // The peer's items with none of ours in between are delivered together (as one TCP read):
      // Twisted handled them in one dataReceived, before anything they made it do ran.
      const parts = [Buffer.from(it.hex, "hex")];
      while (k + 1 < items.length && items[k + 1].dir === it.dir) parts.push(Buffer.from(items[++k].hex, "hex"));
      o.broker.dataReceived(new Uint8Array(Buffer.concat(parts)));
    }
  }
  if (masked) o.notes.push(`Failure.count masked in ${masked} error message(s)${o.sortFailureKeys ? ", their keys compared in sorted order (this Twisted writes them in its own order)" : ""}`);
  return n;
}

function verdictOf(start: number, notes: string[], compared: number, e: unknown): ReplayVerdict {
  const ms = Math.round(performance.now() - start);
  if (e === null) return { ok: true, firstDifference: null, notes, compared, ms };
  const msg = e instanceof Difference ? e.message : `replay error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
  return { ok: false, firstDifference: msg, notes, compared, ms };
}

function lateNote(stream: ItemStream, notes: string[]): void {
  if (stream.late.length) notes.push(`${stream.late.length} item(s) after the first close not compared (never delivered)`);
  for (const d of ["c2s", "s2c"] as const) if (stream.leftovers[d]) notes.push(`recording: ${stream.leftovers[d].length / 2} byte(s) of an unfinished ${d} item`);
}

/** Our client driver against the recorded server. */
export async function replayClient(rec: Recording, scenario: Scenario): Promise<ReplayVerdict> {
  const start = performance.now();
  const notes: string[] = [];
  const stream = recordingStream(rec);
  lateNote(stream, notes);
  const logs: LogEntry[] = [];
  const broker = new Broker({ role: "initiator", log: (e) => logs.push(e) });
  const produced = new Produced();
  let weClosed = false;
  const close = () => {
    if (weClosed) return;
    weClosed = true;
    produced.closedAt = produced.items.length;
    queueMicrotask(() => broker.connectionLost());
  };
  const transport: Transport = { write: (d) => produced.push(d), loseConnection: close };
  broker.makeConnection(transport);
  const conn: ClientConnection = {
    broker,
    disconnect: async () => {
      close();
      await broker.closed;
    },
  };
  const runner = new TsClientRunner(scenario, conn);
  let runnerError: string | null = null;
  let results: StepResult[] | null = null;
  const running = runner.run().then(
    (r) => (results = r),
    (e: unknown) => (runnerError = e instanceof Error ? e.message : String(e)),
  );
  const challenges = loginChallenges(stream.items).length;
  if (challenges) notes.push(`login challenge: our client answered the ${challenges} recorded challenge(s) itself (responses compared as they are)`);
  let compared = 0;
  try {
    compared = await walk({
      stream,
      ours: "c2s",
      broker,
      produced,
      ourWaitMs: 4000,
      sortFailureKeys: ownFailureKeyOrder(rec),
      notes,
      failed: () => runnerError,
    });
    const fc = stream.firstClose;
    if (fc === "c2s") {
      const end = Date.now() + 4000;
      while (!weClosed && Date.now() < end) await nextTurn();
      if (!weClosed) throw new Difference("the recorded client closed the connection here; ours did not");
    } else if (fc === "s2c" && !weClosed) {
      await settle();
      broker.connectionLost();
    }
    await settle(5);
    if (produced.items.length > compared) throw new Difference(`ours wrote more than the recording: ${describeItem(produced.items[compared])}`);
    if (!fc && !weClosed) {
      // the recording never closed: stop the driver by hanging up now
      broker.connectionLost();
    }
    const finished = await Promise.race([running.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
    if (!finished) throw new Difference("our client driver did not finish after the recording ended");
    if (produced.afterClose) notes.push(`${produced.afterClose} write(s) of ours after our close, dropped (as on a socket)`);
    if (runnerError) throw new Difference(`client driver: ${runnerError}`);
    const v = compareRun(scenario, results ?? []);
    if (!v.ok) throw new Difference(`our client's results against the recording: ${v.firstDifference}`);
    return verdictOf(start, notes, compared, null);
  } catch (e) {
    if (!broker.isDisconnected) broker.connectionLost();
    return verdictOf(start, notes, compared, e);
  } finally {
    runner.dispose();
  }
}

/** Our service against the recorded client. */
export async function replayServer(rec: Recording, scenario: Scenario): Promise<ReplayVerdict> {
  const start = performance.now();
  const notes: string[] = [];
  const stream = recordingStream(rec);
  lateNote(stream, notes);
  const challenges = loginChallenges(stream.items);
  let asked = 0;
  const root =
    scenario.server === "root"
      ? rootFactory
      : portalRoot({
          challenge: () => {
            const c = challenges[asked++];
            return c ? c.slice() : new Uint8Array(16).fill(0xee);
          },
        });
  const logs: LogEntry[] = [];
  const broker = new Broker({ role: "listener", root, log: (e) => logs.push(e) });
  const produced = new Produced();
  let weClosed = false;
  let producer: (() => void) | null = null;
  const pump = (): void => {
    const resume = producer;
    if (!resume || weClosed) return;
    resume();
    if (producer !== null) setImmediate(pump);
  };
  const transport: Transport = {
    write: (d) => produced.push(d),
    loseConnection: () => {
      if (weClosed) return;
      weClosed = true;
      produced.closedAt = produced.items.length;
    },
    // a pull producer, resumed whenever "the socket" has drained (here: every turn), as Twisted's
    registerProducer: (resume) => {
      producer = resume;
      setImmediate(pump);
    },
    unregisterProducer: () => {
      producer = null;
    },
  };
  broker.makeConnection(transport);
  let compared = 0;
  try {
    compared = await walk({
      stream,
      ours: "s2c",
      broker,
      produced,
      ourWaitMs: 4000,
      sortFailureKeys: ownFailureKeyOrder(rec),
      notes,
      failed: () => null,
    });
    const fc = stream.firstClose;
    if (fc === "s2c") {
      const end = Date.now() + 3000;
      while (!weClosed && Date.now() < end) await nextTurn();
      if (!weClosed) throw new Difference("the recorded server closed the connection here; ours did not");
    }
    await settle(5);
    if (produced.items.length > compared) throw new Difference(`ours wrote more than the recording: ${describeItem(produced.items[compared])}`);
    broker.connectionLost();
    if (challenges.length) notes.push(`login challenge: the recording's ${challenges.length} challenge(s) injected into our server`);
    if (asked > challenges.length) throw new Difference(`our server drew ${asked} challenges, the recording has ${challenges.length}`);
    if (produced.afterClose) notes.push(`${produced.afterClose} write(s) of ours after our close, dropped (as on a socket)`);
    if (produced.leftover) throw new Difference(`ours wrote ${produced.leftover} byte(s) of an unfinished item`);
    const errors = logs.filter((l) => l.level === "error" && l.message !== "Peer will receive following PB traceback:");
    if (errors.length) notes.push(`our broker logged: ${errors.map((l) => l.message).join("; ").slice(0, 200)}`);
    return verdictOf(start, notes, compared, null);
  } catch (e) {
    if (!broker.isDisconnected) broker.connectionLost();
    return verdictOf(start, notes, compared, e);
  }
}
