// A packet capture (pcap or pcapng) as PB conversations: read the file, parse each frame down to
// TCP, reassemble every connection, and turn each into the chunks (with gaps and closes) a
// Session decodes. Connections that carry no PB are listed, not decoded.
import type { LoadedTraffic } from "../capture.ts";
import { Resync, type Boundary } from "../resync.ts";
import { Session } from "../session.ts";
import type { Chunk, Dir } from "../types.ts";
import { readCaptureFile, type CaptureFile } from "./file.ts";
import { parsePacket } from "./packet.ts";
import { endpointText, TcpReassembler, type StreamEvent, type TcpConnection } from "./tcp.ts";

export { isCaptureFile, readCaptureFile, type CaptureFile, type RawPacket } from "./file.ts";
export { parsePacket, LINKTYPE, type TcpSegment } from "./packet.ts";
export { TcpReassembler, endpointText, type TcpConnection, type StreamEvent, type Endpoint } from "./tcp.ts";

/** One TCP connection of a capture, ready for a Session. */
export interface PcapConversation {
  conn: TcpConnection;
  traffic: LoadedTraffic;
  /** It holds PB traffic (a dialect negotiation or PB messages were found). */
  pb: boolean;
}

/** The PB traffic of a capture file: each TCP connection decoded, with notes about the file. */
export interface PcapTraffic {
  file: CaptureFile;
  /** Lines about the file as a whole. */
  header: string[];
  conversations: PcapConversation[];
}

/** Which connections to show: by number, or by an endpoint's address or port. */
export interface ConnectionFilter {
  conn?: number;
  host?: string;
  port?: number;
}

/** Whether a connection passes the user's filter (connection number, host, port). */
export function matches(c: TcpConnection, f: ConnectionFilter): boolean {
  if (f.conn !== undefined && c.number !== f.conn) return false;
  if (f.host !== undefined && c.client.ip !== f.host && c.server.ip !== f.host) return false;
  if (f.port !== undefined && c.client.port !== f.port && c.server.port !== f.port) return false;
  return true;
}

/**
 * After each gap, where decoding can resume: the whole capture is at hand, so the first sure
 * message boundary is found by looking ahead (the Session then resumes at once, keeping the two
 * directions in their captured order).
 */
function lookAhead(chunks: Chunk[]): void {
  chunks.forEach((g, i) => {
    if (!g.gap) return;
    const r = new Resync();
    let total = 0;
    let found: Boundary | null = null;
    for (let k = i + 1; k < chunks.length && !found; k++) {
      const c = chunks[k];
      if (c.dir !== g.dir) continue;
      if (c.gap || c.close) break;
      total += c.bytes.length;
      found = r.push(c.bytes);
    }
    found ??= r.finish();
    g.gap.skip = found ? found.skipped : total;
  });
}

function chunksOf(c: TcpConnection): Chunk[] {
  const chunks = rawChunks(c);
  lookAhead(chunks);
  return chunks;
}

/**
 * The two directions merged by the time their bytes were captured. Reassembly delivers a
 * direction's bytes only once a hole before them is filled or given up, while the other direction
 * flows on; each direction keeps its own order (times made non-decreasing within it) and a gap
 * takes the time of what came before it in its direction.
 */
export function wireOrder(events: readonly StreamEvent[]): StreamEvent[] {
  if (events.some((e) => !Number.isFinite(e.time))) return [...events];
  const lanes: Record<Dir, { e: StreamEvent; t: number; i: number }[]> = { c2s: [], s2c: [] };
  const last: Record<Dir, number> = { c2s: -Infinity, s2c: -Infinity };
  events.forEach((e, i) => {
    const t = e.kind === "gap" && e.lost !== null && last[e.dir] > -Infinity ? last[e.dir] : Math.max(last[e.dir], e.time);
    last[e.dir] = t;
    lanes[e.dir].push({ e: e.kind === "gap" ? { ...e, time: t } : e, t, i });
  });
  const out: StreamEvent[] = [];
  let a = 0;
  let b = 0;
  const A = lanes.c2s;
  const B = lanes.s2c;
  while (a < A.length || b < B.length) {
    const takeA = b >= B.length || (a < A.length && (A[a].t < B[b].t || (A[a].t === B[b].t && A[a].i < B[b].i)));
    out.push(takeA ? A[a++].e : B[b++].e);
  }
  return out;
}

function rawChunks(c: TcpConnection): Chunk[] {
  const ms = (time: number) => (Number.isFinite(time) && Number.isFinite(c.start) ? Math.max(0, (time - c.start) * 1000) : undefined);
  return wireOrder(c.events).map((e): Chunk => {
    const t = ms(e.time);
    const base = t === undefined ? {} : { t };
    if (e.kind === "data") return { dir: e.dir, bytes: e.bytes, ...base };
    if (e.kind === "gap") return { dir: e.dir, bytes: new Uint8Array(0), gap: { lost: e.lost, why: e.why }, ...base };
    return { dir: e.dir, bytes: new Uint8Array(0), close: e.how, ...base };
  });
}

