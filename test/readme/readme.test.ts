// README.md is what users copy from, so it is tested like code: every ```ts / ```js sample runs
// against live Twisted (and every ```python sample runs as the Twisted peer it shows), every
// file it names exists, and the conformance counts it quotes are those of a real run.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PYTHON, ROOT, runTs, runTwistedClient, startTwistedServer, twistedResult, type Output, type Running } from "../examples/support.ts";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const RUNNABLE = new Set(["ts", "typescript", "js", "javascript", "python"]);

interface Sample {
  section: string;
  index: number; // among the runnable samples of its section
  lang: string;
  code: string;
}

/** The fenced blocks of the README, with the `## ` section each one is in. */
function samples(markdown: string): Sample[] {
  const out: Sample[] = [];
  let section = "";
  let count = 0;
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const heading = /^## (.*)$/.exec(lines[i]);
    if (heading) {
      section = heading[1];
      count = 0;
      continue;
    }
    const fence = /^(\s*)```(\w*)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i].slice(fence[1].length));
    if (RUNNABLE.has(fence[2])) out.push({ section, index: count++, lang: fence[2], code: body.join("\n") + "\n" });
  }
  return out;
}

const ALL = samples(README);
const claimed = new Set<Sample>();
const claimedForTypes = new Set<Sample>();

function sample(section: string, index: number): Sample {
  const found = ALL.find((s) => s.section === section && s.index === index);
  if (!found) throw new Error(`README has no runnable sample #${index} in section "${section}"`);
  claimed.add(found);
  return found;
}

/** The README's ports, 8787 and 8788, become the ones this run uses. */
function withPorts(code: string, ports: Record<string, number>): string {
  let out = code;
  for (const [from, to] of Object.entries(ports)) out = out.replace(new RegExp(`\\b${from}\\b`, "g"), String(to));
  return out;
}

let dir: string;
let fileNumber = 0;
function write(s: Sample, code: string): string {
  const file = join(dir, `sample-${++fileNumber}.${s.lang === "python" ? "py" : s.lang.startsWith("j") ? "mjs" : "mts"}`);
  writeFileSync(file, code);
  return file;
}

async function runSample(s: Sample, ports: Record<string, number>, stderr: RegExp | "" = ""): Promise<string> {
  const out: Output = await runTs(write(s, withPorts(s.code, ports)));
  if (stderr === "") expect(out.stderr, `${s.section} #${s.index} wrote to stderr`).toBe("");
  else expect(out.stderr, `${s.section} #${s.index}: what it logs`).toMatch(stderr);
  expect(out.status).toBe(0);
  return out.stdout;
}

/** A long-running sample (a server): started, then read until `ready` matches its output. */
function startSample(s: Sample, ports: Record<string, number>, ready: RegExp): Promise<Running & { match: RegExpExecArray }> {
  const file = write(s, withPorts(s.code, ports));
  const [cmd, args] = s.lang === "python" ? [PYTHON, ["-u", file]] : [process.execPath, ["--import", "tsx", file]];
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  let text = "";
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sample in "${s.section}" not ready within 30 s:\n${text}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      text += d;
      const match = ready.exec(text);
      if (!match) return;
      clearTimeout(timer);
      child.stdout.off("data", onData);
      child.stdout.on("data", (more) => (text += more));
      resolve({
        match,
        ports: match.slice(1).map(Number),
        output: () => text,
        async stop() {
          child.kill("SIGTERM");
          const kill = setTimeout(() => child.kill("SIGKILL"), 3000);
          await exited;
          clearTimeout(kill);
        },
      });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (d) => (text += d));
    child.once("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`sample in "${s.section}" exited (${code}) before it was ready:\n${text}`));
    });
  });
}

