// pb-inspect proxy (the installed bin, as a child process) between a real Twisted PB client and
// a real Twisted PB server (interop/peer.py serve inspect): the session must still succeed, and the
// transcript must be complete and right. Everything on 127.0.0.1, ports chosen by the OS.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findPython } from "../../interop/find-python.mjs";
import { loadTraffic } from "../../src/inspect/capture.ts";
import { transcript } from "../../src/inspect/decode.ts";
import { BIN, ROOT, stopChild, waitForOutput } from "./support.ts";

const python = findPython();
const PEER = join(ROOT, "interop", "peer.py");

interface Json {
  conn: number;
  kind: string;
  dir?: "c2s" | "s2c";
  text?: string;
  hex?: string;
  offset?: number;
  t?: number;
  details?: string[];
  warnings?: string[];
}

// What each direction of the main connection says, in order (per direction the order is fixed;
// across directions it depends on timing). BYTES stands for the random login challenge / response.
const C2S = [
  "dialect chosen: pb",
  "version 6",
  "message #1 -> root.login(b'alice')",
  "message #2 -> obj 1 (challenger for b'alice').respond(BYTES, <remote #1 mind of b'alice'>)",
  "decref obj 1 (challenger for b'alice')",
  "message #3 -> obj 2 (avatar of b'alice').echo(1, 'hi', 2.5, None, True, b'raw', (1, 2), [3], {'k': 'v'}, key=1.5)",
  "message #4 -> obj 2 (avatar of b'alice').fail('oops')",
  "message #5 -> obj 2 (avatar of b'alice').missing()",
  "message #6 -> obj 2 (avatar of b'alice').getPoint()",
  "message #7 -> obj 2 (avatar of b'alice').takePoint(<__main__.Point {'x': 3, 'y': 4}>)",
  "message #8 -> obj 2 (avatar of b'alice').getCounter()",
  "message #9 -> obj 2 (avatar of b'alice').bump(5)",
  "answer #1 (cache 3.setValue) = None",
  "message #10 -> obj 2 (avatar of b'alice').getThing()",
  "message #11 -> obj 4 (result of obj 2.getThing).hello('x')",
  "message #12 -> obj 2 (avatar of b'alice').callMind(7)",
  "answer #2 (obj 1.notify) = ('got', 7)",
];
const S2C = [
  "dialects offered: pb, none",
  "version 6",
  "answer #1 (root.login) = (BYTES, <remote #1 challenger for b'alice'>)",
  "answer #2 (obj 1.respond) = <remote #2 avatar of b'alice'>",
  "answer #3 (obj 2.echo) = ((1, 'hi', 2.5, None, True, b'raw', (1, 2), [3], {'k': 'v'}), {'key': 1.5})",
  "error #4 (obj 2.fail): ValueError: oops",
  "error #5 (obj 2.missing): AttributeError: 'User' object has no attribute 'perspective_missing'",
  "answer #6 (obj 2.getPoint) = <__main__.Point {'x': 1, 'y': 2}>",
  "answer #7 (obj 2.takePoint) = 7",
  "answer #8 (obj 2.getCounter) = <cache #3 __main__.Counter {'value': 0}>",
  "cachemessage #1 -> cache 3 (__main__.Counter).setValue(5)",
  "answer #9 (obj 2.bump) = 5",
  "answer #10 (obj 2.getThing) = <remote #4 result of obj 2.getThing>",
  "answer #11 (obj 4.hello) = 'hello x'",
  "message #2 -> obj 1 (mind of b'alice').notify(7)",
  "answer #12 (obj 2.callMind) = ('got', 7)",
];
// The client releases what it holds when it ends; these may or may not make it before the close.
const C2S_TAIL = ["decref obj 4 (result of obj 2.getThing)", "decache cache 3 (cache of __main__.Counter)", "decref obj 2 (avatar of b'alice')"];
const S2C_TAIL = ["uncache cache 3 (cache of __main__.Counter)"];
// The second connection: a wrong password.
const WRONG = {
  c2s: ["dialect chosen: pb", "version 6", "message #1 -> root.login(b'alice')", "message #2 -> obj 1 (challenger for b'alice').respond(BYTES, None)", "decref obj 1 (challenger for b'alice')"],
  s2c: ["dialects offered: pb, none", "version 6", "answer #1 (root.login) = (BYTES, <remote #1 challenger for b'alice'>)", "error #2 (obj 1.respond): twisted.cred.error.UnauthorizedLogin"],
};

