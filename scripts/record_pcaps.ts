// Records fixtures/pcap/: real tcpdump captures (on the loopback interface, as root) of real
// Twisted and twisted-pb conversations, each made through `pb-inspect proxy --save` so the
// proxy's own capture of the same traffic sits beside it for comparison (NAME.proxy/conn-N/).
// Derived fixtures (a capture starting mid-stream, one with a lost segment, other link layers,
// byte orders, pcapng) are made here from the recorded files by editing them, and say so.
//
//   sudo npx tsx scripts/record_pcaps.ts          (needs tcpdump and a Python with Twisted)
//
// CI has no tcpdump: the files are committed and the tests read them.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requirePython } from "../interop/find-python.mjs";
import { TsClientRunner, tcpConnection } from "../interop/conformance/client.ts";
import { PyClient, startPyService } from "../interop/conformance/pyproc.ts";
import { loadScenarios, REPO_ROOT, type Scenario } from "../interop/conformance/scenario.ts";
import { rootFactory, startTsService } from "../interop/conformance/service.ts";
import { startProxy } from "../src/inspect/proxy.ts";
import { readCaptureFile, type RawPacket } from "../src/inspect/pcap/file.ts";
import { parsePacket } from "../src/inspect/pcap/packet.ts";
import { pcapTraffic } from "../src/inspect/pcap/index.ts";
import { PBServer } from "../src/index.ts";

const OUT = join(REPO_ROOT, "fixtures", "pcap");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface DumpOptions {
  iface: "lo" | "any";
  linkType?: string;
  snaplen?: number;
  nano?: boolean;
}

