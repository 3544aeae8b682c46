// The build's guard (scripts/build.mjs) against esbuild renaming a top-level function or class
// whose name two bundled modules share: checked on a real esbuild bundle, so the test fails if
// esbuild's renaming or our reading of its output changes.
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { renamedNames, topLevelNames } from "../../scripts/build-names.mjs";

const modules: Record<string, string> = {
  "a.js": `export function helper() { return "a"; }\nexport class Thing {}\nexport const arrow = (x) => x;\n`,
  "b.js": `function helper() { return "b"; }\nclass Thing {}\nconst arrow = (x) => x + 1;\nexport const fromB = () => [helper(), new Thing(), arrow(1)];\n`,
  "entry.js": `export { helper, Thing, arrow } from "./a.js";\nexport { fromB } from "./b.js";\n`,
};

async function bundle(files: Record<string, string>): Promise<string> {
  const result = await build({
    entryPoints: ["entry.js"],
    bundle: true,
    format: "esm",
    write: false,
    logLevel: "silent",
    plugins: [{
      name: "in-memory",
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) => ({ path: args.path.replace(/^\.\//, ""), namespace: "mem" }));
        b.onLoad({ filter: /.*/, namespace: "mem" }, (args) => ({ contents: files[args.path], loader: "js" }));
      },
    }],
  });
  return result.outputFiles[0].text;
}

function declaredIn(files: Record<string, string>): Set<string> {
  const names = new Set<string>();
  for (const code of Object.values(files)) for (const n of topLevelNames(code)) names.add(n);
  return names;
}

describe("the build's rename guard", () => {
  it("reads top-level functions, classes and function-valued consts, not nested ones", () => {
    const names = topLevelNames(
      `export function a() { function nested() {} }\nclass B {}\nexport const c = async (x) => x;\nconst d = function () {};\nvar e = class {};\nconst f = x => x;\nconst notAFunction = 3;\n  function indented() {}\n`,
    );
    expect([...names].sort()).toEqual(["B", "a", "c", "d", "e", "f"]);
  });

  it("finds esbuild's renames when two modules share a name", async () => {
    const bundled = await bundle(modules);
    expect(renamedNames(declaredIn(modules), bundled).sort()).toEqual(["Thing2", "arrow2", "helper2"]);
  });

  it("finds none when every name is the module's own", async () => {
    const distinct = { ...modules, "b.js": modules["b.js"].replace(/helper/g, "helperB").replace(/Thing/g, "ThingB").replace(/arrow/g, "arrowB") };
    const bundled = await bundle(distinct);
    expect(renamedNames(declaredIn(distinct), bundled)).toEqual([]);
  });
});
