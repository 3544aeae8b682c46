// publish.py: a Cacheable that knows when it was published and whose full state the holder
// fetches (and keeps in a local store) only when it changed.
import type { Sexp } from "../banana/values.ts";
import { decode } from "../banana/decoder.ts";
import { encode } from "../banana/encoder.ts";
import { jelly } from "../jelly/jelly.ts";
import { PyFloat } from "../banana/values.ts";
import { unjelly } from "../jelly/unjelly.ts";
import { Cacheable, RemoteCache, type RemoteCacheObserver } from "./cache.ts";
import type { RemoteReference } from "./remote.ts";

/** What a perspective may tell about itself (Twisted's legacy perspectiveName / getService().serviceName). */
interface NamedPerspective {
  perspectiveName?: string;
  getService?: () => { serviceName?: string };
}

/** publish.Publishable: cached with {remote, publishedID, perspective, service, timestamp}. */
export abstract class Publishable extends Cacheable {
  timestamp = 0;
  constructor(public publishedID: unknown) {
    super();
    this.republish();
  }

  /** Marks the state as changed: holders fetch it again. */
  republish(): void {
    this.timestamp = Date.now() / 1000;
  }

  /** What a RemotePublished fetches (view_: the caller's perspective is passed). */
  view_getStateToPublish(perspective: unknown): unknown {
    return this.getStateToPublishFor(perspective);
  }

  /** The state published to a perspective: by default getStateToPublish(). */
  getStateToPublishFor(_perspective: unknown): unknown {
    return this.getStateToPublish();
  }

  /** The state published. */
  abstract getStateToPublish(): unknown;

  /** Copies only the publication's identity and timestamp; the copy fetches the state when it is stale. */
  override getStateToCacheAndObserveFor(perspective: unknown, observer: RemoteCacheObserver): unknown {
    let pname = "None";
    let sname = "None";
    if (perspective) {
      const p = perspective as NamedPerspective;
      pname = String(p.perspectiveName ?? "None");
      sname = String(p.getService?.().serviceName ?? "None");
    }
    return new Map<string, unknown>([
      ["remote", observer.broker.viewPointFor(perspective, this as never)],
      ["publishedID", this.publishedID],
      ["perspective", pname],
      ["service", sname],
      ["timestamp", Number.isInteger(this.timestamp) ? new PyFloat(this.timestamp) : this.timestamp],
    ]);
  }
}

/** Where RemotePublished keeps what it fetched (Twisted writes service-perspective-id.pub files). */
export interface PublishedStore {
  /** The saved state of a published object, or null. */
  load(name: string): Uint8Array | null | Promise<Uint8Array | null>;
  /** Saves the state of a published object. */
  save(name: string, data: Uint8Array): void | Promise<void>;
}

/** A store in memory, shared by the process. */
export class MemoryPublishedStore implements PublishedStore {
  private readonly files = new Map<string, Uint8Array>();
  /** The saved state of a published object, or null. */
  load(name: string): Uint8Array | null {
    return this.files.get(name) ?? null;
  }
  /** Saves the state of a published object. */
  save(name: string, data: Uint8Array): void {
    this.files.set(name, data);
  }
}

const INTERNAL = new Set(["broker", "remote", "luid", "activationListeners", "isActivated", "updates", "store"]);

/** publish.RemotePublished: fetches the published state unless its store has it for the same timestamp. */
export class RemotePublished extends RemoteCache {
  static store: PublishedStore = new MemoryPublishedStore();
  isActivated = false;
  wasCleanWhenLoaded = false;
  private activationListeners: ((self: RemotePublished) => void)[] = [];
  service!: string;
  perspective!: string;
  publishedID!: unknown;
  timestamp!: number;
  remote!: RemoteReference;

  /** The file name Twisted uses for this publication: service-perspective-id.pub. */
  getFileName(ext = "pub"): string {
    return `${this.service}-${this.perspective}-${String(this.publishedID)}.${ext}`;
  }

  /** Checks the timestamp against the stored copy and fetches the state when it is stale. */
  override setCopyableState(state: unknown): void {
    super.setCopyableState(state);
    this.activationListeners = [];
    void this.load();
  }

  private async load(): Promise<void> {
    const store = (this.constructor as typeof RemotePublished).store;
    let stored: Map<string, unknown> | null = null;
    try {
      const data = await store.load(this.getFileName());
      if (data) stored = unjelly(decode(data, { dialect: "none" })[0], { mode: "python" }) as Map<string, unknown>;
    } catch {
      stored = null;
    }
    if (stored && Number(stored.get("timestamp")) === Number(this.timestamp)) {
      await this.gotUpdate(stored, true);
    } else {
      const fresh = await this.remote.callRemote("getStateToPublish");
      await this.gotUpdate(fresh);
    }
  }

  private async gotUpdate(newState: unknown, fromStore = false): Promise<void> {
    super.setCopyableState(newState);
    if (fromStore) this.wasCleanWhenLoaded = true;
    this.isActivated = true;
    const listeners = this.activationListeners;
    this.activationListeners = [];
    for (const l of listeners) l(this);
    this.activated();
    const snapshot = new Map<string, unknown>();
    for (const k of Object.keys(this)) if (!INTERNAL.has(k) && typeof (this as Record<string, unknown>)[k] !== "function") snapshot.set(k, (this as Record<string, unknown>)[k]);
    const store = (this.constructor as typeof RemotePublished).store;
    await store.save(this.getFileName(), encode(jelly(snapshot) as Sexp, { dialect: "none" }));
  }

  /** Called once the state is complete. */
  activated(): void {}

  /** Calls `callback` once the state is complete (at once if it is). */
  callWhenActivated(callback: (self: RemotePublished) => void): void {
    if (this.isActivated) callback(this);
    else this.activationListeners.push(callback);
  }
}

/** Resolves with the RemotePublished once its state has arrived (publish.whenReady). */
export async function whenReady(pending: Promise<unknown>): Promise<RemotePublished> {
  const published = (await pending) as RemotePublished;
  return new Promise((resolve) => published.callWhenActivated(resolve));
}
