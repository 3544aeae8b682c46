// How PBClient.connect fails, whatever path the socket takes: a refused connection rejects with
// the socket's own error (ECONNREFUSED), not a PBConnectionLost; a server that accepts and hangs
// up before PB's handshake, or resets the connection, gives PBConnectionLost; a connect that
// succeeds leaves TCP_NODELAY on and the connection usable.
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { PBClient, PBConnectionLost, PBServer, Root } from "../../src/index.ts";

class EchoRoot extends Root {
  remote_echo(x: unknown) {
    return x;
  }
}

/** A port nobody listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A TCP server that does `what` with each connection, instead of speaking PB. */
async function rawServer(what: (socket: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const s = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    what(socket);
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  return {
    port: (s.address() as net.AddressInfo).port,
    close: () => {
      for (const k of sockets) k.destroy();
      return new Promise<void>((r) => s.close(() => r()));
    },
  };
}

describe("PBClient.connect outcomes", () => {
  it("a refused connection rejects with the socket's ECONNREFUSED error", async () => {
    const port = await deadPort();
    const e = (await PBClient.connect({ host: "127.0.0.1", port }, { timeout: 5000 }).catch((x: unknown) => x)) as NodeJS.ErrnoException;
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(PBConnectionLost);
    expect(e.code).toBe("ECONNREFUSED");
    expect(e.syscall).toBe("connect");
  });

  it("a server that hangs up before the handshake gives PBConnectionLost (clean close, then reset)", async () => {
    const closing = await rawServer((socket) => socket.end());
    const clean = await PBClient.connect({ host: "127.0.0.1", port: closing.port }, { timeout: 5000 }).catch((x: unknown) => x);
    expect(clean).toBeInstanceOf(PBConnectionLost);
    expect((clean as Error).message).toBe("Connection was closed cleanly.");
    await closing.close();
    // (Later than the connect: a reset before the client saw its connect is "connect ECONNRESET", the socket's own error.)
    const resetting = await rawServer((socket) => setTimeout(() => socket.resetAndDestroy(), 100));
    const reset = await PBClient.connect({ host: "127.0.0.1", port: resetting.port }, { timeout: 5000 }).catch((x: unknown) => x);
    expect(reset).toBeInstanceOf(PBConnectionLost);
    expect(((reset as Error).cause as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    await resetting.close();
  });

  it("connects, with TCP_NODELAY on the client's socket, and the connection works", async () => {
    const server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new EchoRoot() });
    const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
    const sym = Object.getOwnPropertySymbols(client.socket).find((s) => s.description === "kSetNoDelay");
    expect((client.socket as unknown as Record<symbol, unknown>)[sym!]).toBe(true);
    expect(await (await client.getRootObject()).callRemote("echo", "hi")).toBe("hi");
    await client.disconnect();
    await server.close(200);
  });
});
