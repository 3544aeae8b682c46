// Hostile: a peer asks for pages over and over and never reads them (issue 12: 8,000 pages()
// calls buffered 42 MB on one connection). Each call makes a pager holding its data; the
// connection's transport never asks for more, so none finishes. Past limits.maxPagers the
// call that would make another fails with pb.Error; the connection stays up, memory stays
// bounded, and once the peer reads, the pagers finish and new ones are allowed again.
import { describe, expect, it } from "vitest";
import { Broker, CopiedFailure, DEFAULT_PB_LIMITS, PBError, Referenceable, RemoteReference, Root, StringPager, type Protocol, type Transport } from "../../src/pb/index.ts";
import { tick } from "./support.ts";

const PAGE_DATA = 5_000;

class Pages extends Referenceable {
  remote_pages(collector: RemoteReference) {
    // A fresh buffer per call, as a service paging a file or a query result would hold.
    new StringPager(collector, new Uint8Array(PAGE_DATA).fill(0x61), 1_000);
    return null;
  }
}

class PagesRoot extends Root {
  pages = new Pages();
  taken: RemoteReference[] = [];
  remote_pages(collector: RemoteReference) {
    return this.pages.remote_pages(collector);
  }
  remote_take(ref: RemoteReference) {
    this.taken.push(ref);
  }
}

class Collector extends Referenceable {
  pages = 0;
  ended = 0;
  remote_gotPage(_page: unknown) {
    this.pages++;
  }
  remote_endedPaging() {
    this.ended++;
  }
}

/**
 * Two brokers in memory; `victim` (the side serving pages) has a pull-producer transport whose
 * peer never reads: `drain()` plays the peer finally reading.
 */
function connect(victimRole: "listener" | "initiator", root: PagesRoot) {
  const server = new Broker({ role: "listener", root, log: () => {} });
  const client = new Broker({ role: "initiator", log: () => {} });
  const victim = victimRole === "listener" ? server : client;
  let resume: (() => void) | null = null;
  const pipe = (to: Protocol, mine: Broker): Transport => ({
    write: (data) => {
      const copy = data.slice();
      queueMicrotask(() => to.dataReceived(copy));
    },
    loseConnection: () => queueMicrotask(() => (server.connectionLost(), client.connectionLost())),
    ...(mine === victim ? { registerProducer: (r: () => void) => void (resume = r), unregisterProducer: () => void (resume = null) } : {}),
  });
  server.makeConnection(pipe(client, server));
  client.makeConnection(pipe(server, client));
  return { server, client, victim, drain: () => resume?.() };
}

const gc = (globalThis as { gc?: () => void }).gc;

describe.each(["listener", "initiator"] as const)("hostile: pages asked for and never read (victim: %s)", (victimRole) => {
  it("8,000 pages() calls: 100 pagers at most, the rest refused with pb.Error; memory bounded; back to 0 when read", async () => {
    if (!gc) throw new Error("run with --expose-gc");
    const root = new PagesRoot();
    const { server, client, victim, drain } = connect(victimRole, root);
    await client.ready;
    await server.ready;
    // The attacker holds a reference to the victim's Pages object.
    let target: RemoteReference;
    if (victimRole === "listener") target = client.remoteForName("root");
    else {
      // The server side attacks: the client handed it a Pages object.
      await client.remoteForName("root").callRemote("take", new Pages());
      target = root.taken[0];
    }
    expect(target).toBeInstanceOf(RemoteReference);
    expect(victim.limits.maxPagers).toBe(DEFAULT_PB_LIMITS.maxPagers);
    const used = async () => {
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const before = await used();
    const collector = new Collector();
    let results: unknown[] = await Promise.all(Array.from({ length: 8000 }, () => target.callRemote("pages", collector).then(() => "ok", (e: unknown) => e)));
    const refused = results.filter((r) => r !== "ok") as CopiedFailure[];
    expect(results.filter((r) => r === "ok")).toHaveLength(100);
    expect(refused).toHaveLength(7900);
    expect(refused[0]).toBeInstanceOf(CopiedFailure);
    expect(refused[0].type).toBe("twisted.spread.pb.Error");
    expect(refused[0].message).toContain("Maximum PB pager count exceeded");
    expect(victim.activePagerCount).toBe(100);
    expect(victim.isDisconnected).toBe(false);
    results = [];
    refused.length = 0;
    // 8,000 pagers of 5 KB would hold 40 MB; 100 hold 0.5 MB.
    const grown = (await used()) - before;
    expect(grown).toBeLessThan(8 * 1024 * 1024);
    // The peer reads at last: every pager finishes, and paging works again.
    for (let i = 0; i < 20 && victim.activePagerCount > 0; i++) {
      drain();
      await tick();
    }
    expect(victim.activePagerCount).toBe(0);
    expect(collector.ended).toBe(100);
    expect(collector.pages).toBe(100 * (PAGE_DATA / 1_000));
    expect(await target.callRemote("pages", collector)).toBeNull();
    expect(victim.activePagerCount).toBe(1);
  });

  it("the cap is a per-connection limit that can be set", async () => {
    const { server, client, victim } = connect(victimRole, new PagesRoot());
    await client.ready;
    expect(server.limits.maxPagers).toBe(100);
    expect(() => new Broker({ role: "listener", limits: { maxPagers: 0 } })).toThrow(RangeError);
    const small = new Broker({ role: "initiator", limits: { maxPagers: 2 } });
    expect(small.limits.maxPagers).toBe(2);
    expect(victim.activePagerCount).toBe(0);
    expect(new PBError("x")).toBeInstanceOf(Error);
  });
});
