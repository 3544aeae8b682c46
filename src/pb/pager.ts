// Paging (twisted/spread/util.py): sending data too large for one message as a series of
// gotPage calls (answerRequired 0), paced by the connection draining, then endedPaging.
import { MessageBudget } from "../jelly/budget.ts";
import { valueText } from "../jelly/describe.ts";
import type { Sexp } from "../banana/values.ts";
import { Referenceable } from "./flavors.ts";
import type { RemoteReference } from "./remote.ts";

/** Sends pages to a remote collector as the broker asks for them (util.Pager). */
export abstract class Pager {
  private paging = true;
  constructor(
    readonly collector: RemoteReference,
    private readonly callback?: () => void,
  ) {
    collector.broker.registerPageProducer(this);
  }

  /** False once done; the first time it says so, endedPaging goes out and the callback runs. */
  stillPaging(): boolean {
    if (!this.paging) {
      this.collector.callRemoteNoAnswer("endedPaging");
      this.callback?.();
    }
    return this.paging;
  }

  /** Sends the next page to the collector (gotPage). */
  sendNextPage(): void {
    this.collector.callRemoteNoAnswer("gotPage", this.nextPage());
  }

  /** The next page's data. */
  abstract nextPage(): unknown;

  /** Stops paging: nothing more is sent. */
  stopPaging(): void {
    this.paging = false;
  }
}

/** Pages a byte string (or text) in chunkSize slices (util.StringPager, 8192 by default). */
export class StringPager extends Pager {
  private pointer = 0;
  constructor(
    collector: RemoteReference,
    readonly data: Uint8Array | string,
    readonly chunkSize = 8192,
    callback?: () => void,
  ) {
    super(collector, callback);
  }
  /** The next chunk of the data. */
  nextPage(): Uint8Array | string {
    const page = this.data.slice(this.pointer, this.pointer + this.chunkSize);
    this.pointer += this.chunkSize;
    if (this.pointer >= this.data.length) this.stopPaging();
    return page;
  }
}

/**
 * Pages the chunks of an iterable or async iterable (a Node stream, a file read in 16 KiB
 * chunks...), reading the next chunk only when the previous one has been sent (util.FilePager).
 */
export class IterablePager extends Pager {
  private readonly iterator: Iterator<Uint8Array> | AsyncIterator<Uint8Array>;
  private buffered: Uint8Array[] = [];
  private reading = false;
  private done = false;

  constructor(collector: RemoteReference, source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, callback?: () => void) {
    super(collector, callback);
    this.iterator = Symbol.asyncIterator in source ? (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]() : (source as Iterable<Uint8Array>)[Symbol.iterator]();
    this.readAhead();
  }

  private readAhead(): void {
    if (this.reading || this.done || this.buffered.length) return;
    this.reading = true;
    Promise.resolve(this.iterator.next()).then(
      (r) => {
        this.reading = false;
        if (r.done) this.finish();
        else this.buffered.push(r.value);
      },
      () => {
        this.reading = false;
        this.finish();
      },
    );
  }

  private finish(): void {
    this.done = true;
    if (!this.buffered.length) this.stopPaging();
  }

  /** Sends the next item, or ends paging when the iterable is done. */
  override sendNextPage(): void {
    const page = this.buffered.shift();
    if (page === undefined) return;
    this.readAhead();
    this.collector.callRemoteNoAnswer("gotPage", page);
    if (this.done && !this.buffered.length) this.stopPaging();
  }

  /** The next item of the iterable. */
  nextPage(): unknown {
    return this.buffered.shift();
  }
}

/** Receives pages and hands them all to `callback` at the end (util.CallbackPageCollector). */
export class CallbackPageCollector extends Referenceable {
  readonly pages: unknown[] = [];
  constructor(private readonly callback: (pages: unknown[]) => void) {
    super();
  }
  /** A page arrived. */
  remote_gotPage(page: unknown): void {
    this.pages.push(page);
  }
  /** The last page arrived. */
  remote_endedPaging(): void {
    this.callback(this.pages);
  }
}

/**
 * Calls `methodName(collector, ...args)` on the remote object and resolves with every page it
 * sends (util.getAllPages). Fails if the call itself fails.
 */
export function getAllPages(ref: RemoteReference, methodName: string, ...args: unknown[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const collector = new CallbackPageCollector(resolve);
    ref.callRemote(methodName, collector, ...args).catch(reject);
  });
}

/** The pages of a byte-string transfer joined back together. */
export function joinPages(pages: unknown[]): Uint8Array {
  // Pages that are not bytes are the peer's values: their text is bounded, for all pages together.
  const allowance = new MessageBudget();
  const parts = pages.map((p) => (p instanceof Uint8Array ? p : new TextEncoder().encode(valueText(p, allowance))));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export type { Sexp };
