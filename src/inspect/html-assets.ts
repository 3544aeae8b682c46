// The style and script inlined in the --html page (html.ts). Plain CSS and ES2017, no libraries.

export const HTML_STYLE = `
:root { --c2s: #1f6feb; --s2c: #b35900; --fail: #cf222e; --warn: #9a6700; --lane: #8c959f; --bg: #fff; --fg: #1f2328; --muted: #656d76; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 12px 16px; border-bottom: 1px solid #d0d7de; }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 0 0 4px; } h3 { font-size: 13px; margin: 0 0 6px; }
.filemeta, .meta { color: var(--muted); font-size: 12px; }
.legend { margin: 6px 0 0; color: var(--muted); font-size: 12px; }
.legend .k { margin-right: 10px; } .legend .c2s { color: var(--c2s); } .legend .s2c { color: var(--s2c); } .legend .fail { color: var(--fail); } .legend .warn { color: var(--warn); }
section.conv { padding: 12px 16px; border-bottom: 1px solid #d0d7de; }
.body { display: flex; gap: 16px; align-items: flex-start; }
.ladder { position: relative; flex: 1 1 auto; min-width: 0; }
aside.tables { flex: 0 0 340px; position: sticky; top: 8px; max-height: 95vh; overflow: auto; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px; font-size: 12px; }
aside table { border-collapse: collapse; width: 100%; } aside td, aside th { border-bottom: 1px solid #eaeef2; padding: 2px 4px; text-align: left; vertical-align: top; }
aside .empty { color: var(--muted); }
.lanes-head, .row { display: grid; grid-template-columns: 84px 240px minmax(0, 1fr); align-items: start; }
.lanes-head .heads { position: relative; height: 18px; font-weight: 600; }
.lanes-head .lane { position: absolute; transform: translateX(-50%); } .lane.client { left: 10%; color: var(--c2s); } .lane.server { left: 90%; color: var(--s2c); }
.time { color: var(--muted); font-variant-numeric: tabular-nums; font-size: 11px; padding-top: 4px; }
.arrow { position: relative; height: 24px; }
.arrow::before, .arrow::after { content: ""; position: absolute; top: 0; bottom: -100vh; width: 0; border-left: 2px solid var(--lane); }
.row { overflow: hidden; } .arrow::before { left: 10%; } .arrow::after { left: 90%; }
.arrow .line { position: absolute; top: 11px; left: 10%; width: 80%; height: 0; border-top: 2px solid currentColor; }
.arrow.c2s { color: var(--c2s); } .arrow.s2c { color: var(--s2c); }
.arrow.c2s .line::after, .arrow.s2c .line::after { content: ""; position: absolute; top: -6px; border: 5px solid transparent; }
.arrow.c2s .line::after { right: -2px; border-left: 8px solid currentColor; border-right: 0; }
.arrow.s2c .line::after { left: -2px; border-right: 8px solid currentColor; border-left: 0; }
.row.fail .arrow { color: var(--fail); } .row.fail .arrow .line { border-top-style: dashed; }
details { padding: 2px 0 2px 8px; min-width: 0; }
summary { cursor: pointer; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-family: ui-monospace, monospace; font-size: 12px; }
.row.c2s summary { color: #0b3d91; } .row.s2c summary { color: #6b3400; } .row.fail summary { color: var(--fail); }
.row.note summary, .row.end summary, .row.gap summary { color: var(--muted); font-style: italic; } .row.gap summary { color: var(--fail); }
.mark { display: inline-block; width: 14px; font-weight: 700; color: var(--fail); } .row.warn .mark { color: var(--warn); }
.row.selected { background: #fff8c5; }
.value pre { white-space: pre-wrap; word-break: break-all; margin: 4px 0; font-size: 12px; }
pre.bytes { background: #f6f8fa; padding: 4px; white-space: pre; overflow-x: auto; word-break: normal; }
.bytes-head { color: var(--muted); font-size: 11px; }
ul.changes, ul.warnings { margin: 2px 0; padding-left: 18px; font-family: ui-monospace, monospace; font-size: 12px; }
ul.changes .add { color: #1a7f37; } ul.changes .remove { color: #8250df; } ul.warnings { color: var(--fail); }
.row.timegap { background: repeating-linear-gradient(45deg, #fff, #fff 6px, #f6f8fa 6px, #f6f8fa 12px); }
.gapline { grid-column: 2 / 4; color: var(--muted); font-style: italic; padding: 2px 0; }
svg.joins { position: absolute; left: 84px; top: 0; width: 240px; height: 100%; pointer-events: none; overflow: visible; }
`;

