// Helpers the net, cred and hostile-net tests share: servers that misbehave on purpose, polling.
import * as net from "node:net";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it is truthy (throws after `ms`). */
export async function until(check: () => unknown, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A server that accepts TCP connections and never sends a byte (no dialect offer). */
export async function silentServer(): Promise<{ port: number; sockets: Set<net.Socket>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A TCP proxy in front of `port` that can freeze: it keeps the connections it has but forwards nothing more on them (new connections work). */
export async function freezableProxy(port: number) {
  let frozen = new Set<net.Socket>();
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((down) => {
    const up = net.connect({ host: "127.0.0.1", port });
    const isFrozen = () => frozen.has(down);
    for (const s of [down, up]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    down.on("data", (d) => isFrozen() || up.write(d));
    up.on("data", (d) => isFrozen() || down.write(d));
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    freeze: () => (frozen = new Set(sockets)),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => r());
      }),
  };
}

/** Opens a raw TCP connection and resolves once it is connected. */
export function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("error", reject);
    s.once("connect", () => {
      s.off("error", reject);
      s.on("error", () => {});
      s.resume(); // read (and drop) what comes, so that the hang-up is seen
      resolve(s);
    });
  });
}

/** Resolves with how long `fn` took, in ms. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Swallows a promise's rejection (for calls fired at a peer that will be dropped). */
export function ignore(p: Promise<unknown> | undefined): void {
  p?.catch(() => {});
}

import { BananaDecoder } from "../../src/banana/decoder.ts";
import type { Sexp } from "../../src/banana/values.ts";
import { PBServer, Referenceable, Root, type PBClient } from "../../src/index.ts";

/** The message heads and first arguments (as text) a client receives from now on: ["decref", 1], ["error", 3], ... */
export function tapReceived(client: PBClient): [string, unknown][] {
  const seen: [string, unknown][] = [];
  const text = (x: Sexp | undefined) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : x);
  const decoder = new BananaDecoder((item) => {
    // our handshake is done when connect resolves; the server's version may still be on its way
    if (Array.isArray(item) && text(item[0] as Sexp) !== "version") seen.push([String(text(item[0] as Sexp)), text(item[1] as Sexp)]);
  }, { dialect: client.broker.negotiatedDialect });
  client.socket.on("data", (d: Buffer) => decoder.feed(d));
  return seen;
}

/** A root that completes PB's handshake and then never answers login or loginAnonymous. */
class NeverLoginRoot extends Root {
  remote_login(_name: unknown) {
    return new Promise(() => {});
  }
  remote_loginAnonymous(_mind: unknown) {
    return new Promise(() => {});
  }
}

/** A PB server on 127.0.0.1 (a port the OS picks) whose logins never answer. */
export function neverLoginServer(): Promise<PBServer> {
  return PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new NeverLoginRoot() });
}

/** An avatar that answers remote whoami() with the name it was made for. */
export class NamedAvatar extends Referenceable {
  constructor(readonly name: string) {
    super();
  }
  remote_whoami() {
    return this.name;
  }
}
