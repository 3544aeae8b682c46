// The broker's tables and its jellying (the half of pb.py Broker that is not the protocol):
// references, caches, pagers and the perspective values are (un)serialized for. Broker
// (broker.ts) extends it with the messages; the tables themselves live in their own modules.
import { asExpression, predecodedValue, withReferencesMade } from "./predecoded.ts";
import { PeerDialect, type StringsOption } from "./peer.ts";
import { MessageBudget } from "../jelly/budget.ts";
import type { Sexp } from "../banana/values.ts";
import { Jellier } from "../jelly/jelly.ts";
import type { UnjellyableRegistry } from "../jelly/registry.ts";
import { globalSecurity, type Taster } from "../jelly/security.ts";
import { Unjellier } from "../jelly/unjelly.ts";
import type { BrokerAPI, CallOptions, LogEntry, PageProducer, Role } from "./broker-api.ts";
import { ReceivedCaches, SentCaches } from "./caches.ts";
import { DeadReferenceError } from "./errors.ts";
import { ViewPoint, type Viewable } from "./flavors.ts";
import { callArguments, type Kwargs } from "./kwargs.ts";
import { DEFAULT_PB_LIMITS, pbLimits, type PBLimits } from "./limits.ts";
import { DEFAULT_BANANA_LIMITS, type BananaLimits } from "../banana/limits.ts";
import { isThenable } from "./message-values.ts";
import { logToDefault } from "./log.ts";
import { PageScheduler } from "./pagers.ts";
import { PendingCalls } from "./pending.ts";
import { LocalIDs, ReferenceTable, type Registration } from "./references.ts";
import { copyRegistry } from "./registry.ts";
import { collectionTokenOf, RemoteReference, setCollectionToken } from "./remote.ts";
import { decRefWatch, type DecRefLink } from "./collected.ts";
import type { Transport } from "./transport.ts";

/** Banana's part of each PB limits object, made once per object (the defaults: banana's own, which need no copy). */
const bananaLimitsMade = new WeakMap<PBLimits, BananaLimits>();
export function bananaLimitsOf(limits: PBLimits): BananaLimits {
  if (limits === DEFAULT_PB_LIMITS) return DEFAULT_BANANA_LIMITS;
  let b = bananaLimitsMade.get(limits);
  if (!b) {
    const { prefixLimit, sizeLimit, maxMessageNodes, maxMessageBytes } = limits;
    bananaLimitsMade.set(limits, (b = Object.freeze({ prefixLimit, sizeLimit, maxMessageNodes, maxMessageBytes })));
  }
  return b;
}

/** The options the tables and jellying read; Broker's options add the root and onReady. */
export interface BrokerCoreOptions {
  /** "initiator" connected (Twisted's isClient); "listener" accepted the connection. */
  role: Role;
  /** What may be received (PB's globalSecurity by default). */
  security?: Taster;
  /** Copy tags; PB's own tags are always understood. */
  registry?: UnjellyableRegistry;
  /** Send JS stacks as failure tracebacks (Twisted's unsafeTracebacks). */
  unsafeTracebacks?: boolean;
  /**
   * The peer's Python, per connection (see peer.ts): "unicode" (Python 3), "bytes" (Python 2: JS
   * strings go out as byte strings, failures named as Python 2 names them) or "auto" (default:
   * Python 3 until the peer shows it runs Python 2).
   */
  strings?: StringsOption;
  /** How received values look: "python" (lossless, default) or "js" (idiomatic). */
  values?: "python" | "js";
  limits?: Partial<PBLimits>;
  /**
   * Where the broker reports what Twisted would log: unexpected exceptions in remote methods,
   * dropped connections. Default: the default logger (stderr; see setDefaultLogger).
   */
  log?: (entry: LogEntry) => void;
}

/**
 * The tables and jellying half of a Broker: references, caches, pagers and the perspectives
 * values are (un)serialized for. Not used on its own; Broker adds the messages.
 */
export abstract class BrokerCore implements BrokerAPI {
  readonly role: Role;
  readonly security: Taster;
  readonly registry: UnjellyableRegistry;
  readonly limits: PBLimits;
  /** The peer's Python on this connection (peer.ts): the string mode and failure names follow it. */
  readonly peer: PeerDialect;
  /** The string mode values are jellied in now ("bytes" for a Python 2 peer). */
  get strings(): "unicode" | "bytes" {
    return this.peer.strings;
  }
  readonly values: "python" | "js";
  unsafeTracebacks: boolean;