export const HTML_SCRIPT = `
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("pb-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  function color(req, failed) {
    if (failed) return "#cf222e";
    var h = 0;
    for (var i = 0; i < req.length; i++) h = (h * 31 + req.charCodeAt(i)) % 360;
    return "hsl(" + ((h * 47) % 360) + ", 60%, 42%)";
  }
  function drawJoins(section) {
    var svg = section.querySelector("svg.joins");
    var ladder = section.querySelector(".ladder");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var width = svg.getBoundingClientRect().width;
    var top = ladder.getBoundingClientRect().top;
    var rows = section.querySelectorAll(".row[data-req]");
    var calls = {};
    var depth = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var kind = r.getAttribute("data-kind"), dir = r.getAttribute("data-dir"), req = r.getAttribute("data-req");
      if (kind === "message" || kind === "cachemessage") { calls[dir + ":" + req] = r; continue; }
      if (kind !== "answer" && kind !== "error") continue;
      var callDir = dir === "c2s" ? "s2c" : "c2s";
      var call = calls[callDir + ":" + req];
      if (!call) continue;
      delete calls[callDir + ":" + req];
      var y1 = call.querySelector(".arrow").getBoundingClientRect().top - top + 12;
      var y2 = r.querySelector(".arrow").getBoundingClientRect().top - top + 12;
      // the call arrives at the callee's lane and the answer leaves it: the bracket sits there
      var lane = callDir === "c2s" ? 0.9 : 0.1;
      var off = 5 + (depth++ % 4) * 4;
      var x = width * lane + (callDir === "c2s" ? off : -off);
      var x0 = width * lane;
      var p = document.createElementNS(SVGNS, "path");
      p.setAttribute("d", "M" + x0 + "," + y1 + " H" + x + " V" + y2 + " H" + x0);
      p.setAttribute("fill", "none");
      p.setAttribute("stroke", color(req, kind === "error"));
      p.setAttribute("stroke-width", "2");
      p.setAttribute("class", "join");
      p.setAttribute("data-req", req);
      svg.appendChild(p);
    }
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function showTables(section, index) {
    var conv = data[Number(section.getAttribute("data-conv"))];
    var snap = null;
    for (var i = Math.min(index, conv.snapshots.length - 1); i >= 0 && !snap; i--) snap = conv.snapshots[i];
    var body = section.querySelector(".table-body");
    var at = section.querySelector(".where .at");
    var row = section.querySelector('.row[data-i="' + index + '"] .text');
    at.textContent = row ? row.textContent : "the start";
    if (!snap || !snap.rows.length) { body.innerHTML = '<div class="empty">no objects referenced or cached</div>'; return; }
    var html = "<table><thead><tr><th>owner</th><th>kind</th><th>id</th><th>what</th><th>refs</th></tr></thead><tbody>";
    snap.rows.forEach(function (r) { html += "<tr><td>" + esc(r[0]) + "</td><td>" + esc(r[1]) + "</td><td>" + esc(r[2]) + "</td><td>" + esc(r[3]) + "</td><td>" + esc(r[4]) + "</td></tr>"; });
    html += "</tbody></table>";
    if (snap.more) html += "<div>... " + snap.more + " more</div>";
    body.innerHTML = html;
  }
  var sections = document.querySelectorAll("section.conv");
  Array.prototype.forEach.call(sections, function (section) {
    var last = section.querySelectorAll(".row[data-i]");
    showTables(section, last.length ? Number(last[last.length - 1].getAttribute("data-i")) : -1);
    section.addEventListener("click", function (ev) {
      var row = ev.target.closest ? ev.target.closest(".row[data-i]") : null;
      if (!row) return;
      var sel = section.querySelector(".row.selected");
      if (sel) sel.classList.remove("selected");
      row.classList.add("selected");
      showTables(section, Number(row.getAttribute("data-i")));
    });
    section.addEventListener("toggle", function () { drawJoins(section); }, true);
    drawJoins(section);
  });
  window.addEventListener("resize", function () { Array.prototype.forEach.call(sections, drawJoins); });
  document.documentElement.setAttribute("data-ready", "1");
})();
`;
