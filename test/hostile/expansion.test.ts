// Hostile: shared-structure expansion. Jelly's [reference]/[dereference] let a few hundred bytes
// describe a value with 2**28 leaves when walked as a tree. Receiving such a value, in a call's
// arguments or in an answer, costs time and memory in proportion to the message, not the tree:
// the peer gets its answer (or loses its connection) at once, another client on the same
// process is answered within a few hundred milliseconds throughout, and memory comes back.
import { describe, expect, it } from "vitest";
import { CopiedFailure, type PBServer } from "../../src/index.ts";
import { describeValue } from "../../src/jelly/index.ts";
import { call, doubling, failureWith, listen, listenAround, maliciousServer, memoryAfterGC, MiB, pbBytes, pinger, RawPeer, timed, victimClient } from "./support.ts";

// Generous for 2 cores shared by 8 busy processes; the unbounded walks took seconds to minutes.
const REPLY_MS = 1000;
const PING_MS = 250;
const LEVELS = 28;

let server: PBServer;
listenAround((s) => (server = s));

describe("a broker receiving a call", () => {
  // Construction: a 646-byte call whose argument is a CopyableFailure whose `type` (normally the
  // exception's qualified name) is 28 levels of reference doubling; sent ten times. Turning that
  // `type` into text walked 2**28 leaves per call (about 3 s at 24 levels, minutes at 30).
  it("answers ten 646-byte calls with a doubling failure argument at once, other clients unaffected", async () => {
    const message = call(1, "echo", failureWith(doubling(LEVELS)));
    expect(message.length).toBe(646);
    const before = memoryAfterGC();
    const good = await pinger(server.port);
    const peer = await RawPeer.connect(server.port);
    const { ms, value: replies } = await timed(async () => {
      const out: string[] = [];
      for (let id = 1; id <= 10; id++) {
        peer.send(call(id, "echo", failureWith(doubling(LEVELS))));
        out.push(await peer.reply(id));
      }
      return out;
    });
    const { max, count } = await good.stop();
    peer.close();
    // The failure arrives as a CopiedFailure with a bounded type, and echoing it is answered.
    expect(replies).toEqual(Array(10).fill("answer"));
    expect(ms).toBeLessThan(10 * REPLY_MS);
    expect(count).toBeGreaterThan(0);
    expect(max).toBeLessThan(PING_MS);
    expect(memoryAfterGC() - before).toBeLessThan(32 * MiB);
  });

  // Construction: a call whose plain argument is 30 levels of reference doubling (a list holding
  // one list twice, 30 deep: 522 bytes, 2**30 leaves as a tree), echoed back.
  it("echoes a 30-level doubling argument with its sharing intact, quickly", async () => {
    const peer = await RawPeer.connect(server.port);
    const good = await pinger(server.port);
    const { ms, value: reply } = await timed(async () => {
      peer.send(call(1, "echo", doubling(30)));
      return peer.next((x) => Array.isArray(x) && x[0] === "answer");
    });
    const { max } = await good.stop();
    peer.close();
    expect(ms).toBeLessThan(REPLY_MS);
    expect(max).toBeLessThan(PING_MS);
    // Sent back with references, as Twisted would: about as small as it came.
    expect(pbBytes(reply!).length).toBeLessThan(1000);
  });
});

describe("a broker receiving a call, values as idiomatic JS", () => {
  // Construction: as above (28 doubling levels in a failure's type, and 30 in a plain argument),
  // to a server whose received values are idiomatic JS (values: "js": dictionaries become
  // null-prototype objects, the failure state among them).
  it("answers at once", async () => {
    const jsServer = await listen({ values: "js" });
    const peer = await RawPeer.connect(jsServer.port);
    try {
      const { ms, value: replies } = await timed(async () => {
        peer.send(call(1, "echo", failureWith(doubling(LEVELS))));
        const r1 = await peer.reply(1);
        peer.send(call(2, "echo", doubling(30)));
        const r2 = await peer.reply(2);
        return [r1, r2];
      });
      expect(replies).toEqual(["answer", "answer"]);
      expect(ms).toBeLessThan(2 * REPLY_MS);
    } finally {
      peer.close();
      await jsServer.close(500);
    }
  });
});

describe("a broker receiving an answer", () => {
  // Construction: a malicious server answering every call with an error whose CopyableFailure
  // `type` is 30 levels of reference doubling (678 bytes).
  it("rejects the call with a CopiedFailure at once, other connections unaffected", async () => {
    const evil = await maliciousServer((id) => pbBytes(["error", id, failureWith(doubling(30))]));
    const before = memoryAfterGC();
    const good = await pinger(server.port);
    const { client, root } = await victimClient(evil.port);
    try {
      const { ms, value: err } = await timed(() => root.callRemote("anything").then(() => null, (e: unknown) => e));
      const { max, count } = await good.stop();
      expect(err).toBeInstanceOf(CopiedFailure);
      const f = err as CopiedFailure;
      // The type is text made once per object: the doubled list shows each level once.
      expect(f.type.length).toBeLessThan(2000);
      expect(f.type).toContain("<repeated list>");
      expect(String(f).length).toBeLessThan(2100);
      expect(ms).toBeLessThan(REPLY_MS);
      expect(count).toBeGreaterThan(0);
      expect(max).toBeLessThan(PING_MS);
      expect(memoryAfterGC() - before).toBeLessThan(32 * MiB);
    } finally {
      await client.disconnect();
      await evil.close();
    }
  });

  // Construction: a malicious server answering with a plain value of 30 doubling levels, and
  // with an error whose value is that list itself (not a failure).
  it("resolves a doubling answer and rejects a doubling error value at once", async () => {
    let n = 0;
    const evil = await maliciousServer((id) => pbBytes(n++ % 2 === 0 ? ["answer", id, doubling(30)] : ["error", id, doubling(30)]));
    const { client, root } = await victimClient(evil.port);
    try {
      const { ms: okMs, value } = await timed(() => root.callRemote("a"));
      const { ms: errMs, value: err } = await timed(() => root.callRemote("b").then(() => null, (e: unknown) => e));
      expect(okMs).toBeLessThan(REPLY_MS);
      expect(errMs).toBeLessThan(REPLY_MS);
      expect(Array.isArray(value)).toBe(true);
      // A rejection always carries an Error; what the peer sent is its cause.
      expect(err).toBeInstanceOf(Error);
      expect(Array.isArray((err as Error).cause)).toBe(true);
      // Rendering it for a log is bounded too.
      const { ms: showMs, value: text } = await timed(async () => describeValue(value));
      expect(showMs).toBeLessThan(REPLY_MS);
      expect(text.length).toBeLessThan(2000);
    } finally {
      await client.disconnect();
      await evil.close();
    }
  });
});
