// Raw-socket baselines for scripts/bench-pb.ts: a Node client and a Node server, each its own
// process, exchanging over TCP the very bytes PB exchanges, with no PB at all. What PB costs is
// then what it costs beyond these.
//
//   - ping-pong: the bytes of a small call (`echo(7)`), then the bytes of its answer, one round
//     trip at a time;
//   - login: the byte sequence of a full login (dialect offer and choice, versions, the root
//     reference, login, challenge, response, avatar), on a new connection each time, each side
//     writing its turn once it has received the other side's, then the client hangs up.
//
// The bytes are captured from a PB session over TCP in this process (captureScripts), so they are
// the sizes and round trips PB really uses. The server reports its CPU time on a control port, so both sides'
// CPU per operation can be given, as bench-pb.ts gives them for PB.
//
// Roles (spawned by bench-pb.ts): --role=raw-server --script=FILE, --role=raw-client --script=FILE
// --port=P --control-port=C --config=JSON. Not a test: timings depend on the machine.
import { writeFileSync } from "node:fs";
import { cpuNow, type CpuReading } from "./thread-cpu.ts";
import * as net from "node:net";
import { Avatar, IPerspective, InMemoryPasswordChecker, PBClient, PBServer, Portal, Root, type AvatarId, type LoginResult, type Realm } from "../src/index.ts";

/** One side's turn: the bytes one side writes before the other answers. */
export interface Step {
  from: "c" | "s";
  hex: string;
}

export interface RawScripts {
  /** The request and the answer of one small call. */
  call: Step[];
  /** A whole login, turn by turn. */
  login: Step[];
}

function merge(writes: { from: "c" | "s"; data: Uint8Array }[]): Step[] {
  const steps: Step[] = [];
  for (const w of writes) {
    const hex = Buffer.from(w.data).toString("hex");
    const last = steps[steps.length - 1];
    if (last && last.from === w.from) last.hex += hex;
    else steps.push({ from: w.from, hex });
  }
  return steps;
}

/**
 * Records the bytes of a small call and of a full login as PB sends them over TCP (in this
 * process, 127.0.0.1), write by write: the turns are those of real sockets, where a side's
 * writes in one event-loop turn leave together.
 */
export async function captureScripts(username: string, password: string, small: number): Promise<RawScripts> {
  class EchoRoot extends Root {
    remote_echo(x: unknown) {
      return x;
    }
  }
  class User extends Avatar {}
  const realm: Realm = {
    requestAvatar(_id: AvatarId, _mind: unknown, ...interfaces: string[]): LoginResult {
      if (!interfaces.includes(IPerspective)) throw new Error("no IPerspective");
      return [IPerspective, new User(), () => {}];
    },
  };
  const portal = new Portal(realm, [new InMemoryPasswordChecker({ [username]: password })]);
  const echo = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot() });
  const logins = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: portal });
  const serverPorts = new Set([echo.port, logins.port]);
  let writes: { from: "c" | "s"; data: Uint8Array }[] = [];
  let recording = false;
  const original = net.Socket.prototype.write;
  net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
    const data = args[0];
    if (recording && data instanceof Uint8Array) writes.push({ from: serverPorts.has(this.localPort ?? -1) ? "s" : "c", data: Uint8Array.from(data) });
    return (original as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof original;
  try {
    const client = await PBClient.connect({ host: "127.0.0.1", port: echo.port });
    const root = await client.getRootObject();
    await root.callRemote("echo", small);
    recording = true;
    await root.callRemote("echo", small);
    await new Promise((r) => setTimeout(r, 20));
    recording = false;
    await client.disconnect();
    const call = merge(writes);
    writes = [];
    recording = true;
    const c2 = await PBClient.connect({ host: "127.0.0.1", port: logins.port });
    await c2.login(username, password);
    await c2.disconnect();
    await new Promise((r) => setTimeout(r, 50));
    recording = false;
    return { call, login: merge(writes) };
  } finally {
    net.Socket.prototype.write = original;
    await Promise.all([echo.close(100), logins.close(100)]);
  }
}

// ---- the processes ----------------------------------------------------------------------------

interface ScriptBytes {
  from: "c" | "s";
  bytes: Buffer;
}

