// pb-inspect on packet captures: the committed fixtures/pcap/ files (recorded by
// scripts/record_pcaps.ts with the real tcpdump from real Twisted and twisted-pb peers), compared
// with the proxy's capture of the same traffic, and synthetic captures for TCP's edge cases.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encode, type Sexp } from "../../src/banana/index.ts";
import { loadTraffic } from "../../src/inspect/capture.ts";
import { transcript } from "../../src/inspect/decode.ts";
import { endpointText, pcapTraffic, readCaptureFile } from "../../src/inspect/pcap/index.ts";
import { pcapTranscript } from "../../src/inspect/pcapdecode.ts";
import { buildPcap, handshake, type Seg } from "./pcap-build.ts";
import { expectTranscript, ROOT, runBin } from "./support.ts";

const PCAP = join(ROOT, "fixtures", "pcap");
const read = (name: string) => new Uint8Array(readFileSync(join(PCAP, name)));
const pb = (x: Sexp) => encode(x, { dialect: "pb" });
const OFFER = new Uint8Array(Buffer.from("02800282706204826e6f6e65", "hex"));
const CHOICE = new Uint8Array(Buffer.from("02827062", "hex"));

/** The transcript lines of one connection's entries, without times and headers. */
function entries(lines: string[]): string[] {
  return lines.filter((l) => !l.startsWith("#") && l !== "");
}

