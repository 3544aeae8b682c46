// Hostile: one top-level banana expression that never ends. Everything inside it is held until it
// completes, so without a limit a peer grows our memory for as long as it sends (64 MB of empty
// lists held 1.6 GB, the peer still connected). The decoder counts the elements and bytes of the
// open expression against maxMessageNodes and maxMessageBytes; the one-pass receiver's buffering
// of an unfinished item (FastReceiver's scanner) stops at the same limits, with the same error.
import { describe, expect, it } from "vitest";
import { BananaDecodeError, BananaDecoder, BananaError, DEFAULT_BANANA_LIMITS, ELEMENTS_PER_NODE, maxHeldElements, MAX_MESSAGE_BYTES, MAX_MESSAGE_NODES } from "../../src/banana/index.ts";
import { DEFAULT_PB_LIMITS } from "../../src/index.ts";
import { DEFAULT_JELLY_BUDGET } from "../../src/jelly/index.ts";
import { FastReceiver } from "../../src/jelly/fastreceive.ts";
import { defaultRegistry } from "../../src/jelly/registry.ts";
import { globalSecurity } from "../../src/jelly/security.ts";
import { listen, memoryAfterGC, MiB, pinger, RawPeer, timed } from "./support.ts";

/** A banana header (base-128 digits, least significant first) and its type byte. */
function header(n: number, type: number): number[] {
  const d: number[] = [];
  for (; n > 0; n = Math.floor(n / 128)) d.push(n & 0x7f);
  return [...d, type];
}
const LIST = 0x80;
const STRING = 0x82;

/** A list announcing `announced` elements, then `count` empty lists (1 byte each), never finished. */
function openListOfEmpties(announced: number, count: number): Uint8Array {
  const h = header(announced, LIST);
  const out = new Uint8Array(h.length + count).fill(LIST);
  out.set(h, 0);
  return out;
}

type Receiver = { feed(chunk: Uint8Array): void };
const tree = (limits: object): Receiver => new BananaDecoder(() => {}, { dialect: "pb", limits });
const onePass = (limits: object): Receiver =>
  new FastReceiver(() => {}, {
    dialect: "pb",
    limits,
    jellyAt: null,
    unjelly: { security: globalSecurity, registry: defaultRegistry, mode: "python", bytesAsText: false, maxDepth: 100 },
  });

/** Feeds `bytes` in `size`-byte chunks; the error thrown, if any. */
function feedChunks(r: Receiver, bytes: Uint8Array, size: number): unknown {
  try {
    for (let at = 0; at < bytes.length; at += size) r.feed(bytes.subarray(at, at + size));
  } catch (e) {
    return e;
  }
  return null;
}

