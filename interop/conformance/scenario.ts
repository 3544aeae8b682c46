// The conformance catalogue's data model (interop/conformance/scenarios/*.json), checked with zod.
// The Python client driver (interop/peers/conformance_client.py) reads the same files; this schema is the one description
// of what a scenario may say.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export const CONFORMANCE_DIR = dirname(fileURLToPath(import.meta.url));
export const SCENARIO_DIR = join(CONFORMANCE_DIR, "scenarios");
export const REPO_ROOT = join(CONFORMANCE_DIR, "..", "..");

/**
 * A value description (interop/VALUES.md) extended with the harness's own nodes:
 * in arguments  ["var", "name.attr"] a saved value, ["callback", "name"] the client's local
 *               Referenceable of that name, ["copyable", tag, {key: DESC}] a Copyable sent with
 *               that tag and state, ["index"] the call's index inside an inFlight step;
 * in results    ["remoteref"] a RemoteReference, ["copy", tag, DICT] a RemoteCopy and its state,
 *               ["cache", tag, DICT] a RemoteCache and its state, ["local", name] one of the
 *               client's own Referenceables come back.
 */
export type Desc = readonly unknown[];
const desc: z.ZodType<Desc> = z.array(z.unknown()).min(1).readonly();

/** What a step must produce. An absent `expect` means: any result but a failure. */
export const Expect = z
  .object({
    value: desc.optional(),
    /** Any RemoteReference. */
    ref: z.literal(true).optional(),
    /** A failure: qualified type, and (when given) its text and whether it came from the peer. */
    failure: z.object({ type: z.string(), value: z.string().optional(), remote: z.boolean().optional() }).strict().optional(),
    /** inFlight: every call's result, ["index"] standing for the call's index. */
    each: z.object({ value: desc }).strict().optional(),
  })
  .strict()
  .refine((e) => Object.keys(e).length === 1, "an expectation says exactly one of value / ref / failure / each");
export type Expect = z.infer<typeof Expect>;

const common = { expect: Expect.optional(), note: z.string().optional() };
const target = z.string().default("root");

export const Step = z.discriminatedUnion("op", [
  z.object({
    op: z.literal("call"),
    target,
    method: z.string(),
    args: z.array(desc).default([]),
    kwargs: z.record(z.string(), desc).default({}),
    /** pbanswer=False: nothing comes back; the step's result is "sent". */
    noAnswer: z.boolean().default(false),
    /** Start the call and go on; an `await` step later takes its result (saved under `save`). */
    async: z.boolean().default(false),
    save: z.string().optional(),
    ...common,
  }).strict(),
  z.object({ op: z.literal("await"), target: z.string(), save: z.string().optional(), ...common }).strict(),
  z.object({
    op: z.literal("login"),
    username: z.string(),
    password: z.string(),
    /** Name of the client's Referenceable passed as the mind. */
    mind: z.string().optional(),
    save: z.string().optional(),
    ...common,
  }).strict(),
  z.object({ op: z.literal("loginAnonymous"), mind: z.string().optional(), save: z.string().optional(), ...common }).strict(),
  /** Lets go of saved references / cache copies (decref / decache). */
  z.object({ op: z.literal("release"), targets: z.array(z.string()).min(1), ...common }).strict(),
  /** What the client's Referenceable of that name was called with so far: a list of (method, [args]). */
  z.object({ op: z.literal("mindCalls"), target: z.string(), ...common }).strict(),
  /** An attribute of a local RemoteCache copy. */
  z.object({ op: z.literal("cacheValue"), target: z.string(), attr: z.string(), ...common }).strict(),
  /** A local path ("line.a.x") into saved values. */
  z.object({ op: z.literal("read"), target: z.string(), ...common }).strict(),
  /** getAllPages(target, method, *args): the result is (pages, bytes, sha256 hex of the bytes). */
  z.object({ op: z.literal("pages"), target, method: z.string().default("sendPages"), args: z.array(desc).default([]), ...common }).strict(),
  /** `count` calls sent at once, then all awaited; ["index"] in args is the call's index. */
  z.object({ op: z.literal("inFlight"), target, method: z.string(), args: z.array(desc).default([]), count: z.number().int().min(1).max(1000), ...common }).strict(),
  /** The client closes the connection and waits until it is gone. */
  z.object({ op: z.literal("disconnect"), ...common }).strict(),
  /** Waits until the server has closed the connection. */
  z.object({ op: z.literal("waitLost"), timeoutMs: z.number().int().default(5000), ...common }).strict(),
  z.object({ op: z.literal("wait"), ms: z.number().int().min(0).max(5000), ...common }).strict(),
]);
export type Step = z.infer<typeof Step>;

/**
 * Columns a known difference may be declared for. py-py (the control) only for a difference of
 * one Twisted version's own (`twisted` given): that version fails between two Twisted peers too.
 */
export const DIFFERENCE_COLUMNS = ["ts-ts", "ts-py", "py-ts", "py-py", "replay-client", "replay-server"] as const;

/**
 * A difference between twisted-pb and Twisted that is known and explained: in these columns the
 * scenario is expected to fail (shown as "known", with the first difference); if it passes
 * there, that is reported as a failure, so the list cannot go stale.
 */
export const KnownDifference = z
  .object({
    columns: z.array(z.enum(DIFFERENCE_COLUMNS)).min(1),
    why: z.string(),
    /** Only with these Twisted versions (a version or its prefix: "24.7.0", "24.7"); every version when absent. */
    twisted: z.array(z.string()).min(1).optional(),
  })
  .strict()
  .refine((d) => !d.columns.includes("py-py") || d.twisted !== undefined, { message: "py-py is the control: a known difference there must name the Twisted versions it is theirs" });
export type KnownDifference = z.infer<typeof KnownDifference>;

export const Scenario = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    family: z.string(),
    server: z.enum(["root", "portal"]),
    title: z.string(),
    steps: z.array(Step).min(1),
    knownDifferences: z.array(KnownDifference).optional(),
  })
  .strict();
export type Scenario = z.infer<typeof Scenario>;

export const FAMILY_ORDER = ["login", "calls", "failures", "copy", "cache", "view", "pager"];

/** Every scenario of every file, in family order then file order; names are unique. */
export function loadScenarios(dir = SCENARIO_DIR): Scenario[] {
  const out: Scenario[] = [];
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  const rank = (f: string) => {
    const i = FAMILY_ORDER.indexOf(f.replace(/\.json$/, ""));
    return i < 0 ? FAMILY_ORDER.length : i;
  };
  files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const names = new Set<string>();
  for (const f of files) {
    const raw = JSON.parse(readFileSync(join(dir, f), "utf8")) as unknown;
    const list = z.array(z.unknown()).parse(raw);
    list.forEach((entry, i) => {
      const r = Scenario.safeParse(entry);
      if (!r.success) throw new Error(`${f} scenario #${i}: ${z.prettifyError(r.error)}`);
      if (names.has(r.data.name)) throw new Error(`${f}: scenario name ${r.data.name} used twice`);
      names.add(r.data.name);
      out.push(r.data);
    });
  }
  return out;
}
