// TCP reassembly: segments (in capture order) to per-connection byte streams, one per direction,
// ordered by sequence number. Out-of-order segments wait for the bytes before them;
// retransmissions and overlaps are trimmed (the first copy of a byte wins); FIN and RST close a
// direction. What the capture does not hold is reported as a gap where it is: a segment cut by
// the snaplen, bytes the peer acknowledged that the capture never saw, bytes still missing when
// the connection closes or the capture ends, and the start of a connection caught mid-stream.
import type { Dir } from "../types.ts";
import type { TcpSegment } from "./packet.ts";

export interface Endpoint {
  ip: string;
  port: number;
}

/** What TCP reassembly gives, in stream order: data, a gap (with its size when known), or a close. */
export type StreamEvent =
  | { kind: "data"; dir: Dir; bytes: Uint8Array; time: number; offset: number }
  /** `lost`: bytes missing (null: unknown, at the start of a connection caught mid-stream). */
  | { kind: "gap"; dir: Dir; lost: number | null; offset: number; time: number; why: string }
  | { kind: "close"; dir: Dir; how: "fin" | "rst"; time: number };

/** One TCP connection found in a capture, with its reassembled events in both directions. */
export interface TcpConnection {
  /** 1-based, in order of the first packet. */
  number: number;
  client: Endpoint;
  server: Endpoint;
  /** How client and server were told apart. */
  roles: string;
  /** The handshake (SYN) of each direction was captured. */
  synSeen: Record<Dir, boolean>;
  start: number;
  end: number;
  events: StreamEvent[];
  stats: { packets: number; retransmitted: number; outOfOrder: number; bytes: Record<Dir, number> };
  closed: boolean;
}

const TWO32 = 4294967296;
/** Segments waiting for earlier bytes before the oldest missing bytes are given up as lost. */
const MAX_WAITING = 512;
/** Packets of a connection to wait for acknowledged bytes before reporting them lost. */
const ACK_PATIENCE = 8;

interface Waiting {
  offset: number;
  bytes: Uint8Array;
  missing: number;
  time: number;
  fin: boolean;
}

class HalfStream {
  isn: number | null = null;
  /** Stream offset of the next byte to deliver. */
  next = 0;
  waiting: Waiting[] = [];
  finAt: number | null = null;
  closed = false;
  /** The peer acknowledged up to here; bytes before it that never came are lost to the capture. */
  ackedHole = 0;
  holeSince = 0;
  seenData = false;

  constructor(
    readonly dir: Dir,
    private readonly conn: TcpConnection,
  ) {}

  /** A sequence number as a stream offset near `next` (handles wrap-around). */
  offsetOf(seq: number): number {
    const rel = (seq - (this.isn ?? 0) + TWO32) % TWO32;
    const nextMod = this.next % TWO32;
    return this.next + ((rel - nextMod) | 0);
  }

  segment(s: TcpSegment): void {
    if (s.flags.syn) {
      this.isn = (s.seq + 1) % TWO32;
      this.conn.synSeen[this.dir] = true;
      return; // a SYN carries no data in practice (TFO aside)
    }
    const len = s.payload.length + s.missing;
    if (this.isn === null) {
      if (len === 0 && !s.flags.fin && !s.flags.rst) return; // a bare ACK tells nothing yet
      const peerOpened = this.conn.synSeen[this.dir === "c2s" ? "s2c" : "c2s"];
      if (peerOpened && startsPbStream(this.dir, s.payload)) {
        // Our SYN was missed, but the connection was opened in the capture and these bytes are
        // how a PB stream begins (the dialect offer or choice): nothing before them is lost.
        this.isn = s.seq;
      } else {
        this.isn = s.seq;
        this.conn.events.push({ kind: "gap", dir: this.dir, lost: null, offset: 0, time: s.time, why: peerOpened ? "its first packets are not in the capture" : "the capture starts in the middle of this connection" });
      }
    }
    if (s.flags.rst) {
      this.flush(s.time, "the connection was reset");
      this.close("rst", s.time);
      return;
    }
    const off = this.offsetOf(s.seq);
    if (s.flags.fin) this.finAt = off + len;
    if (len > 0) {
      if (off + len <= this.next) this.conn.stats.retransmitted++;
      else {
        if (off > this.next) this.conn.stats.outOfOrder++;
        this.waiting.push({ offset: off, bytes: s.payload, missing: s.missing, time: s.time, fin: s.flags.fin });
        this.waiting.sort((a, b) => a.offset - b.offset);
      }
    }
    this.drain();
    if (this.waiting.length > MAX_WAITING) this.skipTo(this.waiting[0].offset, s.time, "segments before it never came");
    this.maybeClose(s.time);
  }