function toBytes(steps: Step[]): ScriptBytes[] {
  return steps.map((s) => ({ from: s.from, bytes: Buffer.from(s.hex, "hex") }));
}

/** Plays `me`'s side of `script` on `socket`: writes my turns, waits for the other side's bytes (only counted), then `done`. */
function play(socket: net.Socket, script: ScriptBytes[], me: "c" | "s", done: () => void): void {
  let step = 0;
  let need = 0;
  const advance = () => {
    while (step < script.length && script[step].from === me) socket.write(script[step++].bytes);
    if (step >= script.length) return done();
    need = script[step].bytes.length;
  };
  socket.on("data", (chunk: Buffer) => {
    let n = chunk.length;
    while (n > 0 && step < script.length) {
      const take = Math.min(n, need);
      need -= take;
      n -= take;
      if (need === 0) {
        step++;
        advance();
      }
    }
  });
  advance();
}

export function rawServer(scripts: RawScripts): Promise<{ port: number; loginPort: number; controlPort: number; close(): void }> {
  const call = toBytes(scripts.call);
  const loginScript = toBytes(scripts.login);
  const request = call.filter((s) => s.from === "c").reduce((n, s) => n + s.bytes.length, 0);
  const answer = Buffer.concat(call.filter((s) => s.from === "s").map((s) => s.bytes));
  // Ping-pong: each whole request gets the answer (requests may arrive split or joined).
  const pingPong = net.createServer((socket) => {
    socket.setNoDelay(true);
    let have = 0;
    socket.on("data", (chunk: Buffer) => {
      have += chunk.length;
      while (have >= request) {
        have -= request;
        socket.write(answer);
      }
    });
    socket.on("error", () => {});
  });
  const logins = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    play(socket, loginScript, "s", () => {});
    socket.on("end", () => socket.end());
  });
  const control = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.end(JSON.stringify({ ...cpuNow(), rss: process.memoryUsage().rss }) + "\n");
  });
  const listen = (s: net.Server) => new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as net.AddressInfo).port)));
  return Promise.all([listen(pingPong), listen(logins), listen(control)]).then(([port, loginPort, controlPort]) => ({
    port,
    loginPort,
    controlPort,
    close() {
      pingPong.close();
      logins.close();
      control.close();
    },
  }));
}

/** The raw server's CPU seconds so far (its control port), and its main thread's where known. */
export function serverCpu(controlPort: number): Promise<CpuReading> {
  return new Promise((resolve, reject) => {
    const s = net.connect(controlPort, "127.0.0.1");
    let text = "";
    s.setEncoding("utf8");
    s.on("data", (d) => (text += d));
    s.on("end", () => {
      const { total, main } = JSON.parse(text) as CpuReading;
      resolve(main === undefined ? { total } : { total, main });
    });
    s.on("error", reject);
  });
}

/** One ping-pong round trip on an open connection, as a function returning a promise. */
export function pingPonger(socket: net.Socket, scripts: RawScripts): () => Promise<void> {
  const request = Buffer.concat(toBytes(scripts.call).filter((s) => s.from === "c").map((s) => s.bytes));
  const answerLength = toBytes(scripts.call)
    .filter((s) => s.from === "s")
    .reduce((n, s) => n + s.bytes.length, 0);
  const waiting: (() => void)[] = [];
  let have = 0;
  socket.on("data", (chunk: Buffer) => {
    have += chunk.length;
    while (have >= answerLength && waiting.length) {
      have -= answerLength;
      waiting.shift()!();
    }
  });
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      socket.write(request);
    });
}

/** A full raw login on a new connection: the script, then the client hangs up and waits for the close. */
export function rawLogin(port: number, scripts: RawScripts): Promise<void> {
  const script = toBytes(scripts.login);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    socket.on("error", reject);
    socket.on("close", () => resolve());
    socket.on("connect", () => play(socket, script, "c", () => socket.end()));
  });
}

export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.setNoDelay(true);
    s.on("error", reject);
  });
}

export function saveScripts(file: string, scripts: RawScripts): void {
  writeFileSync(file, JSON.stringify(scripts) + "\n");
}
