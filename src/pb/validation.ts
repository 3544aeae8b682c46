// Checking peer-supplied values against zod schemas, with errors that say where.
import type { z } from "zod";
import { idiomatic } from "../jelly/idiomatic.ts";

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

export function check<T extends z.ZodType>(schema: T, value: unknown, fail: (issues: z.core.$ZodIssue[]) => Error): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw fail(r.error.issues);
  return r.data;
}

/** Checks received Copyable/Cacheable state against a class's static `stateSchema`, if it has one. */
export function checkState(cls: { stateSchema?: z.ZodType; name?: string }, state: unknown): unknown {
  if (!cls.stateSchema) return state;
  return check(cls.stateSchema, idiomatic(state), (issues) => new RemoteValidationError(cls.name ?? "RemoteCopy", "setCopyableState", "state", issues));
}
