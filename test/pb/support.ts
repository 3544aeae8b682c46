// In-memory PB connections for broker tests.
import { Broker, connectInMemory, type BrokerOptions } from "../../src/pb/index.ts";
import type { PBRoot } from "../../src/pb/broker.ts";
import { Root, type RemoteReference } from "../../src/pb/index.ts";

export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

export interface Pair {
  client: Broker;
  server: Broker;
  /** Every write, in order: "C->S hex" / "S->C hex". */
  writes: string[];
  close(): void;
}

export async function pair(root: PBRoot, serverOptions: Partial<BrokerOptions> = {}, clientOptions: Partial<BrokerOptions> = {}): Promise<Pair> {
  const writes: string[] = [];
  const server = new Broker({ ...serverOptions, role: "listener", root });
  const client = new Broker({ ...clientOptions, role: "initiator" });
  const conn = connectInMemory(client, server, (from, d) => writes.push(`${from === "a" ? "C->S" : "S->C"} ${hex(d)}`));
  await client.ready;
  await server.ready;
  return { client, server, writes, close: () => conn.close() };
}

/** A broker fed by hand: returns what it writes. */
export function rawBroker(options: BrokerOptions): { broker: Broker; out: Uint8Array[]; closed: { value: boolean; reason?: Error } } {
  const out: Uint8Array[] = [];
  const closed: { value: boolean; reason?: Error } = { value: false };
  const broker = new Broker(options);
  broker.makeConnection({
    write: (d) => out.push(d.slice()),
    loseConnection: (reason) => {
      closed.value = true;
      closed.reason = reason;
      queueMicrotask(() => broker.connectionLost(reason));
    },
  });
  return { broker, out, closed };
}

export const tick = () => new Promise((r) => setTimeout(r, 0));

/** A root that keeps the reference the other side hands it through remote_take, so tests can call back. */
export class TakingRoot extends Root {
  client: RemoteReference | null = null;
  remote_take(ref: RemoteReference) {
    this.client = ref;
  }
}
