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
import { logToDefault } from "./log.ts";

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

/** Longest .pub file name accepted (most file systems stop at 255 bytes). */
const MAX_FILE_NAME = 255;

/**
 * Whether `name` is a plain file name a store may use as is: not empty, not "." or "..", at most
 * 255 UTF-8 bytes, and free of path separators (/ and \\), NUL and other control characters. The service, perspective and id in a .pub name come from the
 * peer, so a store must never let them choose a directory.
 */
export function isSafePublishedFileName(name: string): boolean {
  if (name === "" || name === "." || name === "..") return false;
  if (new TextEncoder().encode(name).length > MAX_FILE_NAME) return false;
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f/\\]/.test(name);
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

const INTERNAL = new Set(["broker", "remote", "luid", "activationListeners", "isActivated", "updates", "store", "failureListeners", "loadError"]);

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

  /** Why the state could not be loaded, once that happened (whenReady rejects with it). */
  loadError: unknown = undefined;
  private failureListeners: ((error: unknown) => void)[] = [];

  /**
   * The file name Twisted uses for this publication: service-perspective-id.pub. The parts come
   * from the peer: a name that could leave the store's directory (see isSafePublishedFileName)
   * throws a RangeError instead.
   */
  getFileName(ext = "pub"): string {
    const name = `${String(this.service)}-${String(this.perspective)}-${String(this.publishedID)}.${ext}`;
    if (!isSafePublishedFileName(name)) throw new RangeError(`unsafe published file name from the peer: ${JSON.stringify(name.slice(0, 300))}`);
    return name;
  }

  /** Checks the timestamp against the stored copy and fetches the state when it is stale. */
  override setCopyableState(state: unknown): void {
    super.setCopyableState(state);
    this.activationListeners = [];
    this.failureListeners = [];
    this.loadError = undefined;
    this.load().catch((error: unknown) => this.loadFailed(error));
  }

  private loadFailed(error: unknown): void {
    this.loadError = error;
    logToDefault({ level: "error", message: "RemotePublished: could not load the published state", error });
    const listeners = this.failureListeners;
    this.activationListeners = [];
    this.failureListeners = [];
    for (const l of listeners) l(error);
  }

  private async load(): Promise<void> {
    const store = (this.constructor as typeof RemotePublished).store;
    const fileName = this.getFileName();
    let stored: Map<string, unknown> | null = null;
    try {
      const data = await store.load(fileName);
      if (data) stored = unjelly(decode(data, { dialect: "none" })[0], { mode: "python" }) as Map<string, unknown>;
    } catch {
      stored = null; // a missing or unreadable copy: fetch the state
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
    this.failureListeners = [];
    for (const l of listeners) l(this);
    this.activated();
    const snapshot = new Map<string, unknown>();
    for (const k of Object.keys(this)) if (!INTERNAL.has(k) && typeof (this as Record<string, unknown>)[k] !== "function") snapshot.set(k, (this as Record<string, unknown>)[k]);
    const store = (this.constructor as typeof RemotePublished).store;
    await store.save(this.getFileName(), encode(jelly(snapshot) as Sexp, { dialect: "none" }));
  }

  /** Called once the state is complete. */
  activated(): void {}

  /**
   * Calls `callback` once the state is complete (at once if it is), or `errback` if it could not
   * be loaded (the store refused the name, the peer's getStateToPublish raised, the connection went).
   */
  callWhenActivated(callback: (self: RemotePublished) => void, errback?: (error: unknown) => void): void {
    if (this.isActivated) callback(this);
    else if (this.loadError !== undefined) errback?.(this.loadError);
    else {
      this.activationListeners.push(callback);
      if (errback) this.failureListeners.push(errback);
    }
  }
}

/**
 * Resolves with the RemotePublished once its state has arrived (publish.whenReady); rejects
 * with the error if it could not be loaded.
 */
export async function whenReady(pending: Promise<unknown>): Promise<RemotePublished> {
  const published = (await pending) as RemotePublished;
  return new Promise((resolve, reject) => published.callWhenActivated(resolve, reject));
}
