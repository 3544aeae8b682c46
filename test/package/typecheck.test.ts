// `npm run typecheck` as a test, so CI's count includes it: src, tests, scripts, interop and
// the examples (which import "twisted-pb" through tsconfig.json's paths) compile under strict.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("typecheck", () => {
  it("tsc --noEmit -p . reports nothing", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", ROOT], { cwd: ROOT, encoding: "utf8", timeout: 240_000 });
    expect(`${r.stdout}${r.stderr}`).toBe("");
    expect(r.status).toBe(0);
  }, 300_000);
});
