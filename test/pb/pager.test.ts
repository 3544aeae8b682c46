import { describe, expect, it } from "vitest";
import {
  getAllPages, joinPages, IterablePager, Publishable, RemotePublished, Root, StringPager, copyRegistry, whenReady, type RemoteReference,
} from "../../src/pb/index.ts";
import { UnjellyableRegistry } from "../../src/jelly/index.ts";
import { pair } from "./support.ts";

class PagingRoot extends Root {
  sent = 0;
  remote_getPages(collector: RemoteReference, size: number) {
    const data = new Uint8Array(size).map((_, i) => i % 251);
    new StringPager(collector, data, 8192, () => this.sent++);
    return null;
  }
  remote_getChunks(collector: RemoteReference, n: number) {
    async function* chunks() {
      for (let i = 0; i < n; i++) yield new Uint8Array(16384).fill(i);
    }
    new IterablePager(collector, chunks());
  }
}

describe("pagers (util.py)", () => {
  it("pages a string larger than banana's 640 KiB limit in 8 KiB gotPage calls without answers", async () => {
    const root = new PagingRoot();
    const p = await pair(root);
    const pages = await getAllPages(p.client.remoteForName("root"), "getPages", 700_000);
    expect(pages).toHaveLength(Math.ceil(700_000 / 8192));
    const all = joinPages(pages);
    expect(all.length).toBe(700_000);
    expect(all[699_999]).toBe(699_999 % 251);
    expect(root.sent).toBe(1);
    const gotPage = p.writes.filter((w) => w.includes("67 6f 74 50 61 67 65"));
    expect(gotPage).toHaveLength(pages.length);
    expect(gotPage.every((w) => w.startsWith("S->C 07 80 1a 87") && / 07 82 67 6f 74 50 61 67 65 00 81 /.test(w))).toBe(true);
    expect(p.writes.filter((w) => w.includes("65 6e 64 65 64 50 61 67 69 6e 67"))).toHaveLength(1);
  });

  it("pages an async source chunk by chunk (FilePager's role)", async () => {
    const p = await pair(new PagingRoot());
    const pages = await getAllPages(p.client.remoteForName("root"), "getChunks", 5);
    expect(pages.map((x) => (x as Uint8Array)[0])).toEqual([0, 1, 2, 3, 4]);
  });
});

class Board extends Publishable {
  static pythonType = "__main__.Board";
  fetches = 0;
  getStateToPublish() {
    this.fetches++;
    return { title: "hello", items: [1, 2] };
  }
}
class RemoteBoard extends RemotePublished {
  title!: string;
}

describe("Publishable / RemotePublished (publish.py)", () => {
  it("fetches the published state once, then reuses the stored copy for the same timestamp", async () => {
    const board = new Board("b1");
    class R extends Root {
      remote_board() {
        return board;
      }
    }
    const registry = new UnjellyableRegistry(copyRegistry).setUnjellyableForClass("__main__.Board", RemoteBoard);
    const p1 = await pair(new R(), {}, { registry });
    const copy = await whenReady(p1.client.remoteForName("root").callRemote("board"));
    expect(copy).toBeInstanceOf(RemoteBoard);
    expect((copy as RemoteBoard).title).toBe("hello");
    expect(copy.getFileName()).toBe("None-None-b1.pub");
    expect(board.fetches).toBe(1);
    const p2 = await pair(new R(), {}, { registry });
    const again = await whenReady(p2.client.remoteForName("root").callRemote("board"));
    expect((again as RemoteBoard).title).toBe("hello");
    expect(again.wasCleanWhenLoaded).toBe(true);
    expect(board.fetches).toBe(1);
    board.republish();
    board.timestamp += 1;
    const p3 = await pair(new R(), {}, { registry });
    await whenReady(p3.client.remoteForName("root").callRemote("board"));
    expect(board.fetches).toBe(2);
  });
});
