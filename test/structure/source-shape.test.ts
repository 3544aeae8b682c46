// The source tree's shape, as the guide asks: no import circle anywhere in src/ (type-only
// imports included: a circle of types still ties the modules' designs together) and no module
// much over 400 lines. A walk of the import graph, no dependency needed.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");
/** "About 400 lines": a little slack so that a comment does not fail the build. */
const MAX_LINES = 450;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out.sort();
}

/** Relative specifiers of every import, `export ... from` and dynamic import() in `text`. */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  for (const m of code.matchAll(/\b(?:import|export)\b[^'"`;]*?\bfrom\s*["']([^"']+)["']/g)) specs.push(m[1]);
  for (const m of code.matchAll(/\bimport\s*["']([^"']+)["']/g)) specs.push(m[1]);
  for (const m of code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)) specs.push(m[1]);
  return specs.filter((s) => s.startsWith("."));
}

function graph(files: string[]): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of files) {
    const deps = importsOf(readFileSync(file, "utf8")).map((s) => resolve(dirname(file), s));
    g.set(file, deps.filter((d) => g.has(d) || files.includes(d)));
  }
  return g;
}

/** Every elementary circle found by a depth-first walk (one per back edge), as relative paths. */
export function cycles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const dep of g.get(node) ?? []) {
      const s = state.get(dep);
      if (s === "open") found.push([...stack.slice(stack.indexOf(dep)), dep]);
      else if (s === undefined) visit(dep);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of g.keys()) if (!state.has(node)) visit(node);
  return found.map((c) => c.map((f) => relative(SRC, f)));
}

describe("src/ shape", () => {
  const files = sourceFiles(SRC);

  it("finds the modules and their imports", () => {
    expect(files.length).toBeGreaterThan(40);
    const g = graph(files);
    expect(g.get(join(SRC, "pb/broker.ts"))).toContain(join(SRC, "pb/broker-core.ts"));
  });

  it("has no import circle (type-only imports included)", () => {
    expect(cycles(graph(files))).toEqual([]);
  });

  it("has no module over about 400 lines", () => {
    const long = files.map((f) => [relative(SRC, f), readFileSync(f, "utf8").split("\n").length] as const).filter(([, n]) => n > MAX_LINES);
    expect(long).toEqual([]);
  });

  it("the walk does see a circle and a type-only import", () => {
    const a = "/x/a.ts";
    const b = "/x/b.ts";
    expect(importsOf(`import type { B } from "./b.ts";\nexport { c } from "./c.ts";`)).toEqual(["./b.ts", "./c.ts"]);
    expect(cycles(new Map([[a, [b]], [b, [a]]]))).toHaveLength(1);
  });
});
