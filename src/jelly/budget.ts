// The per-message budget: what one received message may make us do, whatever its shared
// references expand to. Jelly's [reference]/[dereference] let a few hundred bytes describe a
// value that is exponentially large as a tree; unjelly itself is linear in the message, and
// these limits keep everything that walks the result linear too.
import { MAX_MESSAGE_NODES } from "../banana/limits.ts";
import { byteString } from "../banana/values.ts";
import { JellyError } from "./errors.ts";
import { tryDecodeUtf8 } from "./text.ts";

/** Limits on the work one received message may cause (all per message, overridable per connection). */
export interface JellyBudgetLimits {
  /**
   * Most jelly expressions (containers and atoms) unjellied from one message. Also the most nodes
   * a received value may have when walked as a tree (shared references counted each time they
   * are reached) by code that cannot follow sharing, such as schema validation.
   */
  readonly maxMessageNodes: number;
  /** Most `reference` entries (shared or cyclic objects) in one message. */
  readonly maxMessageReferences: number;
  /** Most characters of text made from one received value (failure type or value that is not text, error messages, logs). */
  readonly maxRenderedText: number;
}

/** Largest list Twisted's banana accepts (banana.py SIZE_LIMIT); the defaults below are sized from it. */
const TWISTED_SIZE_LIMIT = 640 * 1024;

/**
 * Defaults sized from Twisted's own SIZE_LIMIT: a message holding a dictionary of 640 KiB entries
 * (every key and value a node) fits four times over, as does one reference per element of a
 * list that long.
 */
export const DEFAULT_JELLY_BUDGET: JellyBudgetLimits = Object.freeze({
  maxMessageNodes: MAX_MESSAGE_NODES,
  maxMessageReferences: TWISTED_SIZE_LIMIT,
  maxRenderedText: 64 * 1024,
});

/** Raised when a received message exceeds its budget (a JellyError: the peer sees a ValueError). */
export class BudgetExceeded extends JellyError {
  override name = "BudgetExceeded";
}

/**
 * The counters of one received message, shared by every unjelly of that message (a PB call's
 * arguments and keyword arguments are two).
 */
export class MessageBudget {
  /** Jelly expressions unjellied so far. */
  nodes = 0;
  /** `reference` entries met so far. */
  references = 0;
  /** See JellyBudgetLimits.maxMessageNodes. */
  readonly maxNodes: number;
  /** See JellyBudgetLimits.maxMessageReferences. */
  readonly maxReferences: number;
  /** See JellyBudgetLimits.maxRenderedText. */
  readonly maxText: number;
  /** Characters of text that may still be made from this message's values (see valueText). */
  textLeft: number;

  // Text decoded from this message's byte strings, per byte string: one shared byte string reached
  // through many references (a failure's parents, many copies of one state) is decoded once.
  private readonly decoded = new WeakMap<Uint8Array, string | null>();

  constructor(limits: Partial<JellyBudgetLimits> = DEFAULT_JELLY_BUDGET) {
    this.maxNodes = limits.maxMessageNodes ?? DEFAULT_JELLY_BUDGET.maxMessageNodes;
    this.maxReferences = limits.maxMessageReferences ?? DEFAULT_JELLY_BUDGET.maxMessageReferences;
    this.maxText = limits.maxRenderedText ?? DEFAULT_JELLY_BUDGET.maxRenderedText;
    this.textLeft = this.maxText;
  }

  /** Nodes that may still be visited. */
  get nodesLeft(): number {
    return Math.max(0, this.maxNodes - this.nodes);
  }

  /** Charges `n` nodes visited by a walk over this message's values; throws past maxNodes. */
  charge(n: number): void {
    this.nodes += n;
    if (this.nodes > this.maxNodes) this.tooManyNodes();
  }

  /** Called past maxNodes. */
  tooManyNodes(): never {
    throw new BudgetExceeded(`message has more than ${this.maxNodes} jelly nodes (maxMessageNodes)`);
  }

  /**
   * `b` as UTF-8 text, or null when it is not valid UTF-8, decoded once per byte string for this
   * message: the decoding work of one message is bounded by its own bytes, whatever its
   * references repeat.
   */
  utf8Of(b: Uint8Array): string | null {
    let text = this.decoded.get(b);
    if (text === undefined) {
      text = tryDecodeUtf8(b);
      this.decoded.set(b, text);
    }
    return text;
  }

  /** `b` as text the way valueText() shows it (UTF-8, else a Latin-1 byte string), memoised as utf8Of(). */
  textOf(b: Uint8Array): string {
    const text = this.utf8Of(b);
    if (text !== null) return text;
    let latin = this.latin.get(b);
    if (latin === undefined) this.latin.set(b, (latin = byteString(b)));
    return latin;
  }
  private readonly latin = new WeakMap<Uint8Array, string>();

  /** Counts one reference; throws past maxReferences. */
  reference(): void {
    if (++this.references > this.maxReferences) {
      throw new BudgetExceeded(`message has more than ${this.maxReferences} references (maxMessageReferences)`);
    }
  }
}

let active: MessageBudget | null = null;

/**
 * The budget of the message being unjellied right now, or null. Code that runs inside unjelly
 * (registry handlers, setCopyableState, state schemas) charges its walks and text to it, so a
 * shared object reached through many references is paid for once per message, not per reach.
 */
export function activeBudget(): MessageBudget | null {
  return active;
}

/** Makes `budget` the active budget; returns the one to give back to leaveBudget(). */
export function enterBudget(budget: MessageBudget): MessageBudget | null {
  const saved = active;
  active = budget;
  return saved;
}

/** Restores the budget enterBudget() returned. */
export function leaveBudget(saved: MessageBudget | null): void {
  active = saved;
}
