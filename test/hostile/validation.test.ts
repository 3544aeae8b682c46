// Hostile: schema checks on received values. zod walks (and copies) a value as a tree, so shared
// references make a small message large for it: a 1500 x 1500 grid of one shared row (15 KB) was
// 2.25 M nodes, 2-3 s, up to 1.4 GB of heap, and zod's 2.25 M issues overflowed its stack. A
// received value's tree may now be at most VALIDATION_EXPANSION times its size as sent (plus
// VALIDATION_FLOOR), and at most MAX_REPORTED_ISSUES issues are kept.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Sexp } from "../../src/banana/index.ts";
import { method, PBServer, remoteInterface, RemoteValidationError, Root, typedReferenceable } from "../../src/index.ts";
import { check, MAX_REPORTED_ISSUES, VALIDATION_EXPANSION, VALIDATION_FLOOR } from "../../src/pb/validation.ts";
import { call, MiB, pinger, RawPeer, timed } from "./support.ts";

/** Every byte string and atom of an expression as text, joined. */
const textOf = (x: unknown): string => (Array.isArray(x) ? x.map(textOf).join(" ") : x instanceof Uint8Array ? new TextDecoder().decode(x) : String(x));

const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

/** A `w` x `w` grid: one row of `w` byte strings sent once, then referenced `w - 1` more times. */
function sharedGrid(w: number, cell: Sexp = "ab"): Sexp {
  const row: Sexp[] = ["list", ...new Array<Sexp>(w).fill(cell)];
  return ["list", ["reference", 1, row], ...Array.from({ length: w - 1 }, () => ["dereference", 1] as Sexp)];
}

describe("a typed method receiving a value that expands", () => {
  let server: PBServer;
  let stored = 0;
  beforeAll(async () => {
    const Grid = remoteInterface("Grid", {
      store: method({ args: [z.array(z.array(z.string()))], result: z.number() }),
      count: method({ args: [z.array(z.record(z.string(), z.number()))], result: z.number() }),
      ping: method({ args: [], result: z.number() }),
    });
    const typed = typedReferenceable(Grid, { store: (g) => (stored = g.length), count: (rows) => rows.length, ping: () => 1 });
    server = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { root: Object.assign(new Root(), { rootObject: () => typed }) });
  });
  afterAll(async () => {
    await server.close(500);
  });

  // Construction (the reviewer's): a 1500 x 1500 grid of one shared row (15 KB) against
  // z.array(z.array(z.string())), five times.
  it("is refused before zod walks it, in bounded time and memory", async () => {
    const good = await pinger(server.port);
    const peer = await RawPeer.connect(server.port);
    const peak = peakRss();
    try {
      for (let id = 1; id <= 5; id++) {
        const { ms, value } = await timed(async () => {
          peer.send(call(id, "store", sharedGrid(1500)));
          return peer.next((x) => Array.isArray(x) && x[1] === id);
        });
        expect(ms).toBeLessThan(1000);
        expect((value as Sexp[])[0]).toBe("error");
        expect(textOf(value)).toMatch(/expands to more than \d+ nodes when walked as a tree \(8 times its \d+ nodes as sent/);
      }
      expect(peakRss() - peak).toBeLessThan(128 * MiB);
      expect(stored).toBe(0);
    } finally {
      peer.close();
    }
    expect((await good.stop()).max).toBeLessThan(1000);
  });

  // Construction: 1,000 references to one dictionary of 10 entries (11,000 nodes as a tree),
  // the kind of sharing Python's jelly makes for an object listed many times.
  it("still checks values that share a little", async () => {
    const peer = await RawPeer.connect(server.port);
    try {
      const dict: Sexp = ["dictionary", ...Array.from({ length: 10 }, (_, i) => [["unicode", `k${i}`], i] as Sexp)];
      const rows: Sexp = ["list", ["reference", 1, dict], ...Array.from({ length: 999 }, () => ["dereference", 1] as Sexp)];
      peer.send(call(1, "count", rows));
      const answer = (await peer.next((x) => Array.isArray(x) && x[1] === 1)) as Sexp[];
      expect(answer).toEqual(["answer", 1, 1000]);
    } finally {
      peer.close();
    }
  });
});

describe("check() on a received value", () => {
  const fail = (issues: z.core.$ZodIssue[]) => new RemoteValidationError("I", "m", "arguments", issues);

  it("allows VALIDATION_EXPANSION times the value as sent plus VALIDATION_FLOOR", () => {
    const row = new Array<string>(1000).fill("x");
    // 1,001 distinct steps: 8 * 1001 + 65,536 = 73,544 nodes at most.
    const ok = Array.from({ length: 73 }, () => row);
    expect(check(z.array(z.array(z.string())), ok, fail, true)).toHaveLength(73);
    const tooMany = Array.from({ length: 100 }, () => row);
    expect(() => check(z.array(z.array(z.string())), tooMany, fail, true)).toThrow(/expands to more than/);
    expect(VALIDATION_EXPANSION * (1 + 100 + 1000) + VALIDATION_FLOOR).toBeLessThan(100 * 1001);
  });

  // Construction: 200,000 wrong items (no sharing): zod finds one issue per item.
  it("keeps at most MAX_REPORTED_ISSUES issues, and turns zod's stack overflow into a failed check", () => {
    const err = (() => {
      try {
        check(z.array(z.string()), new Array<number>(200_000).fill(1), fail, true);
      } catch (e) {
        return e as RemoteValidationError;
      }
    })();
    expect(err).toBeInstanceOf(RemoteValidationError);
    expect(err!.issues).toHaveLength(MAX_REPORTED_ISSUES);
    const overflowing = z.custom(() => {
      throw new RangeError("Maximum call stack size exceeded");
    });
    expect(() => check(overflowing, 1, fail, true)).toThrow(/too many problems to report/);
  });
});
