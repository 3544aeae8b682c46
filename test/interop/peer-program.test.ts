// interop/peer.py is the one Python peer program: every test, the harness, the cross-check, the
// benchmark and pb-inspect's tests start it with a role. Here: its roles are the modules that
// exist, and every server role starts and listens under every Twisted version present here (the
// Python 3 ones refuse Python 2 plainly), then ends when its stdin closes, as the drivers rely on.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { PyProcess } from "../../interop/pbpeers.ts";
import { TWISTED_VARIANTS, launcherFor, probe, spawnWith, type TwistedLauncher } from "../../interop/twisted-versions.ts";

const INTEROP = join(dirname(fileURLToPath(import.meta.url)), "../../interop");
const PEER = join(INTEROP, "peer.py");

const ROLES = [
  "bench", "cache-client", "cache-server", "conformance-client", "conformance-server", "crosscheck",
  "inspect-repr", "inspect-session", "legacy-client", "legacy-server", "live-client", "live-server",
];
const PY3_ONLY = new Set(["crosscheck", "bench", "inspect-repr", "inspect-session"]);

/** Each server role, its arguments, and what its listening line must name. */
const SERVERS: { role: string; args: string[]; ports: string[]; reportsTwisted: boolean }[] = [
  { role: "conformance-server", args: ["--lifetime", "30"], ports: ["root", "portal"], reportsTwisted: true },
  { role: "legacy-server", args: ["--timeout", "30"], ports: ["port"], reportsTwisted: true },
  { role: "live-server", args: ["--mode", "root", "--timeout", "30"], ports: ["port"], reportsTwisted: true },
  { role: "live-server", args: ["--mode", "portal", "--timeout", "30"], ports: ["port"], reportsTwisted: true },
  { role: "cache-server", args: ["--timeout", "30"], ports: ["port"], reportsTwisted: true },
  { role: "bench", args: ["server", "--timeout", "30"], ports: ["echoPort", "loginPort"], reportsTwisted: true },
  { role: "inspect-session", args: ["serve", "--port", "0", "--timeout", "30"], ports: ["port"], reportsTwisted: false },
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
    const modules = ["bench", "cache_client", "cache_server", "conformance_client", "conformance_server", "crosscheck", "inspect_repr", "inspect_session", "legacy", "live_client", "live_server"];
    for (const m of modules) expect(existsSync(join(INTEROP, "peers", `${m}.py`)), m).toBe(true);
  });
});

for (const variant of TWISTED_VARIANTS) {
  const launcher = launchers.get(variant)!;
  const present = typeof launcher !== "string";
  describe.skipIf(!present)(`interop/peer.py under Twisted ${variant}${present ? "" : ` (SKIPPED: ${launcher})`}`, () => {
    const l = launcher as TwistedLauncher;
    const py2 = l.python?.startsWith("2.") ?? false;

    it(`every server role ${py2 ? "that runs on Python 2 " : ""}listens, reports its version, and ends when stdin closes`, async () => {
      const servers = SERVERS.filter((s) => !(py2 && PY3_ONLY.has(s.role)));
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
    });
  });
}
