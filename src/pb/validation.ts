// Checking peer-supplied values against zod schemas, with errors that say where.
import type { z } from "zod";
import { idiomatic } from "../jelly/idiomatic.ts";
import { activeBudget, DEFAULT_JELLY_BUDGET } from "../jelly/budget.ts";
import { treeSize } from "../jelly/describe.ts";

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
 * Checks `value` against `schema`. With `received`, the value came from the peer: zod walks (and
 * copies) it as a tree, which shared references can make exponentially large, so its size as a
 * tree is first counted against the message's node budget (maxMessageNodes when no message is
 * being received) and a value that expands beyond it is refused without being walked.
 */
export function check<T extends z.ZodType>(schema: T, value: unknown, fail: (issues: z.core.$ZodIssue[]) => Error, received = false): z.output<T> {
  if (received) {
    const budget = activeBudget();
    const limit = budget === null ? DEFAULT_JELLY_BUDGET.maxMessageNodes : budget.nodesLeft;
    const size = treeSize(value, limit);
    if (size > limit) {
      const message = `value expands to more than ${limit} nodes when walked as a tree (maxMessageNodes)`;
      throw fail([{ code: "custom", path: [], message, input: undefined } as z.core.$ZodIssue]);
    }
    budget?.charge(size);
  }
  const r = schema.safeParse(value);
  if (!r.success) throw fail(r.error.issues);
  return r.data;
}

/** Checks received Copyable/Cacheable state against a class's static `stateSchema`, if it has one. */
export function checkState(cls: { stateSchema?: z.ZodType; name?: string }, state: unknown): unknown {
  if (!cls.stateSchema) return state;
  return check(cls.stateSchema, idiomatic(state), (issues) => new RemoteValidationError(cls.name ?? "RemoteCopy", "setCopyableState", "state", issues), true);
}
