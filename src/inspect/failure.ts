// Reading a CopyableFailure's jellied state (pb.py CopyableFailure.getStateToCopy) without
// unjellying it: [b"twisted.spread.pb.CopyableFailure", [b"dictionary", [key, value], ...]].
import type { Sexp } from "../banana/index.ts";
import { tagText } from "../jelly/text.ts";
import { exceptionName } from "./pyrepr.ts";
import { bytesText, isBytes, isList, utf8OrNull } from "./sexp.ts";

export const FAILURE_TAG = "twisted.spread.pb.CopyableFailure";

/** The readable parts of a CopyableFailure's state. */
export interface FailureSummary {
  /** Qualified type as sent, e.g. builtins.ValueError. */
  type: string;
  /** str(exception). */
  value: string;
  /** The traceback text, split in lines (no trailing empty line). */
  traceback: string[];
  /** Python's one-line form: "ValueError: oops" (no colon when the value is empty). */
  line: string;
  /** True when it went through a Deferred (the `pickled` key). */
  deferred: boolean;
}

/** Text of a jellied string: [b"unicode", utf8] (Python 3) or plain bytes (Python 2). */
export function jellyText(x: Sexp | undefined): string | null {
  if (x === undefined) return null;
  if (isBytes(x)) return utf8OrNull(x) ?? bytesText(x);
  if (isList(x) && x.length === 2 && isBytes(x[0]) && tagText(x[0]) === "unicode" && isBytes(x[1])) return utf8OrNull(x[1]);
  return null;
}

/** The entries of a jellied dictionary keyed by their text, or null when it is not one. */
export function dictEntries(x: Sexp | undefined): Map<string, Sexp> | null {
  if (!isList(x) || x.length < 1 || !isBytes(x[0]) || tagText(x[0]) !== "dictionary") return null;
  const out = new Map<string, Sexp>();
  for (let i = 1; i < x.length; i++) {
    const pair = x[i];
    if (!isList(pair) || pair.length !== 2) return null;
    const key = jellyText(pair[0]);
    if (key !== null) out.set(key, pair[1]);
  }
  return out;
}

export function isFailureSexp(x: Sexp): boolean {
  return isList(x) && x.length === 2 && isBytes(x[0]) && tagText(x[0]) === FAILURE_TAG;
}

/** The summary of a jellied CopyableFailure, or null when `x` is not one (or is malformed). */
export function summarizeFailure(x: Sexp): FailureSummary | null {
  if (!isFailureSexp(x)) return null;
  const state = dictEntries((x as readonly Sexp[])[1]);
  if (!state) return null;
  const typeRaw = state.get("type");
  const type = typeRaw === undefined ? "?" : (jellyText(typeRaw) ?? "?");
  const value = jellyText(state.get("value")) ?? "";
  const tbText = jellyText(state.get("traceback")) ?? "";
  const traceback = tbText.replace(/\n$/, "").split("\n").filter((l, i, a) => a.length > 1 || l !== "");
  const name = exceptionName(type);
  return {
    type,
    value,
    traceback,
    line: value === "" ? name : `${name}: ${value}`,
    deferred: state.has("pickled"),
  };
}
