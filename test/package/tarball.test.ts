// What a user gets from npm: the packed tarball, installed into a fresh project outside the
// checkout with only the runtime dependencies, used from plain Node (ESM and require), from
// strict TypeScript (node16 and bundler resolution, no skipLibCheck) and through its bin.
import { spawn, spawnSync, type SpawnSyncOptions } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTwistedServer, type Running } from "../examples/support.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string; dependencies: Record<string, string> };

// npm run by `npm test` passes its own settings down as npm_config_*; the child npm must act as
// a user's would (no --dry-run, no workspace settings leaking in).
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, NO_COLOR: "1", NODE_OPTIONS: "" };
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions & { timeout: number }) {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: cleanEnv(), ...opts });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  return { status: r.status, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? ""), out };
}

function mustRun(cmd: string, args: string[], opts: SpawnSyncOptions & { timeout: number }) {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.out}`);
  return r;
}

let work: string;
let consumer: string;
let tarball: string;
let packedFiles: string[];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "twisted-pb-pack-"));
  // `npm pack` runs prepack, which builds dist/ from src/.
  const packed = mustRun("npm", ["pack", "--json", "--pack-destination", work], { cwd: ROOT, timeout: 120_000 });
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, info[0].filename);
  packedFiles = info[0].files.map((f) => f.path).sort();

  consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }, null, 2));
  // --omit=dev: a user's install. The package's devDependencies are never installed anyway;
  // this also keeps the consumer itself free of anything but the tarball and its dependencies.
  mustRun("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", "--no-package-lock", tarball], {
    cwd: consumer,
    timeout: 120_000,
  });
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the tarball", () => {
  it("holds dist/, the bin, README.md, LICENSE, CHANGELOG.md and package.json only", () => {
    const allowedTop = new Set(["README.md", "LICENSE", "CHANGELOG.md", "package.json"]);
    const stray = packedFiles.filter((f) => !(f.startsWith("dist/") || f.startsWith("bin/") || allowedTop.has(f)));
    expect(stray).toEqual([]);
    for (const dir of ["test/", "fixtures/", ".ci/", "interop/", "scripts/", "src/", "node_modules/", "reports/"]) {
      expect(packedFiles.filter((f) => f.startsWith(dir))).toEqual([]);
    }
    // TypeScript sources belong to src/, which is not shipped: only declarations.
    expect(packedFiles.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    for (const f of ["LICENSE", "README.md", "CHANGELOG.md", "dist/index.js", "dist/index.d.ts", "dist/core.js", "dist/core.d.ts", "dist/inspect/index.js", "dist/inspect/cli.js"]) {
      expect(packedFiles).toContain(f);
    }
  });

  it("installs with zod as its only dependency (npm ls --omit=dev)", () => {
    expect(Object.keys(PKG.dependencies)).toEqual(["zod"]);
    const r = mustRun("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: consumer, timeout: 60_000 });
    const names = r.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((p) => p.slice(p.lastIndexOf("node_modules") + "node_modules/".length))
      .sort();
    expect(names).toEqual(["twisted-pb", "zod"]);
  });

  it("every exports target and main/types exist in the installed package", () => {
    const installed = join(consumer, "node_modules", "twisted-pb");
    const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as {
      main: string;
      types: string;
      exports: Record<string, string | Record<string, string>>;
    };
    const targets = [pkg.main, pkg.types];
    for (const v of Object.values(pkg.exports)) targets.push(...(typeof v === "string" ? [v] : Object.values(v)));
    for (const t of targets) expect(existsSync(join(installed, t)), t).toBe(true);
  });
});

describe("the bundled JavaScript", () => {
  const installedDist = () => join(consumer, "node_modules", "twisted-pb", "dist");
  const filesIn = (dir: string) =>
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
      .sort();

  it("is the four entry points and their shared chunks, each with its source map; every module's .d.ts is kept", () => {
    const files = filesIn(installedDist());
    const js = files.filter((f) => f.endsWith(".js"));
    const entries = ["core.js", "index.js", "inspect/cli.js", "inspect/index.js"];
    expect(js.filter((f) => !f.startsWith("chunks/"))).toEqual(entries);
    expect(js.filter((f) => f.startsWith("chunks/")).length).toBeGreaterThan(0);
    for (const f of js) expect(files, f).toContain(`${f}.map`);
    // tsc's declarations, a file per module, for editors and strict TypeScript (tested below).
    for (const d of ["index.d.ts", "core.d.ts", "pb/broker.d.ts", "banana/decoder.d.ts", "jelly/jelly.d.ts", "net/server.d.ts", "cred/portal.d.ts", "inspect/index.d.ts"]) {
      expect(files, d).toContain(d);
    }
  });

  it("keeps every exported function's and class's name, the namespaces' members too (stack traces, util.inspect and remote errors show them)", async () => {
    // What the installed entries' functions are called, against the same exports of the sources:
    // bundling renames shared top-level names and self-referring classes unless told not to.
    const namesOf = `const names = (mod) => { const out = {};
  for (const [k, v] of Object.entries(mod)) {
    if (typeof v === "function") out[k] = v.name;
    else if (k === "banana" || k === "jelly") for (const [k2, v2] of Object.entries(v)) if (typeof v2 === "function") out[k + "." + k2] = v2.name;
  }
  return out; };`;
    writeFileSync(
      join(consumer, "names.mjs"),
      `${namesOf}
