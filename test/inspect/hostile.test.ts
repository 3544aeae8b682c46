// Hostile traffic: pb-inspect must describe it, never crash or hang. (The small hostile
// captures with expected transcripts are in decode.test.ts; these are generated.)
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encode, type Sexp } from "../../src/banana/index.ts";
import { loadTraffic } from "../../src/inspect/capture.ts";
import { transcript } from "../../src/inspect/decode.ts";
import { interleave } from "../../src/inspect/interleave.ts";
import { entryJson, entryText } from "../../src/inspect/render.ts";
import { Session, type Chunk, type Dir, type Entry } from "../../src/inspect/session.ts";
import { ROOT } from "./support.ts";

const OFFER = Buffer.from("02800282706204826e6f6e65", "hex");
const CHOICE = Buffer.from("02827062", "hex");
const pb = (x: Sexp) => encode(x, { dialect: "pb" });
const start: Chunk[] = [
  { dir: "s2c", bytes: OFFER },
  { dir: "c2s", bytes: CHOICE },
];

function feed(chunks: Chunk[], s = new Session({ start: "connection" })): Entry[] {
  const out: Entry[] = [];
  for (const c of chunks) out.push(...s.push(c));
  out.push(...s.end());
  // Rendering must not throw either.
  for (const e of out) {
    entryText(e, { hex: true, times: true, color: true });
    JSON.parse(entryJson(e));
  }
  return out;
}

describe("generated hostile input", () => {
  it("100000 nested lists: no stack overflow, shown shortened", () => {
    const n = 100_000;
    const deep = new Uint8Array(2 * n + 2);
    for (let i = 0; i < n; i++) deep.set([1, 0x80], 2 * i);
    deep.set([1, 0x81], 2 * n);
    const out = feed([...start, { dir: "c2s", bytes: deep }]);
    const e = out.find((x) => x.kind === "unknown")!;
    expect(e.text).toMatch(/^not a PB message: \[\[\[.*\.\.\.\]+$/);
    expect(e.text.length).toBeLessThan(500);
    // Deep jelly inside a call, too.
    let v: Sexp = 1;
    for (let i = 0; i < 5000; i++) v = ["list", v];
    const call = feed([...start, { dir: "c2s", bytes: pb(["message", 1, "root", "x", 1, ["tuple", v], ["dictionary"]]) }]);
    expect(call.find((x) => x.kind === "message")!.text).toContain("<...nested too deep>");
  });

  it("the largest string and list are shortened, and their bytes kept exactly", () => {
    const big = new Uint8Array(655_360).fill(0x41);
    const many: Sexp = ["list", ...Array.from({ length: 100_000 }, (_, i) => i)];
    const bytes = pb(["message", 1, "root", "store", 1, ["tuple", big, many], ["dictionary"]]);
    const [e] = feed([...start, { dir: "c2s", bytes }]).filter((x) => x.kind === "message");
    expect(e.text).toBe(`message #1 -> root.store(b'${"A".repeat(300)}'...(655360 bytes), [${Array.from({ length: 100 }, (_, i) => i).join(", ")}, ...99900 more])`);
    expect(e.hex).toBe(Buffer.from(bytes).toString("hex"));
  });

  it("a list or string header over the limit fails at the header, before any body arrives", () => {
    const out = feed([...start, { dir: "c2s", bytes: Buffer.from("028013870681" + "0000000182", "hex") }]);
    const e = out.find((x) => x.kind === "decode-error")!;
    expect(e.text).toBe("decode error at byte 14: Security precaution: String too long.");
    expect(e.offset).toBe(10);
  });

  it("bytes after a decode error are counted, not decoded", () => {
    const s = new Session({ start: "connection" });
    feed([...start, { dir: "c2s", bytes: Buffer.from("ff", "hex") }], s);
    expect(s.push({ dir: "c2s", bytes: pb(["version", 6]) })).toEqual([]);
  });

  it("a flood of references, dereferences and luids", () => {
    const refs: Sexp = ["list", ...Array.from({ length: 5000 }, (_, i) => ["remote", i + 1])];
    const out = feed([...start, { dir: "s2c", bytes: pb(["answer", 1, refs]) }]);
    const answer = out.find((x) => x.kind === "answer")!;
    expect(answer.changes.length).toBe(5000);
    expect(out.at(-1)!.details.filter((d) => d.startsWith("  server obj")).length).toBe(5000);
  });
});

describe("fuzz: any bytes, any chunking", () => {
  const sessions = ["root", "portal"].map((n) => JSON.parse(readFileSync(join(ROOT, `fixtures/sessions/${n}.json`), "utf8")));

  it("random bytes in both directions never throw; offsets stay inside the stream", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ dir: fc.constantFrom<Dir>("c2s", "s2c"), bytes: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 20 }), fc.boolean(), (chunks, negotiated) => {
        const total = { c2s: 0, s2c: 0 };
        for (const c of chunks) total[c.dir] += c.bytes.length;
        const all = negotiated ? [...start, ...chunks] : chunks;
        if (negotiated) (total.s2c += OFFER.length), (total.c2s += CHOICE.length);
        for (const e of feed(all, new Session({ start: "auto" }))) {
          if (e.dir && e.offset !== undefined) expect(e.offset).toBeLessThanOrEqual(total[e.dir]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("real sessions with bytes flipped, dropped or inserted: never throw, items before the damage unchanged", () => {
    fc.assert(
      fc.property(fc.constantFrom(...sessions), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("flip", "drop", "insert"), (session, pos, byte, how) => {
        const writes: Chunk[] = session.writes.map((w: { dir: Dir; hex: string }) => ({ dir: w.dir, bytes: Uint8Array.from(Buffer.from(w.hex, "hex")) }));
        const k = pos % writes.length;
        const w = writes[k].bytes;
        const i = pos % Math.max(1, w.length);
        const damaged =
          how === "flip" ? Uint8Array.from(w, (b, j) => (j === i ? byte : b)) : how === "drop" ? Uint8Array.from([...w.slice(0, i), ...w.slice(i + 1)]) : Uint8Array.from([...w.slice(0, i), byte, ...w.slice(i)]);
        const before = feed(writes.slice(0, k));
        const after = feed([...writes.slice(0, k), { dir: writes[k].dir, bytes: damaged }, ...writes.slice(k + 1)]);
        expect(after.slice(0, before.length - 1).map((e) => e.text)).toEqual(before.slice(0, -1).map((e) => e.text));
      }),
      { numRuns: 200 },
    );
  });

  it("interleaving two random byte streams always terminates and keeps every byte", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), (a, b) => {
        const { chunks } = interleave(a, b);
        const join = (d: Dir) => Buffer.concat(chunks.filter((c) => c.dir === d).map((c) => c.bytes));
        expect(join("c2s").equals(Buffer.from(a))).toBe(true);
        expect(join("s2c").equals(Buffer.from(b))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("hostile inputs read through the loaders give transcripts, not exceptions", () => {
    const traffic = loadTraffic([join(ROOT, "test/inspect/captures/hostile-protocol.json")]);
    expect(transcript(traffic, { json: true }).every((l) => typeof JSON.parse(l) === "object")).toBe(true);
  });
});
