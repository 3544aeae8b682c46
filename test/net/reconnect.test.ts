// ReconnectingPBClient: events for connect, login, disconnect, retry and give-up; a refused
// login stops it (by default) instead of retrying for ever; a connection that never gets past
// the handshake counts as a failed attempt.
import { describe, expect, it } from "vitest";
import {
  ANONYMOUS,
  ConnectTimeout,
  InMemoryPasswordChecker,
  PBServer,
  Portal,
  ReconnectingPBClient,
  LivenessTimeout,
  UnauthorizedLogin,
  UsernamePassword,
  type AvatarId,
  type Realm,
  type ReconnectEvents,
} from "../../src/index.ts";
import { NamedAvatar, freezableProxy, silentServer, until } from "./support.ts";

function portalServer(port = 0) {
  let attempts = 0;
  const realm: Realm = { requestAvatar: (id: AvatarId) => ["twisted.spread.pb.IPerspective", new NamedAvatar(id === ANONYMOUS ? "anon" : id), () => {}] };
  const checker = new InMemoryPasswordChecker({ alice: "secret" });
  const counting = {
    credentialInterfaces: checker.credentialInterfaces,
    requestAvatarId: (c: Parameters<typeof checker.requestAvatarId>[0]) => {
      attempts++;
      return checker.requestAvatarId(c);
    },
  };
  return PBServer.listen({ host: "127.0.0.1", port }, { root: new Portal(realm, [counting]) }).then((server) => ({ server, attempts: () => attempts }));
}

/** Records every event in order. */
function record(client: ReconnectingPBClient): string[] {
  const log: string[] = [];
  for (const name of ["connect", "login", "disconnect", "retry", "giveUp"] as (keyof ReconnectEvents)[]) client.on(name, () => log.push(name));
  return log;
}

describe("ReconnectingPBClient", () => {
  it("reports connect and login, then disconnect and retry when the server goes, and logs in again when it is back", async () => {
    let { server } = await portalServer();
    const port = server.port;
    await using client = new ReconnectingPBClient({ host: "127.0.0.1", port }, { credentials: new UsernamePassword("alice", "secret"), initialDelayMs: 20, maxDelayMs: 100 });
    const log = record(client);
    const sessions: string[] = [];
    client.on("login", async (s) => sessions.push(String(await s.avatar!.callRemote("whoami"))));
    client.start();
    await until(() => sessions.length === 1, 5000, "the first login");
    expect(log).toEqual(["connect", "login"]);
    await server.close(100);
    await until(() => log.includes("retry"), 5000, "a retry");
    expect(log.slice(0, 4)).toEqual(["connect", "login", "disconnect", "retry"]);
    ({ server } = await portalServer(port));
    await until(() => sessions.length === 2, 5000, "the second login");
    expect(sessions).toEqual(["alice", "alice"]);
    await client.stop();
    await server.close(100);
  });

  it("a refused login stops it with a clear error: one attempt, a giveUp event, no retry", async () => {
    const { server, attempts } = await portalServer();
    await using client = new ReconnectingPBClient({ host: "127.0.0.1", port: server.port }, { credentials: new UsernamePassword("alice", "wrong"), initialDelayMs: 10 });
    const log = record(client);
    const gaveUp = new Promise<Error>((r) => client.once("giveUp", r));
    client.start();
    const error = await gaveUp;
    expect((error as { check?: (t: unknown) => string | null }).check?.(UnauthorizedLogin)).toBe("twisted.cred.error.UnauthorizedLogin");
    await new Promise((r) => setTimeout(r, 150));
    expect(attempts()).toBe(1);
    expect(log).toEqual(["connect", "giveUp"]);
    expect(client.isStopped).toBe(true);
    expect(client.gaveUp).toBe(error);
    await server.close(100);
  });

  it("onLoginRefused: 'retry' keeps trying (for a password that will be fixed on the server)", async () => {
    const { server, attempts } = await portalServer();
    await using client = new ReconnectingPBClient({ host: "127.0.0.1", port: server.port }, { credentials: { username: "alice", password: "wrong" }, onLoginRefused: "retry", initialDelayMs: 10, maxDelayMs: 20 });
    const log = record(client);
    client.start();
    await until(() => attempts() >= 3, 5000, "three attempts");
    expect(log).not.toContain("giveUp");
    expect(log.filter((e) => e === "retry").length).toBeGreaterThanOrEqual(2);
    await client.stop();
    await server.close(100);
  });

  it("a server that never completes the handshake is a failed attempt (ConnectTimeout), retried, and maxAttempts gives up", async () => {
    const silent = await silentServer();
    await using client = new ReconnectingPBClient({ host: "127.0.0.1", port: silent.port }, { timeout: 80, initialDelayMs: 10, maxAttempts: 3 });
    const retries: (Error | undefined)[] = [];
    client.on("retry", (r) => retries.push(r.error));
    const log = record(client);
    const gaveUp = new Promise<Error>((r) => client.once("giveUp", r));
    client.start();
    const error = await gaveUp;
    expect(retries.length).toBe(2);
    expect(retries.every((e) => e instanceof ConnectTimeout)).toBe(true);
    expect(error.message).toMatch(/gave up after 3 failed attempts/);
    expect(error.cause).toBeInstanceOf(ConnectTimeout);
    expect(log).not.toContain("connect");
    await silent.close();
  });

  it("stop() during an attempt that hangs in the handshake gives it up at once", async () => {
    const silent = await silentServer();
    const client = new ReconnectingPBClient({ host: "127.0.0.1", port: silent.port }, { initialDelayMs: 10 });
    const log = record(client);
    client.start();
    await until(() => silent.sockets.size === 1, 2000, "the connection");
    await client.stop();
    await until(() => silent.sockets.size === 0, 2000, "the half-open socket to be closed");
    expect(log).toEqual([]);
    await silent.close();
  });

  it("with liveness, a server gone silent behind a proxy is noticed, and the client logs in again on a fresh connection", async () => {
    const { server } = await portalServer();
    const proxy = await freezableProxy(server.port);
    await using client = new ReconnectingPBClient(
      { host: "127.0.0.1", port: proxy.port },
      { credentials: new UsernamePassword("alice", "secret"), liveness: { interval: 80, timeout: 200 }, initialDelayMs: 10 },
    );
    const reasons: (Error | undefined)[] = [];
    client.on("disconnect", (r) => reasons.push(r));
    let logins = 0;
    client.on("login", () => logins++);
    client.start();
    await until(() => logins === 1, 5000, "the first login");
    proxy.freeze();
    await until(() => logins === 2, 5000, "the login after the liveness check dropped the frozen connection");
    expect(reasons[0]).toBeInstanceOf(LivenessTimeout);
    await client.stop();
    await proxy.close();
    await server.close(100);
  });
});