console.log(JSON.stringify({ main: names(await import("twisted-pb")), core: names(await import("twisted-pb/core")), inspect: names(await import("twisted-pb/inspect")) }));
`,
    );
    const installed = JSON.parse(mustRun(process.execPath, ["names.mjs"], { cwd: consumer, timeout: 30_000 }).stdout.trim()) as Record<string, Record<string, string>>;
    const names = new Function("mod", `${namesOf} return names(mod);`) as (mod: object) => Record<string, string>;
    const sources = {
      main: names(await import("../../src/index.ts")),
      core: names(await import("../../src/core.ts")),
      inspect: names(await import("../../src/inspect/index.ts")),
    };
    expect(installed).toEqual(sources);
    expect(Object.keys(installed.main).length).toBeGreaterThan(150);
    expect(installed.main.PBClient).toBe("PBClient");
    expect(installed.main.CopiedFailure).toBe("CopiedFailure");
  });

  it("twisted-pb/core as installed still bundles for a browser: its chunks import no Node built-in", async () => {
    const result = await build({
      entryPoints: [join(installedDist(), "core.js")],
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.entries(result.metafile.inputs);
    expect(inputs.flatMap(([path, input]) => input.imports.filter((i) => i.path.startsWith("node:") || i.external).map((i) => `${path} -> ${i.path}`))).toEqual([]);
    expect(inputs.some(([path]) => path.includes("/chunks/"))).toBe(true);
  });

  it("a stack trace through the installed package leads back to src/*.ts with --enable-source-maps", () => {
    writeFileSync(
      join(consumer, "stack.mjs"),
      `import { loads } from "twisted-pb";
try { loads(Uint8Array.of(0x01, 0xff)); } catch (e) { console.log(e.stack); }
`,
    );
    const mapped = mustRun(process.execPath, ["--enable-source-maps", "stack.mjs"], { cwd: consumer, timeout: 30_000 });
    expect(mapped.stdout).toMatch(/^BananaError: Invalid Type Byte 0xff/);
    expect(mapped.stdout).toMatch(/at BananaDecoder\.feed \(.*src\/banana\/decoder\.ts:\d+:\d+\)/);
    const unmapped = mustRun(process.execPath, ["stack.mjs"], { cwd: consumer, timeout: 30_000 });
    expect(unmapped.stdout).toMatch(/at BananaDecoder\.feed \(.*dist\/chunks\/chunk-[\w-]+\.js:\d+:\d+\)/);
  });
});

describe("used from plain Node", () => {
  it("an ESM script starts a twisted-pb server and calls it with a twisted-pb client, with login", () => {
    writeFileSync(
      join(consumer, "roundtrip.mjs"),
      `import { PBServer, PBClient, Root, Portal, Avatar, IPerspective, InMemoryPasswordChecker, tuple, CopiedFailure } from "twisted-pb";
class Echo extends Root { remote_echo(...args) { return tuple(...args); } }
class User extends Avatar {
  constructor(name) { super(); this.name = name; }
  perspective_whoami() { return this.name; }
  perspective_fail() { throw new Error("nope"); }
}
const portal = new Portal(
  { requestAvatar: (id, mind, iface) => [IPerspective, new User(String(id)), () => {}] },
  [new InMemoryPasswordChecker({ alice: "secret" })],
);
const server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Echo() });
const loginServer = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: portal });
const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
const root = await client.getRootObject();
const echoed = await root.callRemote("echo", 1, "hi", 2.5);
const other = await PBClient.connect({ host: "127.0.0.1", port: loginServer.port });
const avatar = await other.login("alice", "secret");
const who = await avatar.callRemote("whoami");
let failure = null;
try { await avatar.callRemote("fail"); } catch (e) { failure = e instanceof CopiedFailure ? String(e.value ?? e.message) : "other"; }
await client.disconnect(); await other.disconnect();
await server.close(); await loginServer.close();
console.log(JSON.stringify({ echoed: [...echoed], who, failure }));
`,
    );
    const r = mustRun(process.execPath, ["roundtrip.mjs"], { cwd: consumer, timeout: 30_000 });
    const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as { echoed: unknown[]; who: string; failure: string };
    expect(result.echoed).toEqual([1, "hi", 2.5]);
    expect(result.who).toBe("alice");
    expect(result.failure).toContain("nope");
  });

  it("CommonJS: require('twisted-pb') and require('twisted-pb/core') work (Node's require of ESM)", () => {
    writeFileSync(
      join(consumer, "cjs.cjs"),
      `const pb = require("twisted-pb");
