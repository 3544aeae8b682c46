// Hostile: backtracking patterns. Date, time, datetime and timedelta fields arrive as text that
// Python splits on whitespace and reads with int(); a pattern that trims trailing whitespace
// with a regular expression is quadratic in a run of interior spaces (a 60 KB datetime took
// about 4 s). Parsing is now one pass and refuses text past 1 KiB before looking at it.
import { describe, expect, it } from "vitest";
import type { Sexp } from "../../src/banana/index.ts";
import type { PBServer } from "../../src/index.ts";
import { JellyError, MAX_DATE_TEXT, PyDateTime, unjelly } from "../../src/jelly/index.ts";
import { call, listenAround, maliciousServer, memoryAfterGC, MiB, pbBytes, pinger, RawPeer, timed, victimClient } from "./support.ts";

const REPLY_MS = 1000;
const PING_MS = 250;

/** The bombs: for each tag, a 60 KB text of one long run (spaces, digits, underscores, signs) with a bad tail. */
function bombs(): Sexp[] {
  const out: Sexp[] = [];
  for (const tag of ["datetime", "date", "time", "timedelta"]) {
    out.push([tag, "2020 1 1" + " ".repeat(60_000) + "x"]);
    out.push([tag, " ".repeat(60_000) + "1"]);
    out.push([tag, "1".repeat(60_000) + "x"]);
    out.push([tag, "1_".repeat(30_000) + "x"]);
    out.push([tag, "\t\n\v\f\r ".repeat(10_000) + "1 2 3"]);
  }
  return out;
}

let server: PBServer;
listenAround((s) => (server = s));

describe("date and time text", () => {
  it("refuses every 60 KB bomb with a JellyError in well under a millisecond each", () => {
    for (const b of bombs()) {
      const t = performance.now();
      expect(() => unjelly(b)).toThrow(JellyError);
      // Generous: the quadratic trim took seconds for one of these.
      expect(performance.now() - t).toBeLessThan(50);
    }
  });

  it("still reads what Python's int() reads, up to the length limit", () => {
    expect(unjelly(["datetime", " 2020\t1  2 3 4 5 6 "])).toEqual(new PyDateTime(2020, 1, 2, 3, 4, 5, 6));
    expect(unjelly(["datetime", "+2_020 01 0_2"])).toEqual(new PyDateTime(2020, 1, 2));
    expect(() => unjelly(["datetime", "2020 1 2_"])).toThrow(JellyError);
    expect(() => unjelly(["datetime", "2020 1 _2"])).toThrow(JellyError);
    expect(() => unjelly(["datetime", "2020 1 2__3"])).toThrow(JellyError);
    expect(() => unjelly(["datetime", "2020 1 +"])).toThrow(JellyError);
    const padded = "2020 1 2" + " ".repeat(MAX_DATE_TEXT - 8);
    expect(unjelly(["datetime", padded])).toEqual(new PyDateTime(2020, 1, 2));
    expect(() => unjelly(["datetime", padded + " "])).toThrow(/longer than 1024/);
  });
});

describe("a broker receiving a call", () => {
  // Construction: calls whose argument is a 60 KB datetime (and date, time, timedelta) text made
  // of one long run of a character, twenty calls back to back.
  it("answers twenty 60 KB date/time bombs with errors at once, other clients unaffected", async () => {
    const before = memoryAfterGC();
    const good = await pinger(server.port);
    const peer = await RawPeer.connect(server.port);
    const { ms, value: replies } = await timed(async () => {
      const out: string[] = [];
      const all = bombs();
      for (let id = 1; id <= all.length; id++) {
        peer.send(call(id, "echo", all[id - 1]));
        out.push(await peer.reply(id));
      }
      return out;
    });
    const { max, count } = await good.stop();
    peer.close();
    expect(count).toBeGreaterThan(0);
    expect(max).toBeLessThan(PING_MS);
    expect(ms).toBeLessThan(5 * REPLY_MS);
    // All refused, even "\t\n\v\f\r " * 10,000 + "1 2 3" (a valid date with 60 KB of padding).
    expect(replies.every((r) => r === "error")).toBe(true);
    expect(memoryAfterGC() - before).toBeLessThan(32 * MiB);
  });
});

describe("a broker receiving an answer", () => {
  // Construction: a malicious server answering every call with a 60 KB datetime.
  it("fails the call and drops the connection at once, other connections unaffected", async () => {
    const evil = await maliciousServer((id) => pbBytes(["answer", id, ["datetime", "2020 1 1" + " ".repeat(60_000) + "x"]]));
    const good = await pinger(server.port);
    const { client, root } = await victimClient(evil.port);
    try {
      const { ms, value: err } = await timed(() => root.callRemote("anything").then(() => null, (e: unknown) => e));
      const { max, count } = await good.stop();
      expect(err).toBeInstanceOf(JellyError);
      expect(await client.closed).toBeInstanceOf(Error);
      expect(ms).toBeLessThan(REPLY_MS);
      expect(count).toBeGreaterThan(0);
      expect(max).toBeLessThan(PING_MS);
    } finally {
      await client.disconnect();
      await evil.close();
    }
  });
});
