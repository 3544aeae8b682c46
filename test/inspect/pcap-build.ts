// Builds small synthetic pcap files for the reader's edge cases (out of order, overlaps,
// retransmissions, sequence wrap-around, cut packets): Ethernet + IPv4 + TCP, checksums zero
// (nothing reads them).

export interface Seg {
  /** c2s: from the client (port 40000) to the server (port 8787). */
  dir: "c2s" | "s2c";
  /** Sequence number relative to the direction's ISN + 1 (0 = first data byte). */
  rel: number;
  data?: Uint8Array;
  syn?: boolean;
  fin?: boolean;
  rst?: boolean;
  /** Acknowledgement number relative to the peer's ISN + 1; absent: no ACK flag. */
  ack?: number;
  /** Bytes of payload the packet had beyond `data` (cut by the snaplen). */
  cut?: number;
  time?: number;
}

export const ISN = { c2s: 1000, s2c: 4294967000 }; // the server's wraps around after 296 bytes

function frame(s: Seg): { data: Buffer; orig: number } {
  const payload = Buffer.from(s.data ?? new Uint8Array(0));
  const tcp = Buffer.alloc(20);
  const [sport, dport] = s.dir === "c2s" ? [40000, 8787] : [8787, 40000];
  tcp.writeUInt16BE(sport, 0);
  tcp.writeUInt16BE(dport, 2);
  const isn = ISN[s.dir];
  const peer = ISN[s.dir === "c2s" ? "s2c" : "c2s"];
  tcp.writeUInt32BE((isn + (s.syn ? 0 : 1) + s.rel) % 4294967296, 4);
  tcp.writeUInt32BE(s.ack === undefined ? 0 : (peer + 1 + s.ack) % 4294967296, 8);
  tcp[12] = 5 << 4;
  tcp[13] = (s.fin ? 1 : 0) | (s.syn ? 2 : 0) | (s.rst ? 4 : 0) | (s.ack !== undefined ? 16 : 0);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  const total = 20 + 20 + payload.length + (s.cut ?? 0);
  ip.writeUInt16BE(total, 2);
  ip[8] = 64;
  ip[9] = 6;
  const [src, dst] = s.dir === "c2s" ? [[10, 0, 0, 1], [10, 0, 0, 2]] : [[10, 0, 0, 2], [10, 0, 0, 1]];
  ip.set(src, 12);
  ip.set(dst, 16);
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  const data = Buffer.concat([eth, ip, tcp, payload]);
  return { data, orig: data.length + (s.cut ?? 0) };
}

/** A pcap (little-endian, microseconds, Ethernet) of the segments in the order given. */
export function buildPcap(segs: Seg[]): Uint8Array {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(1, 20);
  parts.push(h);
  segs.forEach((s, i) => {
    const f = frame(s);
    const r = Buffer.alloc(16);
    const t = s.time ?? 1700000000 + i / 1000;
    r.writeUInt32LE(Math.floor(t), 0);
    r.writeUInt32LE(Math.round((t % 1) * 1e6), 4);
    r.writeUInt32LE(f.data.length, 8);
    r.writeUInt32LE(f.orig, 12);
    parts.push(r, f.data);
  });
  return new Uint8Array(Buffer.concat(parts));
}

/** The three-way handshake. */
export const handshake = (): Seg[] => [
  { dir: "c2s", rel: 0, syn: true },
  { dir: "s2c", rel: 0, syn: true, ack: 0 },
  { dir: "c2s", rel: 0, ack: 0 },
];
