// Every value type a user meets is importable from the package root: what received values are
// instances of, and what users construct to send Python types.
import { describe, expect, it } from "vitest";
import * as root from "../../src/index.ts";

const exported = new Set<unknown>(Object.values(root));

/** One expression for every built-in jelly type (and PB's failure), as a peer sends them. */
const SAMPLES: unknown[] = [
  ["unicode", "text"], "bytes", 1, 2n ** 70n, 1.5, ["None"], ["boolean", "true"],
  ["list", 1], ["tuple", 1, 2], ["dictionary", [1, 2]], ["dictionary", [["unicode", "k"], 1]],
  ["set", 1], ["frozenset", 1], ["datetime", "2020 1 2 3 4 5 6"], ["date", "2020 1 2"], ["time", "1 2 3 4"],
  ["timedelta", "1 2 3"], ["decimal", 15, -1], ["unpersistable", "why"], ["persistent"],
];

const BUILTIN_PROTOTYPES = new Set<object>([Object.prototype, Array.prototype, Map.prototype, Set.prototype, Date.prototype, Uint8Array.prototype, Error.prototype]);
const exportedPrototypes = new Set<unknown>([...exported].filter((v) => typeof v === "function").map((c) => (c as { prototype: unknown }).prototype));

/** Names of the classes in `value`'s prototype chain (and its members') that the root does not export. */
function unexportedClasses(value: unknown, out: Set<string>): void {
  if (value === null || typeof value !== "object") return;
  for (let p = Object.getPrototypeOf(value); p && !BUILTIN_PROTOTYPES.has(p); p = Object.getPrototypeOf(p)) {
    if (!exportedPrototypes.has(p)) out.add((p as { constructor?: { name?: string } }).constructor?.name ?? "?");
  }
  if (value instanceof Map) for (const [k, v] of value) (unexportedClasses(k, out), unexportedClasses(v, out));
  else if (Array.isArray(value) || value instanceof Set) for (const v of value) unexportedClasses(v, out);
}

describe("package root exports", () => {
  for (const values of ["python", "js"] as const) {
    it(`every class a received value is an instance of is exported (values: ${values})`, () => {
      const missing = new Set<string>();
      for (const sample of SAMPLES) unexportedClasses(root.unjellyValue(sample as never, { mode: values }), missing);
      expect([...missing]).toEqual([]);
    });
  }

  it("names users reach for are there", () => {
    const names = [
      "PyUnicode", "PyFloat", "PyDateTime", "PyDate", "PyTime", "PyTimeDelta", "PyDecimal", "Tuple", "tuple", "FrozenSet", "Unpersistable",
      "PyInstance", "PyGlobal", "ReceivedDict", "ReceivedSet", "Kwargs", "kwargs", "UnjellyableRegistry", "setUnjellyableForClass",
      "RemoteCopy", "RemoteCopyError", "RemoteCache", "Copyable", "Cacheable", "Referenceable", "Root", "CopiedFailure", "RemoteError",
      "CallAbandoned", "CallTimeout", "CallAborted", "UnregisteredCopyTag", "InsecureJelly", "declareParameters", "setDefaultLogger",
      "consoleLogger", "jellyFor", "DEFAULT_PB_LIMITS", "MAX_PAGERS", "Broker", "RemoteReference",
    ];
    expect(names.filter((n) => !(n in root))).toEqual([]);
  });
});