function runPython(file: string, timeoutMs = 30_000): Promise<Output> {
  const child = spawn(PYTHON, ["-u", file], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`python sample timed out:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

let twisted: Running;
let twistedPorts: Record<string, number>;

beforeAll(async () => {
  // Inside the checkout (.tmp/ is ignored by git) so bare imports such as "zod" resolve, as
  // they would in a user's project.
  mkdirSync(join(ROOT, ".tmp"), { recursive: true });
  dir = mkdtempSync(join(ROOT, ".tmp", "readme-"));
  twisted = await startTwistedServer();
  twistedPorts = { 8787: twisted.ports[0], 8788: twisted.ports[1] };
});

afterAll(async () => {
  await twisted?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("README samples run against live Twisted", () => {
  it("Calling a Twisted PB server: root call, then login on the Portal server, the refusal checked inside the try", async () => {
    const out = await runSample(sample("Calling a Twisted PB server", 0), twistedPorts);
    expect(out).toContain("Tuple(2) [ Tuple(3) [ 1, 'hi', 2.5 ], Map(1) { 'key' => 'v' } ]");
    expect(out).toContain("built trunk");
  });

  it("Calling a Twisted PB server: a wrong password ends in the sample's 'denied' branch", async () => {
    const s = sample("Calling a Twisted PB server", 0);
    const out = await runTs(write(s, withPorts(s.code.replace('"secret"', '"wrong"'), twistedPorts)));
    expect(out.status).toBe(0);
    expect(out.stdout).toContain("denied");
  });

  it("Serving Twisted clients: Twisted clients call the root and log in", async () => {
    const server = await startSample(sample("Serving Twisted clients", 0), { 8787: 0, 8788: 0 }, /serving on ports (\d+) and (\d+)/);
    try {
      expect(twistedResult(await runTwistedClient(["echo", String(server.ports[0])]))).toEqual([1, "two", "three"]);
      expect(twistedResult(await runTwistedClient(["whoami", String(server.ports[1])]))).toEqual({ whoami: "alice" });
      const end = Date.now() + 10_000;
      while (!server.output().includes("logout") && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(server.output()).toContain("logout");
    } finally {
      await server.stop();
    }
  });

  it("Objects kept in sync: the Twisted Scoreboard server sample and the Node client sample", async () => {
    const python = await startSample(sample("Objects kept in sync: Cacheable, pagers, Publishable", 0), { 8787: 0 }, /listening on port (\d+)/);
    try {
      const out = await runSample(sample("Objects kept in sync: Cacheable, pagers, Publishable", 1), { 8787: python.ports[0] });
      expect(out.trim().split("\n")).toEqual(["10", "true", "true"]);
    } finally {
      await python.stop();
    }
  });

  it("Typed remote interfaces: calling Twisted with checks, and serving a Twisted client that sends wrong types", async () => {
    const server = await startSample(sample("Typed remote interfaces", 0), { 8787: twisted.ports[0], 8788: 0 }, /serving on port (\d+)/);
    try {
      expect(server.output()).toContain("3\nCalculator.stats: result at .mean: Invalid input: expected number, received string\n");
      const client = sample("Typed remote interfaces", 1);
      const out = await runPython(write(client, withPorts(client.code, { 8788: server.ports[0] })));
      expect(out.stderr).toBe("");
      expect(out.status).toBe(0);
      expect(out.stdout).toBe("5\nCalculator.add: arguments at [0]: Invalid input: expected number, received string\n");
    } finally {
      await server.stop();
    }
  });

  it("Typed remote interfaces: a stateSchema refuses bad state in an answer", async () => {
    // The dropped connection is logged by default (errors are visible), as the README says.
    const out = await runSample(sample("Typed remote interfaces", 2), twistedPorts, /^twisted-pb: dropping connection: RemotePoint\.setCopyableState: state at \.y: /);
    expect(out).toContain("1 2\n");
    expect(out).toMatch(/RemotePoint\.setCopyableState: state at \.y: /);
  });

  it("the TypeScript samples typecheck (strict, as in tsconfig.json)", () => {
    const files = ALL.filter((s) => s.lang === "ts").map((s) => {
      claimedForTypes.add(s);
      return write(s, s.code);
    });
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ extends: join(ROOT, "tsconfig.json"), compilerOptions: { noEmit: true, skipLibCheck: true }, include: [], files }));
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.json")], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    expect(`${r.stdout}${r.stderr}`).toBe("");
    expect(r.status).toBe(0);
    expect(files.length).toBeGreaterThanOrEqual(5);
  }, 180_000);

  it("every runnable sample of the README is run by a test above", () => {
    expect(ALL.filter((s) => !claimed.has(s)).map((s) => `${s.section} #${s.index} (${s.lang})`)).toEqual([]);
    expect(ALL.length).toBeGreaterThanOrEqual(7);
  });
});

describe("README facts", () => {
  it("names no file or folder the project lacks", () => {
    const named = new Set<string>();
    // Markdown links to relative targets.
    for (const m of README.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) if (!/^[a-z]+:/.test(m[1])) named.add(m[1]);
    // Paths in backticks: a / in them, or a file name with an extension.
    for (const m of README.matchAll(/`([A-Za-z0-9_.\-/]+)`/g)) {
      const p = m[1];
      if (/^(src|test|interop|fixtures|scripts|examples|docs|bin|\.ci)\/[^<>]*$/.test(p) || /^[A-Za-z0-9_\-]+\.(md|ts|py|json|mjs)$/.test(p)) named.add(p);
    }
    // Project documents by name, in prose too (LICENSE.md, VALUES.md...).
    for (const m of README.matchAll(/(?<![\w/.-])([A-Z][A-Z_-]+\.md)\b/g)) named.add(m[1]);
    // Files of a folder the README describes, written without their folder (compare.ts...).
    const inFolders = ["", "interop/conformance/", "interop/", "examples/", "examples/twisted/", "scripts/"];
    const missing = [...named].filter((p) => !inFolders.some((f) => existsSync(join(ROOT, f, p.replace(/\/$/, "")))));
    // Generated, not committed: written by the commands the README gives.
    const generated = /^(dist|docs\/api|reports)\b|^(report\.(json|html)|capture\.json|c2s\.bin|s2c\.bin|<)/;
    expect(missing.filter((p) => !generated.test(p))).toEqual([]);
    expect(named.size).toBeGreaterThan(10);
  });

  it("never cites PROTOCOL.md (it is not part of the project)", () => {
    expect(README).not.toContain("PROTOCOL.md");
  });

  it("quotes the conformance counts of a real run", async () => {
    const quoted = /^(\d+) passed, (\d+) failed, (\d+) known differences, (\d+) skipped \((\d+) scenarios x (\d+) columns\)/m.exec(README);
    expect(quoted, "README quotes a conformance summary line").not.toBeNull();
    const report = join(dir, "conformance");
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "interop", "conformance", "run.ts"), "--report", report], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const status = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
      child.once("close", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const actual = /^(\d+) passed, (\d+) failed, (\d+) known differences, (\d+) skipped \((\d+) scenarios x (\d+) columns\)/m.exec(out);
    expect(actual, `conformance run (${status}) printed no summary:\n${out.slice(-2000)}`).not.toBeNull();
    expect(quoted!.slice(1), `update README.md with this run's line: ${actual![0]}`).toEqual(actual!.slice(1));
  }, 300_000);
});
