// The pb-inspect command line: `decode` (captured traffic) and `proxy` (live traffic).
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { htmlPage } from "./html.ts";
import { endpointText } from "./pcap/tcp.ts";
import { isCaptureFile, matches, pcapTraffic, type ConnectionFilter } from "./pcap/index.ts";
import { trafficItems } from "./items.ts";
import { replay, ReplayConnectError, type ReplayTarget } from "./replay.ts";
import { pcapTranscript } from "./pcapdecode.ts";
import { parseArgs } from "node:util";
import { InputError, loadTraffic, type InputFormat } from "./capture.ts";
import { transcript } from "./decode.ts";
import { endpointName, parseHostPort, startProxy } from "./proxy.ts";
import { shouldColor } from "./render.ts";
import type { Dir } from "./session.ts";

export const HELP = `pb-inspect: see what Twisted Perspective Broker (PB) peers say to each other.

Usage:
  pb-inspect decode [options] FILE       decode captured traffic (see "Inputs"),
                                         a pcap/pcapng file included
  pb-inspect decode [options] C2S S2C    the two directions as separate files
  pb-inspect decode FILE --html PAGE     write the conversation as an HTML page
  pb-inspect replay CAPTURE --against HOST:PORT [--password P]
                                         play the client's side against a live server
                                         and report where its answers differ
  pb-inspect proxy --listen HOST:PORT --target HOST:PORT [options]
                                         forward a live connection and print it
  pb-inspect help                        this text

Examples:
  # Watch a PB client talk to a server on port 8787: point the client at port 9000.
  npx pb-inspect proxy --listen 127.0.0.1:9000 --target 127.0.0.1:8787

  # Keep the bytes, decode them again later (or attach them to a bug report).
  npx pb-inspect proxy --listen 127.0.0.1:9000 --target 127.0.0.1:8787 --save captures
  npx pb-inspect decode captures/conn-1

  # Raw bytes saved some other way (one file per direction, e.g. from tcpflow).
  npx pb-inspect decode client-to-server.bin server-to-client.bin

  # A tcpdump or Wireshark capture: every PB connection in it, or one of them.
  sudo tcpdump -i lo -w pb.pcap tcp port 8787
  npx pb-inspect decode pb.pcap --port 8787 --conn 2

  # The conversation as a page: ladder diagram, object tables, values and bytes.
  npx pb-inspect decode pb.pcap --html pb.html

  # Does the new (Node) server answer like the old one did? (exit 0: same, 1: different)
  npx pb-inspect replay pb.pcap --conn 1 --against 127.0.0.1:9999 --password secret

Inputs (decode):
  - a packet capture: pcap (either byte order, micro- or nanosecond times) or pcapng
    (tcpdump -w, Wireshark, dumpcap); link types Ethernet, Linux cooked SLL and SLL2,
    BSD loopback (NULL), raw IP; IPv4 and IPv6. TCP is reassembled (out-of-order,
    retransmitted and overlapping segments); every PB connection is its own transcript.
    Bytes the capture lacks (snaplen cuts, lost packets, a capture that starts in the
    middle) are shown as gaps where they are; decoding resumes at the first message
    boundary that is certain, saying what it skipped, with dialect pb assumed.
  - a capture: JSON {"writes": [{"dir": "c2s", "hex": "0280...", "t": 1.5}, ...]}
    (written by "proxy --save" and by the conformance harness; see src/inspect/CAPTURE.md)
  - a directory holding capture.json, or c2s.bin and s2c.bin
  - a hex dump: lines "C->S 02 80 ..." / "S->C ...", or "#03 C->S ..." (writes.hex),
    or bare hex of one direction
  - raw bytes of one direction (which one is guessed: --dir to say)
  - two files: client->server bytes first, then server->client (or named *c2s* / *s2c*).
    Without timing the two are interleaved causally (each answer after its call); the
    header says so. "-" reads stdin.

Reading the transcript:
  C->S, S->C      from the client (the side that connected), from the server
  message #3 -> obj 2 (avatar of b'alice').echo(1, 'hi', key=2.5)
                  a call: request 3, on the receiver's object 2 (and what it is),
                  arguments as Python prints them ('text', b'bytes', (tuple,), 2.5)
  answer #3 (obj 2.echo) = ...        the result of request 3
  error #4 (root.fail): ValueError: oops
                  a remote exception, its traceback under it
  <remote #4 result of root.getThing>  an object of the sender, by reference (luid 4)
  <local #4 ...>  one of the receiver's own objects, sent back
  <__main__.Point {'x': 1}>            a Copyable: its class and state
  <cache #3 __main__.Counter {...}>    a Cacheable (later: <cached #3 ...>)
  @1=[...] ... @1 the same object twice (or inside itself)
  + / -           an object handed out / released (decref, decache, uncache)
  !               something Twisted rejects (it drops the connection)
  Long values are shortened; --full shows everything.

Options:
  --json          one JSON object per line: direction, time, offset, the decoded
                  text, table changes, the banana expression and the exact hex
  --hex           show each message's bytes under it
  --full          do not shorten long strings and containers
  --color WHEN    auto (default: only on a terminal, and not when NO_COLOR is set),
                  always or never;  --no-color = --color never
  decode only:
  --dir c2s|s2c   the direction of a one-direction input (default: guessed)
  --format F      auto (default), capture, hex or raw
  --from-start    the capture starts with the connection (by default a capture that
                  starts with PB messages is taken as starting mid-session)
  --conn N        packet captures: only connection N (numbered in the header)
  --host H        packet captures: only connections with an endpoint at address H
  --port P        packet captures: only connections with an endpoint on port P
  --html PAGE     write a self-contained HTML page instead of printing: client and
                  server lanes, an arrow per message, answers joined to their calls,
                  failures and time gaps marked, the object tables after each message,
                  each message expandable to its full value and its bytes
  replay only:
  --against HOST:PORT  the server to play the capture's client against (or unix:PATH)
  --password P    the password of the captured login: the response to the server's new
                  challenge is computed afresh (without it the login is refused). Give it
                  again for logins with other passwords: each login uses the one that gives
                  its captured response
  --timeout MS    how long to wait for each server message (default 5000)
  --conn/--host/--port  which connection of a packet capture (default: the first PB one)
  The server's messages are compared in order, byte for byte, with the login challenge
  and Failure.count masked (they differ every run).
  proxy only:
  --listen HOST:PORT   where PB clients connect (port 0: any free port; unix:PATH
                       for a Unix socket)
  --target HOST:PORT   the PB server to forward to (or unix:PATH)
  --tls-cert FILE --tls-key FILE
                  accept TLS from clients with this certificate and key (PEM)
  --target-tls    connect to the target with TLS (its certificate checked against the
                  system's CAs, or --target-ca FILE; --target-servername NAME;
                  --target-insecure skips the check, and says so on every connection)
  --html PAGE     keep an HTML page of the connections (rewritten as each one closes)
  --save DIR      keep the bytes: DIR/conn-N/{c2s.bin,s2c.bin,capture.json}
                  (N goes on after the conn-N already in DIR: nothing is overwritten)
  Every byte is forwarded unchanged, also when it cannot be decoded: the transcript
  then shows the error and the byte offset where decoding failed. Stop with Ctrl-C.

Exit status: 0 done (also when the traffic is malformed: the transcript says where),
1 unreadable input, 2 bad command line. replay: 0 the server answered as captured,
1 it did not (or the capture cannot be replayed), 2 bad command line, 3 no connection.
`;

