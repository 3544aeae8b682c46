// The two cache tables (flavors.py Cacheable / RemoteCache): the Cacheables this side has sent
// (the peer holds copies), and the copies this side holds of the peer's Cacheables.
import type { Sexp } from "../banana/values.ts";
import type { CacheableLike, LogEntry } from "./broker-api.ts";
import { ProtocolError } from "./errors.ts";
import type { PBLimits } from "./limits.ts";
import { CollectionWatch } from "./collected.ts";
import { LocalTable, type LocalIDs, type Local } from "./references.ts";

/** The owner's side: Cacheables the peer holds copies of, counted as the peer received them. */
export class SentCaches extends LocalTable<number> {
  constructor(
    private readonly ids: LocalIDs,
    private readonly limits: PBLimits,
    private readonly log: (entry: LogEntry) => void,
  ) {
    super();
  }

  cachedAs(instance: object, incref: boolean): number | undefined {
    const luid = this.luidsMade?.get(instance);
    if (luid !== undefined && incref) {
      this.objects.get(luid)!.refcount++;
      this.ids.record(luid, false, true);
    }
    return luid;
  }

  cache(instance: object, perspective: unknown): number {
    // As Twisted: the luid is taken even when the table is full.
    const luid = this.ids.next();
    if (this.objects.size > this.limits.maxBrokerRefs) this.ids.limitExceeded("cache");
    this.luids.set(instance, luid);
    this.objects.set(luid, { object: instance, refcount: 1, perspective });
    this.ids.record(luid, true, true);
    return luid;
  }

  setObserver(luid: number, observer: unknown): void {
    const local = this.objectsMade?.get(luid);
    if (local) local.observer = observer;
  }

  objectFor(luid: number): object {
    const local = this.objectsMade?.get(luid);
    if (!local) throw new ProtocolError(`lcache for unknown cache ${luid}`);
    return local.object;
  }

  /** The peer's decache: true when that was its last copy (the owner then sends uncache). */
  decache(luid: number): boolean {
    const local = this.objectsMade?.get(luid);
    if (!local) throw new ProtocolError(`decache for unknown cache ${luid}`);
    if (--local.refcount > 0) return false;
    this.stopObserving(local);
    this.luids.delete(local.object);
    this.objects.delete(luid);
    return true;
  }

  private stopObserving(local: Local): void {
    try {
      (local.object as CacheableLike).stoppedObserving(local.perspective, local.observer);
    } catch (e) {
      this.log({ level: "error", message: "stoppedObserving failed", error: e });
    }
  }

  /** The connection is gone: every observer stops. */
  disconnected(): void {
    if (this.objectsMade === null) return;
    for (const local of this.objectsMade.values()) this.stopObserving(local);
  }
}

/** The holder's side of one cached object: the instance observe_ calls reach, and the facade users hold. */
interface CacheEntry {
  core: object;
  facade: WeakRef<object> | null;
  /** What unregisters the current facade's collection watch (the watched handler itself must stay the facade's alone). */
  watch: object | null;
  /** Occurrences received since the current facade was made: one decache each when it goes. */
  counts: { n: number; live: boolean };
}

/** How a collected facade reaches its table; cut when the connection is gone. */
interface CachesLink {
  caches: ReceivedCaches | null;
}

interface CacheHeld {
  link: CachesLink;
  luid: number;
  counts: { n: number; live: boolean };
}

// A collected facade's decaches (see collected.ts): the watched object is the facade's own Proxy
// handler (nothing else holds it, and it holds nothing), and the facade reaches its table through
// a link cut at disconnect. Registering the facade itself, with a callback holding the table, kept
// a closed connection's objects alive.
const facadeWatch = new CollectionWatch<CacheHeld>((held) => held.link.caches?.facadeGone(held));

/**
 * The holder's side: copies of the peer's Cacheables. The application holds a facade (a Proxy)
 * whose collection sends the decaches, while `core` stays here for observe_ calls until the
 * owner's uncache, as Twisted's borg copies do.
 */
