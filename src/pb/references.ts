// The local object table (pb.py Broker.localObjects and luids): what the peer holds references
// to, with a count of the references sent, and the ids shared with the cache table.
import { describeValue } from "../jelly/describe.ts";
import { byteString, type Sexp } from "../banana/values.ts";
import { PBError, ProtocolError } from "./errors.ts";
import type { PBLimits } from "./limits.ts";

/** One object the peer can reach by id: how many references it holds, for which perspective. */
export interface Local {
  object: object;
  refcount: number;
  perspective: unknown;
  /** For a Cacheable: the one observer its copies on this connection are kept in sync through. */
  observer?: unknown;
}

/** One change made while jellying a value, undone if the jellying fails. */
export interface Registration {
  luid: number;
  created: boolean;
  cache: boolean;
}

/**
 * What the reference and cache tables share: one luid sequence (Twisted's currentLocalID), the
 * count of times the peer pushed past MAX_BROKER_REFS, and the log of registrations made by the
 * value being jellied.
 */
export class LocalIDs {
  private current = 0;
  private violations = 0;
  registrations: Registration[] | null = null;

  constructor(private readonly drop: (reason: Error) => void) {}

  next(): number {
    return ++this.current;
  }

  record(luid: number, created: boolean, cache: boolean): void {
    this.registrations?.push({ luid, created, cache });
  }

  /** Raises pb.Error; the fourth time in a row the connection goes too, as Twisted does. */
  limitExceeded(what: "reference" | "cache"): never {
    this.violations++;
    if (this.violations > 3) {
      const err = new PBError(`Maximum PB ${what} count exceeded.  Goodbye.`);
      // As Twisted (loseConnection, then raise): the error answer written for this call still
      // reaches the peer before the connection closes.
      setTimeout(() => this.drop(err), 0);
      throw err;
    }
    throw new PBError(`Maximum PB ${what} count exceeded.`);
  }

  resetViolations(): void {
    this.violations = 0;
  }
}

/** A wire id as a table key: luids are numbers, names (root) are text. */
export function objectKey(objectID: Sexp): number | string | undefined {
  if (typeof objectID === "number") return objectID;
  if (typeof objectID === "string" || objectID instanceof Uint8Array) return byteString(objectID);
  return undefined;
}

/**
 * What both tables of this side's objects share (ReferenceTable, SentCaches): objects by id,
 * ids by object, and undoing a registration.
 */
export abstract class LocalTable<K extends number | string> {
  // Made on first use: most connections never use some of the tables (a login server's
  // connections send no Cacheable), and an empty Map still costs a hash table.
  protected objectsMade: Map<K | number, Local> | null = null;
  protected luidsMade: Map<object, number> | null = null;

  /** Objects by id (made on first use). */
  protected get objects(): Map<K | number, Local> {
    return (this.objectsMade ??= new Map());
  }

  /** Ids by object (made on first use). */
  protected get luids(): Map<object, number> {
    return (this.luidsMade ??= new Map());
  }

  get size(): number {
    return this.objectsMade === null ? 0 : this.objectsMade.size;
  }

  /** Undoes one registration of a value whose jellying failed. */
  rollback(r: Registration): void {
    const local = this.objectsMade?.get(r.luid);
    if (!local) return;
    if (r.created) {
      this.objects.delete(r.luid);
      this.luids.delete(local.object);
    } else local.refcount--;
  }

  clear(): void {
    // Map.clear() makes a new table even for an empty map (a connection's teardown clears them all).
    if (this.objectsMade?.size) this.objectsMade.clear();
    if (this.luidsMade?.size) this.luidsMade.clear();
  }
}

export class ReferenceTable extends LocalTable<number | string> {
  /** Logout hooks by object (made at the first: only a login server's avatars have one). */
  private cleanups: Map<object, () => void> | null = null;

  constructor(
    private readonly ids: LocalIDs,
    private readonly limits: PBLimits,
    /** Told when an object leaves the table (the broker forgets its ViewPoint). */
    private readonly forgotten: (object: object) => void,
  ) {
    super();
  }

  objectFor(id: Sexp): unknown {
    const key = objectKey(id);
    if (key === undefined || this.objectsMade === null) return null;
    return this.objectsMade.get(key)?.object ?? null;
  }

  register(object: object, perspective: unknown): number {
    let luid = this.luids.get(object);
    if (luid === undefined) {
      if (this.objects.size > this.limits.maxBrokerRefs) this.ids.limitExceeded("reference");
      luid = this.ids.next();
      this.objects.set(luid, { object, refcount: 1, perspective });
      this.luids.set(object, luid);
      this.ids.record(luid, true, false);
    } else {
      this.objects.get(luid)!.refcount++;
      this.ids.record(luid, false, false);
    }
    return luid;
  }

  setName(name: string, object: object): void {
    this.objects.set(name, { object, refcount: 1, perspective: null });
  }

  setCleanup(object: object, fn: () => void): void {
    (this.cleanups ??= new Map()).set(object, fn);
  }

  /** The peer's decref: one reference fewer; at none the object is forgotten and its cleanup runs. */
  decref(objectID: Sexp): void {
    const key = objectKey(objectID);
    const local = key === undefined ? undefined : this.objectsMade?.get(key);
    if (!local || typeof key !== "number") throw new ProtocolError(`decref for unknown object ${describeValue(objectID)}`);
    if (--local.refcount > 0) return;
    this.objects.delete(key);
    this.luids.delete(local.object);
    this.forgotten(local.object);
    if (this.objects.size <= this.limits.maxBrokerRefs) this.ids.resetViolations();
    const cleanup = this.cleanups?.get(local.object);
    if (cleanup) {
      this.cleanups!.delete(local.object);
      cleanup();
    }
  }

  override clear(): void {
    super.clear();
    if (this.cleanups?.size) this.cleanups.clear();
  }
}
