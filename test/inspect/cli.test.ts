// The installed command: bin/pb-inspect.mjs (what `npx pb-inspect` runs), as a child process.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { shouldColor } from "../../src/inspect/render.ts";
import { BIN, EXPECTED, ROOT, runBin } from "./support.ts";

const expected = (name: string) => readFileSync(join(EXPECTED, name), "utf8");

describe("pb-inspect command line", () => {
  it("package.json installs bin/pb-inspect.mjs as pb-inspect", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect(pkg.bin).toEqual({ "pb-inspect": "bin/pb-inspect.mjs" });
    expect(readFileSync(BIN, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });

  it("--help explains the commands, the inputs and how to read the transcript", async () => {
    for (const args of [["--help"], ["help"], ["decode", "--help"], ["proxy", "-h"]]) {
      const r = await runBin(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("pb-inspect decode [options] FILE");
      expect(r.stdout).toContain("pb-inspect proxy --listen HOST:PORT --target HOST:PORT");
      expect(r.stdout).toContain("Reading the transcript:");
      expect(r.stdout).toContain("--save DIR");
    }
    const none = await runBin([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain("Usage:");
  });

  it("decode prints the same transcript as the library", async () => {
    const r = await runBin(["decode", "fixtures/sessions/portal.json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected("portal.txt"));
    const pair = await runBin(["decode", "fixtures/versions/debian-22.4"]);
    expect(pair.stdout).toBe(expected("debian-22.4-pair.txt"));
  });

  it("decode reads stdin, and a one-direction input with --dir", async () => {
    const hex = Buffer.from(readFileSync(join(ROOT, "fixtures/versions/debian-22.4/s2c.bin"))).toString("hex");
    const r = await runBin(["decode", "-", "--dir", "s2c"], { input: hex });
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").slice(1).join("\n")).toBe(expected("debian-22.4-s2c.txt").split("\n").slice(1).join("\n"));
    expect(r.stdout.split("\n")[0]).toBe("# stdin: hex of one direction, S->C (given); the other direction is not in this capture");
  });

  it("--json prints one JSON object per line", async () => {
    const r = await runBin(["decode", "--json", "test/inspect/captures/timed-login.json"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.kind)).toEqual(["header", "dialect", "dialect", "version", "message", "version", "answer", "message", "decref", "answer", "message", "answer", "end"]);
    expect(lines.every((l) => typeof l.text === "string" || Array.isArray(l.text))).toBe(true);
  });

  it("colours only when asked or on a terminal, never with NO_COLOR", async () => {
    const piped = await runBin(["decode", "test/inspect/captures/hostile-bad-type-byte.json"]);
    expect(piped.stdout).not.toContain("\x1b[");
    const forced = await runBin(["decode", "--color", "always", "test/inspect/captures/hostile-bad-type-byte.json"]);
    expect(forced.stdout).toContain("\x1b[31mdecode error at byte 16: Invalid Type Byte 0x88\x1b[0m");
    const never = await runBin(["decode", "--no-color", "--color", "always", "test/inspect/captures/hostile-bad-type-byte.json"]);
    expect(never.stdout).not.toContain("\x1b[");
    expect(shouldColor({ isTTY: true }, "auto", {})).toBe(true);
    expect(shouldColor({ isTTY: true }, "auto", { NO_COLOR: "1" })).toBe(false);
    expect(shouldColor({ isTTY: false }, "auto", {})).toBe(false);
    expect(shouldColor({ isTTY: false }, "always", { NO_COLOR: "1" })).toBe(true);
  });

  it("bad command lines exit 2, unreadable inputs exit 1, with a message", async () => {
    for (const args of [["bogus"], ["decode"], ["decode", "--dir", "up", "x"], ["decode", "--nope", "x"], ["proxy", "--listen", "1"], ["proxy", "--listen", "x", "--target", "127.0.0.1:1"]]) {
      const r = await runBin(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^pb-inspect: .*\nRun "pb-inspect help" for usage\.\n$/);
    }
    const missing = await runBin(["decode", "no/such/file"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("pb-inspect: no/such/file: no such file\n");
    const badHex = await runBin(["decode", "-"], { input: "C->S 02 8" });
    expect(badHex.code).toBe(1);
    expect(badHex.stderr).toContain("not an even number of hex digits");
  });

  it("runs as `npx pb-inspect` from the package", () => {
    const r = spawnSync("npx", ["--no-install", "pb-inspect", "help"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("pb-inspect: see what Twisted Perspective Broker (PB) peers say to each other.");
  });
});