  /**
   * The peer acknowledged everything before `ack`: bytes before that which the capture lacks
   * never reach it. They are given up as lost only after a few more packets of the connection
   * (captures on "any" or several CPUs may write a segment after the ACK for it).
   */
  acknowledged(ack: number): void {
    if (this.isn === null || this.closed) return;
    let upTo = this.offsetOf(ack);
    if (this.finAt !== null && upTo > this.finAt) upTo = this.finAt; // the FIN's own sequence number
    if (upTo <= this.next || upTo <= this.ackedHole) return;
    if (this.ackedHole <= this.next) this.holeSince = this.conn.stats.packets;
    this.ackedHole = upTo;
  }

  /** Gives up on acknowledged bytes still missing after `ACK_PATIENCE` packets. */
  checkHole(time: number): void {
    if (this.ackedHole <= this.next || this.conn.stats.packets - this.holeSince < ACK_PATIENCE) return;
    const first = this.waiting.length ? this.waiting[0].offset : Infinity;
    this.skipTo(Math.min(first, this.ackedHole), time, "acknowledged by the peer but not in the capture");
    this.maybeClose(time);
  }

  /** Everything still waiting goes out, with gaps for what is missing (connection closed or capture ended). */
  flush(time: number, why: string): void {
    while (this.waiting.length || this.ackedHole > this.next) {
      const first = this.waiting.length ? this.waiting[0].offset : Infinity;
      if (this.ackedHole > this.next) this.skipTo(Math.min(first, this.ackedHole), time, "acknowledged by the peer but not in the capture");
      else this.skipTo(first, time, why);
    }
    if (this.finAt !== null && this.next < this.finAt) this.skipTo(this.finAt, time, why);
  }

  private skipTo(offset: number, time: number, why: string): void {
    if (offset > this.next) {
      this.conn.events.push({ kind: "gap", dir: this.dir, lost: offset - this.next, offset: this.next, time, why });
      this.next = offset;
    }
    this.drain();
  }

  private drain(): void {
    while (this.waiting.length && this.waiting[0].offset <= this.next) {
      const w = this.waiting.shift()!;
      const capturedEnd = w.offset + w.bytes.length;
      const end = capturedEnd + w.missing;
      if (capturedEnd > this.next) {
        const bytes = w.bytes.subarray(this.next - w.offset);
        this.conn.events.push({ kind: "data", dir: this.dir, bytes, time: w.time, offset: this.next });
        this.conn.stats.bytes[this.dir] += bytes.length;
        this.seenData = true;
        this.next = capturedEnd;
      } else if (end > this.next) {
        // overlapping only in what was cut
      } else continue;
      if (end > this.next) {
        this.conn.events.push({ kind: "gap", dir: this.dir, lost: end - this.next, offset: this.next, time: w.time, why: "the packet was cut by the capture's snaplen" });
        this.next = end;
      }
    }
  }

  private maybeClose(time: number): void {
    if (this.finAt !== null && this.next >= this.finAt && !this.closed) this.close("fin", time);
  }

  private close(how: "fin" | "rst", time: number): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.events.push({ kind: "close", dir: this.dir, how, time });
  }
}

const ascii = (b: Uint8Array, from: number, text: string) => [...text].every((ch, i) => b[from + i] === ch.charCodeAt(0));

