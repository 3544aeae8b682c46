// Pacing pagers by the connection (pb.py Broker.registerPageProducer): one page per pager each
// time the transport asks for more, never everything at once.
import type { LogEntry, PageProducer } from "./broker-api.ts";
import { PBError } from "./errors.ts";
import type { Transport } from "./transport.ts";

export class PageScheduler {
  private producers: PageProducer[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** See register(). */
  firstPagesDue = false;

  constructor(
    private readonly maxPagers: number,
    private readonly transport: () => Transport | null,
    private readonly isDisconnected: () => boolean,
    private readonly log: (entry: LogEntry) => void,
  ) {}

  get size(): number {
    return this.producers.length;
  }

  register(pager: PageProducer): void {
    // A peer that keeps asking for pages while never reading them would pile them up here.
    if (this.producers.length >= this.maxPagers) throw new PBError(`Maximum PB pager count exceeded (${this.maxPagers} active on this connection).`);
    this.producers.push(pager);
    if (this.producers.length !== 1) return;
    const transport = this.transport();
    if (transport?.registerProducer) transport.registerProducer(() => this.resumeProducing());
    else this.timer = setTimeout(() => this.pump(), 0);
    // Twisted's transports ask a pull producer for data as soon as it is registered, so the first
    // page goes out before the answer to the call that made the pager (fixtures/sessions/cache.txt
    // #17, #18). The pager is still being constructed here: it is sent once the remote method
    // returns (Broker.recvMessage), or in a microtask when the pager was made outside a call.
    this.firstPagesDue = true;
    queueMicrotask(() => this.sendFirstPages());
  }

  sendFirstPages(): void {
    if (!this.firstPagesDue) return;
    this.firstPagesDue = false;
    if (!this.isDisconnected() && this.producers.length) this.resumeProducing();
  }

  private pump(): void {
    this.timer = null;
    this.resumeProducing();
    if (this.producers.length && !this.isDisconnected()) this.timer = setTimeout(() => this.pump(), 0);
  }

  /** One page from each pager; finished or failing pagers leave. */
  resumeProducing(): void {
    for (let i = this.producers.length - 1; i >= 0; i--) {
      const pager = this.producers[i];
      try {
        pager.sendNextPage();
        if (!pager.stillPaging()) this.producers.splice(i, 1);
      } catch (e) {
        this.log({ level: "error", message: "pager failed", error: e });
        this.producers.splice(i, 1);
        // The collector would otherwise wait for endedPaging for ever.
        try {
          pager.failed?.(e);
        } catch (told) {
          this.log({ level: "error", message: "could not tell the collector its pager failed", error: told });
        }
      }
    }
    if (!this.producers.length) this.transport()?.unregisterProducer?.();
  }

  disconnected(): void {
    this.producers = [];
    if (this.timer) clearTimeout(this.timer);
  }
}