const core = require("twisted-pb/core");
const bytes = pb.dumps(pb.tuple(1, "two", 3.5));
console.log(JSON.stringify({ client: typeof pb.PBClient, same: core.Broker === pb.Broker, back: [...pb.loads(bytes)] }));
`,
    );
    const r = mustRun(process.execPath, ["cjs.cjs"], { cwd: consumer, timeout: 30_000 });
    expect(JSON.parse(r.stdout.trim())).toEqual({ client: "function", same: true, back: [1, "two", 3.5] });
    expect(r.stderr).not.toMatch(/Error/);
  });

  it("the installed pb-inspect runs from compiled JavaScript (npx pb-inspect --help, and a decode)", () => {
    const bin = join(consumer, "node_modules", ".bin", "pb-inspect");
    expect(existsSync(bin)).toBe(true);
    // No devDependency is installed here: tsx, typescript and vitest are absent.
    for (const dev of ["tsx", "typescript", "vitest"]) expect(existsSync(join(consumer, "node_modules", dev)), dev).toBe(false);
    const help = mustRun("npx", ["--no-install", "pb-inspect", "--help"], { cwd: consumer, timeout: 60_000 });
    expect(help.stdout).toContain("pb-inspect decode");
    const decoded = mustRun("npx", ["--no-install", "pb-inspect", "decode", join(ROOT, "fixtures", "versions", "debian-22.4")], {
      cwd: consumer,
      timeout: 60_000,
    });
    expect(decoded.stdout).toContain("dialect chosen: pb");
    expect(decoded.stdout).toMatch(/answer #\d+ \(root\.login\)/);
  }, 180_000);
});

describe("used from strict TypeScript (no skipLibCheck)", () => {
  const consumerTs = `import { PBClient, PBServer, Root, tuple, kwargs, CopiedFailure, type RemoteReference } from "twisted-pb";
import { Broker, connectInMemory, banana } from "twisted-pb/core";
import { Session } from "twisted-pb/inspect";

class Echo extends Root {
  remote_echo(...args: unknown[]) {
    return tuple(...args);
  }
}

export async function main(): Promise<unknown> {
  const server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: new Echo() });
  const client = await PBClient.connect({ host: "127.0.0.1", port: server.port });
  const root: RemoteReference = await client.getRootObject();
  try {
    return await root.callRemote("echo", 1, kwargs({ k: "v" }));
  } catch (e) {
    if (e instanceof CopiedFailure) return e.check("exceptions.ValueError");
    throw e;
  } finally {
    await client.disconnect();
    await server.close();
  }
}
export const kinds: [typeof Broker, typeof connectInMemory, Uint8Array, typeof Session] = [Broker, connectInMemory, banana.encode(1), Session];
// @ts-expect-error: a wrong argument type must be a compile error (the types are real, not any)
PBClient.connect({ host: 1 });
`;
  // The core entry needs no @types/node: a browser project (DOM lib, no Node types) compiles.
  const browserTs = `import { Broker, connectInMemory, dumps, loads, tuple } from "twisted-pb/core";
const bytes: Uint8Array = dumps(tuple(1, "a"));
export const back: unknown = loads(bytes);
export const make = (): [Broker, Broker] => [new Broker({ role: "initiator" }), new Broker({ role: "listener" })];
export { connectInMemory };
`;

  // The three compiles run at once (each is a separate tsc process checking every .d.ts).
  function compile(name: string, compilerOptions: Record<string, unknown>, source: string): Promise<{ status: number | null; out: string }> {
    const dir = join(consumer, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "main.ts"), source);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, skipLibCheck: false, noEmit: true, target: "ES2022", exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, ...compilerOptions },
        files: ["main.ts"],
      }),
    );
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [TSC, "-p", dir], { cwd: dir, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 150_000);
      child.once("error", reject);
      child.once("close", (status) => {
        clearTimeout(timer);
        resolve({ status, out });
      });
    });
  }

  // A CommonJS TypeScript project: TypeScript 5.8+ with module "nodenext" lets it import the
  // ESM package (compiled to require(), which Node 20.19+ runs); "node16" refuses (TS1479).
  const cjsTs = `import { PBClient, dumps, loads, tuple } from "twisted-pb";