/** The random 16-byte challenge and response, as BYTES. */
const normal = (text: string) => text.replace(/(root\.login\) = \(|\.respond\()(b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*")/, "$1BYTES");

function spawnProxy(target: number, extra: string[]): { child: ChildProcess; out: string[] } {
  const child = spawn(process.execPath, [BIN, "proxy", "--listen", "127.0.0.1:0", "--target", `127.0.0.1:${target}`, ...extra], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const out: string[] = [];
  let partial = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => {
    const parts = (partial + s).split("\n");
    partial = parts.pop()!;
    out.push(...parts);
  });
  return { child, out };
}

function runClient(port: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python!.path, [PEER, "inspect-session", "client", "--port", String(port), "--timeout", "20"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function until(pred: () => boolean, what: string, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!python)("pb-inspect proxy between a Twisted client and a Twisted server", () => {
  const children: ChildProcess[] = [];
  let serverPort = 0;
  let save = "";

  beforeAll(async () => {
    save = mkdtempSync(join(tmpdir(), "pb-inspect-live-"));
    const server = spawn(python!.path, [PEER, "serve", "inspect", "--lifetime", "120"], { stdio: ["pipe", "pipe", "pipe"] });
    children.push(server);
    serverPort = Number((await waitForOutput(server, "stdout", /"inspect": (\d+)/))[1]);
  });

  afterAll(async () => {
    for (const c of children.reverse()) await stopChild(c);
    if (save) rmSync(save, { recursive: true, force: true });
  });

  async function session(extra: string[]): Promise<string[]> {
    const proxy = spawnProxy(serverPort, extra);
    children.push(proxy.child);
    const port = Number((await waitForOutput(proxy.child, "stderr", /listening on 127\.0\.0\.1:(\d+)/))[1]);
    const client = await runClient(port);
    expect(client.code, client.stdout + client.stderr).toBe(0);
    expect(client.stdout).toContain('{"ok": true}');
    // Both connections (the session and the wrong password) closed: their summaries are out.
    const closed = (l: string) => /^== connection \d closed$/.test(l) || /"kind":"close"/.test(l);
    await until(() => proxy.out.filter(closed).length === 2, "both connections to close");
    await stopChild(proxy.child, "SIGTERM");
    expect(proxy.child.exitCode).toBe(0);
    return proxy.out;
  }

  it("the session succeeds through the proxy; --json transcript complete and right; --save keeps the bytes", async () => {
    const lines = (await session(["--json", "--save", save])).map((l) => JSON.parse(l) as Json);
    for (const conn of [1, 2]) {
      const mine = lines.filter((l) => l.conn === conn);
      expect(mine[0].kind).toBe("connect");
      expect(mine.at(-1)!.kind).toBe("close");
      // Nothing malformed, nothing Twisted would reject.
      expect(mine.filter((l) => l.kind === "decode-error" || l.kind === "unknown" || l.warnings?.length)).toEqual([]);
      // Complete and exact: each direction's items put together are the bytes that passed (saved raw).
      for (const dir of ["c2s", "s2c"] as const) {
        const items = mine.filter((l) => l.dir === dir);
        const raw = readFileSync(join(save, `conn-${conn}`, `${dir}.bin`)).toString("hex");
        expect(items.map((l) => l.hex).join("")).toBe(raw);
        expect(raw.length).toBeGreaterThan(0);
      }
      const end = mine.find((l) => l.kind === "end")!;
      expect(end.details!.join("\n")).not.toMatch(/incomplete|not decoded|never answered/);
      // What a saved capture decodes to is what the proxy printed live.
      const again = transcript(loadTraffic([join(save, `conn-${conn}`)]), { json: true }).map((l) => JSON.parse(l) as Json);
      const items = (ls: Json[]) => ls.filter((l) => l.dir).map((l) => `${l.dir} ${l.text}`);
      expect(items(again)).toEqual(items(mine));
    }

    const texts = (conn: number, dir: "c2s" | "s2c") => lines.filter((l) => l.conn === conn && l.dir === dir).map((l) => normal(l.text!));
    expect(texts(1, "c2s").slice(0, C2S.length)).toEqual(C2S);
    expect(texts(1, "s2c").slice(0, S2C.length)).toEqual(S2C);
    for (const t of texts(1, "c2s").slice(C2S.length)) expect(C2S_TAIL).toContain(t);
    for (const t of texts(1, "s2c").slice(S2C.length)) expect(S2C_TAIL).toContain(t);
    expect(texts(2, "c2s")).toEqual(WRONG.c2s);
    expect(texts(2, "s2c")).toEqual(WRONG.s2c);

    // Causal order across directions, with times that never go back.
    const seen = new Set<string>();
    let t = 0;
    for (const l of lines.filter((x) => x.conn === 1 && x.dir)) {
      expect(l.t!).toBeGreaterThanOrEqual(t);
      t = l.t!;
      const m = /^(message|cachemessage|answer|error) #(\d+)/.exec(l.text!);
      if (!m) continue;
      if (m[1] === "message" || m[1] === "cachemessage") seen.add(`${l.dir}#${m[2]}`);
      else expect(seen.has(`${l.dir === "c2s" ? "s2c" : "c2s"}#${m[2]}`), l.text).toBe(true);
    }
    const error = lines.find((l) => l.conn === 1 && l.kind === "error")!;
    expect(error.details).toEqual(["Traceback unavailable"]);
  });

  it("prints a live text transcript of both directions with timestamps", async () => {
    const out = await session([]);
    expect(out[0]).toMatch(/^== connection 1: 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+, opened \d{4}-\d\d-\d\dT[\d:.]+Z$/);
    const line = (dir: string, text: string) => new RegExp(`^\\[1\\] +\\d+\\.\\d{6}  ${dir}  ${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
    const find = (re: RegExp) => out.findIndex((l) => re.test(l));
    const order = [
      line("S->C", "dialects offered: pb, none"),
      line("C->S", "message #1 -> root.login(b'alice')"),
      line("S->C", "answer #2 (obj 1.respond) = <remote #2 avatar of b'alice'>"),
      line("S->C", "error #4 (obj 2.fail): ValueError: oops"),
      line("S->C", "answer #8 (obj 2.getCounter) = <cache #3 __main__.Counter {'value': 0}>"),
      line("S->C", "cachemessage #1 -> cache 3 (__main__.Counter).setValue(5)"),
      line("C->S", "answer #1 (cache 3.setValue) = None"),
      line("S->C", "answer #12 (obj 2.callMind) = ('got', 7)"),
    ].map(find);
    expect(order.every((i) => i >= 0), out.join("\n")).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(out[order[3] + 1].trim()).toBe("Traceback unavailable");
    expect(out).toContain("== connection 1 closed");
    expect(out.some((l) => /^\[2\] +\d+\.\d{6}  S->C  error #2 \(obj 1\.respond\): twisted\.cred\.error\.UnauthorizedLogin$/.test(l))).toBe(true);
    expect(out.join("\n")).not.toContain("\x1b[");
  });
});
