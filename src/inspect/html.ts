// `--html FILE`: the conversation as one self-contained page (no network, no external files): a
// ladder diagram with a client lane and a server lane, one arrow per message, each answer joined
// to its call, failures marked, time gaps shown; the object tables as they change; and each
// message expandable to its Python-like value (unshortened) and its bytes.
import type { LoadedTraffic } from "./capture.ts";
import { FULL_LIMITS } from "./pretty.ts";
import { changeText } from "./render.ts";
import { Session } from "./session.ts";
import type { TableEntry } from "./table.ts";
import type { Entry } from "./types.ts";
import { HTML_SCRIPT, HTML_STYLE } from "./html-assets.ts";

/** One connection to draw on the HTML page: a title and its decoded traffic. */
export interface HtmlConversation {
  title: string;
  traffic: LoadedTraffic;
}

/** Options of the HTML page. */
export interface HtmlOptions {
  /** Page title. */
  title?: string;
  /** Lines about the input as a whole. */
  header?: string[];
  /** Most rows of one object table shown per step. */
  maxTableRows?: number;
}

const ESC: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** Escapes text for HTML (everything from the peer goes through it). */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]);

const FAILED = new Set(["error", "decode-error", "unknown"]);
const ARROWS = new Set(["dialect", "version", "message", "cachemessage", "answer", "error", "decref", "decache", "uncache", "didNotUnderstand", "unknown", "decode-error"]);

/** A hex dump: offset, 16 bytes, their printable ASCII. */
export function hexDump(hex: string): string {
  const lines: string[] = [];
  for (let i = 0; i < hex.length; i += 32) {
    const row = hex.slice(i, i + 32);
    const bytes = row.match(/../g) ?? [];
    const ascii = bytes.map((b) => {
      const c = parseInt(b, 16);
      return c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : ".";
    });
    lines.push(`${(i / 2).toString(16).padStart(6, "0")}  ${bytes.join(" ").padEnd(47)}  ${ascii.join("")}`);
  }
  return lines.join("\n");
}

interface Snapshot {
  rows: [string, string, string, string, number][]; // side, kind, id, what, refs
  more: number;
}