  /** The perspective being serialized for (Viewable, Copyable and Cacheable read it). */
  serializingPerspective: unknown = null;
  /** The perspective being unserialized for (new RemoteReferences carry it). */
  unserializingPerspective: unknown = null;

  protected transport: Transport | null = null;
  protected disconnected = false;
  /** Where this broker reports what Twisted would log (the `log` option, or the default logger). */
  protected readonly log: (entry: LogEntry) => void;
  protected readonly ids: LocalIDs;
  protected readonly references: ReferenceTable;
  protected received = 0;
  /** ViewPoints by perspective, then Viewable (made at the first: most connections send no Viewable). */
  protected viewPoints: Map<unknown, Map<Viewable, ViewPoint>> | null = null;
  // The cache tables and the pager scheduler are made at their first use: most connections
  // never send or receive a Cacheable nor page anything.
  private sentCachesMade: SentCaches | null = null;
  private receivedCachesMade: ReceivedCaches | null = null;
  private pagersMade: PageScheduler | null = null;
  protected readonly pending = new PendingCalls();
  /** How a collected RemoteReference's decref reaches this broker (pb/collected.ts); made at the first refcounted reference, cut at disconnect. */
  private decRefLink: DecRefLink | null = null;

  constructor(options: BrokerCoreOptions) {
    this.role = options.role;
    this.security = options.security ?? globalSecurity;
    this.registry = options.registry ?? copyRegistry;
    this.limits = pbLimits(options.limits);
    this.peer = new PeerDialect(options.strings ?? "auto");
    this.values = options.values ?? "python";
    this.unsafeTracebacks = options.unsafeTracebacks ?? false;
    this.log = options.log ?? logToDefault;
    this.ids = new LocalIDs((reason) => this.drop(reason, true));
    this.references = new ReferenceTable(this.ids, this.limits, (object) => {
      if (object instanceof ViewPoint) this.forgetViewPoint(object);
    });
  }

  /** The Cacheables the peer holds copies of. */
  protected get sentCaches(): SentCaches {
    return (this.sentCachesMade ??= new SentCaches(this.ids, this.limits, this.log));
  }

  /** The copies this side holds of the peer's Cacheables. */
  protected get receivedCaches(): ReceivedCaches {
    return (this.receivedCachesMade ??= new ReceivedCaches(
      (luid) => this.decCacheRef(luid),
      () => this.disconnected,
    ));
  }

  /** Paces the pagers sending on this connection. */
  protected get pagers(): PageScheduler {
    return (this.pagersMade ??= new PageScheduler(
      this.limits.maxPagers,
      () => this.transport,
      () => this.disconnected,
      this.log,
    ));
  }

  /** Whether a pager registered during the current call still owes its first page (see PageScheduler.register). */
  protected get firstPagesDue(): boolean {
    return this.pagersMade !== null && this.pagersMade.firstPagesDue;
  }

  /** The connection is gone: observers stop, received caches go dead, pagers stop (the tables that exist). */
  protected tablesDisconnected(): void {
    this.sentCachesMade?.disconnected();
    this.receivedCachesMade?.disconnected();
    this.pagersMade?.disconnected();
  }

  /** After the disconnect notifiers: every table is emptied. */
  protected clearTables(): void {
    // A reference collected from now on sends nothing, and the watch no longer reaches this connection.
    if (this.decRefLink !== null) this.decRefLink.sender = null;
    this.references.clear();
    // (Map.clear() makes a new table even for an empty map: a connection's teardown skips those.)
    if (this.viewPoints?.size) this.viewPoints.clear();
    this.sentCachesMade?.clear();
    this.receivedCachesMade?.clear();
  }

  abstract readonly ready: Promise<void>;
  abstract readonly closed: Promise<Error | undefined>;
  abstract readonly isDisconnected: boolean;
  abstract readonly negotiatedDialect: BrokerAPI["negotiatedDialect"];
  abstract loseConnection(reason?: Error): void;
  /** Calls `notifier` once when the connection is lost (Broker.notifyOnDisconnect). */
  abstract notifyOnDisconnect(notifier: () => void): void;
  /** Forgets a callback given to notifyOnDisconnect. */
  abstract dontNotifyOnDisconnect(notifier: () => void): void;
  abstract sendMessage(
    prefix: "" | "cache",
    perspective: unknown,
    objectID: number | string,
    name: string,
    args: unknown[],
    kw: Kwargs | null,
    answer: boolean,
    options?: CallOptions,
  ): Promise<unknown> | undefined;
  /** Encodes and writes one PB message. */
  protected abstract sendCall(...exp: Sexp[]): void;
  /** Drops the connection for `reason`. */
  protected abstract drop(reason: Error, graceful?: boolean): void;

