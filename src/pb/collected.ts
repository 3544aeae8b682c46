// Acting when the garbage collector takes an object (pb.py's __del__): a RemoteReference's decref,
// a cached copy's decaches.
//
// V8 keeps what a FinalizationRegistry's cells point at alive through every young-generation
// collection until the next full one (measured: registering a reference itself kept each closed
// login's whole connection, socket included, about 6.5 KiB, alive and promoted to the old
// generation). So what is watched must point at nothing large: the target is an object only the
// watched thing holds (a token of its own, a Proxy's handler), the holdings reach their table
// through a link cut when the connection is gone, and one registry per kind serves every
// connection (its callback captures nothing).

/** One kind of collection watch: a shared registry, made at the first watch. */
export class CollectionWatch<H> {
  private registry: FinalizationRegistry<H> | null | undefined;

  constructor(private readonly collected: (held: H) => void) {}

  /**
   * Calls `collected(held)` once `target` is collected, unless `unwatch(token)` comes first.
   * `target` must be held by the watched object alone, `held` must not reach it, and `token`
   * (held weakly here) is what the caller keeps to unwatch. False where the platform has no
   * FinalizationRegistry.
   */
  watch(target: object, held: H, token: object): boolean {
    if (this.registry === undefined) this.registry = typeof FinalizationRegistry === "function" ? new FinalizationRegistry(this.collected) : null;
    if (this.registry === null) return false;
    this.registry.register(target, held, token);
    return true;
  }

  /** Stops the watch `token` was given for (the object was let go of explicitly). */
  unwatch(token: object): void {
    this.registry?.unregister(token);
  }
}

/** Whom a collected reference's decref goes to; `sender` is null once the connection is gone. */
export interface DecRefLink {
  sender: { sendDecRef(luid: number): void; readonly isDisconnected: boolean } | null;
}

/** The decref watch of counted RemoteReferences: each watches a token it alone holds. */
export const decRefWatch = new CollectionWatch<{ readonly link: DecRefLink; readonly luid: number }>((held) => {
  const sender = held.link.sender;
  if (sender !== null && !sender.isDisconnected) sender.sendDecRef(held.luid);
});
