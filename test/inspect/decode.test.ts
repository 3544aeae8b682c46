// pb-inspect decode on traffic recorded from real Twisted, compared with expected transcripts.
//
// Inputs:
// - fixtures/sessions/{root,portal}.json: Twisted 22.4 sessions in the capture format (login,
//   calls of every type, kwargs, Referenceables, Copyables, failures, NoSuchMethod);
// - fixtures/versions/{debian-22.4,py2-16.6.0}: one scenario (login with a mind, calls of every
//   type, Copyable both ways, a Cacheable and its observer, failures, a Referenceable) recorded
//   under Twisted 22.4 (Python 3) and 16.6 (Python 2), as c2s.bin/s2c.bin and writes.hex;
// - test/inspect/captures/*.json: a capture with times, and hostile traffic (README.md there).
// The expected transcripts in test/inspect/expected/ are the spec; each was read line by line
// against the recordings' own transcripts (fixtures/sessions/*.txt, fixtures/versions/*/transcript.txt).
// UPDATE_INSPECT_EXPECTED=1 rewrites them: read the diff before keeping it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTraffic, type LoadedTraffic } from "../../src/inspect/capture.ts";
import { transcript, type DecodeOptions } from "../../src/inspect/decode.ts";
import { Session, type Chunk, type Dir } from "../../src/inspect/session.ts";
import { ROOT, expectTranscript } from "./support.ts";

const CAP = "test/inspect/captures";
const VER = "fixtures/versions";

const CASES: Array<{ name: string; args: string[]; opts?: DecodeOptions & { dir?: Dir } }> = [
  { name: "root.txt", args: ["fixtures/sessions/root.json"] },
  { name: "portal.txt", args: ["fixtures/sessions/portal.json"] },
  { name: "debian-22.4-pair.txt", args: [`${VER}/debian-22.4`] },
  { name: "debian-22.4-writes.txt", args: [`${VER}/debian-22.4/writes.hex`] },
  { name: "debian-22.4-s2c.txt", args: [`${VER}/debian-22.4/s2c.bin`] },
  { name: "py2-16.6.0-writes.txt", args: [`${VER}/py2-16.6.0/writes.hex`] },
  { name: "py2-16.6.0-pair.txt", args: [`${VER}/py2-16.6.0/c2s.bin`, `${VER}/py2-16.6.0/s2c.bin`] },
  { name: "timed-login.txt", args: [`${CAP}/timed-login.json`] },
  { name: "timed-login-hex.txt", args: [`${CAP}/timed-login.json`], opts: { hex: true } },
  { name: "hostile-bad-type-byte.txt", args: [`${CAP}/hostile-bad-type-byte.json`] },
  { name: "hostile-truncated.txt", args: [`${CAP}/hostile-truncated.json`] },
  { name: "hostile-protocol.txt", args: [`${CAP}/hostile-protocol.json`] },
  { name: "hostile-limits.txt", args: [`${CAP}/hostile-limits.json`] },
  { name: "hostile-vocab-before-dialect.txt", args: [`${CAP}/hostile-vocab-before-dialect.json`] },
];

function run(args: string[], opts: DecodeOptions & { dir?: Dir } = {}): string {
  return transcript(loadTraffic(args, { dir: opts.dir }), opts).join("\n") + "\n";
}

const body = (t: string) => t.split("\n").filter((l) => !l.startsWith("#"));

beforeAll(() => {
  // The transcript headers name the inputs by the paths given, relative to the repository.
  process.chdir(ROOT);
});

describe("decode: expected transcripts", () => {
  for (const c of CASES) {
    it(c.name, () => expectTranscript(c.name, run(c.args, c.opts)));
  }
});

