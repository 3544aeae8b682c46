// Captured traffic to a transcript (text or JSON Lines): what `pb-inspect decode` prints.
import type { LoadedTraffic } from "./capture.ts";
import { DEFAULT_LIMITS, FULL_LIMITS } from "./pretty.ts";
import { entryJson, entryText, type TextOptions } from "./render.ts";
import { Session, type SessionOptions } from "./session.ts";

/** How a transcript is written. */
export interface DecodeOptions {
  json?: boolean;
  hex?: boolean;
  color?: boolean;
  /** Do not shorten long strings and containers. */
  full?: boolean;
  start?: SessionOptions["start"];
  /** Added to every JSON line (e.g. {conn: 2} for a connection of a packet capture). */
  extra?: Record<string, unknown>;
}

/** The whole transcript, one string per output line (text mode) or per JSON object. */
export function transcript(traffic: LoadedTraffic, opts: DecodeOptions = {}): string[] {
  const session = new Session({ oneSided: traffic.oneSided, start: opts.start ?? "auto", limits: opts.full ? FULL_LIMITS : DEFAULT_LIMITS });
  const out: string[] = [];
  const text: TextOptions = { color: opts.color ?? false, times: traffic.timed, hex: opts.hex ?? false };
  if (opts.json) out.push(JSON.stringify({ ...opts.extra, kind: "header", text: traffic.header }));
  else for (const h of traffic.header) out.push(`# ${h}`);
  const emit = (entries: ReturnType<Session["push"]>) => {
    for (const e of entries) out.push(opts.json ? entryJson(e, opts.extra) : entryText(e, text));
  };
  for (const chunk of traffic.chunks) emit(session.take(chunk));
  emit(session.end());
  return out;
}
