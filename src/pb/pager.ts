// Paging (twisted/spread/util.py): sending data too large for one message as a series of
// gotPage calls (answerRequired 0), paced by the connection draining, then endedPaging.
import { MessageBudget } from "../jelly/budget.ts";
import { valueText } from "../jelly/describe.ts";
import type { Sexp } from "../banana/values.ts";
import { Referenceable } from "./flavors.ts";
import type { RemoteReference } from "./remote.ts";
import { CallAborted, CallTimeout, PBError } from "./errors.ts";
import { startTimer, timeoutError, timeoutLimit } from "./timeout.ts";

/** Sends pages to a remote collector as the broker asks for them (util.Pager). */
export abstract class Pager {
  private paging = true;
  private failedWith: string | null = null;
  constructor(
    readonly collector: RemoteReference,
    private readonly callback?: () => void,
  ) {
    collector.broker.registerPageProducer(this);
  }

  /** False once done; the first time it says so, endedPaging goes out and the callback runs. */
  stillPaging(): boolean {
    if (!this.paging && !this.failedWith) {
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

  /**
   * Making a page failed: the broker drops the pager and this tells the collector
   * (`pagingFailed`, a no-answer call our CallbackPageCollector understands; Twisted's collectors
   * do not and log it, where a failing Twisted pager tells them nothing at all).
   */
  failed(error: unknown): void {
    if (this.failedWith !== null) return;
    this.paging = false;
    this.failedWith = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 1000);
    try {
      this.collector.callRemoteNoAnswer("pagingFailed", this.failedWith);
    } catch {
      // the connection is gone: nobody is waiting
    }
  }
}

/**
 * Pages a byte string in chunkSize-byte slices (util.StringPager, 8192 by default). Text is
 * paged as its UTF-8 bytes, so a page never splits a character and the pages joined are the
 * text's bytes, as a Python 2 str or Python 3 bytes given to Twisted's StringPager would be;
 * text with a lone surrogate (no UTF-8 form) is a TypeError.
 */
export class StringPager extends Pager {
  private pointer = 0;
  private readonly bytes: Uint8Array;
  constructor(
    collector: RemoteReference,
    readonly data: Uint8Array | string,
    readonly chunkSize = 8192,
    callback?: () => void,
  ) {
    if (!(Number.isSafeInteger(chunkSize) && chunkSize > 0)) throw new RangeError(`chunkSize must be a positive integer, got ${String(chunkSize)}`);
    if (typeof data === "string" && !isWellFormed(data)) throw new TypeError("StringPager: text with a lone surrogate has no UTF-8 form");
    super(collector, callback);
    this.bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  }
  /** The next chunk of the data's bytes. */
  nextPage(): Uint8Array {
    const page = this.bytes.slice(this.pointer, this.pointer + this.chunkSize);
    this.pointer += this.chunkSize;
    if (this.pointer >= this.bytes.length) this.stopPaging();
    return page;
  }
}

function isWellFormed(text: string): boolean {
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  if (native) return native.call(text);
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
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
      (error: unknown) => {
        // A source that fails (a file read error) ends the transfer as a failure, not as a
        // complete but truncated one.
        this.reading = false;
        this.done = true;
        this.buffered = [];
        this.failed(error);
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
  private over = false;
  constructor(
    private readonly callback: (pages: unknown[]) => void,
    /** Told when the pager says it failed (our extension: `pagingFailed`); the pages end there. */
    private readonly errback?: (error: PBError) => void,
  ) {
    super();
  }
  /** A page arrived. */
  remote_gotPage(page: unknown): void {
    if (!this.over) this.pages.push(page);
  }
  /** The last page arrived. */
  remote_endedPaging(): void {
    if (this.over) return;
    this.over = true;
    this.callback(this.pages);
  }
  /** The pager failed: no more pages will come. */
  remote_pagingFailed(reason: unknown): void {
    if (this.over) return;
    this.over = true;
    this.errback?.(new PBError(`paging failed on the peer: ${typeof reason === "string" ? reason.slice(0, 1000) : "unknown reason"}`));
  }
  /** Stops collecting: pages arriving later are dropped. */
  giveUp(): void {
    this.over = true;
    this.pages.length = 0;
  }
}

/** getAllPages in full: the remote method, its arguments, and when to give up. */
export interface GetAllPagesOptions {
  /** The remote method, called as `method(collector, ...args)`. */
  method: string;
  /** Its arguments after the collector. */
  args?: readonly unknown[];
  /**
   * Give up after this many milliseconds for the call and every page (CallTimeout); 0 or
   * Infinity (like leaving it out): no limit.
   */
  timeout?: number;
  /** Give up when this fires (CallAborted). */
  signal?: AbortSignal;
}

/**
 * Calls `methodName(collector, ...args)` on the remote object and resolves with every page it
 * sends (util.getAllPages). Fails if the call itself fails, or if the pager reports a failure.
 * `getAllPages(ref, { method, args, timeout, signal })` also gives up after `timeout` ms or when
 * `signal` fires.
 */
export function getAllPages(ref: RemoteReference, options: GetAllPagesOptions): Promise<unknown[]>;
export function getAllPages(ref: RemoteReference, methodName: string, ...args: unknown[]): Promise<unknown[]>;
export function getAllPages(ref: RemoteReference, method: string | GetAllPagesOptions, ...rest: unknown[]): Promise<unknown[]> {
  const o: GetAllPagesOptions = typeof method === "string" ? { method, args: rest } : method;
  const bad = timeoutError(o.timeout);
  if (bad) return Promise.reject(bad);
  if (o.signal?.aborted) return Promise.reject(new CallAborted(`getAllPages(${o.method}) aborted`, o.signal.reason));
  return new Promise((resolve, reject) => {
    const cleanups: (() => void)[] = [];
    const settle = (f: () => void) => {
      cleanups.forEach((c) => c());
      f();
    };
    const collector = new CallbackPageCollector(
      (pages) => settle(() => resolve(pages)),
      (error) => settle(() => reject(error)),
    );
    const giveUp = (error: Error) => {
      collector.giveUp();
      settle(() => reject(error));
    };
    const limit = timeoutLimit(o.timeout);
    if (limit !== undefined) cleanups.push(startTimer(limit, () => giveUp(new CallTimeout(`getAllPages(${o.method}): not every page within ${limit} ms`, limit))));
    const signal = o.signal;
    if (signal) {
      const onAbort = () => giveUp(new CallAborted(`getAllPages(${o.method}) aborted`, signal.reason));
      signal.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener("abort", onAbort));
    }
    ref.call(o.method, { args: [collector, ...(o.args ?? [])], signal: o.signal }).catch((e: unknown) => {
      collector.giveUp();
      settle(() => reject(e));
    });
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