describe("decode: consistency", () => {
  it("a pair of raw directions, interleaved causally, says what the recorded order says", () => {
    for (const v of ["debian-22.4", "py2-16.6.0"]) {
      const pair = body(run([`${VER}/${v}`]));
      const recorded = body(run([`${VER}/${v}/writes.hex`]));
      // Same lines (the order of independent items may differ), and the header says how it was ordered.
      expect([...pair].sort()).toEqual([...recorded].sort());
      expect(run([`${VER}/${v}`])).toContain("interleaved causally");
    }
  });

  it("every answer and error comes after its call when interleaving", () => {
    const lines = body(run([`${VER}/debian-22.4`]));
    const seen = new Set<string>();
    for (const l of lines) {
      const m = /^(C->S|S->C) {2}(message|cachemessage|answer|error) #(\d+)/.exec(l);
      if (!m) continue;
      if (m[2] === "message" || m[2] === "cachemessage") seen.add(`${m[1]}#${m[3]}`);
      else expect(seen.has(`${m[1] === "C->S" ? "S->C" : "C->S"}#${m[3]}`), l).toBe(true);
    }
  });

  it("JSON Lines: one object per item, exact bytes: each direction's items put together are the stream", () => {
    for (const args of [["fixtures/sessions/root.json"], ["fixtures/sessions/portal.json"], [`${VER}/debian-22.4`]]) {
      const traffic = loadTraffic(args);
      const lines = transcript(traffic, { json: true }).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines[0].kind).toBe("header");
      expect(lines.at(-1)!.kind).toBe("end");
      for (const dir of ["c2s", "s2c"] as const) {
        const stream = Buffer.concat(traffic.chunks.filter((c) => c.dir === dir).map((c) => c.bytes)).toString("hex");
        const items = lines.filter((l) => l.dir === dir);
        expect(items.map((l) => l.hex).join("")).toBe(stream);
        let offset = 0;
        for (const l of items) {
          expect(l.offset).toBe(offset);
          offset += (l.hex as string).length / 2;
          expect(typeof l.text).toBe("string");
        }
      }
    }
  });

  it("JSON Lines carry the decoded expression, the time and the table changes", () => {
    const lines = transcript(loadTraffic([`${CAP}/timed-login.json`]), { json: true }).map((l) => JSON.parse(l));
    const login = lines.find((l) => l.kind === "message" && l.requestId === "1");
    expect(login).toMatchObject({ dir: "c2s", t: 1.4, offset: 10, text: "message #1 -> root.login(b'alice')", sexp: ["message", 1, "root", "login", 1, ["tuple", "alice"], ["dictionary"]] });
    const answer = lines.find((l) => l.kind === "answer" && l.requestId === "1");
    expect(answer.sexp[2][1]).toEqual({ hex: "157d87bf3e4ac084bcfecec3552d8931" });
    expect(answer.changes).toEqual([{ op: "add", side: "server", kind: "obj", id: "1", what: "challenger for b'alice'", from: "answer #1" }]);
  });

  it("feeding one byte at a time gives the same transcript", () => {
    for (const path of ["fixtures/sessions/root.json", "fixtures/sessions/portal.json", `${CAP}/hostile-protocol.json`, `${CAP}/hostile-bad-type-byte.json`]) {
      const traffic = loadTraffic([path]);
      const bytewise: LoadedTraffic = {
        ...traffic,
        chunks: traffic.chunks.flatMap((c): Chunk[] => Array.from(c.bytes, (b) => ({ dir: c.dir, bytes: Uint8Array.of(b) }))),
      };
      expect(transcript(bytewise)).toEqual(transcript(traffic));
    }
  });

  it("a capture that starts mid-session: dialect pb assumed, said in the transcript", () => {
    const capture = JSON.parse(readFileSync(join(ROOT, "fixtures/sessions/root.json"), "utf8"));
    const chunks: Chunk[] = capture.writes.slice(3).map((w: { dir: Dir; hex: string }) => ({ dir: w.dir, bytes: Buffer.from(w.hex, "hex") }));
    const out = transcript({ header: ["mid"], chunks, oneSided: false, timed: false }).join("\n");
    expect(out).toContain("the capture starts mid-session, dialect pb assumed");
    expect(out).toContain("C->S  message #1 -> root.echo(1, 'hi', 'hé 😀', b'raw', 2.5, None, True, False, [1, 'two'], (3,), {'k': 1, 2: b'v'})");
    expect(out).toContain("S->C  error #13 (root.fail): ValueError: bad value");
    expect(out).not.toContain("!");
    // Objects handed out before the capture started are unknown, not errors.
    const later = capture.writes.slice(17).map((w: { dir: Dir; hex: string }) => ({ dir: w.dir, bytes: Buffer.from(w.hex, "hex") }));
    const partial = transcript({ header: ["mid"], chunks: later, oneSided: false, timed: false }).join("\n");
    expect(partial).toContain("C->S  message #8 -> root.isThing(<local #1 unknown>)");
    expect(partial).toContain("C->S  decref obj 1 (unknown)");
    expect(partial).not.toContain("!");
  });

  it("the README sample is real output", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Debugging a PB conversation: `pb-inspect`"));
    const sample = section.split("```")[3].split("\n").filter((l) => l.trim() !== "");
    const actual = body(run([`${VER}/debian-22.4`]));
    let at = 0;
    for (const line of sample) {
      const found = actual.indexOf(line, at);
      expect(found, `README line not in the transcript (in order): ${line}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  });

  it("Session reports incomplete and undecodable tails at the end", () => {
    const s = new Session();
    s.push({ dir: "s2c", bytes: Buffer.from("02800282706204826e6f6e65", "hex") });
    s.push({ dir: "c2s", bytes: Buffer.from("0282706202801387", "hex") });
    const end = s.end();
    expect(end[0].details[0]).toBe("C->S: 8 bytes, 1 item; the capture ends inside an item: 4 bytes from byte 4 incomplete");
    expect(s.end()).toEqual([]);
  });
});
