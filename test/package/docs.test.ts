// The API reference is generated from doc comments (`npm run docs`, TypeDoc). Both halves run
// with the tests: our own check that every public export has a doc comment, and TypeDoc itself
// validating the reference (warnings as errors: undocumented members, signatures, type
// parameters, broken links) without writing it.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { undocumentedExports } from "../../scripts/undocumented.ts";

const ROOT = join(import.meta.dirname, "..", "..");

describe("API documentation", () => {
  it("every public export (index, core, inspect, and the banana and jelly namespaces) has a doc comment", () => {
    expect(undocumentedExports()).toEqual([]);
  }, 120_000);

  it("TypeDoc builds the reference with no warning (npm run docs, not written)", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules", "typedoc", "bin", "typedoc"), "--emit", "none"], { cwd: ROOT, encoding: "utf8", timeout: 180_000 });
    expect(r.stdout + r.stderr).not.toMatch(/warning|error/i);
    expect(r.status).toBe(0);
  }, 200_000);
});
