// The core entry (twisted-pb/core: banana, jelly, pb) bundles for a browser with no Node
// built-in, and runs where only what a browser has is defined (no Buffer, process, setImmediate).
import { build, type Metafile } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

async function bundle(entry: string, format: "esm" | "iife") {
  return build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    platform: "browser",
    format,
    globalName: format === "iife" ? "TwistedPB" : undefined,
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
}

function nodeInputs(meta: Metafile): string[] {
  const found: string[] = [];
  for (const [path, input] of Object.entries(meta.inputs)) {
    if (path.startsWith("node:")) found.push(path);
    for (const imp of input.imports) if (imp.path.startsWith("node:") || imp.external) found.push(`${path} -> ${imp.path}`);
  }
  return found;
}

describe("twisted-pb/core in a browser", () => {
  it("exports the same objects as the main entry (core is a subset of twisted-pb)", async () => {
    const core = await import("../../src/core.ts");
    const main = (await import("../../src/index.ts")) as Record<string, unknown>;
    const differ = Object.entries(core).filter(([name, value]) => main[name] !== value);
    expect(differ.map(([name]) => name)).toEqual([]);
    expect(Object.keys(core).length).toBeGreaterThan(50);
  });

  it("bundles with esbuild for platform browser: no node: import, nothing external, no net/cred/inspect code", async () => {
    const result = await bundle("src/core.ts", "esm");
    expect(result.errors).toEqual([]);
    expect(nodeInputs(result.metafile)).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((p) => /src\/(net|cred|inspect)\//.test(p))).toEqual([]);
    expect(inputs.some((p) => p.includes("src/pb/broker.ts"))).toBe(true);
    const code = result.outputFiles[0].text;
    expect(code).not.toMatch(/from\s*["']node:|require\(["']node:|import\(["']node:/);
  });

  it("the check can fail: the full entry (sockets, cred hashing) does not bundle for a browser", async () => {
    await expect(bundle("src/index.ts", "esm")).rejects.toThrow(/node:(net|tls|crypto|fs)/);
  });

  it("the bundle runs with browser globals only: two brokers talk over an in-memory transport", async () => {
    const result = await bundle("src/core.ts", "iife");
    const browserish = {
      console,
      TextEncoder,
      TextDecoder,
      queueMicrotask,
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
      AbortController,
      AbortSignal,
      Event,
      EventTarget,
    };
    const context = vm.createContext(browserish);
    vm.runInContext(result.outputFiles[0].text, context, { timeout: 10_000 });
    expect(vm.runInContext("typeof Buffer + typeof process + typeof setImmediate + typeof require", context)).toBe("undefinedundefinedundefinedundefined");
    const run = vm.runInContext(
      `(async () => {
        const { Broker, Root, connectInMemory, tuple, dumps, loads } = TwistedPB;
        class Echo extends Root { remote_echo(...args) { return tuple(...args); } }
        const server = new Broker({ role: "listener", root: new Echo() });
        const client = new Broker({ role: "initiator" });
        const conn = connectInMemory(client, server);
        await client.ready;
        const root = client.remoteForName("root");
        const answer = await root.callRemote("echo", 1, "hé", new Uint8Array([1, 2]), 2.5);
        conn.close();
        return { answer: [...answer].map((v) => v instanceof Uint8Array ? Array.from(v) : v), bytes: Array.from(dumps(tuple(1, "a"))), back: [...loads(dumps(tuple(1, "a")))] };
      })()`,
      context,
      { timeout: 10_000 },
    ) as Promise<unknown>;
    expect(JSON.parse(JSON.stringify(await run))).toEqual({
      answer: [1, "hé", [1, 2], 2.5],
      // ["tuple", 1, ["unicode", "a"]] in banana's pb dialect ("tuple" is vocabulary word 11)
      bytes: [3, 128, 11, 135, 1, 129, 2, 128, 7, 130, ...Array.from("unicode", (c) => c.charCodeAt(0)), 1, 130, 97],
      back: [1, "a"],
    });
  });
});
