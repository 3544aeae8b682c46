// Lossless values -> idiomatic JS values, after the fact (for code that wants plain JS shapes).
import { PyFloat } from "../banana/values.ts";
import { FrozenSet, PyDate, PyDateTime, Tuple } from "./types.ts";

/**
 * Converts what unjelly gives in "python" mode to what "js" mode would have given: arrays for
 * tuples, numbers for PyFloat, null-prototype objects for dicts whose keys are all text, Set for
 * frozenset, Date for datetime and date. Shared and cyclic structure is kept. Objects of other
 * classes (RemoteReference, copies...) are left as they are.
 */
export function idiomatic(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof PyFloat) return value.value;
  if (value instanceof PyDateTime) return value.toDate();
  if (value instanceof PyDate) return new PyDateTime(value.year, value.month, value.day).toDate();
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (Array.isArray(value) && (value instanceof Tuple || Object.getPrototypeOf(value) === Array.prototype)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const x of value) out.push(idiomatic(x, seen));
    return out;
  }
  if (value instanceof Map) {
    if ([...value.keys()].every((k) => typeof k === "string")) {
      const out: Record<string, unknown> = Object.create(null);
      seen.set(value, out);
      for (const [k, v] of value) out[k as string] = idiomatic(v, seen);
      return out;
    }
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of value) out.set(idiomatic(k, seen), idiomatic(v, seen));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    seen.set(value, out);
    for (const x of value) out.add(idiomatic(x, seen));
    return value instanceof FrozenSet || Object.getPrototypeOf(value) === Set.prototype ? out : value;
  }
  return value;
}
