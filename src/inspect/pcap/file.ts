// Reading capture files: classic pcap (either byte order, microsecond or nanosecond magic) and
// pcapng (SHB, IDB, EPB, SPB, the obsolete PB; per-interface link types and time resolutions;
// sections of either byte order). Written from the file format descriptions (tcpdump.org
// pcap-savefile(5), IETF draft-ietf-opsawg-pcapng). A damaged or cut file yields the packets
// before the damage and a note saying where it stopped: never an exception.

/** One captured packet as the file holds it. */
export interface RawPacket {
  /** 1-based position in the file. */
  index: number;
  /** Seconds since the Unix epoch (fractional). */
  time: number;
  linkType: number;
  /** The bytes captured (may be fewer than the packet had: snaplen). */
  data: Uint8Array;
  /** The packet's length on the wire. */
  origLen: number;
}

/** A capture file as read: its format, its packets, and what went wrong while reading. */
export interface CaptureFile {
  format: "pcap" | "pcapng";
  packets: RawPacket[];
  /** Problems met while reading (a cut file, an unknown block). */
  notes: string[];
}

export const PCAP_MAGICS = [0xa1b2c3d4, 0xa1b23c4d];
export const PCAPNG_SHB = 0x0a0d0d0a;

/** True when the bytes start like a pcap or pcapng file. */
export function isCaptureFile(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const be = dv.getUint32(0, false);
  const le = dv.getUint32(0, true);
  return be === PCAPNG_SHB || PCAP_MAGICS.includes(be) || PCAP_MAGICS.includes(le);
}

/** Reads a pcap or pcapng file held in memory. */
export function readCaptureFile(b: Uint8Array): CaptureFile {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 4 && dv.getUint32(0, false) === PCAPNG_SHB) return readPcapng(b, dv);
  return readPcap(b, dv);
}

function readPcap(b: Uint8Array, dv: DataView): CaptureFile {
  const out: CaptureFile = { format: "pcap", packets: [], notes: [] };
  if (b.length < 24) {
    out.notes.push(`pcap header cut short (${b.length} of 24 bytes)`);
    return out;
  }
  const magicBE = dv.getUint32(0, false);
  const little = !PCAP_MAGICS.includes(magicBE);
  const magic = dv.getUint32(0, little);
  if (!PCAP_MAGICS.includes(magic)) {
    out.notes.push("not a pcap file (unknown magic number)");
    return out;
  }
  const nano = magic === 0xa1b23c4d;
  // The link type is the low 16 bits (the upper ones hold FCS information in newer files).
  const linkType = dv.getUint32(20, little) & 0xffff;
  const snaplen = dv.getUint32(16, little);
  let pos = 24;
  let index = 0;
  while (pos < b.length) {
    if (pos + 16 > b.length) {
      out.notes.push(`file ends inside the header of packet ${index + 1} (byte ${pos}): the capture was cut`);
      break;
    }
    const sec = dv.getUint32(pos, little);
    const frac = dv.getUint32(pos + 4, little);
    const incl = dv.getUint32(pos + 8, little);
    const orig = dv.getUint32(pos + 12, little);
    if (incl > Math.max(snaplen, 262144) && incl > b.length - pos - 16) {
      out.notes.push(`packet ${index + 1} claims ${incl} captured bytes (byte ${pos}): the file is damaged; reading stops here`);
      break;
    }
    const start = pos + 16;
    const end = start + incl;
    index++;
    if (end > b.length) {
      out.notes.push(`file ends inside packet ${index} (${b.length - start} of ${incl} bytes): the capture was cut`);
      out.packets.push({ index, time: sec + frac / (nano ? 1e9 : 1e6), linkType, data: b.subarray(start), origLen: Math.max(orig, incl) });
      break;
    }
    out.packets.push({ index, time: sec + frac / (nano ? 1e9 : 1e6), linkType, data: b.subarray(start, end), origLen: Math.max(orig, incl) });
    pos = end;
  }
  return out;
}

interface Iface {
  linkType: number;
  /** Seconds per timestamp unit. */
  unit: number;
  /** Seconds added to every timestamp (if_tsoffset). */
  offset: number;
}