export class ReceivedCaches {
  /** Made at the first cache received: most connections never receive one. */
  private entriesMade: Map<number, CacheEntry> | null = null;
  /** Made at the first facade: most connections never receive a cache. */
  private link: CachesLink | null = null;

  constructor(
    /** Sends one decache. */
    private readonly decache: (luid: number) => void,
    private readonly isDisconnected: () => boolean,
  ) {}

  get size(): number {
    return this.entriesMade === null ? 0 : this.entriesMade.size;
  }

  store(luid: number, core: object): object {
    const entries = (this.entriesMade ??= new Map());
    const old = entries.get(luid);
    if (old) old.counts.live = false;
    const entry: CacheEntry = { core, facade: null, watch: null, counts: { n: 0, live: true } };
    entries.set(luid, entry);
    return this.facade(luid, entry);
  }

  private facade(luid: number, entry: CacheEntry): object {
    let facade = entry.facade?.deref();
    if (facade) {
      entry.counts.n++;
      return facade;
    }
    const handler = {};
    facade = new Proxy(entry.core, handler);
    entry.facade = new WeakRef(facade);
    entry.counts = { n: 1, live: true };
    const watch = {};
    if (facadeWatch.watch(handler, { link: (this.link ??= { caches: this }), luid, counts: entry.counts }, watch)) entry.watch = watch;
    return facade;
  }

  cachedAs(luid: number): object {
    const entry = this.entriesMade?.get(luid);
    if (!entry) throw new ProtocolError(`cached for unknown cache ${luid}`);
    return this.facade(luid, entry);
  }

  /** Where a cachemessage for this id goes, or null. */
  target(raw: Sexp): object | null {
    if (typeof raw !== "number") return null;
    return this.entriesMade?.get(raw)?.core ?? null;
  }

  /** A facade went (collected, or released in full): its decaches, unless it was superseded or the connection is gone. */
  facadeGone(held: Pick<CacheHeld, "luid" | "counts">): void {
    if (!held.counts.live || this.isDisconnected()) return;
    held.counts.live = false;
    for (let i = 0; i < held.counts.n; i++) this.decache(held.luid);
  }

  /**
   * Lets go of `copies` of the received occurrences (Twisted's borg copies: one decache each).
   * The last one also forgets the facade; collection sends whatever is still held.
   */
  release(luid: number, copies = 1): void {
    const entry = this.entriesMade?.get(luid);
    if (!entry || !entry.counts.live || this.isDisconnected()) return;
    const n = Math.min(copies, entry.counts.n);
    if (n < entry.counts.n) {
      entry.counts.n -= n;
      for (let i = 0; i < n; i++) this.decache(luid);
      return;
    }
    this.unwatch(entry);
    entry.facade = null;
    this.facadeGone({ luid, counts: entry.counts });
  }

  /** How many received occurrences of `luid` are held (each owes the owner one decache). */
  copiesHeld(luid: number): number {
    const entry = this.entriesMade?.get(luid);
    return entry && entry.counts.live ? entry.counts.n : 0;
  }

  /** The owner's uncache: it has forgotten the object. */
  uncache(luid: number): void {
    const entry = this.entriesMade?.get(luid);
    if (!entry) throw new ProtocolError(`uncache for unknown cache ${luid}`);
    this.entriesMade!.delete(luid);
    entry.counts.live = false;
    this.unwatch(entry);
    (entry.core as { uncached?: () => void }).uncached?.();
  }

  private unwatch(entry: CacheEntry): void {
    if (entry.watch !== null) facadeWatch.unwatch(entry.watch);
    entry.watch = null;
  }

  disconnected(): void {
    // Facades collected from now on reach nothing: the link no longer holds this table (nor the connection).
    if (this.link !== null) this.link.caches = null;
    if (this.entriesMade === null) return;
    for (const entry of this.entriesMade.values()) entry.counts.live = false;
  }

  clear(): void {
    if (this.entriesMade?.size) this.entriesMade.clear();
  }
}
