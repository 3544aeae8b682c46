// Checking peer-supplied values against zod schemas, with errors that say where.
import type { z } from "zod";
import { idiomatic } from "../jelly/idiomatic.ts";
import { activeBudget, DEFAULT_JELLY_BUDGET } from "../jelly/budget.ts";
import { treeShape } from "../jelly/describe.ts";

function describePath(path: readonly PropertyKey[]): string {
  return path.length ? path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("") : "(the value itself)";
}

/** A value that does not match its schema: names the interface, the method, what and where. */
export class RemoteValidationError extends Error {
  /** Sent to a Twisted peer (e.g. a stateSchema refusing its Copyable argument) as a pb.Error it can trap. */
  static pythonType = "twisted.spread.pb.Error";
  override name = "RemoteValidationError";
  constructor(
    readonly interfaceName: string,
    readonly method: string,
    readonly part: "arguments" | "keyword arguments" | "result" | "state",
    readonly issues: readonly { path: readonly PropertyKey[]; message: string }[],
  ) {
    super(`${interfaceName}.${method}: ${part} at ${describePath(issues[0]?.path ?? [])}: ${issues[0]?.message ?? "invalid"}`);
  }
}

/**
 * How many times what the peer sent a received value walked by a schema may count, when its
 * shared references make it larger as a tree: zod walks (and copies) every reach of a shared
 * object. Plus VALIDATION_FLOOR nodes, so a small value that shares a little is still checked.
 */
export const VALIDATION_EXPANSION = 8;
/** Nodes any received value may have as a tree for schema validation, whatever it shares. */
export const VALIDATION_FLOOR = 64 * 1024;
/** Most issues a schema failure keeps (zod can find one per node; 2 million of them overflowed its stack). */
export const MAX_REPORTED_ISSUES = 100;

/** An issue of our own (not zod's) at `path`: a refused size, a missing argument. */
export function customIssue(message: string, path: PropertyKey[] = []): z.core.$ZodIssue {
  return { code: "custom", path, message, input: undefined } as z.core.$ZodIssue;
}

/**
 * What check() runs: a zod schema, or anything with its safeParse (typedReferenceable's check of
 * a method's positional arguments, made of one schema per argument).
 */
export interface Checkable<Out = unknown> {
  safeParse(value: unknown): { success: true; data: Out } | { success: false; error: { issues: z.core.$ZodIssue[] } };
}

/**
 * Checks `value` against `schema`. With `received`, the value came from the peer: zod walks (and
 * copies) it as a tree, which shared references can make exponentially large, so its size as a
 * tree is counted first (one step per distinct object) and a value is refused without being
 * walked when that size is more than VALIDATION_EXPANSION times the value as sent plus
 * VALIDATION_FLOOR, or more than the message's node budget (maxMessageNodes when no message is
 * being received). The work of a check is thus bounded by what the peer sent, not by what its
 * references expand to. At most MAX_REPORTED_ISSUES issues are reported.
 */
export function check<Out>(schema: Checkable<Out>, value: unknown, fail: (issues: z.core.$ZodIssue[]) => Error, received = false): Out {
  if (received) {
    const budget = activeBudget();
    const max = budget === null ? DEFAULT_JELLY_BUDGET.maxMessageNodes : budget.nodesLeft;
    const { size, distinct } = treeShape(value, max);
    const limit = Math.min(max, VALIDATION_EXPANSION * distinct + VALIDATION_FLOOR);
    if (size > limit) {
      const why = limit === max ? "maxMessageNodes" : `${VALIDATION_EXPANSION} times its ${distinct} nodes as sent, plus ${VALIDATION_FLOOR}`;
      const message = `value expands to more than ${limit} nodes when walked as a tree (${why})`;
      throw fail([customIssue(message)]);
    }
    budget?.charge(size);
  }
  const r = (() => {
    try {
      return schema.safeParse(value);
    } catch (e) {
      // zod gathering issues for a huge value can overflow its stack: a failed check all the same.
      if (!(e instanceof RangeError)) throw e;
      throw fail([customIssue("too many problems to report")]);
    }
  })();
  if (!r.success) throw fail(r.error.issues.length > MAX_REPORTED_ISSUES ? r.error.issues.slice(0, MAX_REPORTED_ISSUES) : r.error.issues);
  return r.data;
}

/** Checks received Copyable/Cacheable state against a class's static `stateSchema`, if it has one. */
export function checkState(cls: { stateSchema?: z.ZodType; name?: string }, state: unknown): unknown {
  if (!cls.stateSchema) return state;
  return check(cls.stateSchema, idiomatic(state), (issues) => new RemoteValidationError(cls.name ?? "RemoteCopy", "setCopyableState", "state", issues), true);
}