function snapshot(live: TableEntry[], max: number): Snapshot {
  return { rows: live.slice(0, max).map((e) => [e.side, e.kind, e.id, e.what, e.refs]), more: Math.max(0, live.length - max) };
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function rowHtml(e: Entry, id: string, index: number): string {
  const dir = e.dir ?? "";
  const cls = ["row", e.kind, dir, FAILED.has(e.kind) ? "fail" : "", e.warnings.length ? "warn" : ""].filter(Boolean).join(" ");
  const time = e.t === undefined ? "" : (e.t / 1000).toFixed(6);
  const req = e.requestId !== undefined ? ` data-req="${escapeHtml(e.requestId)}"` : "";
  const body: string[] = [];
  if (e.details.length) body.push(`<pre class="details">${escapeHtml(e.details.join("\n"))}</pre>`);
  if (e.changes.length) body.push(`<ul class="changes">${e.changes.map((c) => `<li class="${c.op}">${escapeHtml(changeText(c))}</li>`).join("")}</ul>`);
  if (e.warnings.length) body.push(`<ul class="warnings">${e.warnings.map((w) => `<li>! ${escapeHtml(w)}</li>`).join("")}</ul>`);
  if (e.hex !== undefined) body.push(`<div class="bytes-head">${e.hex.length / 2} bytes${e.offset !== undefined ? ` at byte ${e.offset} of ${dir === "c2s" ? "C-&gt;S" : "S-&gt;C"}` : ""}</div><pre class="bytes">${escapeHtml(hexDump(e.hex))}</pre>`);
  const mark = FAILED.has(e.kind) ? '<span class="mark" title="failure">✗</span>' : e.warnings.length ? '<span class="mark" title="protocol problem">!</span>' : "";
  const arrow = ARROWS.has(e.kind) && dir ? `<div class="arrow ${dir}"><span class="line"></span></div>` : `<div class="arrow none"></div>`;
  return (
    `<div class="${cls}" id="${id}" data-i="${index}" data-dir="${dir}" data-kind="${e.kind}"${req}>` +
    `<span class="time">${time}</span>${arrow}` +
    `<details><summary>${mark}<span class="text">${escapeHtml(e.text)}</span></summary><div class="value"><pre class="python">${escapeHtml(e.text)}</pre>${body.join("")}</div></details>` +
    `</div>`
  );
}

/** Renders conversations as one HTML page. */
export function htmlPage(convs: HtmlConversation[], opts: HtmlOptions = {}): string {
  const maxRows = opts.maxTableRows ?? 200;
  const sections: string[] = [];
  const data: { id: string; snapshots: (Snapshot | null)[] }[] = [];
  convs.forEach((conv, ci) => {
    const session = new Session({ oneSided: conv.traffic.oneSided, start: "auto", limits: FULL_LIMITS });
    const entries: Entry[] = [];
    const snaps: (Snapshot | null)[] = [];
    let lastKey = "";
    const take = (es: Entry[]) => {
      for (const e of es) {
        entries.push(e);
        // a snapshot only where the table changed (the page shows the latest one at or before a row)
        const live = session.table.live();
        // bounded per row: the rows shown, the count and this entry's changes
        const key = `${live.length};${live.slice(0, maxRows).map((x) => `${x.side}${x.kind}${x.id}:${x.refs}`).join(",")};${e.changes.length}`;
        snaps.push(key === lastKey ? null : snapshot(live, maxRows));
        lastKey = key;
      }
    };
    for (const c of conv.traffic.chunks) take(session.take(c));
    take(session.end());
    const prefix = `c${ci + 1}`;
    const times = entries.map((e) => e.t).filter((t): t is number => t !== undefined);
    const steps = times.slice(1).map((t, i) => t - times[i]).filter((d) => d > 0);
    const gapAt = Math.max(100, 10 * median(steps));
    const rows: string[] = [];
    let prevT: number | undefined;
    entries.forEach((e, i) => {
      if (e.t !== undefined && prevT !== undefined && e.t - prevT >= gapAt) {
        rows.push(`<div class="row timegap"><span class="time"></span><div class="gapline">⋯ ${((e.t - prevT) / 1000).toFixed(3)} s without traffic ⋯</div></div>`);
      }
      if (e.t !== undefined) prevT = e.t;
      rows.push(rowHtml(e, `${prefix}-e${i}`, i));
    });
    const counts = { messages: entries.filter((e) => ARROWS.has(e.kind)).length, failures: entries.filter((e) => FAILED.has(e.kind)).length };
    sections.push(
      `<section class="conv" id="${prefix}" data-conv="${ci}">` +
        `<h2>${escapeHtml(conv.title)}</h2>` +
        `<div class="meta">${conv.traffic.header.map((h) => `<div>${escapeHtml(h)}</div>`).join("")}<div class="counts">${counts.messages} messages, ${counts.failures} failures</div></div>` +
        `<div class="body"><div class="ladder"><div class="lanes-head"><span class="time">seconds</span><div class="heads"><span class="lane client">client</span><span class="lane server">server</span></div></div>` +
        `<svg class="joins" aria-hidden="true"></svg>${rows.join("")}</div>` +
        `<aside class="tables"><h3>object tables</h3><div class="where">after: <span class="at">the start</span></div><div class="table-body"></div></aside></div>` +
        `</section>`,
    );
    data.push({ id: prefix, snapshots: snaps });
  });
  const title = opts.title ?? "pb-inspect";
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${HTML_STYLE}</style></head>
<body><header><h1>${escapeHtml(title)}</h1>${(opts.header ?? []).map((h) => `<div class="filemeta">${escapeHtml(h)}</div>`).join("")}
<p class="legend"><span class="k c2s">→ client to server</span> <span class="k s2c">← server to client</span> <span class="k fail">✗ failure</span> <span class="k warn">! protocol problem</span> <span class="k join">┃ answer joined to its call</span> · click a message for its value, its bytes and the object tables after it</p></header>
<main>${sections.join("\n")}</main>
<script type="application/json" id="pb-data">${json}</script>
<script>${HTML_SCRIPT}</script>
</body></html>
`;
}