  /** Sends pages as the connection drains: one page per pager each time the transport asks for more. */
  registerPageProducer(pager: PageProducer): void {
    if (this.disconnected) throw new DeadReferenceError("Calling Stale Broker");
    this.pagers.register(pager);
  }

  /** Called by the transport when its buffer has drained. */
  resumeProducing(): void {
    this.pagersMade?.resumeProducing();
  }

  /** Tells the peer we no longer hold its object `luid` (a `decref` message). */
  sendDecRef(luid: number | string): void {
    this.sendCall("decref", luid);
  }

  /** Sends decref for a RemoteReference released explicitly (garbage collection does it too). */
  releaseReference(ref: { readonly luid: number | string }): void {
    const token = collectionTokenOf(ref);
    if (token !== null) decRefWatch.unwatch(token);
    if (!this.disconnected) this.sendDecRef(ref.luid);
  }

  /** Drops one receipt of the cache `luid`; the last sends `decache` (pb.py decCacheRef). */
  decCacheRef(luid: number): void {
    this.sendCall("decache", luid);
  }

  // ---- the object tables ----------------------------------------------------------------

  /** The local object for an id from the wire (a luid, or a name like root), or null. */
  localObjectForID(id: Sexp): unknown {
    return this.references.objectFor(id);
  }

  /** Gives `object` a luid (or one more reference), for sending it as [remote, luid]. */
  registerReference(object: object): number {
    return this.references.register(object, this.serializingPerspective);
  }

  /** Registers an object under a name (the listener's root is "root"). */
  setNameForLocal(name: string, object: object): void {
    this.references.setName(name, object);
  }

  /** A reference to the peer's object of that name; it is never decref'd. */
  remoteForName(name: string): RemoteReference {
    return new RemoteReference(null, this, name, false);
  }

  /** Makes the RemoteReference for one received [remote, luid]. */
  remoteReferenceFor(luid: number): RemoteReference {
    const ref = new RemoteReference(this.unserializingPerspective, this, luid, true);
    const token = {};
    if (decRefWatch.watch(token, { link: (this.decRefLink ??= { sender: this }), luid }, token)) setCollectionToken(ref, token);
    return ref;
  }

  /** Runs `fn` when the last reference the peer holds to `object` goes (avatar logout). */
  setLocalCleanup(object: object, fn: () => void): void {
    this.references.setCleanup(object, fn);
  }

  /** Drops a ViewPoint the peer let go of, and its perspective's table once that is empty (a logged-out avatar stays in no table). */
  private forgetViewPoint(vp: ViewPoint): void {
    const byViewable = this.viewPoints?.get(vp.perspective);
    if (!byViewable || byViewable.get(vp.object) !== vp) return;
    byViewable.delete(vp.object);
    if (byViewable.size === 0) this.viewPoints!.delete(vp.perspective);
  }

  /** The one ViewPoint for a perspective and a Viewable, so its luid is reused. */
  viewPointFor(perspective: unknown, viewable: Viewable): ViewPoint {
    const viewPoints = (this.viewPoints ??= new Map());
    let byViewable = viewPoints.get(perspective);
    if (!byViewable) viewPoints.set(perspective, (byViewable = new Map()));
    let vp = byViewable.get(viewable);
    if (!vp) byViewable.set(viewable, (vp = new ViewPoint(perspective, viewable)));
    return vp;
  }

  /** Number of entries in the local object table (root included). */
  get localObjectCount(): number {
    return this.references.size;
  }

  /** Number of pagers still sending on this connection (limits.maxPagers at most). */
  get activePagerCount(): number {
    return this.pagersMade === null ? 0 : this.pagersMade.size;
  }

  /** PB messages received once the dialect was chosen (the peer's "version" included). */
  get messagesReceived(): number {
    return this.received;
  }

  /** Number of calls waiting for an answer. */
  get pendingCallCount(): number {
    return this.pending.size;
  }

  // ---- caches (used by Cacheable and RemoteCache) ---------------------------------------

  /** The luid a Cacheable has on this connection (one more reference with `incref`), if cached. */
  cachedRemotelyAs(instance: object, incref = false): number | undefined {
    return this.sentCachesMade?.cachedAs(instance, incref);
  }

  /** Registers a Cacheable's first send on this connection. */
  cacheRemotely(instance: object): number {
    return this.sentCaches.cache(instance, this.serializingPerspective);
  }

