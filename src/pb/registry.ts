// PB's copy registry: the tags PB itself receives (remote, local, cached, lcache, failures),
// under a registry for the application's copy tags.
import type { Sexp } from "../banana/values.ts";
import { JellyError } from "../jelly/errors.ts";
import { UnjellyableRegistry, type UnjellyableClass, type UnjellyHandler } from "../jelly/registry.ts";
import type { IdTag } from "../jelly/fastrefs.ts";
import type { UnjellyContext as Unjellier } from "../jelly/registry.ts";
import type { BrokerAPI as Broker } from "./broker-api.ts";
import { COPYABLE_FAILURE_TAG } from "./constants.ts";
import { CopiedFailure } from "./failure.ts";

function unjellyingBroker(u: Unjellier, tag: string): Broker {
  const b = u.invoker as Broker | undefined;
  if (!b || typeof (b as Partial<Broker>).remoteReferenceFor !== "function") throw new JellyError(`'${tag}' can only be received through a PB broker`);
  return b;
}

function taggedLuid(sexp: readonly Sexp[], tag: string): number {
  const luid = sexp[1];
  if (sexp.length !== 2 || typeof luid !== "number" || !Number.isSafeInteger(luid)) throw new JellyError(`'${tag}' needs an int id`);
  return luid;
}

const remote: UnjellyHandler = (u, sexp) => unjellyingBroker(u, "remote").remoteReferenceFor(taggedLuid(sexp, "remote"));
const local: UnjellyHandler = (u, sexp) => {
  if (sexp.length !== 2) throw new JellyError("'local' needs an id");
  return unjellyingBroker(u, "local").localObjectForID(sexp[1]);
};
const cached: UnjellyHandler = (u, sexp) => unjellyingBroker(u, "cached").cachedLocallyAs(taggedLuid(sexp, "cached"));
const lcache: UnjellyHandler = (u, sexp) => unjellyingBroker(u, "lcache").remotelyCachedForLUID(taggedLuid(sexp, "lcache"));

/** The tags every broker understands. */
export const pbBuiltinRegistry = new UnjellyableRegistry()
  .register("remote", remote)
  .register("local", local)
  .register("cached", cached)
  .register("lcache", lcache)
  .register(COPYABLE_FAILURE_TAG, (u, sexp) => {
    if (sexp.length !== 2) throw new JellyError("a failure needs its state");
    return CopiedFailure.fromState(u.unjelly(sexp[1]), u.budget);
  });

/** A reference tag the one-pass reader leaves to the broker: what its handler does with [tag, id], given the id. */
export interface PBIdTag extends IdTag {
  /** What the handler gives for [tag, id] through `broker`. */
  make(broker: Broker, id: number): unknown;
}

/** PB's references, [tag, luid]: read in the one pass while the registry still gives these handlers. */
export const PB_ID_TAGS: readonly PBIdTag[] = [
  { name: "remote", handler: remote, make: (b, id) => b.remoteReferenceFor(id) },
  { name: "local", handler: local, make: (b, id) => b.localObjectForID(id) },
  { name: "cached", handler: cached, make: (b, id) => b.cachedLocallyAs(id) },
  { name: "lcache", handler: lcache, make: (b, id) => b.remotelyCachedForLUID(id) },
];

/** The application's copy tags (Twisted's global unjellyableRegistry, for PB). */
export const copyRegistry = new UnjellyableRegistry(pbBuiltinRegistry);

/** Registers the RemoteCopy (or RemoteCache) class built for a copy tag (pb.setUnjellyableForClass). */
export function setUnjellyableForClass<T extends object>(tag: string, cls: UnjellyableClass<T>, registry: UnjellyableRegistry = copyRegistry): void {
  registry.setUnjellyableForClass(tag, cls);
}

/** pb.setUnjellyableFactoryForClass: `factory(state)` builds the local copy. */
export function setUnjellyableFactoryForClass(tag: string, factory: (state: unknown) => unknown, registry: UnjellyableRegistry = copyRegistry): void {
  registry.setUnjellyableFactoryForClass(tag, factory);
}

/** Twisted's older names. */
export const setCopierForClass = setUnjellyableForClass;
/** Twisted's older name of {@link setUnjellyableFactoryForClass}. */
export const setFactoryForClass = setUnjellyableFactoryForClass;
