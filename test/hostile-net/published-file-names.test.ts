// A server that publishes a Publishable chooses the service, perspective and id its holders use
// to name their .pub files. A hostile server once set service to "../../../tmp/x" and the
// client's FilePublishedStore wrote outside its directory; a server whose getStateToPublish
// raised crashed the client with an unhandled rejection. Now the name is refused and the error
// reaches whenReady (and the log), and honest Twisted names still find Twisted's files.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FilePublishedStore } from "../../src/net/index.ts";
import { Publishable, RemotePublished, Root, copyRegistry, isSafePublishedFileName, setDefaultLogger, whenReady, type LogEntry, type RemoteCacheObserver } from "../../src/pb/index.ts";
import { UnjellyableRegistry } from "../../src/jelly/index.ts";
import { PyFloat, encode } from "../../src/banana/index.ts";
import { jelly } from "../../src/jelly/index.ts";
import type { Sexp } from "../../src/banana/index.ts";
import { pair } from "../pb/support.ts";

let base: string;
let logged: LogEntry[];
let previousLogger: ReturnType<typeof setDefaultLogger>;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "twisted-pb-pub-"));
  logged = [];
  previousLogger = setDefaultLogger((e) => logged.push(e));
});
afterEach(async () => {
  setDefaultLogger(previousLogger);
  await rm(base, { recursive: true, force: true });
});

class HostileBoard extends Publishable {
  static pythonType = "app.Board";
  constructor(id: unknown, private readonly service: string, private readonly raise = false) {
    super(id);
  }
  getStateToPublish() {
    if (this.raise) throw new Error("no state for you");
    return { title: "hello" };
  }
  override getStateToCacheAndObserveFor(p: unknown, o: RemoteCacheObserver) {
    const m = super.getStateToCacheAndObserveFor(p, o) as Map<string, unknown>;
    m.set("service", this.service);
    return m;
  }
}

async function fetchBoard(board: HostileBoard, store: FilePublishedStore) {
  class RemoteBoard extends RemotePublished {
    static override store = store;
    title?: string;
  }
  class R extends Root {
    remote_board() {
      return board;
    }
  }
  const registry = new UnjellyableRegistry(copyRegistry).setUnjellyableForClass("app.Board", RemoteBoard);
  const p = await pair(new R(), {}, { registry });
  return { p, ready: whenReady(p.client.remoteForName("root").callRemote("board")) as Promise<RemoteBoard> };
}

describe("RemotePublished file names come from the peer", () => {
  it("refuses a service name that climbs out of the store: nothing is written outside it, whenReady rejects, the error is logged", async () => {
    const storeDir = join(base, "store");
    const escape = "../../escaped";
    const { p, ready } = await fetchBoard(new HostileBoard("b1", escape), new FilePublishedStore(storeDir));
    await expect(ready).rejects.toThrow(/unsafe published file name/);
    expect(existsSync(join(storeDir, `${escape}-None-b1.pub`))).toBe(false);
    expect(existsSync(join(base, "escaped-None-b1.pub"))).toBe(false);
    expect(logged.some((e) => e.level === "error" && /published state/.test(e.message))).toBe(true);
    p.close();
  });

  it("refuses separators, NUL, control characters, '.'/'..' and over-long names; honest Twisted names pass", () => {
    for (const bad of ["a/b-None-1.pub", "a\\b-None-1.pub", "a\0-None-1.pub", "a\n-None-1.pub", ".", "..", "", "x".repeat(256)]) {
      expect(isSafePublishedFileName(bad), JSON.stringify(bad)).toBe(false);
    }
    for (const good of ["None-None-b1.pub", "twisted.words-alice-42.pub", "..-None-1.pub", "svc-per spective-(1, 2).pub"]) {
      expect(isSafePublishedFileName(good), good).toBe(true);
    }
  });

  it("the store itself refuses such names when called directly", async () => {
    const store = new FilePublishedStore(join(base, "store"));
    await expect(store.save("../out.pub", new Uint8Array([1]))).rejects.toThrow(RangeError);
    await expect(store.load("../out.pub")).rejects.toThrow(RangeError);
    expect(existsSync(join(base, "out.pub"))).toBe(false);
  });

  it("a server whose getStateToPublish raises: whenReady rejects with the remote error, the process does not crash", async () => {
    const { p, ready } = await fetchBoard(new HostileBoard("b1", "svc", true), new FilePublishedStore(join(base, "store")));
    await expect(ready).rejects.toThrow(/no state for you/);
    expect(logged.some((e) => e.level === "error")).toBe(true);
    p.close();
  });

  it("an honest name still finds a .pub file written under Twisted's naming", async () => {
    const storeDir = join(base, "store");
    const board = new HostileBoard("b1", "twisted.words");
    let fetched = 0;
    board.getStateToPublish = () => {
      fetched++;
      return { title: "fresh" };
    };
    // What Twisted's RemotePublished would have left behind for the same timestamp.
    const saved = new Map<string, unknown>([["title", "stored"], ["timestamp", new PyFloat(board.timestamp)]]);
    await new FilePublishedStore(storeDir).save("twisted.words-None-b1.pub", new Uint8Array(0));
    await writeFile(join(storeDir, "twisted.words-None-b1.pub"), encode(jelly(saved) as Sexp, { dialect: "none" }));
    const { p, ready } = await fetchBoard(board, new FilePublishedStore(storeDir));
    const copy = await ready;
    expect(copy.title).toBe("stored");
    expect(copy.wasCleanWhenLoaded).toBe(true);
    expect(fetched).toBe(0);
    expect(await readdir(storeDir)).toEqual(["twisted.words-None-b1.pub"]);
    p.close();
  });
});
