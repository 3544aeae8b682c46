// One captured frame down to its TCP segment: the link layers a capture of PB traffic meets
// (Ethernet with VLAN tags, BSD/Linux loopback NULL and LOOP, raw IP, Linux cooked SLL and SLL2),
// IPv4 and IPv6 (extension headers skipped), then TCP. A frame that is cut (snaplen) says how
// many payload bytes are missing; anything else that is not a TCP segment says why.
import type { RawPacket } from "./file.ts";

export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, LOOP: 108, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;

/** A TCP segment taken out of a captured packet (link, IP and TCP headers read). */
export interface TcpSegment {
  packet: number;
  time: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: { syn: boolean; ack: boolean; fin: boolean; rst: boolean };
  /** The payload bytes captured. */
  payload: Uint8Array;
  /** Payload bytes the packet had but the capture did not keep (snaplen). */
  missing: number;
}

export type Parsed = { ok: true; seg: TcpSegment } | { ok: false; why: string };

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

function u16(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}
function u32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

/** The IP packet inside a frame, or why there is none. */
function network(p: RawPacket): { ip: Uint8Array; lost: number } | string {
  const b = p.data;
  const lost = p.origLen - b.length; // bytes the capture cut off at the end
  const ethertype = (t: number, off: number) => {
    if (t === ETH_IPV4 || t === ETH_IPV6) return { ip: b.subarray(off), lost };
    return `not IP (ethertype 0x${t.toString(16).padStart(4, "0")})`;
  };
  switch (p.linkType) {
    case LINKTYPE.ETHERNET: {
      if (b.length < 14) return "Ethernet header cut short";
      let off = 12;
      let t = u16(b, off);
      // 802.1Q / 802.1ad tags
      while ((t === 0x8100 || t === 0x88a8 || t === 0x9100) && off + 6 <= b.length) {
        off += 4;
        t = u16(b, off);
      }
      return ethertype(t, off + 2);
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (b.length < 4) return "loopback header cut short";
      // The address family, in the capturing host's byte order (NULL) or big-endian (LOOP).
      const le = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
      const be = u32(b, 0);
      const fam = p.linkType === LINKTYPE.LOOP ? be : le < 256 ? le : be;
      if (fam === 2) return { ip: b.subarray(4), lost };
      if (fam === 10 || fam === 24 || fam === 28 || fam === 30) return { ip: b.subarray(4), lost };
      return `not IP (address family ${fam})`;
    }
    case LINKTYPE.RAW:
    case 12:
    case 14:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      return { ip: b, lost };
    case LINKTYPE.LINUX_SLL:
      if (b.length < 16) return "Linux cooked (SLL) header cut short";
      return ethertype(u16(b, 14), 16);
    case LINKTYPE.LINUX_SLL2:
      if (b.length < 20) return "Linux cooked (SLL2) header cut short";
      return ethertype(u16(b, 0), 20);
    default:
      return `link type ${p.linkType} is not one pb-inspect reads (Ethernet, NULL/loopback, raw IP, Linux SLL and SLL2)`;
  }
}

function ipv6Text(b: Uint8Array, p: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(u16(b, p + 2 * i).toString(16));
  // The longest run of zero groups becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

/** Parses a frame down to TCP. */
export function parsePacket(p: RawPacket): Parsed {
  const net = network(p);
  if (typeof net === "string") return { ok: false, why: net };
  const ip = net.ip;
  if (ip.length < 1) return { ok: false, why: "IP header cut short" };
  const version = ip[0] >> 4;
  let src: string;
  let dst: string;
  let proto: number;
  let l4: number; // offset of the TCP header in ip
  let end: number; // where the IP payload ends (by the IP length fields)
  if (version === 4) {
    if (ip.length < 20) return { ok: false, why: "IPv4 header cut short" };
    const ihl = (ip[0] & 15) * 4;
    if (ihl < 20) return { ok: false, why: "IPv4 header length below 20" };
    const total = u16(ip, 2);
    const frag = u16(ip, 6);
    if ((frag & 0x1fff) !== 0 || frag & 0x2000) return { ok: false, why: "IPv4 fragment (not reassembled)" };
    proto = ip[9];
    src = `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
    dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`;
    l4 = ihl;
    // total 0: TCP segmentation offload on the capturing host; take what was captured.
    end = total === 0 ? ip.length + net.lost : total;
  } else if (version === 6) {
    if (ip.length < 40) return { ok: false, why: "IPv6 header cut short" };
    src = ipv6Text(ip, 8);
    dst = ipv6Text(ip, 24);
    end = 40 + u16(ip, 4);
    proto = ip[6];
    l4 = 40;
    // Extension headers: hop-by-hop, routing, destination options (8-octet units); fragments are not reassembled.
    for (let guard = 0; guard < 16 && (proto === 0 || proto === 43 || proto === 60 || proto === 44); guard++) {
      if (proto === 44) return { ok: false, why: "IPv6 fragment (not reassembled)" };
      if (l4 + 2 > ip.length) return { ok: false, why: "IPv6 extension header cut short" };
      proto = ip[l4];
      l4 += (ip[l4 + 1] + 1) * 8;
    }
  } else return { ok: false, why: `not IPv4 or IPv6 (version ${version})` };
  if (proto !== 6) return { ok: false, why: `not TCP (IP protocol ${proto})` };
  if (l4 + 20 > ip.length) return { ok: false, why: "TCP header cut short (snaplen)" };
  const dataOff = (ip[l4 + 12] >> 4) * 4;
  if (dataOff < 20) return { ok: false, why: "TCP header length below 20" };
  if (l4 + dataOff > ip.length) return { ok: false, why: "TCP options cut short (snaplen)" };
  const flags = ip[l4 + 13];
  const payloadEnd = Math.max(l4 + dataOff, end);
  const captured = ip.subarray(l4 + dataOff, Math.min(ip.length, payloadEnd));
  const missing = Math.max(0, payloadEnd - (l4 + dataOff) - captured.length);
  return {
    ok: true,
    seg: {
      packet: p.index,
      time: p.time,
      src,
      dst,
      sport: u16(ip, l4),
      dport: u16(ip, l4 + 2),
      seq: u32(ip, l4 + 4),
      ack: u32(ip, l4 + 8),
      flags: { fin: (flags & 1) !== 0, syn: (flags & 2) !== 0, rst: (flags & 4) !== 0, ack: (flags & 16) !== 0 },
      payload: captured,
      missing,
    },
  };
}