  /** Remembers the observer of a cached object, handed back to stoppedObserving. */
  setCacheObserver(luid: number, observer: unknown): void {
    this.sentCaches.setObserver(luid, observer);
  }

  remotelyCachedForLUID(luid: number): unknown {
    return this.sentCaches.objectFor(luid);
  }

  /** Number of Cacheables the peer holds copies of. */
  get remotelyCachedCount(): number {
    return this.sentCachesMade === null ? 0 : this.sentCachesMade.size;
  }

  /** Number of caches this side holds for the peer. */
  get locallyCachedCount(): number {
    return this.receivedCachesMade === null ? 0 : this.receivedCachesMade.size;
  }

  /** Stores the RemoteCache built for a received [tag, luid, state]; returns the facade the application holds. */
  cacheLocally(luid: number, core: object): object {
    return this.receivedCaches.store(luid, core);
  }

  /** The same RemoteCache object for a received [cached, luid], one more reference counted. */
  cachedLocallyAs(luid: number): unknown {
    return this.receivedCaches.cachedAs(luid);
  }

  /** Lets go of `copies` received occurrences of a RemoteCache now: one decache each (garbage collection sends the rest). */
  releaseCache(luid: number, copies = 1): void {
    this.receivedCaches.release(luid, copies);
  }

  /** How many received occurrences of a RemoteCache this side holds (each owes one decache). */
  cacheCopiesHeld(luid: number): number {
    return this.receivedCachesMade === null ? 0 : this.receivedCachesMade.copiesHeld(luid);
  }

  // ---- jelly with the broker as invoker -------------------------------------------------

  /** Jellies `value` for `perspective`; a promise gives a promise of the expression (Twisted's Deferred case). */
  serialize(value: unknown, perspective: unknown = null): Sexp | Promise<Sexp> {
    if (isThenable(value)) return Promise.resolve(value).then((v) => this.serializeNow(v, perspective));
    return this.serializeNow(value, perspective);
  }

  /**
   * Jellies synchronously. If it fails part way, references registered so far are rolled back
   * (Twisted leaks them; PROTOCOL.md section 7).
   */
  serializeNow(value: unknown, perspective: unknown = null): Sexp {
    const outer = this.ids.registrations;
    const mine: Registration[] = [];
    this.ids.registrations = mine;
    const savedPerspective = this.serializingPerspective;
    this.serializingPerspective = perspective;
    try {
      const sexp = new Jellier({ invoker: this, strings: this.strings, maxDepth: this.limits.maxDepth }).jelly(value);
      outer?.push(...mine);
      return sexp;
    } catch (e) {
      for (let i = mine.length - 1; i >= 0; i--) (mine[i].cache ? this.sentCaches : this.references).rollback(mine[i]);
      throw e;
    } finally {
      this.ids.registrations = outer;
      this.serializingPerspective = savedPerspective;
    }
  }

  /** Unjellies one received expression; `budget` is shared by the parts of one message (see MessageBudget). */
  unserialize(sexp: Sexp, perspective: unknown = null, budget?: MessageBudget): unknown {
    // Plain data the receiver already unjellied (jelly/fastreceive.ts): no budget is made for it.
    const done = predecodedValue(sexp, this);
    if (done !== this) return done;
    const saved = this.unserializingPerspective;
    this.unserializingPerspective = perspective;
    try {
      // References in plain data: made here, where the tree path's unjelly makes them.
      const made = withReferencesMade(sexp, this, this.registry, this);
      if (made !== this) return made;
      budget ??= new MessageBudget(this.limits);
      return new Unjellier({ security: this.security, registry: this.registry, invoker: this, mode: this.values, strings: this.peer.strings, bytesAsText: this.peer.strings === "bytes", maxDepth: this.limits.maxDepth, budget }).unjellyFull(asExpression(sexp));
    } finally {
      this.unserializingPerspective = saved;
    }
  }

  /** Unjellies a call's arguments: a list of positional arguments and the keyword arguments, if any. */
  unserializeCall(netArgs: Sexp, netKw: Sexp, perspective: unknown): [unknown[], Kwargs | null] {
    const args = predecodedValue(netArgs, this);
    const kw = predecodedValue(netKw, this);
    // Both already unjellied (plain data, the common call): no budget is needed.
    if (args !== this && kw !== this) return callArguments(args, kw);
    // One budget for the whole message.
    const budget = new MessageBudget(this.limits);
    return callArguments(this.unserialize(netArgs, perspective, budget), this.unserialize(netKw, perspective, budget));
  }
}
