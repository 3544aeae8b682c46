// What the one-pass decoder (fastdecode.ts) keeps of the registry's and the security options'
// answers (may this tag be decoded here?) from one message to the next, and when it must forget
// them: a change counted in answerChanges, another taster, registry or allowedTypes, or a
// checker whose answers cannot be known to hold (then it is asked again in every message).
import { answerChanges } from "./answers.ts";
import type { UnjellyableRegistry } from "./registry.ts";
import { keepsTypeAnswers, type Taster } from "./security.ts";

export class TagAnswers {
  /** Per tag (fasttags.ts T_*): 0 not asked yet, 1 decoded here, 2 give up. */
  readonly allowed: number[] = [0, 0, 0, 0, 0, 0, 0];
  /** answerChanges.count when `allowed` was last cleared; -1: clear it in every message. */
  private at = -1;
  private taster: Taster | null = null;
  private types: unknown = null;
  private registry: UnjellyableRegistry | null = null;
  private isTypeAllowed: unknown = null;

  /** Forgets the answers if they may have changed since they were given (once per message). */
  refresh(taster: Taster, registry: UnjellyableRegistry): void {
    const types = (taster as { allowedTypes?: unknown }).allowedTypes;
    // Walks the parents too (two or three loads): a get() replaced on any of them is seen at once.
    const keepsRegistry = registry.keepsAnswers();
    if (keepsRegistry && this.at === answerChanges.count && taster === this.taster && types === this.types && registry === this.registry && taster.isTypeAllowed === this.isTypeAllowed) return;
    this.allowed.fill(0);
    const keep = keepsTypeAnswers(taster, types) && keepsRegistry;
    this.at = keep ? answerChanges.count : -1;
    this.taster = taster;
    this.types = types;
    this.registry = registry;
    this.isTypeAllowed = taster.isTypeAllowed;
  }
}

const shared = new WeakMap<Taster, WeakMap<UnjellyableRegistry, TagAnswers>>();

/**
 * The answers for this taster and registry, shared by every reader given both (a connection's
 * reader would otherwise ask again on its first message). refresh() still checks, per message,
 * that they are the ones the answers were given for.
 */
export function tagAnswersFor(taster: Taster, registry: UnjellyableRegistry): TagAnswers {
  let byRegistry = shared.get(taster);
  if (byRegistry === undefined) shared.set(taster, (byRegistry = new WeakMap()));
  let answers = byRegistry.get(registry);
  if (answers === undefined) byRegistry.set(registry, (answers = new TagAnswers()));
  return answers;
}