function readPcapng(b: Uint8Array, dv: DataView): CaptureFile {
  const out: CaptureFile = { format: "pcapng", packets: [], notes: [] };
  let little = true;
  let ifaces: Iface[] = [];
  let pos = 0;
  let index = 0;
  const unknown = new Map<number, number>();
  while (pos < b.length) {
    if (pos + 12 > b.length) {
      out.notes.push(`file ends inside a block header (byte ${pos}): the capture was cut`);
      break;
    }
    let type = dv.getUint32(pos, little);
    if (dv.getUint32(pos, false) === PCAPNG_SHB) {
      type = PCAPNG_SHB;
      // The byte-order magic decides how this section (and its lengths) are read.
      const bom = dv.getUint32(pos + 8, true);
      if (bom === 0x1a2b3c4d) little = true;
      else if (bom === 0x4d3c2b1a) little = false;
      else {
        out.notes.push(`section header at byte ${pos} has an unknown byte-order magic: reading stops here`);
        break;
      }
    }
    const len = dv.getUint32(pos + 4, little);
    if (len < 12 || len % 4 !== 0) {
      out.notes.push(`block at byte ${pos} has an impossible length ${len}: the file is damaged; reading stops here`);
      break;
    }
    if (pos + len > b.length) {
      out.notes.push(`file ends inside a block at byte ${pos} (${b.length - pos} of ${len} bytes): the capture was cut`);
      break;
    }
    const body = pos + 8;
    const bodyEnd = pos + len - 4;
    if (dv.getUint32(bodyEnd, little) !== len) out.notes.push(`block at byte ${pos}: trailing length differs from the leading one`);
    if (type === PCAPNG_SHB) {
      ifaces = []; // interface ids are per section
    } else if (type === 1) {
      // Interface Description Block: link type, reserved, snaplen, options.
      if (bodyEnd - body < 8) out.notes.push(`interface block at byte ${pos} is too short`);
      else ifaces.push(readIdb(b, dv, body, bodyEnd, little));
    } else if (type === 6 || type === 2) {
      // Enhanced Packet Block (6); obsolete Packet Block (2): interface id 16 bits + drops 16 bits.
      const head = 20;
      if (bodyEnd - body < head) out.notes.push(`packet block at byte ${pos} is too short`);
      else {
        const ifId = type === 6 ? dv.getUint32(body, little) : dv.getUint16(body, little);
        const tsHigh = dv.getUint32(body + 4, little);
        const tsLow = dv.getUint32(body + 8, little);
        const cap = dv.getUint32(body + 12, little);
        const orig = dv.getUint32(body + 16, little);
        const iface = ifaces[ifId];
        index++;
        if (!iface) out.notes.push(`packet ${index} names interface ${ifId}, which was never described: skipped`);
        else {
          const start = body + head;
          const avail = Math.max(0, bodyEnd - start);
          const data = b.subarray(start, start + Math.min(cap, avail));
          if (cap > avail) out.notes.push(`packet ${index}: block shorter than its captured length`);
          const ts = tsHigh * 4294967296 + tsLow;
          out.packets.push({ index, time: ts * iface.unit + iface.offset, linkType: iface.linkType, data, origLen: Math.max(orig, data.length) });
        }
      }
    } else if (type === 3) {
      // Simple Packet Block: interface 0, no timestamp; captured length = min(orig, snaplen, block).
      const orig = dv.getUint32(body, little);
      const iface = ifaces[0];
      index++;
      if (!iface) out.notes.push(`packet ${index} (simple block) comes before any interface: skipped`);
      else {
        const start = body + 4;
        const data = b.subarray(start, start + Math.min(orig, bodyEnd - start));
        out.packets.push({ index, time: NaN, linkType: iface.linkType, data, origLen: Math.max(orig, data.length) });
      }
    } else {
      unknown.set(type, (unknown.get(type) ?? 0) + 1);
    }
    pos += len;
  }
  for (const [type, n] of unknown) {
    // Name resolution (4), statistics (5), journal/secrets (9, 10): nothing PB needs.
    if (![4, 5, 9, 10].includes(type)) out.notes.push(`${n} block(s) of type 0x${type.toString(16)} skipped`);
  }
  return out;
}

function readIdb(b: Uint8Array, dv: DataView, body: number, end: number, little: boolean): Iface {
  const iface: Iface = { linkType: dv.getUint16(body, little), unit: 1e-6, offset: 0 };
  let p = body + 8;
  while (p + 4 <= end) {
    const code = dv.getUint16(p, little);
    const len = dv.getUint16(p + 2, little);
    const v = p + 4;
    if (code === 0 || v + len > end) break;
    if (code === 9 && len >= 1) {
      // if_tsresol: bit 7 clear = negative power of 10, set = negative power of 2.
      const r = b[v];
      iface.unit = r & 0x80 ? Math.pow(2, -(r & 0x7f)) : Math.pow(10, -(r & 0x7f));
    } else if (code === 14 && len >= 8) {
      iface.offset = Number(dv.getBigInt64(v, little));
    }
    p = v + ((len + 3) & ~3);
  }
  return iface;
}
