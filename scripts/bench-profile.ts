// Summarises V8 CPU profiles (node --cpu-prof) for scripts/bench-pb.ts: where a process's time
// went, by function (self time) and by kind of work, so that a target missed shows why.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  /** Sampled time, idle included, in ms. */
  totalMs: number;
  /** Sampled time neither idle nor start-up (module loading), in ms. */
  busyMs: number;
  /** Start-up time left out, in ms. */
  startupMs: number;
  /** Share of the busy time per kind of work, in percent. */
  kinds: Record<string, number>;
  /** The functions with the most self time, in percent of the busy time. */
  top: { fn: string; where: string; pct: number }[];
}

/** The kind of work a frame is. */
function kindOf(fn: string, url: string): string {
  if (fn === "(idle)") return "idle";
  // Start-up (tsx compiling the sources, ESM hooks): not part of any measurement.
  if (url.includes("esm/") || url.includes("modules/cjs") || url.includes("bootstrap/") || url.includes("cjs-module-lexer") || url.includes("node_modules/tsx") || url.includes("node_modules/esbuild"))
    return "start-up";
  if (fn === "compileFunction" || fn === "compileSourceTextModule") return "start-up";
  // Native socket calls (libuv write/read: the system calls themselves).
  if (url === "" && /^(writeBuffer|writev|writeUtf8String|writeLatin1String|readStart|readStop|shutdown|close|connect|getsockname|setNoDelay|onStreamRead)$/.test(fn)) return "socket system calls";
  if (fn === "(garbage collector)") return "GC";
  if (fn === "(program)" || fn === "(root)") return "V8/native (program)";
  if (url.includes("/src/banana/")) return "twisted-pb banana";
  if (url.includes("/src/jelly/")) return "twisted-pb jelly";
  if (url.includes("/src/pb/")) return "twisted-pb pb";
  if (url.includes("/src/cred/")) return "twisted-pb cred";
  if (url.includes("/src/net/")) return "twisted-pb net";
  if (url.includes("/scripts/")) return "benchmark driver";
  if (url.startsWith("node:net") || url.startsWith("node:internal/stream_base") || url.startsWith("node:internal/streams") || url.startsWith("node:stream"))
    return "Node sockets and streams";
  if (url.startsWith("node:internal/process/task_queues") || url.startsWith("node:internal/timers") || url.startsWith("node:timers")) return "Node event loop (ticks, timers)";
  if (url.startsWith("node:")) return "Node other";
  if (url.includes("node_modules/tsx") || url.includes("esm/")) return "module loading";
  if (url === "") return "V8 builtins and native calls";
  return "other";
}

export function summarizeProfile(file: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfByNode = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfByNode.set(p.samples[i], (selfByNode.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const byFn = new Map<string, { fn: string; where: string; us: number }>();
  const kinds = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let startup = 0;
  for (const [id, us] of selfByNode) {
    const n = byId.get(id)!;
    const fn = n.callFrame.functionName || "(anonymous)";
    const url = n.callFrame.url;
    total += us;
    const kind = kindOf(fn, url);
    if (kind === "idle" || kind === "start-up") {
      idle += us;
      if (kind === "start-up") startup += us;
      continue;
    }
    kinds.set(kind, (kinds.get(kind) ?? 0) + us);
    const where = url ? `${url.replace(/^file:\/\/.*?\/(src|scripts|node_modules)\//, "$1/")}:${n.callFrame.lineNumber + 1}` : "";
    const key = `${fn} ${where}`;
    const e = byFn.get(key) ?? { fn, where, us: 0 };
    e.us += us;
    byFn.set(key, e);
  }
  const busy = total - idle;
  const pct = (us: number) => (busy > 0 ? (us / busy) * 100 : 0);
  return {
    file,
    totalMs: total / 1000,
    busyMs: busy / 1000,
    startupMs: startup / 1000,
    kinds: Object.fromEntries([...kinds].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, pct(us)])),
    top: [...byFn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, 15)
      .map((e) => ({ fn: e.fn, where: e.where, pct: pct(e.us) })),
  };
}

/** Every .cpuprofile in `dir` (a process writes one for its main thread, workers their own). */
export function summarizeProfiles(dir: string): ProfileSummary[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => summarizeProfile(join(dir, f)))
    .sort((a, b) => b.busyMs - a.busyMs);
}

/** The summary as lines for a terminal. */
export function formatProfile(title: string, s: ProfileSummary): string[] {
  const out = [`${title}: ${s.busyMs.toFixed(0)} ms busy of ${s.totalMs.toFixed(0)} ms sampled (start-up, ${s.startupMs.toFixed(0)} ms, left out)`];
  out.push("  by kind of work: " + Object.entries(s.kinds).map(([k, v]) => `${k} ${v.toFixed(1)}%`).join(", "));
  out.push("  top functions (self time):");
  for (const t of s.top.slice(0, 12)) out.push(`    ${t.pct.toFixed(1).padStart(5)}%  ${t.fn}  ${t.where}`);
  return out;
}