export interface Io {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
  readStdin?: () => Uint8Array;
  /** Resolves when the proxy should stop (default: SIGINT or SIGTERM). */
  stopSignal?: () => Promise<void>;
}

const defaultIo = (): Io => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  readStdin: () => Uint8Array.from(readFileSync(0)),
});

class UsageError extends Error {}

function colorMode(v: string | undefined, noColor: boolean | undefined): "auto" | "always" | "never" {
  if (noColor) return "never";
  if (v === undefined || v === "auto" || v === "always" || v === "never") return v ?? "auto";
  throw new UsageError(`--color takes auto, always or never, not ${v}`);
}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === "help" || command === "--help" || command === "-h") {
      io.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      io.stdout.write(HELP);
      return 0;
    }
    if (command === "decode") return decodeCommand(rest, io);
    if (command === "proxy") return await proxyCommand(rest, io);
    if (command === "replay") return await replayCommand(rest, io);
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.stderr.write(`pb-inspect: ${(e as Error).message}\nRun "pb-inspect help" for usage.\n`);
      return 2;
    }
    if (e instanceof InputError) {
      io.stderr.write(`pb-inspect: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

const common = {
  json: { type: "boolean" },
  hex: { type: "boolean" },
  full: { type: "boolean" },
  color: { type: "string" },
  "no-color": { type: "boolean" },
} as const;

function decodeCommand(args: string[], io: Io): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...common, dir: { type: "string" }, format: { type: "string" }, "from-start": { type: "boolean" }, conn: { type: "string" }, host: { type: "string" }, port: { type: "string" }, html: { type: "string" } },
  });
  if (values.html !== undefined) return htmlCommand(positionals, values, io);
  if (positionals.length === 1 && isPcapPath(positionals[0])) {
    const filter = connectionFilter(values);
    const color = !values.json && shouldColor(io.stdout, colorMode(values.color, values["no-color"]), io.env);
    const lines = pcapTranscript(Uint8Array.from(readFileSync(positionals[0])), positionals[0], filter, { json: values.json, hex: values.hex, full: values.full, color });
    io.stdout.write(lines.join("\n") + "\n");
    return 0;
  }
  if (values.conn !== undefined || values.host !== undefined || values.port !== undefined) throw new UsageError("--conn, --host and --port select connections of a packet capture (pcap or pcapng)");
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError("decode needs one input (or two: C->S then S->C)");
  if (values.dir !== undefined && values.dir !== "c2s" && values.dir !== "s2c") throw new UsageError("--dir takes c2s or s2c");
  const formats = ["auto", "capture", "hex", "raw"];
  if (values.format !== undefined && !formats.includes(values.format)) throw new UsageError(`--format takes ${formats.join(", ")}`);
  const traffic = loadTraffic(positionals, { dir: values.dir as Dir | undefined, format: values.format as InputFormat | undefined, readStdin: io.readStdin });
  const lines = transcript(traffic, {
    json: values.json,
    hex: values.hex,
    full: values.full,
    color: !values.json && shouldColor(io.stdout, colorMode(values.color, values["no-color"]), io.env),
    start: values["from-start"] ? "connection" : "auto",
  });
  io.stdout.write(lines.join("\n") + "\n");
  return 0;
}

function htmlCommand(positionals: string[], values: { html?: string; conn?: string; host?: string; port?: string; dir?: string; format?: string }, io: Io): number {
  const out = values.html!;
  let page: string;
  if (positionals.length === 1 && isPcapPath(positionals[0])) {
    const path = positionals[0];
    const p = pcapTraffic(Uint8Array.from(readFileSync(path)), path);
    const filter = connectionFilter(values);
    const chosen = p.conversations.filter((c) => matches(c.conn, filter) && (c.pb || filter.conn !== undefined));
    const header = [...p.header];
    if (chosen.length === 0) header.push("no PB connection selected");
    page = htmlPage(
      chosen.map((c) => ({ title: `connection ${c.conn.number}: client ${endpointText(c.conn.client)} → server ${endpointText(c.conn.server)}`, traffic: c.traffic })),
      { title: `pb-inspect: ${basename(path)}`, header },
    );
  } else {
    if (positionals.length < 1 || positionals.length > 2) throw new UsageError("decode needs one input (or two: C->S then S->C)");
    const traffic = loadTraffic(positionals, { dir: values.dir as Dir | undefined, format: values.format as InputFormat | undefined, readStdin: io.readStdin });
    page = htmlPage([{ title: positionals.join(" + "), traffic }], { title: `pb-inspect: ${positionals.map((p) => basename(p)).join(" + ")}` });
  }
  writeFileSync(out, page);
  io.stderr.write(`pb-inspect: wrote ${out}\n`);
  return 0;
}

/** --conn N, --host H, --port P. */
export function connectionFilter(values: { conn?: string; host?: string; port?: string }): ConnectionFilter {
  const f: ConnectionFilter = {};
  const num = (v: string, what: string) => {
    if (!/^\d{1,9}$/.test(v)) throw new UsageError(`${what} takes a number, not ${v}`);
    return Number(v);
  };
  if (values.conn !== undefined) f.conn = num(values.conn, "--conn");
  if (values.port !== undefined) f.port = num(values.port, "--port");
  if (values.host !== undefined) f.host = values.host.replace(/^\[|\]$/g, "");
  return f;
}

function isPcapPath(path: string): boolean {
  if (path === "-" || !existsSync(path) || statSync(path).isDirectory()) return false;
  const fd = openSync(path, "r");
  try {
    const head = new Uint8Array(4);
    const n = readSync(fd, head, 0, 4, 0);
    return n === 4 && isCaptureFile(head);
  } finally {
    closeSync(fd);
  }
}

async function replayCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { against: { type: "string" }, password: { type: "string", multiple: true }, timeout: { type: "string" }, conn: { type: "string" }, host: { type: "string" }, port: { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError("replay needs one capture (a pcap/pcapng file, a capture JSON or a proxy --save conn-N directory)");
  if (!values.against) throw new UsageError("replay needs --against HOST:PORT (or --against unix:PATH)");
  let target: ReplayTarget;
  if (values.against.startsWith("unix:")) target = { path: values.against.slice(5) };
  else {
    try {
      target = parseHostPort(values.against);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const timeoutMs = values.timeout === undefined ? 5000 : Number(values.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError("--timeout takes milliseconds");
  const path = positionals[0];
  let traffic;
  let what = path;
  if (isPcapPath(path)) {
    const p = pcapTraffic(Uint8Array.from(readFileSync(path)), path);
    const filter = connectionFilter(values);
    const chosen = p.conversations.filter((c) => matches(c.conn, filter) && (c.pb || filter.conn !== undefined));
    if (chosen.length === 0) throw new InputError(`${path}: no PB connection${filter.conn !== undefined || filter.host !== undefined || filter.port !== undefined ? " matches --conn/--host/--port" : ""}`);
    if (chosen.length > 1) io.stderr.write(`pb-inspect: ${chosen.length} PB connections match; replaying connection ${chosen[0].conn.number} (--conn N to choose)\n`);
    traffic = chosen[0].traffic;
    what = `${path} connection ${chosen[0].conn.number}`;
  } else {
    if (values.conn !== undefined || values.host !== undefined || values.port !== undefined) throw new UsageError("--conn, --host and --port select connections of a packet capture");
    traffic = loadTraffic([path]);
  }
  let items;
  try {
    items = trafficItems(traffic).items;
  } catch (e) {
    throw new InputError(`${path}: ${(e as Error).message}`);
  }
  if (!items.some((i) => i.dir === "c2s")) throw new InputError(`${path}: the client's side is not in this capture: nothing to replay`);
  io.stdout.write(`# replay of ${what} against ${target.path ?? `${target.host}:${target.port}`}: ${items.filter((i) => i.dir === "c2s").length} client items, ${items.filter((i) => i.dir === "s2c").length} server items captured\n`);
  try {
    const r = await replay(items, { target, timeoutMs, ...(values.password !== undefined ? { password: values.password } : {}), out: (l) => io.stdout.write(l + "\n") });
    return r.same ? 0 : 1;
  } catch (e) {
    if (e instanceof ReplayConnectError) {
      io.stderr.write(`pb-inspect: cannot connect to ${values.against}: ${e.message}\n`);
      return 3;
    }
    throw e;
  }
}

async function proxyCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...common,
      listen: { type: "string" },
      target: { type: "string" },
      save: { type: "string" },
      html: { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "target-tls": { type: "boolean" },
      "target-ca": { type: "string" },
      "target-servername": { type: "string" },
      "target-insecure": { type: "boolean" },
    },
  });
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
  const targetTlsAsked = values["target-tls"] || values["target-ca"] !== undefined || values["target-servername"] !== undefined || values["target-insecure"];
  const readPem = (path: string, what: string) => {
    if (!existsSync(path)) throw new InputError(`${what} ${path}: no such file`);
    return readFileSync(path);
  };
  const tls = values["tls-cert"] !== undefined ? { cert: readPem(values["tls-cert"], "--tls-cert"), key: readPem(values["tls-key"]!, "--tls-key") } : undefined;
  const targetTls = targetTlsAsked
    ? {
        ...(values["target-ca"] !== undefined ? { ca: readPem(values["target-ca"], "--target-ca") } : {}),
        ...(values["target-servername"] !== undefined ? { servername: values["target-servername"] } : {}),
        ...(values["target-insecure"] ? { insecure: true } : {}),
      }
    : undefined;
  if (positionals.length) throw new UsageError(`proxy takes no file arguments (got ${positionals.join(" ")})`);
  if (!values.listen || !values.target) throw new UsageError("proxy needs --listen HOST:PORT and --target HOST:PORT");
  let listen, target;
  try {
    listen = parseHostPort(values.listen);
    target = parseHostPort(values.target);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const proxy = await startProxy({
    listen,
    target,
    json: values.json,
    hex: values.hex,
    full: values.full,
    save: values.save,
    ...(values.html !== undefined ? { html: values.html } : {}),
    ...(tls ? { tls } : {}),
    ...(targetTls ? { targetTls } : {}),
    color: !values.json && shouldColor(io.stdout, colorMode(values.color, values["no-color"]), io.env),
    out: (line) => io.stdout.write(line + "\n"),
    log: (line) => io.stderr.write(line + "\n"),
  });
  io.stderr.write(
    `pb-inspect: listening on ${endpointName(proxy.address)}${tls ? " (TLS)" : ""}, forwarding to ${endpointName(target)}${targetTls ? ` (TLS${targetTls.insecure ? ", certificate NOT checked" : ""})` : ""}${values.save ? `, saving to ${values.save}` : ""} (Ctrl-C to stop)\n`,
  );
  const stop =
    io.stopSignal ??
    (() =>
      new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      }));
  await stop();
  await proxy.close();
  return 0;
}
