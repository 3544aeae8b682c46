// The unjellyable registry (jelly.py unjellyableRegistry / unjellyableFactoryRegistry): maps a
// type tag to what builds the local value. Nothing is constructed for a tag that was not
// registered here (or is not a built-in jelly type). Registering a tag allows it.
import { answerChanges } from "./answers.ts";
import type { MessageBudget } from "./budget.ts";
import type { Sexp } from "../banana/values.ts";

/**
 * What a handler sees of the Unjellier (unjelly.ts implements it): declared here so that the
 * registry and the unjellier do not import each other.
 */
export interface UnjellyContext {
  /** The broker (or other invoker) the value is unjellied for. */
  readonly invoker: unknown;
  /** How received values look: "python" (lossless) or "js" (idiomatic). */
  readonly mode: "python" | "js";
  /** Unjellies a nested expression. */
  unjelly(sexp: Sexp): unknown;
  /** Claims the object being built, so references to it from inside resolve to it. */
  adopt(obj: unknown): void;
  /** Runs `fn` once the whole expression has been unjellied. */
  afterwards(fn: () => void): void;
  /** The budget of the message being received (work per message is bounded by its size). */
  readonly budget: MessageBudget;
}

type Unjellier = UnjellyContext;

/** Builds a value from a whole expression `[tag, ...]` (declared as a method: a handler may ask for the Unjellier class). */
export type UnjellyHandler = {
  /** Builds the value of a received `[tag, ...]` expression. */
  handle(unjellier: UnjellyContext, sexp: readonly Sexp[]): unknown;
}["handle"];

/** A class whose blank instance (no constructor call) is filled by unjellyFor (jelly.py Unjellyable). */
export interface UnjellyableClass<T extends object = object> {
  readonly prototype: T & { unjellyFor(unjellier: Unjellier, sexp: readonly Sexp[]): unknown };
}

/** Maps jelly type tags to the classes or factories that rebuild them; may fall back to a parent registry. */
export class UnjellyableRegistry {
  private readonly handlers = new Map<string, UnjellyHandler>();

  /** Tags not registered here are looked up in `parent` (live: later registrations there are seen). */
  constructor(readonly parent?: UnjellyableRegistry) {}

  /** Registers a handler for a tag (a copy tag is conventionally the sender's "module.Class"). */
  register(tag: string, handler: UnjellyHandler): this {
    answerChanges.count++;
    this.handlers.set(tag, handler);
    return this;
  }

  /** setUnjellyableForClass: a blank instance of `cls` (constructor not run) gets `unjellyFor(unjellier, sexp)`. */
  setUnjellyableForClass<T extends object>(tag: string, cls: UnjellyableClass<T>): this {
    return this.register(tag, (unjellier, sexp) => {
      // unjellyFor should adopt() what it returns before filling it, so cycles back to it resolve.
      const blank = Object.create(cls.prototype) as T & { unjellyFor(u: Unjellier, s: readonly Sexp[]): unknown };
      return blank.unjellyFor(unjellier, sexp);
    });
  }

  /** setUnjellyableFactoryForClass: `factory(unjelly(sexp[1]))`. */
  setUnjellyableFactoryForClass(tag: string, factory: (state: unknown) => unknown): this {
    return this.register(tag, (unjellier, sexp) => factory(unjellier.unjelly(sexp[1])));
  }

  /** Removes the handler of a tag. */
  unregister(tag: string): this {
    answerChanges.count++;
    this.handlers.delete(tag);
    return this;
  }

  /** The handler of a tag, here or in the parent registry. */
  get(tag: string): UnjellyHandler | undefined {
    return this.handlers.get(tag) ?? this.parent?.get(tag);
  }

  /**
   * Whether get()'s answers may be kept while answerChanges.count stays the same (registrations
   * here and in the parents count there): false when get() is overridden here or in a parent.
   */
  keepsAnswers(): boolean {
    for (let r: UnjellyableRegistry | undefined = this; r !== undefined; r = r.parent) if (r.get !== UnjellyableRegistry.prototype.get) return false;
    return true;
  }

  /** Whether a tag has a handler, here or in the parent registry. */
  has(tag: string): boolean {
    return this.get(tag) !== undefined;
  }

  /** The tags registered here (the parent's not included). */
  tags(): string[] {
    return [...new Set([...(this.parent?.tags() ?? []), ...this.handlers.keys()])];
  }
}

/** The process-wide default registry, like Twisted's module-level one. */
export const defaultRegistry = new UnjellyableRegistry();
