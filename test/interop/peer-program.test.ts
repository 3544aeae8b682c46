// interop/peer.py is the one Python peer program: every test, the harness, the cross-check, the
// benchmark and pb-inspect's tests start it with a role. Here: its roles are the modules that
// exist, and every server role starts and listens under every Twisted version present here (the
// Python 3 ones refuse Python 2 plainly), then ends when its stdin closes, as the drivers rely on.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { PyProcess } from "../../interop/pbpeers.ts";
import { loadScenarios } from "../../interop/conformance/scenario.ts";
import { TWISTED_VARIANTS, launcherFor, probe, spawnWith, type TwistedLauncher } from "../../interop/twisted-versions.ts";

const INTEROP = join(dirname(fileURLToPath(import.meta.url)), "../../interop");
const PEER = join(INTEROP, "peer.py");

const ROLES = [
  "bench", "cache-client", "conformance-client", "crosscheck", "inspect-repr", "inspect-session",
  "legacy-client", "live-client", "serve",
];
const PY3_ONLY = new Set(["crosscheck", "bench", "inspect-repr", "inspect-session"]);

/** Each server role, its arguments, and what its listening line must name. */
const SERVERS: { role: string; args: string[]; ports: string[]; reportsTwisted: boolean }[] = [
  { role: "serve", args: ["root", "portal", "cache", "--lifetime", "30"], ports: ["root", "portal", "cache"], reportsTwisted: true },
  { role: "serve", args: ["legacy", "--timeout", "30"], ports: ["legacy"], reportsTwisted: true },
  { role: "serve", args: ["live-root", "--timeout", "30", "--pb-version", "5"], ports: ["live-root"], reportsTwisted: true },
  { role: "serve", args: ["live-portal", "--timeout", "30", "--mind-calls", "2", "--no-anonymous"], ports: ["live-portal"], reportsTwisted: true },
  { role: "serve", args: ["bench-echo", "bench-login", "--timeout", "30"], ports: ["bench-echo", "bench-login"], reportsTwisted: true },
  { role: "serve", args: ["inspect", "--port", "0", "--timeout", "30"], ports: ["inspect"], reportsTwisted: true },
];

const launchers = new Map<string, TwistedLauncher | string>();
for (const v of TWISTED_VARIANTS) {
  const l = launcherFor(v);
  launchers.set(v, "missing" in l ? l.missing : (probe(l) ?? `its Python cannot import Twisted (${l.command})`));
}
const anyPresent = [...launchers.values()].find((l): l is TwistedLauncher => typeof l !== "string");

const started: PyProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
});

describe.skipIf(!anyPresent)("interop/peer.py: one program, roles by argument", () => {
  it("lists its roles when given none or an unknown one, and each role's module exists", () => {
    const l = anyPresent!;
    for (const args of [[], ["no-such-role"]]) {
      const r = spawnSync(l.command, [...l.args, PEER, ...args], { encoding: "utf8", timeout: 20_000, env: { ...process.env, ...l.env } });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`ROLE one of: ${ROLES.join(", ")}`);
    }
    const modules = ["bench", "cache_client", "conformance_client", "crosscheck", "inspect_repr", "inspect_session", "legacy", "live_client", "live_server", "server"];
    for (const m of modules) expect(existsSync(join(INTEROP, "peers", `${m}.py`)), m).toBe(true);
  });

  it("serve's roots are the catalogue's: every scenario's server is a declared root, every root's factory module exists, an unknown root is refused", () => {
    const roots = (JSON.parse(readFileSync(join(INTEROP, "conformance", "roots.json"), "utf8")) as { roots: Record<string, { factory: string }> }).roots;
    for (const s of loadScenarios()) expect(Object.keys(roots), s.name).toContain(s.server);
    for (const [name, r] of Object.entries(roots)) {
      const module = r.factory.slice(0, r.factory.lastIndexOf("."));
      expect(existsSync(join(INTEROP, "peers", `${module}.py`)), name).toBe(true);
    }
    const l = anyPresent!;
    const r = spawnSync(l.command, [...l.args, PEER, "serve", "no-such-root"], { encoding: "utf8", timeout: 20_000, env: { ...process.env, ...l.env } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("serve: unknown root 'no-such-root'");
    expect(r.stderr).toContain("has: bench-echo, bench-login, cache, inspect, legacy, live-portal, live-root, portal, root");
  });
});

for (const variant of TWISTED_VARIANTS) {
  const launcher = launchers.get(variant)!;
  const present = typeof launcher !== "string";
  describe.skipIf(!present)(`interop/peer.py under Twisted ${variant}${present ? "" : ` (SKIPPED: ${launcher})`}`, () => {
    const l = launcher as TwistedLauncher;
    const py2 = l.python?.startsWith("2.") ?? false;

    it(`every server role ${py2 ? "that runs on Python 2 " : ""}listens, reports its version, and ends when stdin closes`, async () => {
      const servers = SERVERS.filter((s) => !(py2 && (PY3_ONLY.has(s.role) || ["inspect", "bench-echo"].includes(s.args[0]))));
      const procs = servers.map((s) => spawnWith(l, `${variant} ${s.role}`, PEER, [s.role, ...s.args]));
      started.push(...procs);
      const lines = await Promise.all(procs.map((p) => p.waitForEvent("listening", () => true, 30_000)));
      servers.forEach((s, i) => {
        for (const key of s.ports) expect(lines[i][key], `${s.role} ${key}`).toBeGreaterThan(0);
        if (s.reportsTwisted) expect(lines[i].twisted, s.role).toBe(l.twisted);
      });
      const codes = await Promise.all(
        procs.map((p) => {
          p.child.stdin.end();
          return Promise.race([p.exited, new Promise<string>((r) => setTimeout(() => r("still running"), 10_000).unref())]);
        }),
      );
      expect(codes).toEqual(servers.map(() => 0));
    });

    if (py2) it("the Python 3 roles refuse Python 2 with a plain message", () => {
      for (const role of PY3_ONLY) {
        const r = spawnSync(l.command, [...l.args, PEER, role], { encoding: "utf8", timeout: 20_000, env: { ...process.env, ...l.env } });
        expect(r.status, role).toBe(2);
        expect(r.stderr).toContain(`peer.py ${role} needs Python 3`);
      }
      const r = spawnSync(l.command, [...l.args, PEER, "serve", "inspect"], { encoding: "utf8", timeout: 20_000, env: { ...process.env, ...l.env } });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("serve: root inspect needs Python 3");
    });
  });
}