describe("the limits on one open expression", () => {
  it("are banana limits shared with the jelly budget", () => {
    expect(DEFAULT_BANANA_LIMITS.maxMessageNodes).toBe(MAX_MESSAGE_NODES);
    expect(MAX_MESSAGE_NODES).toBe(4 * 640 * 1024);
    expect(DEFAULT_JELLY_BUDGET.maxMessageNodes).toBe(MAX_MESSAGE_NODES);
    expect(DEFAULT_PB_LIMITS.maxMessageNodes).toBe(MAX_MESSAGE_NODES);
    expect(DEFAULT_BANANA_LIMITS.maxMessageBytes).toBe(MAX_MESSAGE_BYTES);
    expect(DEFAULT_PB_LIMITS.maxMessageBytes).toBe(64 * 1024 * 1024);
    expect(maxHeldElements(DEFAULT_BANANA_LIMITS)).toBe(ELEMENTS_PER_NODE * MAX_MESSAGE_NODES);
  });

  // Construction: a list announcing 640 Ki elements, then empty lists one byte each, split in
  // chunks (whole in one chunk, and one byte at a time), against a limit of 1,000 elements.
  for (const [name, make] of [["BananaDecoder", tree], ["FastReceiver", onePass]] as const) {
    it(`${name} refuses an unfinished expression past maxMessageNodes, and takes one at it`, () => {
      const limits = { maxMessageNodes: 250 }; // 1,000 elements held at most
      // The list itself and 999 elements: at the limit.
      expect(feedChunks(make(limits), openListOfEmpties(640 * 1024, 999), 7)).toBeNull();
      for (const size of [1, 7, 100_000]) {
        const err = feedChunks(make(limits), openListOfEmpties(640 * 1024, 1000), size);
        expect(err).toBeInstanceOf(BananaDecodeError);
        expect((err as Error).message).toBe("Security precaution: expression has more than 1000 elements (4 * maxMessageNodes)");
      }
      // A whole item in one chunk with more elements than that (a jelly list of 999 ints: 1,001
      // elements, 1,000 jelly nodes) is refused the same way, on the one-pass path too.
      const ints = Uint8Array.from([...header(1000, LIST), ...header(4, STRING), ...Array.from("list", (c) => c.charCodeAt(0)), ...new Array<number>(999 * 2).fill(0).map((_, k) => (k % 2 ? 0x81 : 1))]);
      expect((feedChunks(make(limits), ints, 100_000) as Error).message).toMatch(/more than 1000 elements/);
      expect(feedChunks(make({ maxMessageNodes: 251 }), ints, 100_000)).toBeNull();
      // A finished expression resets the count: two of 1,000 elements in a row are fine.
      const one = [...header(999, LIST), ...new Array<number>(999).fill(LIST)];
      expect(feedChunks(make(limits), Uint8Array.from([...one, ...one]), 13)).toBeNull();
    });

    // Construction: a list announcing 100 strings of 1,000 bytes, sent in 100-byte chunks,
    // against a limit of 10,000 bytes.
    it(`${name} refuses an unfinished expression past maxMessageBytes`, () => {
      const s = [...header(1000, STRING), ...new Array<number>(1000).fill(0x61)];
      const bytes = Uint8Array.from([...header(100, LIST), ...Array.from({ length: 20 }, () => s).flat()]);
      const err = feedChunks(make({ maxMessageBytes: 10_000 }), bytes, 100);
      expect(err).toBeInstanceOf(BananaError);
      expect((err as Error).message).toBe("Security precaution: expression longer than 10000 bytes (maxMessageBytes)");
      expect(feedChunks(make({ maxMessageBytes: 30_000 }), bytes, 100)).toBeNull();
    });
  }
});

describe("a broker receiving an expression that never ends", () => {
  // Construction (the reviewer's): a list announcing 640 Ki elements, each a list announcing
  // 640 Ki empty lists, sent one 640 KiB chunk after another, to a server whose connections have
  // maxMessageNodes 100,000 (400,000 elements held at most), and to one with the defaults
  // (10.5 Mi elements). The one-pass receiver buffers the bytes, not elements, and refuses the
  // item without decoding them.
  for (const [name, limits, chunks] of [["an override", { maxMessageNodes: 100_000 }, 10], ["the defaults", {}, 20]] as const) {
  it(`drops the connection once the expression passes 4 * maxMessageNodes elements (${name}), in bounded time and memory`, async () => {
    const server = await listen({ limits });
    const good = await pinger(server.port);
    const peer = await RawPeer.connect(server.port);
    const before = memoryAfterGC();
    try {
      const inner = openListOfEmpties(640 * 1024, 640 * 1024);
      const { ms } = await timed(async () => {
        peer.send(Uint8Array.from(header(640 * 1024, LIST)));
        // The server should stop reading after 400 KB (override) or 10.5 MB (defaults).
        for (let k = 0; k < chunks && !peer.socket.destroyed; k++) {
          peer.send(inner);
          await new Promise((r) => setTimeout(r, 5));
        }
        await Promise.race([peer.closed, new Promise((r) => setTimeout(r, 3000))]);
      });
      expect(peer.socket.destroyed).toBe(true);
      expect(ms).toBeLessThan(1000);
      expect(memoryAfterGC() - before).toBeLessThan(32 * MiB);
    } finally {
      peer.close();
      expect((await good.stop()).max).toBeLessThan(1000);
      await server.close(500);
    }
  });
  }
});
