// Loading twisted-pb does not load zod: zod's own import costs about as much as the rest of the
// package's, and only code that describes typed interfaces needs it (with the user's schemas).
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Imports `entry` in a fresh Node with a resolve hook that refuses zod; returns what it printed. */
function importRefusingZod(entry: string): { status: number | null; out: string } {
  const hook = `export async function resolve(s, c, next) { if (s === "zod" || s.startsWith("zod/")) throw new Error("zod imported by " + c.parentURL); return next(s, c); }`;
  const code = [
    `import { register } from "node:module";`,
    `register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hook)}));`,
    `const m = await import(${JSON.stringify(pathToFileURL(entry).href)});`,
    `console.log("loaded", typeof m.typedReferenceable, typeof m.PBClient);`,
  ].join("\n");
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("zod is loaded only by the user's own schemas", () => {
  it("the package's entry point loads without zod", () => {
    const r = importRefusingZod(resolve(ROOT, "src/index.ts"));
    expect(r.out).toContain("loaded function function");
    expect(r.status).toBe(0);
  });

  it("so do twisted-pb/core and twisted-pb/inspect", () => {
    const core = importRefusingZod(resolve(ROOT, "src/core.ts"));
    expect(core.out).toContain("loaded function undefined");
    expect(core.status).toBe(0);
    const inspect = importRefusingZod(resolve(ROOT, "src/inspect/index.ts"));
    expect(inspect.out).toContain("loaded undefined undefined");
    expect(inspect.status).toBe(0);
  });

  it("the hook does refuse zod (so the test above can fail)", () => {
    const r = importRefusingZod(resolve(ROOT, "test/structure/fixtures/imports-zod.ts"));
    expect(r.out).toMatch(/zod imported by .*imports-zod\.ts/);
    expect(r.status).not.toBe(0);
  });
});
