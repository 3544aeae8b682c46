// The broker's only view of the connection: bytes out, a way to hang up, optional flow control.
// The network layer (src/net) and the in-memory pair below implement it.

/** What a broker writes to: a socket adapter, or an in-memory pipe in tests. */
export interface Transport {
  /** Sends bytes to the peer. */
  write(data: Uint8Array): void;
  /** Close the connection; the owner then calls broker.connectionLost(). */
  loseConnection(reason?: Error): void;
  /**
   * Optional flow control (Twisted's registerProducer with a pull producer): the transport calls
   * `resume` whenever its buffers have drained, until unregistered. Pagers use it.
   */
  registerProducer?(resume: () => void): void;
  /** Stops calling the producer registered with registerProducer. */
  unregisterProducer?(): void;
  /**
   * True while every chunk given to the broker comes from an I/O callback (a socket read, or the
   * ticks right after one), never from a setImmediate callback: a call's turn then needs no timer
   * to mark its end. Absent or false: the broker assumes any phase of the event loop.
   */
  readonly deliversFromIO?: boolean;
}

/** What a broker offers its transport owner. */
export interface Protocol {
  /** Connected: from now on write to `transport`. */
  makeConnection(transport: Transport): void;
  /** Bytes arrived from the peer. */
  dataReceived(data: Uint8Array): void;
  /** The connection is gone (`reason` when it was not a clean close). */
  connectionLost(reason?: Error): void;
}

/** Two protocols connected in memory; close() loses the connection on both sides. */
export interface InMemoryConnection {
  /** Hangs up both ends. */
  close(reason?: Error): void;
}

/**
 * Two protocols wired back to back in memory (`a` connected to `b`, `b` listening). Writes are
 * delivered on a microtask, like a socket, so re-entrancy behaves as on a real connection.
 * `tap` sees every write, for recording traffic.
 */
export function connectInMemory(a: Protocol, b: Protocol, tap?: (from: "a" | "b", data: Uint8Array) => void): InMemoryConnection {
  let open = true;
  const lose = (reason?: Error) => {
    if (!open) return;
    open = false;
    queueMicrotask(() => {
      a.connectionLost(reason);
      b.connectionLost(reason);
    });
  };
  const pipe = (from: "a" | "b", to: Protocol): Transport => ({
    write(data) {
      if (!open) return;
      const copy = data.slice();
      tap?.(from, copy);
      queueMicrotask(() => {
        if (open) to.dataReceived(copy);
      });
    },
    loseConnection: lose,
  });
  b.makeConnection(pipe("b", a));
  a.makeConnection(pipe("a", b));
  return { close: lose };
}
