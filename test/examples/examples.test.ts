// Every file in examples/ runs against live Twisted (22.4 through /usr/bin/python3, or the
// Python the project finds) and prints what its comments promise.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, legacyVariantAvailable, LEGACY_RUN, makeCertificate, runTs, runTwistedClient, startTsServer, startTwistedServer, twistedResult, type Running } from "./support.ts";

const TESTED = new Set<string>();
const example = (name: string) => {
  TESTED.add(name);
  return join(ROOT, "examples", name);
};

async function ok(name: string, env: Record<string, string>): Promise<string> {
  const out = await runTs(example(name), env);
  expect(out.stderr).toBe("");
  expect(out.status).toBe(0);
  return out.stdout;
}

describe("examples/ as clients of a Twisted server", () => {
  let twisted: Running;
  let env: Record<string, string>;
  beforeAll(async () => {
    twisted = await startTwistedServer();
    env = { PB_PORT: String(twisted.ports[0]), PB_LOGIN_PORT: String(twisted.ports[1]) };
  });
  afterAll(async () => {
    await twisted?.stop();
  });

  it("login-with-mind.ts: logs in, and the server's avatar calls the mind back", async () => {
    const out = await ok("login-with-mind.ts", env);
    expect(out).toContain("logged in as alice");
    expect(out).toContain("server called us back: [ 1, 2, 3 ] and got [ 'ack 1', 'ack 2', 'ack 3' ]");
  });

  it("reconnecting-client.ts: reconnects after the server drops the connection", async () => {
    const out = await ok("reconnecting-client.ts", env);
    expect(out).toMatch(/connected \(#1\)[\s\S]*server says: bye[\s\S]*connection lost[\s\S]*retrying in 100 ms[\s\S]*connected \(#2\)[\s\S]*echo after reconnecting: Tuple\(1\) \[ 'second' \]/);
  });

  it("copyable.ts: a Twisted Copyable arrives as the registered RemoteCopy, ours arrives in Twisted", async () => {
    const out = await ok("copyable.ts", env);
    expect(out).toContain("received: true 1 2 norm 2.23606797749979");
    expect(out).toContain("Twisted got: ReceivedPoint at (3, 4)");
  });

  it("cacheable-client.ts: a Twisted Cacheable kept in sync", async () => {
    const out = await ok("cacheable-client.ts", env);
    expect(out).toContain("alice: 10");
    expect(out).toContain("same object when sent again: true");
    expect(out).toContain("goes back as the original: true");
  });

  it('values.ts: lossless values versus values: "js"', async () => {
    const out = await ok("values.ts", env);
    expect(out).toMatch(/lossless: \{\s*tuple: true,\s*float: 'PyFloat\(1\)',\s*text: 'text',\s*dict: 'Map\(k\)',\s*set: true\s*\}/);
    expect(out).toContain(`js: { tuple: true, float: 1, text: 'text', dict: '{"k":[1,2]}', set: true }`);
  });

  it("failures.ts: a Twisted failure read, checked and trapped; a call abandoned; a refused login", async () => {
    const out = await ok("failures.ts", env);
    expect(out).toContain("type: builtins.ValueError | value: bad value");
    expect(out).toContain("is a ValueError: true");
    expect(out).toContain("trapped: __main__.BuildFailed - no such branch: nope");
    expect(out).toContain("unknown method: twisted.spread.flavors.NoSuchMethod - No such method: remote_noSuchMethod");
    expect(out).toContain("abandoned: no answer to slow within 200 ms");
    expect(out).toContain("login refused: UnauthorizedLogin");
  });
});

describe("examples/ serving Twisted clients", () => {
  it("serve-portal.ts: a Twisted client logs in with a mind, which the avatar calls back", async () => {
    const server = await startTsServer(example("serve-portal.ts"));
    try {
      const result = twistedResult(await runTwistedClient(["login", String(server.ports[0])]));
      expect(result).toEqual({ whoami: "alice", ticks: [1, 2, 3], acks: ["ack 1", "ack 2", "ack 3"] });
    } finally {
      await server.stop();
    }
  });

  it("cacheable-server.ts: a Twisted client's RemoteCache follows our Cacheable", async () => {
    const server = await startTsServer(example("cacheable-server.ts"));
    try {
      const result = twistedResult(await runTwistedClient(["cache", String(server.ports[0])]));
      expect(result).toEqual({ seen: [20, 21.5, 22], celsius: 22 });
    } finally {
      await server.stop();
    }
  });
});

describe("examples/ over TLS, both roles", () => {
  let dir: string;
  let tls: { cert: string; key: string };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "twisted-pb-tls-"));
    tls = makeCertificate(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("tls-client.ts: to a Twisted listenSSL server, certificate verified, login included", async () => {
    const twisted = await startTwistedServer(tls);
    try {
      const out = await ok("tls-client.ts", { PB_PORT: String(twisted.ports[0]), PB_LOGIN_PORT: String(twisted.ports[1]), TLS_CA: tls.cert });
      expect(out).toContain("echo over TLS: Tuple(1) [ 'secure' ]");
      expect(out).toMatch(/protocol: TLSv1\.[23]/);
      expect(out).toContain("logged in over TLS as alice");
    } finally {
      await twisted.stop();
    }
  });

  it("tls-server.ts: a Twisted connectSSL client, verifying our certificate", async () => {
    const server = await startTsServer(example("tls-server.ts"), { TLS_CERT: tls.cert, TLS_KEY: tls.key });
    try {
      expect(twistedResult(await runTwistedClient(["echo", String(server.ports[0]), "--tls", tls.cert]))).toEqual([1, "two", "three"]);
    } finally {
      await server.stop();
    }
  });
});

// The client examples against the oldest and the newest Twisted we can run, when they are here.
for (const variant of ["py2-16.6.0", "py3-24.10.0rc1"]) {
  const available = legacyVariantAvailable(variant);
  if (!available) console.log(`skipped: the client examples against Twisted ${variant} (not runnable through ${LEGACY_RUN})`);
  describe.skipIf(!available)(`examples/ as clients of Twisted ${variant}`, () => {
    let twisted: Running;
    let env: Record<string, string>;
    beforeAll(async () => {
      twisted = await startTwistedServer(undefined, variant);
      env = { PB_PORT: String(twisted.ports[0]), PB_LOGIN_PORT: String(twisted.ports[1]) };
    });
    afterAll(async () => {
      await twisted?.stop();
    });
    const expectations: Record<string, string> = {
      "login-with-mind.ts": "server called us back: [ 1, 2, 3 ] and got [ 'ack 1', 'ack 2', 'ack 3' ]",
      "reconnecting-client.ts": "echo after reconnecting: Tuple(1) [ 'second' ]",
      "copyable.ts": "Twisted got: ReceivedPoint at (3, 4)",
      "cacheable-client.ts": "goes back as the original: true",
      "values.ts": `js: { tuple: true, float: 1, text: 'text', dict: '{"k":[1,2]}', set: true }`,
      "failures.ts": "login refused: UnauthorizedLogin",
    };
    for (const [name, line] of Object.entries(expectations)) {
      it(name, async () => {
        expect(await ok(name, env)).toContain(line);
      });
    }

    it(`serve-portal.ts and cacheable-server.ts serve a Twisted ${variant} client`, async () => {
      const portal = await startTsServer(example("serve-portal.ts"));
      try {
        expect(twistedResult(await runTwistedClient(["login", String(portal.ports[0])], 45_000, variant))).toEqual({ whoami: "alice", ticks: [1, 2, 3], acks: ["ack 1", "ack 2", "ack 3"] });
      } finally {
        await portal.stop();
      }
      const cache = await startTsServer(example("cacheable-server.ts"));
      try {
        expect(twistedResult(await runTwistedClient(["cache", String(cache.ports[0])], 45_000, variant))).toEqual({ seen: [20, 21.5, 22], celsius: 22 });
      } finally {
        await cache.stop();
      }
    });
  });
}

describe("examples/", () => {
  it("every example is exercised above", () => {
    const all = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".ts"));
    expect(all.filter((f) => !TESTED.has(f))).toEqual([]);
  });
});