/** The first bytes of a PB stream: the listener's dialect list, or the client's choice. */
export function startsPbStream(dir: Dir, b: Uint8Array): boolean {
  const word = (at: number) => (b[at] === 2 && b[at + 1] === 0x82 && ascii(b, at + 2, "pb")) || (b[at] === 4 && b[at + 1] === 0x82 && ascii(b, at + 2, "none"));
  if (dir === "c2s") return word(0);
  return b[0] >= 1 && b[0] < 0x80 && b[1] === 0x80 && word(2);
}

interface Tracked {
  conn: TcpConnection;
  half: Record<Dir, HalfStream>;
  /** "a->b" key of the client-to-server direction. */
  c2sKey: string;
}

const epText = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Follows every TCP connection in a capture. Feed segments in capture order, then `finish()`. */
export class TcpReassembler {
  private readonly live = new Map<string, Tracked>();
  readonly connections: TcpConnection[] = [];

  /** Adds one captured segment to its connection. */
  push(s: TcpSegment): void {
    const a = epText(s.src, s.sport);
    const b = epText(s.dst, s.dport);
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let t = this.live.get(key);
    const opening = s.flags.syn && !s.flags.ack;
    if (t && opening && (t.conn.closed || t.half.c2s.isn !== (s.seq + 1) % TWO32)) {
      // The same addresses and ports again: a new connection.
      this.finishOne(t, s.time);
      t = undefined;
    }
    if (!t) t = this.open(key, s);
    const dir: Dir = `${a}->${b}` === t.c2sKey ? "c2s" : "s2c";
    t.conn.stats.packets++;
    t.conn.end = s.time;
    const half = t.half[dir];
    const peer = t.half[dir === "c2s" ? "s2c" : "c2s"];
    half.segment(s);
    if (s.flags.ack && !s.flags.syn) peer.acknowledged(s.ack);
    half.checkHole(s.time);
    peer.checkHole(s.time);
    if (t.half.c2s.closed && t.half.s2c.closed) t.conn.closed = true;
  }

  private open(key: string, s: TcpSegment): Tracked {
    let client: Endpoint = { ip: s.src, port: s.sport };
    let server: Endpoint = { ip: s.dst, port: s.dport };
    let roles = "the client sent the first SYN";
    if (s.flags.syn && s.flags.ack) {
      [client, server] = [server, client];
      roles = "the server's SYN-ACK was captured";
    } else if (!s.flags.syn) {
      // Caught mid-stream: the listener usually has the lower (non-ephemeral) port.
      if (s.sport < s.dport) [client, server] = [server, client];
      roles = "the handshake is not in the capture: the side with the lower port is taken as the server";
    }
    const conn: TcpConnection = {
      number: this.connections.length + 1,
      client,
      server,
      roles,
      synSeen: { c2s: false, s2c: false },
      start: s.time,
      end: s.time,
      events: [],
      stats: { packets: 0, retransmitted: 0, outOfOrder: 0, bytes: { c2s: 0, s2c: 0 } },
      closed: false,
    };
    this.connections.push(conn);
    const t: Tracked = { conn, half: { c2s: new HalfStream("c2s", conn), s2c: new HalfStream("s2c", conn) }, c2sKey: `${epText(client.ip, client.port)}->${epText(server.ip, server.port)}` };
    this.live.set(key, t);
    return t;
  }

  private finishOne(t: Tracked, time: number): void {
    for (const d of ["c2s", "s2c"] as const) t.half[d].flush(time, "missing when the connection closed");
  }

  /** The capture ended: what still waits is reported with its gaps. */
  finish(): TcpConnection[] {
    for (const t of this.live.values()) {
      for (const d of ["c2s", "s2c"] as const) t.half[d].flush(t.conn.end, "missing at the end of the capture");
    }
    this.live.clear();
    return this.connections;
  }
}

export const endpointText = (e: Endpoint): string => epText(e.ip, e.port);