export const connect = (port: number): Promise<PBClient> => PBClient.connect({ host: "127.0.0.1", port });
console.log(JSON.stringify([...(loads(dumps(tuple(1, "two"))) as unknown[])]));
`;

  let compiled: Record<"node16" | "bundler" | "browser" | "cjs", { status: number | null; out: string }>;
  beforeAll(async () => {
    mkdirSync(join(consumer, "ts-cjs"), { recursive: true });
    writeFileSync(join(consumer, "ts-cjs", "package.json"), JSON.stringify({ type: "commonjs" }));
    const [node16, bundler, browser, cjs] = await Promise.all([
      compile("ts-node16", { module: "node16", moduleResolution: "node16", ...nodeTypes }, consumerTs),
      compile("ts-bundler", { module: "esnext", moduleResolution: "bundler", ...nodeTypes }, consumerTs),
      compile("ts-browser", { module: "esnext", moduleResolution: "bundler", lib: ["ES2022", "DOM"], types: [] }, browserTs),
      compile("ts-cjs", { module: "nodenext", moduleResolution: "nodenext", noEmit: false, outDir: "out", ...nodeTypes }, cjsTs),
    ]);
    compiled = { node16, bundler, browser, cjs };
  }, 200_000);

  // @types/node comes from the checkout (the user's project would have its own).
  const nodeTypes = { typeRoots: [join(ROOT, "node_modules", "@types")], types: ["node"] };

  it("moduleResolution node16", () => {
    const r = compiled.node16;
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
  }, 180_000);

  it("moduleResolution bundler", () => {
    const r = compiled.bundler;
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
  }, 180_000);

  it("twisted-pb/core in a browser project without @types/node (bundler resolution, DOM lib)", () => {
    const r = compiled.browser;
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
  }, 180_000);

  it("a CommonJS TypeScript project (module nodenext) compiles to require() and runs", () => {
    expect(compiled.cjs.out).toBe("");
    expect(compiled.cjs.status).toBe(0);
    const js = readFileSync(join(consumer, "ts-cjs", "out", "main.js"), "utf8");
    expect(js).toContain('require("twisted-pb")');
    const r = mustRun(process.execPath, [join(consumer, "ts-cjs", "out", "main.js")], { cwd: consumer, timeout: 30_000 });
    expect(r.stdout.trim()).toBe('[1,"two"]');
  });

  // No separate "a type error is reported" compile: the consumer's @ts-expect-error line fails
  // the two compiles above if the declarations ever degrade to `any`.

  it("installed files list", () => {
    expect(readdirSync(join(consumer, "node_modules", "twisted-pb")).sort()).toEqual(["CHANGELOG.md", "LICENSE", "README.md", "bin", "dist", "package.json"]);
  });
});

describe("examples/ unchanged against the installed package", () => {
  // Each client example, with its types stripped (as a user's build would), run by plain Node
  // in the consumer project: "twisted-pb" is the installed tarball there, not src/.
  const CLIENT_EXAMPLES: Record<string, string> = {
    "login-with-mind.ts": "server called us back: [ 1, 2, 3 ]",
    "reconnecting-client.ts": "echo after reconnecting: Tuple(1) [ 'second' ]",
    "copyable.ts": "Twisted got: ReceivedPoint at (3, 4)",
    "cacheable-client.ts": "goes back as the original: true",
    "values.ts": "js: { tuple: true, float: 1",
    "failures.ts": "login refused: UnauthorizedLogin",
  };
  let twisted: Running;
  beforeAll(async () => {
    twisted = await startTwistedServer();
  });
  afterAll(async () => {
    await twisted?.stop();
  });

  for (const [name, expected] of Object.entries(CLIENT_EXAMPLES)) {
    it(name, () => {
      const source = readFileSync(join(ROOT, "examples", name), "utf8");
      const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } }).outputText;
      const file = join(consumer, name.replace(/\.ts$/, ".mjs"));
      writeFileSync(file, js);
      const r = run(process.execPath, [file], {
        cwd: consumer,
        timeout: 60_000,
        env: { ...cleanEnv(), PB_PORT: String(twisted.ports[0]), PB_LOGIN_PORT: String(twisted.ports[1]) },
      });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(expected);
    }, 90_000);
  }
});
