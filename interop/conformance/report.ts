// The matrix as a console table, as JSON, and as a self-contained HTML page.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { COLUMN_TITLES, type Cell, type Column, type Report, type Row } from "./harness.ts";

export function cellText(c: Cell | undefined): string {
  if (!c) return "";
  if (c.status === "skip") return "-";
  return `${c.status === "pass" ? "pass" : c.status === "known" ? "known" : "FAIL"} ${c.ms}ms`;
}

/** One line per scenario while the matrix runs. */
export function progressLine(row: Row, index: number, total: number, columns: readonly Column[]): string {
  const n = String(total).length;
  const head = `[${String(index + 1).padStart(n)}/${total}] ${`${row.family}/${row.name}`.padEnd(34)}`;
  const cells = columns.map((c) => {
    const cell = row.cells[c];
    const mark = !cell ? "" : cell.status === "pass" ? "ok" : cell.status === "skip" ? "-" : cell.status === "known" ? "known" : "FAIL";
    return `${COLUMN_TITLES[c]} ${mark}${cell && cell.status !== "skip" ? ` ${cell.ms}ms` : ""}`;
  });
  return `${head} ${cells.join("  ")}`;
}

/** The scenario x pairing table, then every failure with its first difference. */
export function formatTable(report: Report): string {
  const cols = report.columns;
  const first = ["scenario", ...report.rows.map((r) => `${r.family}/${r.name}`)];
  const w0 = Math.max(...first.map((s) => s.length));
  const widths = cols.map((c) => Math.max(COLUMN_TITLES[c].length, ...report.rows.map((r) => cellText(r.cells[c]).length)));
  const line = (cells: string[]) => cells.map((s, i) => s.padEnd(i === 0 ? w0 : widths[i - 1])).join("  ").trimEnd();
  const out = [line(["scenario", ...cols.map((c) => COLUMN_TITLES[c])]), line(["-".repeat(w0), ...widths.map((w) => "-".repeat(w))])];
  for (const r of report.rows) out.push(line([`${r.family}/${r.name}`, ...cols.map((c) => cellText(r.cells[c]))]));
  const s = report.summary;
  out.push("", "Columns:");
  for (const c of cols) if (report.columnPeers?.[c]) out.push(`  ${COLUMN_TITLES[c].padEnd(w0 > 18 ? 18 : w0)} ${report.columnPeers[c]}`);
  out.push("");
  out.push(
    `${s.pass} passed, ${s.fail} failed, ${s.known} known differences, ${s.skip} skipped (${report.rows.length} scenarios x ${cols.length} columns) in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  const known = report.rows.filter((r) => cols.some((c) => r.cells[c]?.status === "known"));
  if (known.length) {
    out.push("", "Known differences (declared in the scenarios; not failures):");
    for (const r of known) {
      const cs = cols.filter((c) => r.cells[c]?.status === "known");
      const first = r.cells[cs[0]]!;
      out.push(`  ${r.family}/${r.name} [${cs.map((c) => COLUMN_TITLES[c]).join(", ")}]: ${first.why}`);
      out.push(`    e.g. ${COLUMN_TITLES[cs[0]]}: ${first.firstDifference}`);
    }
  }
  const failures = report.rows.flatMap((r) => cols.filter((c) => r.cells[c]?.status === "fail").map((c) => ({ r, c, cell: r.cells[c]! })));
  if (failures.length) {
    out.push("", "Failures (first difference):");
    for (const { r, c, cell } of failures) {
      out.push(`  ${r.family}/${r.name} [${COLUMN_TITLES[c]}]: ${cell.firstDifference ?? "failed"}`);
      if (cell.traffic) out.push(`    traffic: ${cell.traffic}`);
    }
  }
  return out.join("\n");
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function formatHtml(report: Report): string {
  const cols = report.columns;
  const s = report.summary;
  const cell = (c: Cell | undefined) => {
    if (!c) return `<td></td>`;
    const cls = c.status;
    const detail = [c.why ? `known difference: ${c.why}` : "", c.firstDifference ?? "", ...(c.notes ?? []), c.traffic ? `traffic: ${c.traffic}` : ""].filter(Boolean);
    const label = c.status === "pass" ? "pass" : c.status === "known" ? "known" : "FAIL";
    const body = c.status === "skip" ? "&ndash;" : `${label} <span class="ms">${c.ms} ms</span>`;
    const more = detail.length ? `<details><summary>${c.status === "pass" || c.status === "skip" ? "notes" : "difference"}</summary>${detail.map((d) => `<div>${esc(d)}</div>`).join("")}</details>` : "";
    return `<td class="${cls}">${body}${more}</td>`;
  };
  const rows = report.rows
    .map((r) => `<tr><th title="${esc(r.title)}"><span class="fam">${esc(r.family)}/</span>${esc(r.name)}<div class="title">${esc(r.title)}</div></th>${cols.map((c) => cell(r.cells[c])).join("")}</tr>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>twisted-pb conformance</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}
table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
thead th{background:#eee;position:sticky;top:0}
td.pass{background:#e6f4e6}td.fail{background:#fbe3e3;font-weight:bold}td.known{background:#fdf3d6}td.skip{color:#999}
.ms{font-weight:normal;color:#555;font-size:.9em}
.fam{color:#888;font-weight:normal}.title{font-weight:normal;color:#666;font-size:.8em;max-width:28em}
details div{font:12px monospace;font-weight:normal;white-space:pre-wrap;max-width:40em}
.summary{font-size:1.1em;margin:.5em 0 1em}
</style></head><body>
<h1>twisted-pb &harr; Twisted conformance</h1>
<div class="summary"><b>${s.pass} passed, ${s.fail} failed, ${s.known} known differences, ${s.skip} skipped</b> &mdash; ${report.rows.length} scenarios, ${(report.durationMs / 1000).toFixed(1)} s,
started ${esc(report.startedAt)}; Node ${esc(report.node)}${report.python ? `, Python ${esc(report.python.version)} (${esc(report.python.path)}) with Twisted ${esc(report.python.twisted)}` : ""}</div>
<p>Columns: client&rarr;server pairings run live over 127.0.0.1 through a capture proxy (Py&rarr;Py is the control that proves the scenario right); the replay columns run one TypeScript role against Twisted's recorded traffic (fixtures/conformance) and compare bytes. <i>known</i>: a difference declared and explained in the scenario.</p>
<ul>${cols.map((c) => (report.columnPeers?.[c] ? `<li><b>${esc(COLUMN_TITLES[c])}</b>: ${esc(report.columnPeers[c]!)}</li>` : "")).join("")}</ul>
<table><thead><tr><th>scenario</th>${cols.map((c) => `<th>${esc(COLUMN_TITLES[c])}</th>`).join("")}</tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Nondeterministic fields, handled by name</h2>
<ul>${report.namedFields.map((f) => `<li>${esc(f)}</li>`).join("")}</ul>
</body></html>
`;
}

export function writeReport(report: Report, dir: string): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, "report.json");
  const html = join(dir, "report.html");
  writeFileSync(json, JSON.stringify(report, null, 1) + "\n");
  writeFileSync(html, formatHtml(report));
  return { json, html };
}