/** Runs tcpdump around `body`; returns when the file is complete. */
async function tcpdump(file: string, filter: string, o: DumpOptions, body: () => Promise<void>): Promise<void> {
    // --immediate-mode: packets reach tcpdump at once (TPACKET_V3 otherwise holds them in blocks
  // that a SIGINT discards); the wait before stopping lets the last ones through.
  const args = ["-i", o.iface, "-n", "-U", "--immediate-mode", "-w", file];
  if (o.linkType) args.push("-y", o.linkType);
  if (o.snaplen) args.push("-s", String(o.snaplen));
  if (o.nano) args.push("--time-stamp-precision=nano");
  args.push(filter);
  const p = spawn("tcpdump", args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  await new Promise<void>((resolve, reject) => {
    p.stderr.setEncoding("utf8").on("data", (s: string) => {
      err += s;
      if (err.includes("listening on")) resolve();
    });
    p.on("exit", (code) => reject(new Error(`tcpdump exited (${code}): ${err}`)));
  });
  try {
    await body();
    await sleep(1200);
  } finally {
    const done = new Promise((r) => p.on("exit", r));
    p.kill("SIGINT");
    await done;
    if (process.env.DEBUG_TCPDUMP) console.error(args.join(" "), err);
  }
}

const scenarios = new Map(loadScenarios().map((s) => [s.name, s]));
const scenario = (name: string): Scenario => {
  const s = scenarios.get(name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
};

type Runner = (s: Scenario, port: number, host: string) => Promise<void>;

/**
 * One capture, retried until it is complete: tcpdump on this kind of VM now and then misses a
 * packet (the kernel reports no drop), and the fixtures other than the derived ones must hold
 * every byte so they can be compared with the proxy's capture.
 */
async function record(name: string, o: DumpOptions & { ext?: "pcap"; host?: string }, server: (s: Scenario) => number, run: Runner, names: string[]): Promise<void> {
  // ONLY=name1,name2 re-records just those (the derived files are made again from what is there)
  if (process.env.ONLY && !process.env.ONLY.split(",").includes(name)) return;
  for (let attempt = 1; ; attempt++) {
    await recordOnce(name, o, server, run, names);
    const p = pcapTraffic(new Uint8Array(readFileSync(join(OUT, `${name}.pcap`))), name);
    const gaps = p.conversations.flatMap((c) => c.conn.events.filter((e) => e.kind === "gap" && !e.why.includes("snaplen")));
    const closed = p.conversations.every((c) => c.conn.closed);
    if (gaps.length === 0 && closed && p.conversations.length === 2 * names.length) return;
    console.log(`  ${name}: attempt ${attempt} incomplete (${gaps.length} gaps, ${p.conversations.length} connections, all closed: ${closed}); again`);
    if (attempt >= 15) throw new Error(`${name}: no complete capture in ${attempt} attempts`);
  }
}

/** One capture: each scenario on its own connection, client -> proxy -> server, both legs captured. */
async function recordOnce(name: string, o: DumpOptions & { ext?: "pcap"; host?: string }, server: (s: Scenario) => number, run: Runner, names: string[]): Promise<void> {
  const host = o.host ?? "127.0.0.1";
  const file = join(OUT, `${name}.pcap`);
  const ports = [...new Set(names.map((n) => server(scenario(n))))];
  // One save directory per proxy (each numbers its connections conn-1, conn-2, ...).
  const saves = ports.map(() => mkdtempSync(join(tmpdir(), "pcap-rec-")));
  const proxies = await Promise.all(ports.map((p, i) => startProxy({ listen: { host, port: 0 }, target: { host, port: p }, save: saves[i], out: () => {} })));
  const filter = [...ports, ...proxies.map((p) => p.address.port)].map((p) => `tcp port ${p}`).join(" or ");
  await tcpdump(file, filter, o, async () => {
    for (const n of names) {
      const s = scenario(n);
      const proxy = proxies[ports.indexOf(server(s))];
      await run(s, proxy.address.port, host);
      await sleep(150);
    }
  });
  await Promise.all(proxies.map((p) => p.close()));
  const keep = join(OUT, `${name}.proxy`);
  rmSync(keep, { recursive: true, force: true });
  saves.forEach((save, i) => {
    cpSync(save, join(keep, `proxy-${i + 1}`), { recursive: true });
    rmSync(save, { recursive: true, force: true });
  });
  console.log(`recorded ${file} (${names.join(", ")})`);
}

// ---- editing captures (derived fixtures) ---------------------------------------------------------

interface PcapOut {
  linkType: number;
  nano: boolean;
  packets: { time: number; data: Uint8Array; origLen: number }[];
}

function writePcap(path: string, p: PcapOut, bigEndian = false): void {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number) => (bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  const w16 = (b: Buffer, v: number, o: number) => (bigEndian ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
  w32(h, p.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, 262144, 16);
  w32(h, p.linkType, 20);
  parts.push(h);
  for (const k of p.packets) {
    const r = Buffer.alloc(16);
    const sec = Math.floor(k.time);
    const frac = Math.round((k.time - sec) * (p.nano ? 1e9 : 1e6));
    w32(r, sec, 0);
    w32(r, frac, 4);
    w32(r, k.data.length, 8);
    w32(r, k.origLen, 12);
    parts.push(r, Buffer.from(k.data));
  }
  writeFileSync(path, Buffer.concat(parts));
}

/** pcapng: one interface per input capture (each with its own link type and time resolution), packets merged by time. */
function writePcapng(path: string, inputs: { file: string; nano: boolean }[], bigEndian = false): void {
  const parts: Buffer[] = [];
  const block = (type: number, body: Buffer) => {
    const len = 12 + body.length + ((4 - (body.length % 4)) % 4);
    const b = Buffer.alloc(len);
    const w32 = (v: number, o: number) => (bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
    w32(type, 0);
    w32(len, 4);
    body.copy(b, 8);
    w32(len, len - 4);
    parts.push(b);
  };
  const w32 = (b: Buffer, v: number, o: number) => (bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  const w16 = (b: Buffer, v: number, o: number) => (bigEndian ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
  const shb = Buffer.alloc(16);
  w32(shb, 0x1a2b3c4d, 0);
  w16(shb, 1, 4);
  w16(shb, 0, 6);
  shb.writeBigInt64LE(-1n, 8);
  block(0x0a0d0d0a, shb);
  const all: { iface: number; p: RawPacket }[] = [];
  inputs.forEach((inp, i) => {
    const f = readCaptureFile(new Uint8Array(readFileSync(inp.file)));
    const idb = Buffer.alloc(8 + 8 + 4);
    w16(idb, f.packets[0]?.linkType ?? 1, 0);
    w32(idb, 262144, 4);
    // option if_tsresol (9), length 1: 10^-6 or 10^-9; then opt_endofopt
    w16(idb, 9, 8);
    w16(idb, 1, 10);
    idb[12] = inp.nano ? 9 : 6;
    block(1, idb);
    for (const p of f.packets) all.push({ iface: i, p });
  });
  all.sort((a, b) => a.p.time - b.p.time);
  for (const { iface, p } of all) {
    const unit = inputs[iface].nano ? 1e9 : 1e6;
    const ts = BigInt(Math.round(p.time * unit));
    const body = Buffer.alloc(20 + p.data.length);
    w32(body, iface, 0);
    w32(body, Number(ts >> 32n), 4);
    w32(body, Number(ts & 0xffffffffn), 8);
    w32(body, p.data.length, 12);
    w32(body, p.origLen, 16);
    Buffer.from(p.data).copy(body, 20);
    block(6, body);
  }
  writeFileSync(path, Buffer.concat(parts));
}

function load(file: string): { packets: RawPacket[]; nano: boolean } {
  const bytes = readFileSync(file);
  const nano = bytes.readUInt32LE(0) === 0xa1b23c4d || bytes.readUInt32BE(0) === 0xa1b23c4d;
  return { packets: readCaptureFile(new Uint8Array(bytes)).packets, nano };
}

/** Ethernet frames to raw IP (101) or BSD loopback NULL (0, AF_INET in the writer's byte order). */
function relink(packets: RawPacket[], to: 0 | 101, bigEndian: boolean): PcapOut["packets"] {
  return packets.map((p) => {
    const ip = p.data.subarray(14);
    if (to === 101) return { time: p.time, data: ip, origLen: p.origLen - 14 };
    const fam = Buffer.alloc(4);
    if (bigEndian) fam.writeUInt32BE(2, 0);
    else fam.writeUInt32LE(2, 0);
    return { time: p.time, data: Buffer.concat([fam, ip]), origLen: p.origLen - 10 };
  });
}

/** tshark -z follow,tcp,raw for every stream of every capture: fixtures/pcap/tshark/NAME.follow.txt. */
function tsharkFollow(): void {
  const dir = join(OUT, "tshark");
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(OUT).filter((x) => /\.pcap(ng)?$/.test(x))) {
    const file = join(OUT, f);
    const ids = spawnSync("tshark", ["-r", file, "-T", "fields", "-e", "tcp.stream"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
    const n = new Set(ids).size;
    let text = "";
    for (let i = 0; i < n; i++) text += spawnSync("tshark", ["-r", file, "-q", "-z", `follow,tcp,raw,${i}`], { encoding: "utf8" }).stdout;
    writeFileSync(join(dir, `${f}.follow.txt`), text);
  }
  console.log(`tshark follow output written to ${dir}`);
}

/** Twisted client and server, captured by dumpcap (pcapng as Wireshark writes it). */
async function recordDumpcap(): Promise<void> {
  if (process.env.ONLY && !process.env.ONLY.split(",").includes("twisted-dumpcap")) return;
  const python = requirePython();
  const py = await startPyService(python.path);
  const client = await PyClient.start(python.path);
  try {
    for (let attempt = 1; ; attempt++) {
      const file = join(OUT, "twisted-dumpcap.pcapng");
      const p = spawn("dumpcap", ["-i", "lo", "-w", file, "-f", `tcp port ${py.portalPort}`], { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      await new Promise<void>((resolve, reject) => {
        p.stderr.setEncoding("utf8").on("data", (x: string) => {
          err += x;
          if (err.includes("Capturing on")) resolve();
        });
        p.on("exit", (code) => reject(new Error(`dumpcap exited (${code}): ${err}`)));
      });
      await sleep(1000); // "Capturing on" comes before the capture is really running
      const r = await client.run(scenario("login-two-avatars"), py.portalPort, 10_000);
      if (r.error || r.timedOut) throw new Error(`login-two-avatars: ${r.error ?? "timed out"}`);
      // dumpcap hands packets over in blocks (about a second): wait for the last one
      await sleep(2500);
      const done = new Promise((res) => p.on("exit", res));
      p.kill("SIGTERM");
      await done;
      if (process.env.DEBUG_TCPDUMP) console.error(err);
      const t = pcapTraffic(new Uint8Array(readFileSync(file)), "dumpcap");
      const gaps = t.conversations.flatMap((c) => c.conn.events.filter((e) => e.kind === "gap"));
      if (gaps.length === 0 && t.conversations.length === 1 && t.conversations[0].conn.closed) break;
      if (attempt >= 15) throw new Error("dumpcap: no complete capture");
    }
    console.log("recorded twisted-dumpcap.pcapng (login-two-avatars, dumpcap)");
  } finally {
    await client.stop();
    await py.proc.stop();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("run as root (tcpdump captures on lo)");
  mkdirSync(OUT, { recursive: true });
  const python = requirePython();
  const py = await startPyService(python.path);
  const ts = await startTsService();
  const client = await PyClient.start(python.path);
  const pyPort = (s: Scenario) => (s.server === "portal" ? py.portalPort : py.rootPort);
  const tsPort = (s: Scenario) => (s.server === "portal" ? ts.portalPort : ts.rootPort);
  const pyRun: Runner = async (s, port) => {
    const r = await client.run(s, port, 10_000);
    if (r.error || r.timedOut) throw new Error(`${s.name}: ${r.error ?? "timed out"}`);
  };
  const tsRun: Runner = async (s, port, host) => {
    const conn = await tcpConnection(port, host);
    await new TsClientRunner(s, conn).run();
  };
  try {
    // Twisted <-> Twisted (through the proxy), loopback: Ethernet link type. Random challenges.
    await record("twisted-login", { iface: "lo" }, pyPort, pyRun, ["login-password"]);
    await record("twisted-calls-sll2", { iface: "any", linkType: "LINUX_SLL2", nano: true }, pyPort, pyRun, ["echo-containers", "references", "callbacks"]);
    await record("twisted-failures-sll", { iface: "any", linkType: "LINUX_SLL" }, pyPort, pyRun, ["fail-value-error", "fail-deferred", "login-wrong-password"]);
    await record("twisted-snaplen", { iface: "lo", snaplen: 100 }, pyPort, pyRun, ["echo-containers"]);
    // twisted-pb <-> twisted-pb, and twisted-pb client <-> Twisted server
    await record("tspb-cache", { iface: "lo" }, tsPort, tsRun, ["cache-observe", "copy-shared"]);
    await record("tspb-client-twisted-server", { iface: "lo" }, pyPort, tsRun, ["login-mind"]);
    // IPv6: twisted-pb on ::1 (interop/peer.py serve listens on 127.0.0.1 only)
    const v6 = await PBServer.listen({ host: "::1", port: 0 }, { root: rootFactory });
    try {
      await record("tspb-ipv6", { iface: "lo", host: "::1" }, () => v6.port, tsRun, ["echo-scalars"]);
    } finally {
      await v6.close(500);
    }
  } finally {
    await client.stop();
    await py.proc.stop();
    await ts.close();
  }


  // Derived captures (edited here; the names say how).
  const login = load(join(OUT, "twisted-login.pcap"));
  writePcap(join(OUT, "twisted-login-rawip.pcap"), { linkType: 101, nano: false, packets: relink(login.packets, 101, false) });
  writePcap(join(OUT, "twisted-login-null-be.pcap"), { linkType: 0, nano: false, packets: relink(login.packets, 0, true) }, true);
  writePcapng(join(OUT, "mixed.pcapng"), [
    { file: join(OUT, "tspb-cache.pcap"), nano: false },
    { file: join(OUT, "twisted-calls-sll2.pcap"), nano: true },
  ]);
  writePcapng(join(OUT, "twisted-login-be.pcapng"), [{ file: join(OUT, "twisted-login.pcap"), nano: false }], true);

  // Mid-stream: the calls capture from its 9th payload-carrying packet on (handshakes and
  // dialect negotiation gone, the first packet kept may start inside a message).
  const calls = load(join(OUT, "twisted-calls-sll2.pcap"));
  const dataIdx = calls.packets.flatMap((p, i) => {
    const r = parsePacket(p);
    return r.ok && r.seg.payload.length > 0 ? [i] : [];
  });
  writePcap(join(OUT, "twisted-calls-midstream.pcap"), { linkType: 276, nano: true, packets: calls.packets.slice(dataIdx[8]) });
  // Mid-message: as the mid-stream one, but the first packet kept loses its first 5 payload bytes
  // (sequence number and IP length adjusted), so the capture starts inside a message.
  const firstKept = calls.packets[dataIdx[8]];
  const trimmed = Buffer.from(firstKept.data);
  const ipAt = 20; // SLL2 header
  const ihl = (trimmed[ipAt] & 15) * 4;
  const tcpAt = ipAt + ihl;
  const payloadAt = tcpAt + (trimmed[tcpAt + 12] >> 4) * 4;
  trimmed.writeUInt16BE(trimmed.readUInt16BE(ipAt + 2) - 5, ipAt + 2);
  trimmed.writeUInt32BE((trimmed.readUInt32BE(tcpAt + 4) + 5) % 4294967296, tcpAt + 4);
  const cutFrame = Buffer.concat([trimmed.subarray(0, payloadAt), trimmed.subarray(payloadAt + 5)]);
  writePcap(join(OUT, "twisted-calls-midmessage.pcap"), {
    linkType: 276,
    nano: true,
    packets: [{ time: firstKept.time, data: cutFrame, origLen: cutFrame.length }, ...calls.packets.slice(dataIdx[8] + 1)],
  });
  // A lost segment: the 6th payload-carrying client-to-proxy packet of the first connection is removed.
  const first = parsePacket(calls.packets[0]);
  if (!first.ok) throw new Error("first packet is not TCP");
  const c2s = calls.packets.flatMap((p, i) => {
    const r = parsePacket(p);
    return r.ok && r.seg.payload.length > 0 && r.seg.sport === first.seg.sport && r.seg.dport === first.seg.dport ? [i] : [];
  });
  const drop = c2s[5];
  writePcap(join(OUT, "twisted-calls-lost.pcap"), { linkType: 276, nano: true, packets: calls.packets.filter((_, i) => i !== drop) });
  writeFileSync(
    join(OUT, "DERIVED.json"),
    JSON.stringify(
      {
        "twisted-login-rawip.pcap": "twisted-login.pcap with the Ethernet header removed (link type 101, raw IP)",
        "twisted-login-null-be.pcap": "twisted-login.pcap as BSD loopback (link type 0) in a big-endian pcap file",
        "mixed.pcapng": "tspb-cache.pcap (interface 0, Ethernet, microseconds) and twisted-calls-sll2.pcap (interface 1, SLL2, nanoseconds) merged by time into one pcapng",
        "twisted-login-be.pcapng": "twisted-login.pcap as a big-endian pcapng section",
        "twisted-calls-midstream.pcap": `twisted-calls-sll2.pcap from packet ${dataIdx[8] + 1} on (the 9th packet carrying payload)`,
        "twisted-calls-midmessage.pcap": `twisted-calls-midstream.pcap with the first 5 payload bytes of its first packet removed (sequence number and IP length adjusted): it starts inside a message`,
        "twisted-calls-lost.pcap": `twisted-calls-sll2.pcap without packet ${drop + 1} (the 6th client-to-proxy packet carrying payload of connection 1)`,
      },
      null,
      2,
    ) + "\n",
  );
  // A pcapng written by Wireshark's own capture tool, when it is installed (Debian: tshark).
  if (spawnSync("dumpcap", ["--version"]).status === 0) await recordDumpcap();
  // An independent check: Wireshark's reassembly of every stream (tshark -z follow,tcp,raw),
  // kept beside the captures; test/inspect/pcap.test.ts compares ours with it.
  if (spawnSync("tshark", ["--version"]).status === 0) tsharkFollow();
  else console.log("no tshark: fixtures/pcap/tshark/ not refreshed");
  if (!existsSync(join(OUT, "README.md"))) console.log("write fixtures/pcap/README.md");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
