// Step arguments from descriptions, and descriptions of what came back (TypeScript side of the
// drivers; the Python twin is in interop/peers/conformance_client.py). See scenario.ts for the extra description nodes.
import { CopiedFailure, FrozenSet, Referenceable, RemoteCache, RemoteCopy, RemoteReference, Tuple, pythonTypeOf } from "../../src/index.ts";
import { fromDesc, toDesc } from "../valuedesc.ts";
import { REMOTE_TAGS, TaggedCopy } from "./classes.ts";
import type { Desc } from "./scenario.ts";

const EXT = new Set(["var", "callback", "copyable", "index"]);

export function hasExt(d: unknown): boolean {
  if (!Array.isArray(d) || d.length === 0) return false;
  const kind = d[0];
  if (typeof kind === "string" && EXT.has(kind)) return true;
  if (kind === "list" || kind === "tuple" || kind === "set" || kind === "frozenset") return (d[2] as unknown[]).some(hasExt);
  if (kind === "dict") return (d[2] as [unknown, unknown][]).some(([k, v]) => hasExt(k) || hasExt(v));
  return false;
}

export interface ArgContext {
  lookup(path: string): unknown;
  callback(name: string): Referenceable;
  index?: number;
}

/** The value an argument description stands for. */
export function buildArg(d: Desc, ctx: ArgContext): unknown {
  if (!hasExt(d)) return fromDesc(d);
  const kind = d[0];
  switch (kind) {
    case "var":
      return ctx.lookup(d[1] as string);
    case "callback":
      return ctx.callback(d[1] as string);
    case "index":
      if (ctx.index === undefined) throw new Error("['index'] outside an inFlight step");
      return ctx.index;
    case "copyable": {
      const state = new Map<string, unknown>();
      for (const [k, v] of Object.entries(d[2] as Record<string, Desc>)) state.set(k, buildArg(v, ctx));
      return new TaggedCopy(d[1] as string, state);
    }
    case "list":
    case "tuple": {
      const out: unknown[] = kind === "tuple" ? new Tuple() : [];
      for (const x of d[2] as Desc[]) out.push(buildArg(x, ctx));
      return out;
    }
    case "set":
    case "frozenset": {
      const out = kind === "set" ? new Set<unknown>() : new FrozenSet<unknown>();
      for (const x of d[2] as Desc[]) out.add(buildArg(x, ctx));
      return out;
    }
    case "dict": {
      const out = new Map<unknown, unknown>();
      for (const [k, v] of d[2] as [Desc, Desc][]) out.set(buildArg(k, ctx), buildArg(v, ctx));
      return out;
    }
    default:
      throw new Error(`bad argument ${JSON.stringify(d)}`);
  }
}

/** Keys of a RemoteCache that are the library's bookkeeping, not the copied state (as Python's broker/luid). */
const SKIP_STATE = new Set(["broker", "luid"]);

function describeState(obj: object): Desc {
  const entries: [Desc, Desc][] = [];
  for (const k of Object.keys(obj)) {
    if (SKIP_STATE.has(k)) continue;
    entries.push([["str", k], describe((obj as Record<string, unknown>)[k])]);
  }
  return ["dict", null, entries];
}

/** A named local Referenceable of the client (minds and callbacks). */
export interface Named {
  readonly name: string;
}

/** Describes a received value: value descriptions, plus remoteref / copy / cache / local nodes. */
export function describe(v: unknown): Desc {
  try {
    return toDesc(v);
  } catch {
    // a PB object somewhere inside: described by hand below
  }
  if (v instanceof RemoteReference) return ["remoteref"];
  if (v instanceof RemoteCache || v instanceof RemoteCopy) {
    const tag = REMOTE_TAGS.get(v.constructor) ?? `unregistered.${v.constructor.name}`;
    return [v instanceof RemoteCache ? "cache" : "copy", tag, describeState(v)];
  }
  if (v instanceof Referenceable && typeof (v as Partial<Named>).name === "string") return ["local", (v as unknown as Named).name];
  if (Array.isArray(v)) return [v instanceof Tuple ? "tuple" : "list", null, v.map(describe)];
  if (v instanceof Set) return [v instanceof FrozenSet ? "frozenset" : "set", null, [...v].map(describe)];
  if (v instanceof Map) return ["dict", null, [...v].map(([k, x]) => [describe(k), describe(x)])];
  return ["repr", String(v)];
}

export interface FailureDesc {
  type: string;
  value: string;
  remote: boolean;
}

/** A failure as the drivers report it: the qualified Python type, its text, and whether the peer sent it. */
export function describeFailure(e: unknown): FailureDesc {
  if (e instanceof CopiedFailure) return { type: e.type, value: e.value, remote: true };
  return { type: pythonTypeOf(e).type, value: e instanceof Error ? e.message : String(e), remote: false };
}
