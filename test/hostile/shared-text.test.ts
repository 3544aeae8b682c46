// Hostile: one large byte string shared by many references, where the receiver turns byte strings
// into text (a failure's keys, type and parents; a copy's state keys). Each byte string is decoded
// once per message (MessageBudget.utf8Of/textOf), so the work and memory follow the message's
// bytes, not the number of references to them. Without that, 2,000 references to a 600 KB byte
// string made 1.2 GB of text and 10,000 crashed the process.
import { describe, expect, it } from "vitest";
import type { Sexp } from "../../src/banana/index.ts";
import { CopiedFailure, RemoteCopy, setUnjellyableForClass, type PBServer } from "../../src/index.ts";
import { MessageBudget } from "../../src/jelly/index.ts";
import { call, listenAround, maliciousServer, MiB, pbBytes, pinger, RawPeer, timed, victimClient } from "./support.ts";

const REPLY_MS = 1000;
const PING_MS = 1000;
// Peak resident memory the process may gain while it takes one of these messages.
const PEAK_GROWTH = 256 * MiB;

const big = new Uint8Array(600 * 1024).fill(0x61);

/** Peak RSS of this process so far (a high-water mark: growth shows what one step cost at most). */
const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

/**
 * Sends `arg` in one call on a new raw connection and expects the answer within REPLY_MS with peak
 * memory growth under PEAK_GROWTH; `then` may use the connection further before it closes.
 */
async function callBounded(port: number, arg: Sexp, then?: (peer: RawPeer, value: unknown) => Promise<void>): Promise<void> {
  const peer = await RawPeer.connect(port);
  const peak = peakRss();
  try {
    const { ms, value } = await timed(async () => {
      peer.send(call(1, "ping", arg));
      return peer.reply(1);
    });
    expect(ms).toBeLessThan(REPLY_MS);
    expect(peakRss() - peak).toBeLessThan(PEAK_GROWTH);
    await then?.(peer, value);
  } finally {
    peer.close();
  }
}

/** A CopyableFailure whose parents are one 600 KB byte string and `n` dereferences to it. */
function sharedParents(n: number): Sexp {
  const parents: Sexp[] = ["list", ["reference", 1, big]];
  for (let i = 0; i < n; i++) parents.push(["dereference", 1]);
  return [
    "twisted.spread.pb.CopyableFailure",
    ["dictionary", [["unicode", "type"], ["unicode", "x.Y"]], [["unicode", "value"], ["unicode", "v"]], [["unicode", "parents"], parents]],
  ];
}

class SharedKeyCopy extends RemoteCopy {}
setUnjellyableForClass("hostile.SharedKeyCopy", SharedKeyCopy);

describe("a broker receiving a call", () => {
  let server: PBServer;
  listenAround((s) => (server = s));

  // Construction: ["reference", 1, <600 KB byte string>] then 5,000 ["dereference", 1] as a
  // CopyableFailure's parents (630 KB sent; as text, 3 GB).
  it("decodes a failure's shared parent once, in bounded time and memory", async () => {
    const good = await pinger(server.port);
    await callBounded(server.port, sharedParents(5000), async (peer, value) => {
      expect(value).toBeDefined();
      // The connection still serves calls.
      peer.send(call(2, "ping"));
      expect(await peer.reply(2)).toBeDefined();
    });
    expect((await good.stop()).max).toBeLessThan(PING_MS);
  });

  // Construction: 1,000 CopyableFailures sharing one state (["reference"] once, then
  // ["dereference"]) whose `type` is a 600 KB byte string.
  it("decodes a state's byte-string type once for every failure sharing it", async () => {
    const state: Sexp = ["dictionary", [["unicode", "type"], big], [["unicode", "value"], ["unicode", "v"]]];
    const list: Sexp[] = ["list", ["twisted.spread.pb.CopyableFailure", ["reference", 1, state]]];
    for (let i = 1; i < 1000; i++) list.push(["twisted.spread.pb.CopyableFailure", ["dereference", 1]]);
    await callBounded(server.port, list);
  });

  // Construction: 10,000 copies of a registered RemoteCopy sharing one state dictionary whose one
  // key is a 600 KB byte string (each copy defines that key on itself).
  it("decodes a shared state's byte-string key once for every copy", async () => {
    const list: Sexp[] = ["list", ["hostile.SharedKeyCopy", ["reference", 1, ["dictionary", [big, 1]]]]];
    for (let i = 1; i < 10_000; i++) list.push(["hostile.SharedKeyCopy", ["dereference", 1]]);
    await callBounded(server.port, list);
  });
});

describe("a broker receiving an answer", () => {
  // Construction: a malicious server fails every call with the shared-parents failure above.
  it("decodes a failure's shared parent once, in bounded time and memory", async () => {
    const evil = await maliciousServer((id) => pbBytes(["error", id, sharedParents(5000)]));
    const { client, root } = await victimClient(evil.port);
    const peak = peakRss();
    try {
      const { ms, value: err } = await timed(() => root.callRemote("anything").then(() => null, (e: unknown) => e));
      expect(err).toBeInstanceOf(CopiedFailure);
      expect((err as CopiedFailure).parents).toHaveLength(5001);
      expect((err as CopiedFailure).parents[5000]).toHaveLength(big.length);
      expect(ms).toBeLessThan(REPLY_MS);
      expect(peakRss() - peak).toBeLessThan(PEAK_GROWTH);
    } finally {
      await client.disconnect();
      await evil.close();
    }
  });
});

describe("MessageBudget's decoded text", () => {
  it("is one string per byte string, strict for keys and lenient for values", () => {
    const budget = new MessageBudget();
    const text = budget.utf8Of(big);
    expect(budget.utf8Of(big)).toBe(text);
    expect(text).toHaveLength(big.length);
    const bad = Uint8Array.of(0x61, 0xff);
    expect(budget.utf8Of(bad)).toBeNull();
    expect(budget.textOf(bad)).toBe("a\xff");
    expect(CopiedFailure.fromState(new Map([["type", bad]]), budget).type).toBe("a\xff");
  });
});
