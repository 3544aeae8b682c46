// Sends the decref of a RemoteReference the garbage collector took (pb.py RemoteReference.__del__).
//
// V8 keeps what a FinalizationRegistry's cells point at alive through every young-generation
// collection until the next full one (measured: registering a reference itself kept each closed
// login's whole connection, socket included, about 6.5 KiB, alive and promoted to the old
// generation). So what is registered points at nothing large: the target is a small token the
// reference owns, the holdings reach the broker through a link cut when the connection is gone,
// and one registry serves every broker (its callback captures nothing).

/** Whom a collected reference's decref goes to; `sender` is null once the connection is gone. */
export interface DecRefLink {
  sender: { sendDecRef(luid: number): void; readonly isDisconnected: boolean } | null;
}

interface Held {
  readonly link: DecRefLink;
  readonly luid: number;
}

function referenceCollected(held: Held): void {
  const sender = held.link.sender;
  if (sender !== null && !sender.isDisconnected) sender.sendDecRef(held.luid);
}

let registry: FinalizationRegistry<Held> | null | undefined;

function sharedRegistry(): FinalizationRegistry<Held> | null {
  if (registry === undefined) registry = typeof FinalizationRegistry === "function" ? new FinalizationRegistry(referenceCollected) : null;
  return registry;
}

/**
 * Watches for the collection of the owner of the returned token (the owner keeps it and nothing
 * else does): then `link.sender`, if still set and connected, sends the decref of `luid`. Null where the
 * platform has no FinalizationRegistry.
 */
export function watchCollection(link: DecRefLink, luid: number): object | null {
  const r = sharedRegistry();
  if (r === null) return null;
  const token = {};
  r.register(token, { link, luid }, token);
  return token;
}

/** Stops watching (the reference was released explicitly). */
export function unwatchCollection(token: object): void {
  registry?.unregister(token);
}
