// Paging text and pagers that fail. A StringPager over "a😀b😀c" with chunk 2 cut a surrogate
// pair, the encoder threw, the broker dropped the pager without endedPaging and getAllPages
// (which took no timeout) waited for ever. Now text is paged as UTF-8 bytes (as Twisted pages a
// byte string), a failing pager tells its collector, and getAllPages takes {timeout, signal}.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CallAborted, CallTimeout, IterablePager, Pager, PBError, Root, StringPager, getAllPages, joinPages, setDefaultLogger, type LogEntry, type RemoteReference } from "../../src/pb/index.ts";
import { pair } from "./support.ts";

class Exploding extends Pager {
  sent = 0;
  nextPage(): Uint8Array {
    if (++this.sent === 3) throw new Error("disk on fire");
    return new Uint8Array([this.sent]);
  }
}

class R extends Root {
  remote_text(collector: RemoteReference, text: string, chunk: number) {
    new StringPager(collector, text, chunk);
  }
  remote_exploding(collector: RemoteReference) {
    new Exploding(collector);
  }
  remote_failingSource(collector: RemoteReference) {
    async function* chunks() {
      yield new Uint8Array([1]);
      yield new Uint8Array([2]);
      throw new Error("EIO: read error");
    }
    new IterablePager(collector, chunks());
  }
  remote_never(_collector: RemoteReference) {
    return null; // answers, and never pages
  }
}

let logged: LogEntry[];
let previous: ReturnType<typeof setDefaultLogger>;
beforeEach(() => {
  logged = [];
  previous = setDefaultLogger((e) => logged.push(e));
});
afterEach(() => {
  setDefaultLogger(previous);
});

describe("StringPager over text", () => {
  it("pages the UTF-8 bytes: no page splits a character and the pages join back to the text", async () => {
    const p = await pair(new R());
    const text = "a😀b😀c";
    const pages = await getAllPages(p.client.remoteForName("root"), { method: "text", args: [text, 2], timeout: 5000 });
    expect(pages.every((x) => x instanceof Uint8Array && x.length <= 2)).toBe(true);
    expect(pages).toHaveLength(Math.ceil(new TextEncoder().encode(text).length / 2));
    expect(new TextDecoder("utf-8", { fatal: true }).decode(joinPages(pages))).toBe(text);
    p.close();
  });

  it("text with a lone surrogate is refused when the pager is made (the call fails), not half sent", async () => {
    const p = await pair(new R());
    await expect(getAllPages(p.client.remoteForName("root"), "text", "a\ud800b", 2)).rejects.toThrow(/lone surrogate/);
    p.close();
  });
});

describe("a pager that fails", () => {
  it("a nextPage that throws: getAllPages rejects, the failure is logged, the connection stays up", async () => {
    const p = await pair(new R());
    const err = await getAllPages(p.client.remoteForName("root"), "exploding").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PBError);
    expect(String((err as Error).message)).toMatch(/disk on fire/);
    expect(logged.some((e) => e.message === "pager failed")).toBe(true);
    expect(p.server.activePagerCount).toBe(0);
    const ok = await getAllPages(p.client.remoteForName("root"), "text", "hello", 2);
    expect(new TextDecoder().decode(joinPages(ok))).toBe("hello");
    p.close();
  });

  it("an iterable source that fails ends the transfer as a failure, not a truncated success", async () => {
    const p = await pair(new R());
    await expect(getAllPages(p.client.remoteForName("root"), "failingSource")).rejects.toThrow(/EIO/);
    p.close();
  });
});

describe("getAllPages gives up", () => {
  it("after its timeout, with CallTimeout, when the pages never come", async () => {
    const p = await pair(new R());
    const err = await getAllPages(p.client.remoteForName("root"), { method: "never", timeout: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallTimeout);
    p.close();
  });

  it("when its signal fires, with CallAborted", async () => {
    const p = await pair(new R());
    const controller = new AbortController();
    const pending = getAllPages(p.client.remoteForName("root"), { method: "never", signal: controller.signal });
    setTimeout(() => controller.abort(new Error("user went away")), 30);
    await expect(pending).rejects.toBeInstanceOf(CallAborted);
    p.close();
  });

  it("a bad timeout is a RangeError", async () => {
    const p = await pair(new R());
    await expect(getAllPages(p.client.remoteForName("root"), { method: "never", timeout: -1 })).rejects.toBeInstanceOf(RangeError);
    p.close();
  });
});
