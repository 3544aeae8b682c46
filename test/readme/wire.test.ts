// docs/wire.md's byte examples are facts: each is encoded by this library and by Twisted
// (the Python the project found), and both must give the bytes the page shows.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { banana, dumps, tuple } from "../../src/index.ts";
import { PYTHON, ROOT } from "../examples/support.ts";

const PAGE = readFileSync(join(ROOT, "docs", "wire.md"), "utf8");
const ROW = /^\| `(.+?)` \| `(.+?)`(?: \(dialect (pb|none)\))? \| `([0-9a-f ]+)` \|$/gm;
const rows = [...PAGE.matchAll(ROW)].map((m) => ({ js: m[1], python: m[2], dialect: m[3] ?? "pb", hex: m[4] }));
const hex = (u: Uint8Array) => Array.from(u, (x) => x.toString(16).padStart(2, "0")).join(" ");
const b = (s: string) => new TextEncoder().encode(s);

describe("docs/wire.md", () => {
  it("has byte examples", () => {
    expect(rows.length).toBeGreaterThanOrEqual(12);
  });

  it("every example is what twisted-pb writes", () => {
    for (const row of rows) {
      const value = new Function("banana", "dumps", "tuple", "b", `return ${row.js};`)(banana, dumps, tuple, b) as Uint8Array;
      expect(hex(value), row.js).toBe(row.hex);
    }
  });

  it("every example is what Twisted writes", () => {
    const script = `
import sys
from io import BytesIO
from twisted.spread import banana
from twisted.spread.jelly import jelly
for line in sys.stdin.read().splitlines():
    dialect, expression = line.split(" ", 1)
    encoder = banana.Banana()
    encoder.setPrefixLimit(64)
    encoder._selectDialect(dialect.encode("ascii"))
    out = BytesIO()
    encoder._encode(eval(expression), out.write)
    print(" ".join("%02x" % c for c in bytearray(out.getvalue())))
`;
    const input = rows.map((r) => `${r.dialect} ${r.python}`).join("\n");
    const r = spawnSync(PYTHON, ["-c", script], { input, encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(rows.map((row) => row.hex));
  });
});
