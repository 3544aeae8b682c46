// `pb-inspect decode FILE.pcap`: every PB connection of a packet capture as its own transcript.
import { transcript, type DecodeOptions } from "./decode.ts";
import { matches, pcapTraffic, type ConnectionFilter } from "./pcap/index.ts";
import { endpointText } from "./pcap/tcp.ts";

/** The transcripts of the connections of a pcap/pcapng file that `filter` selects (all PB ones by default). */
export function pcapTranscript(bytes: Uint8Array, source: string, filter: ConnectionFilter = {}, opts: DecodeOptions = {}): string[] {
  const p = pcapTraffic(bytes, source);
  const out: string[] = [];
  const explicit = filter.conn !== undefined || filter.host !== undefined || filter.port !== undefined;
  const chosen = p.conversations.filter((c) => matches(c.conn, filter) && (c.pb || filter.conn !== undefined));
  const header = [...p.header];
  for (const c of p.conversations) {
    if (!matches(c.conn, filter)) continue;
    if (!c.pb && filter.conn === undefined) header.push(`connection ${c.conn.number} (${endpointText(c.conn.client)} -> ${endpointText(c.conn.server)}): no PB found, not decoded (--conn ${c.conn.number} decodes it anyway)`);
  }
  if (chosen.length === 0) header.push(explicit ? "no connection matches --conn/--host/--port" : "no PB connection in this capture");
  if (opts.json) out.push(JSON.stringify({ kind: "capture", text: header, connections: chosen.map((c) => c.conn.number) }));
  else for (const h of header) out.push(`# ${h}`);
  for (const c of chosen) {
    if (!opts.json) out.push("");
    out.push(...transcript(c.traffic, { ...opts, start: "connection", extra: { ...opts.extra, conn: c.conn.number } }));
  }
  return out;
}