/** Which direction calls methods on "root" (only a client does), when one does. */
function callsRootFrom(chunks: Chunk[]): Dir | null {
  const s = new Session({ start: "mid-session" });
  const seen = new Set<Dir>();
  const look = (es: ReturnType<Session["take"]>) => {
    for (const e of es) if (e.kind === "message" && e.dir && /^message #\S+ -> root\./.test(e.text)) seen.add(e.dir);
  };
  for (const c of chunks) look(s.take(c));
  look(s.end());
  return seen.size === 1 ? [...seen][0] : null;
}

function swapRoles(c: TcpConnection): void {
  const flip = (d: Dir): Dir => (d === "c2s" ? "s2c" : "c2s");
  [c.client, c.server] = [c.server, c.client];
  c.events = c.events.map((e) => ({ ...e, dir: flip(e.dir) }));
  c.synSeen = { c2s: c.synSeen.s2c, s2c: c.synSeen.c2s };
  c.stats.bytes = { c2s: c.stats.bytes.s2c, s2c: c.stats.bytes.c2s };
  c.roles = "the handshake is not in the capture: the side that calls methods on root is taken as the client";
}

const PB_KINDS = new Set(["dialect", "version", "message", "cachemessage", "answer", "error", "decref", "decache", "uncache"]);

/** True when a Session finds PB in the connection. */
function looksLikePb(chunks: Chunk[]): boolean {
  const s = new Session();
  for (const ch of chunks) {
    for (const e of s.take(ch)) if (PB_KINDS.has(e.kind) && e.warnings.length === 0) return true;
  }
  return s.end().some((e) => PB_KINDS.has(e.kind) && e.warnings.length === 0);
}

/** Reads a pcap/pcapng file and follows every TCP connection in it. */
export function pcapTraffic(bytes: Uint8Array, source: string): PcapTraffic {
  const file = readCaptureFile(bytes);
  const tcp = new TcpReassembler();
  const skipped = new Map<string, number>();
  let truncated = 0;
  for (const p of file.packets) {
    const r = parsePacket(p);
    if (!r.ok) {
      skipped.set(r.why, (skipped.get(r.why) ?? 0) + 1);
      continue;
    }
    if (r.seg.missing > 0) truncated++;
    tcp.push(r.seg);
  }
  const conns = tcp.finish();
  const links = [...new Set(file.packets.map((p) => p.linkType))].map(linkName).join(", ");
  const header = [`${source}: ${file.format}, ${file.packets.length} packets${links ? ` (${links})` : ""}, ${conns.length} TCP connection${conns.length === 1 ? "" : "s"}`];
  for (const n of file.notes) header.push(`! ${n}`);
  if (truncated) header.push(`! ${truncated} packet(s) cut short by the capture's snaplen: their missing bytes are shown as gaps`);
  for (const [why, n] of skipped) header.push(`${n} packet(s) skipped: ${why}`);
  const conversations = conns.map((conn): PcapConversation => {
    let chunks = chunksOf(conn);
    if (!conn.synSeen.c2s && !conn.synSeen.s2c && callsRootFrom(chunks) === "s2c") {
      swapRoles(conn);
      chunks = chunksOf(conn);
    }
    const started = Number.isFinite(conn.start) ? new Date(conn.start * 1000).toISOString() : "unknown time";
    const h = [
      `connection ${conn.number}: client ${endpointText(conn.client)} -> server ${endpointText(conn.server)}, opened ${started}`,
      `${conn.stats.packets} packets, ${conn.stats.bytes.c2s} bytes C->S, ${conn.stats.bytes.s2c} bytes S->C${conn.stats.retransmitted ? `, ${conn.stats.retransmitted} retransmitted` : ""}${conn.stats.outOfOrder ? `, ${conn.stats.outOfOrder} out of order` : ""}`,
    ];
    if (!conn.synSeen.c2s) h.push(`client and server: ${conn.roles}`);
    return {
      conn,
      traffic: { header: h, chunks, oneSided: conn.stats.bytes.c2s === 0 || conn.stats.bytes.s2c === 0, timed: chunks.some((c) => c.t !== undefined) },
      pb: looksLikePb(chunks),
    };
  });
  return { file, header, conversations };
}

export function linkName(t: number): string {
  const names: Record<number, string> = { 0: "NULL/loopback", 1: "Ethernet", 12: "raw IP", 14: "raw IP", 101: "raw IP", 108: "OpenBSD loopback", 113: "Linux cooked SLL", 228: "raw IPv4", 229: "raw IPv6", 276: "Linux cooked SLL2" };
  return names[t] ?? `link type ${t}`;
}
