// Finding the first sure message boundary after a gap (src/inspect/resync.ts), and the Session's
// own buffered resynchronisation (for library users without look-ahead).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encode, type Sexp } from "../../src/banana/index.ts";
import { MAX_CANDIDATES, Resync, WINDOW } from "../../src/inspect/resync.ts";
import { Session, type Entry } from "../../src/inspect/session.ts";

const b = (s: string) => new TextEncoder().encode(s);
const pb = (x: Sexp) => encode(x, { dialect: "pb" });

/** A stream of PB messages and where each starts. */
function stream(n: number, payload: (i: number) => Sexp = (i) => b("x".repeat(i % 40))): { bytes: Uint8Array; starts: number[] } {
  const parts: Uint8Array[] = [];
  const starts: number[] = [];
  let at = 0;
  for (let i = 1; i <= n; i++) {
    const m = i % 2 ? pb(["message", i, b("root"), b("echo"), 1, ["tuple", payload(i)], ["dictionary"]]) : pb(["answer", i - 1, payload(i)]);
    starts.push(at);
    parts.push(m);
    at += m.length;
  }
  return { bytes: new Uint8Array(Buffer.concat(parts)), starts };
}

function find(bytes: Uint8Array, chunk = 0): ReturnType<Resync["finish"]> {
  const r = new Resync();
  if (chunk <= 0) return r.push(bytes) ?? r.finish();
  for (let i = 0; i < bytes.length; i += chunk) {
    const found = r.push(bytes.subarray(i, i + chunk));
    if (found) return found;
  }
  return r.finish();
}

describe("Resync", () => {
  const s = stream(400);

  it("entering the stream at any byte of its first messages, the boundary found is a real one (the next message start)", () => {
    for (let from = 0; from < s.starts[6]; from++) {
      const found = find(s.bytes.subarray(from), from % 7 === 0 ? 13 : 0);
      expect(found, `from ${from}`).not.toBeNull();
      const at = from + found!.skipped;
      expect(s.starts, `from ${from}: boundary at ${at}`).toContain(at);
      expect(s.starts.find((x) => x >= from)).toBe(at);
    }
  });

  it("a string holding valid PB messages is not mistaken for the stream (the fake ends inside the window)", () => {
    const fake = stream(30).bytes; // ~1 KB of real-looking messages inside one byte string
    const outer = pb(["message", 1, b("root"), b("store"), 1, ["tuple", fake], ["dictionary"]]);
    const after = stream(300).bytes;
    const all = new Uint8Array(Buffer.concat([outer, after]));
    // enter a few bytes into the outer message: every fake boundary inside the string must be refused
    const found = find(all.subarray(3));
    expect(found).not.toBeNull();
    expect(3 + found!.skipped).toBe(outer.length);
  });

  it("short streams: at the end of the data one clean message is enough; a lone fragment is not", () => {
    const two = stream(2);
    expect(find(two.bytes.subarray(2))!.skipped).toBe(two.starts[1] - 2);
    expect(find(two.bytes.subarray(two.starts[1] + 1))).toBeNull();
  });

  it("hostile input full of fake headers gives up after a bounded number of candidates", () => {
    const fakeHeader = Uint8Array.from([0x07, 0x80, 0x1a, 0x87]); // <7 80 message 87>, nested forever
    const junk = new Uint8Array(fakeHeader.length * (MAX_CANDIDATES + 100));
    for (let i = 0; i < junk.length; i += 4) junk.set(fakeHeader, i);
    const r = new Resync();
    const t0 = performance.now();
    expect(r.push(junk)).toBeNull();
    expect(r.finish()).toBeNull();
    expect(r.gaveUp).toBe(true);
    expect(performance.now() - t0).toBeLessThan(30_000);
  });

  it("never throws, and any boundary it reports decodes (random bytes before a real stream)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (junk, chunk) => {
        const all = new Uint8Array(Buffer.concat([junk, s.bytes.subarray(0, 2 * WINDOW)]));
        const found = find(all, chunk);
        if (found) expect(found.skipped).toBeLessThanOrEqual(junk.length + s.starts[8]);
      }),
      { numRuns: 150 },
    );
  });
});

describe("Session.gap without look-ahead (buffered resynchronisation)", () => {
  it("reports the gap and resumes at the first sure boundary, in order", () => {
    const sess = new Session({ start: "mid-session" });
    const out: Entry[] = [];
    const st = stream(300);
    // C->S: the first 2 messages, then 25 bytes lost, then the rest
    const cut = st.starts[2] + 25;
    out.push(...sess.push({ dir: "c2s", bytes: st.bytes.subarray(0, st.starts[2]) }));
    out.push(...sess.gap({ dir: "c2s", lost: 25, why: "test" }));
    for (let i = cut; i < st.bytes.length; i += 100) out.push(...sess.push({ dir: "c2s", bytes: st.bytes.subarray(i, i + 100) }));
    out.push(...sess.end());
    const texts = out.map((e) => e.text);
    expect(texts[2]).toBe(`25 bytes of C->S missing at byte ${st.starts[2]} (test)`);
    const resumed = st.starts.find((x) => x >= cut)!;
    expect(texts).toContain(`C->S: decoding resumes at byte ${resumed}, the first message boundary it can be sure of; ${resumed - cut} bytes from byte ${cut} skipped`);
    const next = out.find((e) => e.dir === "c2s" && e.offset === resumed);
    expect(next?.kind).toMatch(/message|answer/);
    expect(out.filter((e) => e.warnings.length)).toEqual([]);
  });
});
