// Brokers with the same limits share their banana encoders (one per dialect) instead of making
// one per connection, and the listener's dialect offer is encoded once. These check that
// connections in different dialects, interleaved, each still get exactly their own bytes.
import { describe, expect, it } from "vitest";
import { encode } from "../../src/banana/index.ts";
import { Root } from "../../src/pb/index.ts";
import { rawBroker } from "./support.ts";

class R extends Root {}

describe("shared encoders", () => {
  it("two listeners get equal offers in separate arrays; after choosing 'none' and 'pb', each writes its own dialect, interleaved", () => {
    const a = rawBroker({ role: "listener", root: { rootObject: () => new R() } });
    const b = rawBroker({ role: "listener", root: { rootObject: () => new R() } });
    expect(a.out).toHaveLength(1);
    expect(b.out[0]).toEqual(a.out[0]);
    expect(b.out[0]).not.toBe(a.out[0]);
    expect(a.out[0]).toEqual(encode(["pb", "none"], { dialect: null }));
    a.broker.dataReceived(encode("none", { dialect: null }));
    b.broker.dataReceived(encode("pb", { dialect: null }));
    expect(a.broker.negotiatedDialect).toBe("none");
    expect(b.broker.negotiatedDialect).toBe("pb");
    // Each one's version message, in its dialect ("version" is a vocabulary atom in "pb").
    expect(a.out.at(-1)).toEqual(encode(["version", 6], { dialect: "none" }));
    expect(b.out.at(-1)).toEqual(encode(["version", 6], { dialect: "pb" }));
    expect(a.out.at(-1)).not.toEqual(b.out.at(-1));
    for (let i = 0; i < 3; i++) {
      for (const [x, dialect] of [
        [a, "none"],
        [b, "pb"],
      ] as const) {
        void x.broker.remoteForName("root").callRemote("echo", i).catch(() => {});
        expect(x.out.at(-1)).toEqual(encode(["message", i + 1, "root", "echo", 1, ["tuple", i], ["dictionary"]], { dialect }));
      }
    }
  });
});
