// What the one-pass reader (fastdecode.ts) is told, and what it throws to its callers.
import type { UnjellyableRegistry } from "./registry.ts";
import type { Taster } from "./security.ts";
import type { IdTag } from "./fastrefs.ts";

/** Thrown (never seen outside this module's callers) when the bytes end inside the item. */
export const INCOMPLETE: unique symbol = Symbol("fastdecode: incomplete");
/** Thrown when the item is not plain data, or is malformed: decode it the tree way instead. */
export const NOT_PLAIN: unique symbol = Symbol("fastdecode: not plain data");

/** How the values are made: the Unjellier's options that matter for plain data. */
export interface FastUnjellyOptions {
  security: Taster;
  registry: UnjellyableRegistry;
  mode: "python" | "js";
  bytesAsText: boolean;
  maxDepth: number;
  /** The message's node budget (JellyBudgetLimits.maxMessageNodes): past it the tree path takes the item (and refuses it). */
  maxNodes?: number;
  /** Tags read as IdRef placeholders when their expression is [tag, integer] (the caller makes them: fastrefs.ts). */
  idTags?: readonly IdTag[];
}
