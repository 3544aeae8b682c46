// What the rest of pb sees of a broker. Flavors, references, caches and pagers are written
// against this interface, not the Broker class, so that the broker (which builds them) sits
// above them and src/pb has no import circle.
import type { Dialect } from "../banana/constants.ts";
import type { Sexp } from "../banana/values.ts";
import type { Jellyable } from "../jelly/jelly.ts";
import type { Kwargs } from "./kwargs.ts";
import type { PBLimits } from "./limits.ts";

/** "initiator" connected (Twisted's isClient); "listener" accepted the connection. */
export type Role = "initiator" | "listener";

/** What the broker reports where Twisted would log. */
export interface LogEntry {
  level: "info" | "error";
  message: string;
  error?: unknown;
}

/** How one call is made: its arguments, and when to give up on it locally. */
export interface CallOptions {
  /** Positional arguments. */
  args?: readonly unknown[];
  /** Keyword arguments. */
  kwargs?: Record<string, unknown> | Map<string, unknown> | Kwargs;
  /** Give up locally when this fires (the peer may still run the call). */
  signal?: AbortSignal;
  /**
   * Give up locally after this many milliseconds (CallTimeout). 0 and Infinity (like leaving it
   * out) set no limit; a negative number or NaN makes the call fail with RangeError unsent.
   */
  timeout?: number;
}

/** A pager as the broker drives it (util.py Pager). */
export interface PageProducer {
  /** Sends the next page. */
  sendNextPage(): void;
  /** Whether pages remain to be sent. */
  stillPaging(): boolean;
  /** Making a page threw: the pager is dropped and may tell its collector. */
  failed?(error: unknown): void;
}

/** A cacheable's owner-side hooks (flavors.Cacheable); see cache.ts. */
export interface CacheableLike extends Jellyable {
  /** Called when a peer's copy goes away: `observer` no longer wants updates. */
  stoppedObserving(perspective: unknown, observer: unknown): void;
}

/** Something `[remote, luid]` can be built from: a Referenceable's ViewPoint, for one. */
export type Sendable = Jellyable & object;

/**
 * A Perspective Broker as flavors, references and caches use it; the Broker class implements it.
 * Applications normally reach it as `ref.broker`.
 */
export interface BrokerAPI {
  readonly role: Role;
  readonly limits: PBLimits;
  readonly strings: "unicode" | "bytes";
  readonly values: "python" | "js";
  /** The perspective being serialized for (Viewable, Copyable and Cacheable read it). */
  readonly serializingPerspective: unknown;
  /** The perspective being unserialized for (new RemoteReferences carry it). */
  readonly unserializingPerspective: unknown;
  /** Resolves once the dialect is chosen and our version sent. */
  readonly ready: Promise<void>;
  /** Resolves (with the reason, if any) once the connection is gone. */
  readonly closed: Promise<Error | undefined>;
  readonly isDisconnected: boolean;
  readonly negotiatedDialect: Dialect | null;
  /** Number of calls waiting for an answer. */
  readonly pendingCallCount: number;
  /** Hangs up on the peer. */
  loseConnection(reason?: Error): void;
  /** Calls `notifier` once when the connection is lost (Broker.notifyOnDisconnect). */
  notifyOnDisconnect(notifier: () => void): void;
  /** Forgets a callback given to notifyOnDisconnect. */
  dontNotifyOnDisconnect(notifier: () => void): void;

  /** Sends a call; with `answer` false nothing comes back and undefined is returned. */
  sendMessage(
    prefix: "" | "cache",
    perspective: unknown,
    objectID: number | string,
    name: string,
    args: unknown[],
    kw: Kwargs | null,
    answer: boolean,
    options?: CallOptions,
  ): Promise<unknown> | undefined;
  /** Jellies `value` for `perspective`; a promise gives a promise of the expression. */
  serialize(value: unknown, perspective?: unknown): Sexp | Promise<Sexp>;
  /** Unjellies a call's arguments: the positional ones and the keyword arguments, if any. */
  unserializeCall(netArgs: Sexp, netKw: Sexp, perspective: unknown): [unknown[], Kwargs | null];

  /** Gives `object` a luid (or one more reference), for sending it as [remote, luid]. */
  registerReference(object: object): number;
  /** Runs `fn` when the last reference the peer holds to `object` goes (avatar logout). */
  setLocalCleanup(object: object, fn: () => void): void;
  /** The one ViewPoint for a perspective and a Viewable, so its luid is reused. */
  viewPointFor(perspective: unknown, viewable: object): Sendable;
  /** The local object for an id from the wire (a luid, or a name like root), or null. */
  localObjectForID(id: Sexp): unknown;
  /** Makes the RemoteReference for one received [remote, luid]. */
  remoteReferenceFor(luid: number): unknown;
  /** Sends the decref for a reference let go of explicitly. */
  releaseReference(ref: { readonly luid: number | string }): void;

  /** The luid a Cacheable has on this connection (one more reference with `incref`), if cached. */
  cachedRemotelyAs(instance: object, incref?: boolean): number | undefined;
  /** Registers a Cacheable's first send on this connection. */
  cacheRemotely(instance: object): number;
  /** Remembers the observer of a cached object, handed back to stoppedObserving. */
  setCacheObserver(luid: number, observer: unknown): void;
  /** The owner's object for a received [lcache, luid]. */
  remotelyCachedForLUID(luid: number): unknown;
  /** Stores the RemoteCache built for a received [tag, luid, state]; returns what the application holds. */
  cacheLocally(luid: number, core: object): object;
  /** The same RemoteCache for a received [cached, luid], one more copy counted. */
  cachedLocallyAs(luid: number): unknown;
  /** Lets go of copies of a RemoteCache now (one decache each). */
  releaseCache(luid: number, copies?: number): void;
  /** How many received occurrences of a RemoteCache this side holds. */
  cacheCopiesHeld(luid: number): number;

  /** Sends pages as the connection drains (Broker.registerPageProducer). */
  registerPageProducer(pager: PageProducer): void;
}