describe("recorded captures (fixtures/pcap)", () => {
  const golden = [
    "twisted-login.pcap",
    "twisted-calls-sll2.pcap",
    "twisted-failures-sll.pcap",
    "twisted-snaplen.pcap",
    "tspb-cache.pcap",
    "tspb-client-twisted-server.pcap",
    "tspb-ipv6.pcap",
    "twisted-calls-midstream.pcap",
    "twisted-calls-midmessage.pcap",
    "twisted-calls-lost.pcap",
    "mixed.pcapng",
    "twisted-dumpcap.pcapng",
  ];
  for (const name of golden) {
    it(`${name}: the expected transcript`, () => {
      expectTranscript(`pcap-${name}.txt`, pcapTranscript(read(name), `fixtures/pcap/${name}`).join("\n") + "\n");
    });
  }

  // Each recording went client -> pb-inspect proxy --save -> server, and tcpdump saw both legs:
  // every proxied connection appears twice in the pcap with the same bytes, and decodes to what
  // the proxy's own capture decodes to (direction by direction: the order across directions is
  // the proxy's reading order in one and the wire's in the other).
  const recorded = readdirSync(PCAP).filter((f) => f.endsWith(".proxy") && !f.startsWith("twisted-snaplen"));
  it("there are recordings to compare", () => expect(recorded.length).toBeGreaterThanOrEqual(6));
  for (const dir of recorded) {
    it(`${dir.replace(/\.proxy$/, ".pcap")}: the same traffic as the proxy's capture of it`, () => {
      const p = pcapTraffic(read(dir.replace(/\.proxy$/, ".pcap")), dir);
      const proxied = readdirSync(join(PCAP, dir), { recursive: true, encoding: "utf8" }).filter((d) => d.endsWith("capture.json"));
      expect(p.conversations.length).toBe(2 * proxied.length);
      for (const conn of proxied) {
        const cap = loadTraffic([join(PCAP, dir, conn)]);
        const bytes = (chunks: { dir: string; bytes: Uint8Array }[], d: string) => Buffer.concat(chunks.filter((c) => c.dir === d).map((c) => c.bytes)).toString("hex");
        const legs = p.conversations.filter((c) => bytes(c.traffic.chunks, "c2s") === bytes(cap.chunks, "c2s") && bytes(c.traffic.chunks, "s2c") === bytes(cap.chunks, "s2c"));
        expect(legs.length, `${conn}: both legs in the pcap`).toBe(2);
        const untimed = (l: string) => l.replace(/^\s*\d+\.\d+\s+/, "");
        const byDir = (lines: string[], arrow: string) => entries(lines).map(untimed).filter((l) => l.startsWith(arrow));
        const fromProxy = transcript(cap, { start: "connection" });
        for (const leg of legs) {
          const fromPcap = transcript(leg.traffic, { start: "connection" });
          for (const arrow of ["C->S", "S->C"]) {
            const a = byDir(fromPcap, arrow);
            const b = byDir(fromProxy, arrow);
            expect(a.length).toBeGreaterThan(0);
            expect(a).toEqual(b);
          }
        }
      }
    });
  }

  it("the mid-stream and lost-segment captures show, direction by direction, a part of what the proxy saw, in its order", () => {
    const dir = join(PCAP, "twisted-calls-sll2.proxy");
    const proxied = readdirSync(dir, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith("capture.json"))
      .map((f) => transcript(loadTraffic([join(dir, f)]), { start: "connection" }));
    const lines = (t: string[], arrow: string) =>
      t
        .map((l) => l.replace(/^\s*\d+\.\d+\s+/, ""))
        .filter((l) => l.startsWith(arrow))
        // calls whose call was lost or skipped are shown as answers to an unknown call
        .map((l) => l.replace(/\((unknown call|root\.\w+)\)/, "(CALL)"));
    for (const name of ["twisted-calls-midstream.pcap", "twisted-calls-midmessage.pcap", "twisted-calls-lost.pcap"]) {
      const p = pcapTraffic(read(name), name);
      for (const c of p.conversations) {
        const t = transcript(c.traffic, { start: "connection" });
        for (const arrow of ["C->S", "S->C"]) {
          const part = lines(t, arrow);
          expect(part.length, `${name} connection ${c.conn.number} ${arrow}`).toBeGreaterThan(0);
          // a subsequence of one of the proxy's transcripts of that direction
          const ok = proxied.some((full) => {
            const whole = lines(full, arrow);
            let k = 0;
            for (const l of whole) if (k < part.length && l === part[k]) k++;
            return k === part.length;
          });
          expect(ok, `${name} connection ${c.conn.number} ${arrow}:\n${part.join("\n")}`).toBe(true);
        }
      }
    }
  });

  it("twisted-snaplen.pcap: every byte it did capture is the proxy's byte at that offset", () => {
    const p = pcapTraffic(read("twisted-snaplen.pcap"), "x");
    const dir = join(PCAP, "twisted-snaplen.proxy");
    const caps = readdirSync(dir, { recursive: true, encoding: "utf8" })
      .filter((d) => d.endsWith("capture.json"))
      .map((f) => loadTraffic([join(dir, f)]));
    expect(caps.length).toBe(1);
    const whole = (d: string) => Buffer.concat(caps[0].chunks.filter((c) => c.dir === d).map((c) => c.bytes));
    let compared = 0;
    let gaps = 0;
    for (const c of p.conversations) {
      for (const e of c.conn.events) {
        if (e.kind === "gap") gaps++;
        if (e.kind !== "data") continue;
        expect(Buffer.from(e.bytes).equals(whole(e.dir).subarray(e.offset, e.offset + e.bytes.length))).toBe(true);
        compared += e.bytes.length;
      }
      const last = c.conn.events.filter((e) => e.kind === "data" || e.kind === "gap");
      expect(last.length).toBeGreaterThan(0);
    }
    expect(compared).toBeGreaterThan(200);
    expect(gaps).toBeGreaterThan(5);
  });

  it("link layers and file formats do not change the transcript: Ethernet, raw IP, NULL, big-endian pcap, pcapng", () => {
    const base = entries(pcapTranscript(read("twisted-login.pcap"), "x"));
    expect(base.length).toBeGreaterThan(30);
    for (const other of ["twisted-login-rawip.pcap", "twisted-login-null-be.pcap", "twisted-login-be.pcapng"]) {
      expect(entries(pcapTranscript(read(other), "x")), other).toEqual(base);
    }
    expect(pcapTranscript(read("twisted-login-rawip.pcap"), "x")[0]).toContain("(raw IP)");
    expect(pcapTranscript(read("twisted-login-null-be.pcap"), "x")[0]).toContain("(NULL/loopback)");
    expect(pcapTranscript(read("twisted-login-be.pcapng"), "x")[0]).toContain("pcapng");
  });

  it("pcapng with two interfaces of different link types and time resolutions", () => {
    const f = readCaptureFile(read("mixed.pcapng"));
    expect(new Set(f.packets.map((p) => p.linkType))).toEqual(new Set([1, 276]));
    expect(f.notes).toEqual([]);
    const times = f.packets.map((p) => p.time);
    expect(times.every((t, i) => i === 0 || t >= times[i - 1])).toBe(true);
    const p = pcapTraffic(read("mixed.pcapng"), "mixed");
    expect(p.header[0]).toMatch(/pcapng, \d+ packets \((Ethernet, Linux cooked SLL2|Linux cooked SLL2, Ethernet)\), 10 TCP connections/);
    expect(p.conversations.every((c) => c.pb)).toBe(true);
  });

  it("cooked link types: SLL (113) and SLL2 (276) from tcpdump -i any", () => {
    expect(readCaptureFile(read("twisted-failures-sll.pcap")).packets[0].linkType).toBe(113);
    expect(readCaptureFile(read("twisted-calls-sll2.pcap")).packets[0].linkType).toBe(276);
    const out = pcapTranscript(read("twisted-failures-sll.pcap"), "x").join("\n");
    expect(out).toContain("error #1 (root.fail): ValueError");
  });

  it("IPv6 addresses are shown bracketed", () => {
    const out = pcapTranscript(read("tspb-ipv6.pcap"), "x").join("\n");
    expect(out).toMatch(/client \[::1\]:\d+ -> server \[::1\]:\d+/);
  });

  it("a capture starting mid-stream: says so, assumes pb, decodes from the first sure boundary without false warnings", () => {
    const out = pcapTranscript(read("twisted-calls-midstream.pcap"), "x", { conn: 1 });
    const text = out.join("\n");
    expect(text).toContain("the handshake is not in the capture");
    expect(text).toContain("C->S starts mid-stream");
    expect(text).toContain("S->C starts mid-stream");
    expect(text).not.toContain("! ");
    expect(text).toMatch(/C->S {2}message #\d+ -> root\.echo/);
  });

  it("a capture starting inside a message: the partial message is skipped, and how many bytes is said", () => {
    const text = pcapTranscript(read("twisted-calls-midmessage.pcap"), "x").join("\n");
    expect(text).toMatch(/decoding resumes at byte \d+, the first message boundary it can be sure of \(\d+ bytes from byte 0 skipped\)/);
    expect(text).not.toMatch(/^\s+! /m);
  });

  it("a lost segment: the gap is reported where it is, with its size, and decoding goes on after it", () => {
    const text = pcapTranscript(read("twisted-calls-lost.pcap"), "x", { conn: 1 }).join("\n");
    const derived = JSON.parse(readFileSync(join(PCAP, "DERIVED.json"), "utf8")) as Record<string, string>;
    expect(derived["twisted-calls-lost.pcap"]).toContain("without packet");
    expect(text).toMatch(/-- \d+ bytes of C->S missing at byte \d+ \(acknowledged by the peer but not in the capture\)/);
    expect(text).toMatch(/decoding resumes at byte \d+/);
    // the call in the lost packet is gone, its answer is shown as one to an unknown call
    expect(text).toMatch(/S->C {2}answer #\d+ \(unknown call\)/);
    // and the calls after it are decoded and answered
    expect(text).toMatch(/message #10 -> root\.echo/);
    expect(text).toMatch(/answer #10 \(root\.echo\)/);
  });

  it("snaplen-cut packets: counted in the header, each cut reported as a gap, never a crash", () => {
    const text = pcapTranscript(read("twisted-snaplen.pcap"), "x").join("\n");
    expect(text).toMatch(/! \d+ packet\(s\) cut short by the capture's snaplen/);
    expect(text).toContain("(the packet was cut by the capture's snaplen)");
    expect(text).toContain("dialects offered: pb, none");
  });
});

describe("pb-inspect decode on a pcap (command line)", () => {
  const file = join("fixtures", "pcap", "twisted-calls-sll2.pcap");
  it("selects connections by number, host and port; --json carries the connection number", async () => {
    const all = await runBin(["decode", file]);
    expect(all.code).toBe(0);
    expect(all.stdout.match(/^# connection \d+:/gm)?.length).toBe(6);
    const one = await runBin(["decode", file, "--conn", "2"]);
    expect(one.stdout.match(/^# connection \d+:/gm)).toEqual(["# connection 2:"]);
    const port = /client \S+ -> server 127\.0\.0\.1:(\d+)/.exec(one.stdout)![1];
    const byPort = await runBin(["decode", file, "--port", port]);
    expect(byPort.stdout.match(/^# connection \d+:/gm)?.length).toBeGreaterThanOrEqual(1);
    const none = await runBin(["decode", file, "--host", "10.9.9.9"]);
    expect(none.stdout).toContain("no connection matches");
    const json = await runBin(["decode", file, "--conn", "3", "--json"]);
    const lines = json.stdout.trim().split("\n").map((l) => JSON.parse(l) as { kind: string; conn?: number });
    expect(lines[0].kind).toBe("capture");
    expect(lines.slice(1).every((l) => l.conn === 3)).toBe(true);
    expect(lines.some((l) => l.kind === "message")).toBe(true);
  });

  it("--conn on a raw file is a usage error", async () => {
    const r = await runBin(["decode", join("test", "inspect", "captures", "timed-login.json"), "--conn", "1"]);
    expect(r.code).toBe(2);
  });
});

// ---- synthetic captures -----------------------------------------------------------------------

/** A conversation: the offer, choice, versions and `n` echo calls and answers, as items in wire order, and each direction's bytes. */
function conversation(n: number): { items: { dir: "c2s" | "s2c"; bytes: Uint8Array }[]; c2s: Uint8Array; s2c: Uint8Array } {
  const items: { dir: "c2s" | "s2c"; bytes: Uint8Array }[] = [
    { dir: "s2c", bytes: OFFER },
    { dir: "c2s", bytes: CHOICE },
    { dir: "c2s", bytes: pb(["version", 6]) },
    { dir: "s2c", bytes: pb(["version", 6]) },
  ];
  for (let i = 1; i <= n; i++) {
    items.push({ dir: "c2s", bytes: pb(["message", i, "root", new TextEncoder().encode("echo"), 1, ["tuple", new TextEncoder().encode("x".repeat(i * 7))], ["dictionary"]]) });
    items.push({ dir: "s2c", bytes: pb(["answer", i, new TextEncoder().encode("x".repeat(i * 7))]) });
  }
  const join = (d: string) => new Uint8Array(Buffer.concat(items.filter((i) => i.dir === d).map((i) => i.bytes)));
  return { items, c2s: join("c2s"), s2c: join("s2c") };
}

/** Cuts a direction's bytes into segments of `size` (relative sequence numbers). */
function segments(dir: "c2s" | "s2c", bytes: Uint8Array, size: number): Seg[] {
  const out: Seg[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push({ dir, rel: i, data: bytes.subarray(i, i + size), ack: 0 });
  return out;
}

/** The conversation on the wire in its order: each item cut into segments of `size`. */
function wire(conv: ReturnType<typeof conversation>, size: number): Seg[] {
  const at = { c2s: 0, s2c: 0 };
  const out: Seg[] = [];
  for (const it of conv.items) {
    for (const s of segments(it.dir, it.bytes, size)) out.push({ ...s, rel: s.rel + at[it.dir] });
    at[it.dir] += it.bytes.length;
  }
  return out;
}

const decodeSynthetic = (segs: Seg[]) => pcapTranscript(buildPcap(segs), "synthetic").join("\n");

describe("TCP reassembly (synthetic captures)", () => {
  const conv = conversation(9);
  const inOrder = [...handshake(), ...wire(conv, 11)];
  const reference = decodeSynthetic(inOrder);

  it("in order: every call and answer, the server's sequence numbers wrapping around 2**32", () => {
    expect(reference).toContain("message #9 -> root.echo(b'" + "x".repeat(63) + "')");
    expect(reference).toContain("answer #9 (root.echo) = b'" + "x".repeat(63) + "'");
    expect(reference).not.toContain("missing");
    expect(conv.s2c.length).toBeGreaterThan(300); // past the wrap at 296
  });

  it("out of order, retransmitted and overlapping segments give the same transcript", () => {
    const segs = wire(conv, 11);
    // neighbours of one direction swapped, every second segment sent twice, and overlapping
    // re-cuts (a retransmission carrying more than the original) of some
    const messy: Seg[] = [...handshake()];
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i];
      const n = segs[i + 1];
      if (n && n.dir === s.dir && i % 3 === 0) {
        messy.push(n, s);
        i++;
        continue;
      }
      messy.push(s);
      if (i % 2 === 0) messy.push(s);
      if (i % 5 === 0 && n && n.dir === s.dir) messy.push({ ...s, rel: s.rel + 3, data: Buffer.concat([s.data!.subarray(3), n.data!.subarray(0, 4)]) });
    }
    const out = decodeSynthetic(messy);
    // the same lines, times aside (packets were added, so they moved)
    const body = (t: string) => t.split("\n").filter((l) => !l.startsWith("#")).map((l) => l.replace(/^\s*\d+\.\d+/, ""));
    expect(body(out)).toEqual(body(reference));
    expect(out).toMatch(/retransmitted/);
    expect(out).toMatch(/out of order/);
  });

  it("a hole that the peer acknowledges is a gap, reported with its offset; decoding resumes after it", () => {
    const segs = wire(conv, 11);
    const lostIndex = segs.findIndex((s, i) => s.dir === "c2s" && i > 12);
    const lost = segs[lostIndex];
    // the server acknowledges what the client has sent so far, the lost bytes included
    let sent = 0;
    const acked = segs.map((s) => {
      if (s.dir === "c2s") {
        sent = s.rel + s.data!.length;
        return s;
      }
      return { ...s, ack: sent };
    });
    const out = decodeSynthetic([...handshake(), ...acked.filter((_, i) => i !== lostIndex)]);
    expect(out).toContain(`-- ${lost.data!.length} bytes of C->S missing at byte ${lost.rel} (acknowledged by the peer but not in the capture)`);
    expect(out).toMatch(/decoding resumes at byte \d+/);
    expect(out).toContain("message #6 -> root.echo");
  });

  it("a capture starting inside a message skips to the first sure boundary and says how much it skipped", () => {
    // starts 5 bytes into the first echo call of C->S and 3 bytes into S->C's first answer
    const cStart = CHOICE.length + pb(["version", 6]).length + 5;
    const sStart = OFFER.length + pb(["version", 6]).length + 3;
    const segs = wire(conv, 9).filter((s) => s.rel >= (s.dir === "c2s" ? cStart - 5 : sStart - 3)).map((s) => {
      const from = s.dir === "c2s" ? cStart : sStart;
      return s.rel < from ? { ...s, rel: from, data: s.data!.subarray(from - s.rel) } : s;
    });
    const out = decodeSynthetic(segs);
    expect(out).toContain("C->S starts mid-stream");
    expect(out).toMatch(/decoding resumes at byte \d+, the first message boundary it can be sure of \(\d+ bytes from byte 0 skipped\)/);
    expect(out).not.toContain("message #1 ");
    expect(out).toContain("message #2 -> root.echo");
    expect(out).toContain("answer #2 (root.echo)");
    expect(out).not.toMatch(/^\s+! /m);
  });

  it("FIN and RST close their direction; bytes after a reset are not waited for", () => {
    const segs: Seg[] = [...handshake(), ...wire(conv, 40)];
    segs.push({ dir: "c2s", rel: conv.c2s.length, fin: true, ack: conv.s2c.length });
    segs.push({ dir: "s2c", rel: conv.s2c.length, rst: true });
    const out = decodeSynthetic(segs);
    expect(out).toContain("C->S: client closed its side of the connection (FIN)");
    expect(out).toContain("S->C: server reset the connection (RST)");
  });

  it("a packet cut by the snaplen: its captured part is used and the rest reported as a gap", () => {
    const segs = wire(conv, 50);
    const k = segs.findIndex((s) => s.dir === "c2s" && s.data!.length === 50 && s.rel > 0);
    const victim = segs[k];
    segs[k] = { ...victim, data: victim.data!.subarray(0, 10), cut: 40 };
    const out = decodeSynthetic([...handshake(), ...segs]);
    expect(out).toContain(`-- 40 bytes of C->S missing at byte ${victim.rel + 10} (the packet was cut by the capture's snaplen)`);
    expect(out).toContain("message #6 -> root.echo");
  });

  it("non-PB TCP connections are listed, not decoded (unless chosen with --conn)", () => {
    const http = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const segs: Seg[] = [...handshake(), { dir: "c2s", rel: 0, data: http, ack: 0 }];
    const out = decodeSynthetic(segs);
    expect(out).toContain("no PB found, not decoded (--conn 1 decodes it anyway)");
    expect(pcapTranscript(buildPcap(segs), "x", { conn: 1 }).join("\n")).toContain("connection 1:");
  });
});

describe("hostile capture files: never a crash, bounded work", () => {
  const files = ["twisted-login.pcap", "mixed.pcapng", "twisted-login-be.pcapng", "twisted-login-null-be.pcap"].filter((f) => existsSync(join(PCAP, f)));

  it("every truncation of a capture file reads what is there and says the file was cut", () => {
    for (const name of files) {
      const whole = read(name);
      const all = readCaptureFile(whole).packets.length;
      for (let n = 0; n < whole.length; n += name.endsWith("pcapng") ? 97 : 61) {
        const cut = whole.subarray(0, n);
        expect(() => pcapTranscript(cut, name)).not.toThrow();
        const f = readCaptureFile(cut);
        // a cut inside a record is said; one between records just has fewer packets
        expect(f.notes.some((x) => /cut|ends inside|not a pcap/.test(x)) || f.packets.length < all, `${name} cut at ${n}`).toBe(true);
      }
    }
  });

  it("random byte flips in capture files never throw", () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    for (const name of files) {
      const whole = read(name);
      for (let k = 0; k < 150; k++) {
        const b = Uint8Array.from(whole);
        const flips = 1 + Math.floor(rnd() * 8);
        for (let i = 0; i < flips; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        expect(() => pcapTranscript(b, name)).not.toThrow();
      }
    }
  });

  it("absurd lengths in headers stop the reading with a note instead of allocating", () => {
    const pcap = Buffer.from(read("twisted-login.pcap"));
    pcap.writeUInt32LE(0xfffffff0, 24 + 8); // first packet's captured length
    const f = readCaptureFile(new Uint8Array(pcap));
    expect(f.packets.length).toBe(0);
    expect(f.notes.join(" ")).toMatch(/damaged/);
    const ng = Buffer.from(read("mixed.pcapng"));
    ng.writeUInt32LE(0xfffffff0, 4);
    const g = readCaptureFile(new Uint8Array(ng));
    expect(g.notes.join(" ")).toMatch(/cut|damaged/);
  });

  it("a flood of out-of-order segments that never fill their hole is bounded and reported", () => {
    const segs: Seg[] = [...handshake()];
    for (let i = 0; i < 3000; i++) segs.push({ dir: "c2s", rel: 100 + i * 10, data: new Uint8Array(10).fill(0x41) });
    const t0 = performance.now();
    const out = pcapTranscript(buildPcap(segs), "flood", { conn: 1 }).join("\n");
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(out).toMatch(/missing at byte 0/);
  });
});

describe("TCP reassembly properties (fast-check)", () => {
  it("any order, duplication and re-cutting of a complete stream's segments gives back exactly its bytes, with no gap", async () => {
    const fc = (await import("fast-check")).default;
    const { TcpReassembler, parsePacket, readCaptureFile } = await import("../../src/inspect/pcap/index.ts");
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (data, cuts, order, dups) => {
          // cut the stream into segments of the given sizes (cycled)
          const segs: Seg[] = [];
          for (let at = 0, k = 0; at < data.length; k++) {
            const n = cuts[k % cuts.length];
            segs.push({ dir: "c2s", rel: at, data: data.subarray(at, at + n), ack: 0 });
            at += n;
          }
          // duplicates (retransmissions, and overlapping re-cuts of two neighbours)
          const inOrder = [...segs];
          for (const d of dups) {
            const i = d % inOrder.length;
            const s = inOrder[i];
            const n = inOrder[i + 1];
            segs.push(n ? { ...s, data: new Uint8Array(Buffer.concat([s.data!, n.data!.subarray(0, 1)])) } : s);
          }
          // a permutation driven by `order`
          for (let i = 0; i < order.length && segs.length > 1; i++) {
            const a = order[i] % segs.length;
            const b = (order[i] >> 3) % segs.length;
            [segs[a], segs[b]] = [segs[b], segs[a]];
          }
          const file = buildPcap([...handshake(), ...segs]);
          const tcp = new TcpReassembler();
          for (const p of readCaptureFile(file).packets) {
            const r = parsePacket(p);
            if (r.ok) tcp.push(r.seg);
          }
          const [conn] = tcp.finish();
          const got = Buffer.concat(conn.events.filter((e) => e.kind === "data" && e.dir === "c2s").map((e) => (e as { bytes: Uint8Array }).bytes));
          expect(conn.events.filter((e) => e.kind === "gap")).toEqual([]);
          expect(got.equals(Buffer.from(data))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("random frames never throw in the packet parser, whatever the link type", async () => {
    const fc = (await import("fast-check")).default;
    const { parsePacket } = await import("../../src/inspect/pcap/index.ts");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(0, 1, 12, 101, 108, 113, 228, 229, 276, 999), fc.nat(200), (data, linkType, extra) => {
        const r = parsePacket({ index: 1, time: 0, linkType, data, origLen: data.length + extra });
        if (r.ok) expect(r.seg.missing).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("against Wireshark: our TCP reassembly equals tshark's (fixtures/pcap/tshark/, made by tshark -z follow,tcp,raw)", () => {
  const dir = join(PCAP, "tshark");
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".follow.txt")) : [];
  it("every capture has Wireshark's streams beside it", () => expect(files.length).toBeGreaterThanOrEqual(15));

  /** tshark's follow output: per stream, its two nodes and the bytes each sent (lines with a tab: node 1). */
  function follow(text: string): { nodes: [string, string]; sent: [string, string] }[] {
    const out: { nodes: [string, string]; sent: [string, string] }[] = [];
    let cur: { nodes: [string, string]; sent: [string, string] } | null = null;
    for (const line of text.split("\n")) {
      const m = /^Node ([01]): (.+)$/.exec(line);
      if (m) {
        if (m[1] === "0") out.push((cur = { nodes: [m[2], ""], sent: ["", ""] }));
        else cur!.nodes[1] = m[2];
        continue;
      }
      if (!cur || line.startsWith("=") || line === "" || /^(Follow|Filter):/.test(line)) continue;
      if (line.startsWith("\t")) cur.sent[1] += line.slice(1).trim();
      else cur.sent[0] += line.trim();
    }
    return out;
  }

  for (const f of files) {
    it(f.replace(/\.follow\.txt$/, ""), () => {
      const p = pcapTraffic(read(f.replace(/\.follow\.txt$/, "")), f);
      const streams = follow(readFileSync(join(dir, f), "utf8"));
      expect(streams.length).toBe(p.conversations.length);
      streams.forEach((st, k) => {
        const c = p.conversations[k].conn;
        // tshark writes a hole as the text "[N bytes missing in capture file]" and a NUL byte: ours as the same
        const ours = (d: "c2s" | "s2c") =>
          c.events
            .filter((e) => e.dir === d && (e.kind === "data" || (e.kind === "gap" && e.lost !== null)))
            .map((e) => (e.kind === "data" ? Buffer.from(e.bytes).toString("hex") : e.kind === "gap" ? Buffer.from(`[${e.lost} bytes missing in capture file]\0`).toString("hex") : ""))
            .join("");
        const client = endpointText(c.client);
        const server = endpointText(c.server);
        expect(new Set(st.nodes)).toEqual(new Set([client, server]));
        const fromClient = st.nodes[0] === client ? st.sent[0] : st.sent[1];
        const fromServer = st.nodes[0] === client ? st.sent[1] : st.sent[0];
        // (a snaplen cut is no hole to tshark: it follows the bytes captured)
        const snaplenGaps = c.events.some((e) => e.kind === "gap" && e.why.includes("snaplen"));
        const plain = (d: "c2s" | "s2c") => Buffer.concat(c.events.filter((e) => e.kind === "data" && e.dir === d).map((e) => (e as { bytes: Uint8Array }).bytes)).toString("hex");
        expect(snaplenGaps ? plain("c2s") : ours("c2s"), `${f} stream ${k} client to server`).toBe(fromClient);
        expect(snaplenGaps ? plain("s2c") : ours("s2c"), `${f} stream ${k} server to client`).toBe(fromServer);
      });
    });
  }
});
