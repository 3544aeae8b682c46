// Cacheable / RemoteCache (flavors.py): an object copied once per connection and kept in sync.
// The owner's observer calls observe_<name> on every copy through cachemessage.
import type { Sexp } from "../banana/values.ts";
import { JellyError } from "../jelly/errors.ts";
import { jellyFor, type Jellier } from "../jelly/jelly.ts";
import type { Unjellier } from "../jelly/unjelly.ts";
import type { BrokerAPI as Broker, CallOptions } from "./broker-api.ts";
import { dispatch, type RemoteMessageTarget } from "./flavors.ts";
import { Copyable, RemoteCopy } from "./flavors.ts";
import { ProtocolError } from "./errors.ts";
import { Kwargs, splitArgs } from "./kwargs.ts";
import { checkState } from "./validation.ts";
import "./dispose.ts";

/**
 * Talks to every copy of a Cacheable on one connection (flavors.RemoteCacheObserver). The same
 * observer object is handed to getStateToCacheAndObserveFor and later to stoppedObserving.
 */
export class RemoteCacheObserver {
  constructor(
    readonly broker: Broker,
    readonly cached: object,
    readonly perspective: unknown,
  ) {}

  private cacheID(): number {
    const id = this.broker.cachedRemotelyAs(this.cached);
    // Twisted 22.4 means to raise this but fails with ModuleNotFoundError (PROTOCOL.md section 7).
    if (id === undefined) throw new ProtocolError("You can't call a cached method when the object hasn't been given to the peer yet.");
    return id;
  }

  /** Calls observe_<name> on the peer's copy; a trailing Kwargs gives keyword arguments. */
  callRemote(name: string, ...args: unknown[]): Promise<unknown> {
    let id: number;
    try {
      id = this.cacheID();
    } catch (e) {
      return Promise.reject(e);
    }
    const [positional, kw] = splitArgs(args);
    return this.broker.sendMessage("cache", this.perspective, id, name, positional, kw, true) as Promise<unknown>;
  }

  /** The no-answer form (pbanswer=False). */
  callRemoteNoAnswer(name: string, ...args: unknown[]): void {
    const [positional, kw] = splitArgs(args);
    void this.broker.sendMessage("cache", this.perspective, this.cacheID(), name, positional, kw, false);
  }

  /** Calls a method of the remote copy with options (arguments, timeout, signal). */
  call(name: string, options: CallOptions = {}): Promise<unknown> {
    const kw = options.kwargs === undefined ? null : options.kwargs instanceof Kwargs ? options.kwargs : new Kwargs(options.kwargs);
    return this.broker.sendMessage("cache", this.perspective, this.cacheID(), name, [...(options.args ?? [])], kw, true, options) as Promise<unknown>;
  }

  /** Twisted's observers compare equal by broker, cached object and perspective. */
  equals(other: unknown): boolean {
    return other instanceof RemoteCacheObserver && other.broker === this.broker && other.cached === this.cached && other.perspective === this.perspective;
  }
}

/**
 * Sent once per connection as [tag, luid, state]; afterwards as [cached, luid]. Override
 * getStateToCacheAndObserveFor to keep the observer and call it when the object changes, and
 * stoppedObserving to forget it.
 */
export class Cacheable extends Copyable {
  /** The state a new copy starts from; keep `observer` to send updates to that copy. By default getStateToCopyFor(perspective). */
  getStateToCacheAndObserveFor(perspective: unknown, _observer: RemoteCacheObserver): unknown {
    return this.getStateToCopyFor(perspective);
  }

  /** The copy behind `observer` was released or its connection lost: stop sending to it. */
  stoppedObserving(_perspective: unknown, _observer: RemoteCacheObserver): void {}

  /** Serializes the object as a cache (the first time on a connection) or a reference to the cached copy. */
  override [jellyFor](jellier: Jellier): Sexp {
    const broker = jellier.invoker as Broker | undefined;
    if (!broker) return super[jellyFor](jellier);
    const cached = broker.cachedRemotelyAs(this, true);
    if (cached !== undefined) return ["cached", cached];
    const luid = broker.cacheRemotely(this);
    const p = broker.serializingPerspective;
    const tag = this.getTypeToCopyFor(p);
    const observer = new RemoteCacheObserver(broker, this, p);
    broker.setCacheObserver(luid, observer);
    const state = this.getStateToCacheAndObserveFor(p, observer);
    const sxp = jellier.prepare(this);
    const jstate = jellier.jelly(state);
    sxp.push(tag, luid, jstate);
    return jellier.preserve(this, sxp);
  }
}

/**
 * The holder's copy of a Cacheable: registered for its copy tag, built with `new` (Twisted calls
 * __init__ too) and given the state; `observe_<name>` methods receive the owner's updates. The
 * same object comes back every time the owner sends it again. release() (or garbage collection)
 * tells the owner; avoid #private fields, as the object handed out is a Proxy of this one.
 */
export class RemoteCache extends RemoteCopy implements RemoteMessageTarget {
  broker: Broker | null = null;
  luid: number | null = null;

  remoteMessageReceived(broker: Broker, message: string, args: Sexp, kw: Sexp): Sexp | Promise<Sexp> {
    return dispatch(broker, this, "observe_", message, args, kw, null, null);
  }

  override unjellyFor(unjellier: Unjellier, sexp: readonly Sexp[]): unknown {
    const broker = unjellier.invoker as Broker | undefined;
    if (!broker || typeof (broker as Partial<Broker>).cacheLocally !== "function") return super.unjellyFor(unjellier, sexp);
    const luid = sexp[1];
    if (sexp.length !== 3 || typeof luid !== "number" || !Number.isSafeInteger(luid)) throw new JellyError("a cache needs an int id and its state");
    const core = new (this.constructor as new () => RemoteCache)();
    core.broker = broker;
    core.luid = luid;
    const facade = broker.cacheLocally(luid, core);
    unjellier.adopt(facade);
    core.setCopyableState(checkState(this.constructor as never, unjellier.unjelly(sexp[2])));
    return facade;
  }

  /** Sent back to its owner as [lcache, luid]. */
  [jellyFor](jellier: Jellier): Sexp {
    if (!jellier.invoker) return jellier.unpersistable("RemoteCache cannot be serialized without a broker");
    if (jellier.invoker !== this.broker) throw new JellyError("You cannot exchange cached proxies between brokers.");
    return ["lcache", this.luid!];
  }

  /**
   * Lets go of one received copy now: one decache, as dropping one of Twisted's borg copies
   * sends. Each time the owner sends the object counts as one copy (the same object here); the
   * owner keeps observing until every copy is let go of. Garbage collection sends what is owed.
   */
  releaseCopy(): void {
    if (this.broker && this.luid !== null) this.broker.releaseCache(this.luid, 1);
  }

  /** Lets go of every copy received now (one decache each): the owner stops observing. */
  release(): void {
    if (this.broker && this.luid !== null) this.broker.releaseCache(this.luid, Infinity);
  }

  /** How many times this object has been received and not let go of. */
  get copiesHeld(): number {
    return this.broker && this.luid !== null ? this.broker.cacheCopiesHeld(this.luid) : 0;
  }

  /** `using copy = ...`: the copy this binding received is let go of at the end of the scope. */
  [Symbol.dispose](): void {
    this.releaseCopy();
  }

  /** Called when the owner has forgotten the object (uncache): no more updates will come. */
  uncached(): void {
    this.broker = null;
  }
}
