// References in calls and answers read in one pass (src/jelly/fastrefs.ts, pb/predecoded.ts):
// the broker makes each RemoteReference once, in the order the peer sent them, for the perspective
// of the call that carried it, as the tree path does; a registry's own "remote" handler still wins.
import { afterEach, describe, expect, it } from "vitest";
import { Avatar, AsReferenceable, Broker, Copyable, Kwargs, Referenceable, Root, UnjellyableRegistry, copyRegistry, type RemoteReference } from "../../src/index.ts";
import { pair, type Pair } from "./support.ts";

const pairs: Pair[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.close();
});

/** Counts the RemoteReferences a broker makes. */
function countRefs(b: Broker): number[] {
  const made: number[] = [];
  const original = b.remoteReferenceFor.bind(b);
  b.remoteReferenceFor = (luid: number) => {
    made.push(luid);
    return original(luid);
  };
  return made;
}

class Thing extends Referenceable {
  constructor(readonly name: string) {
    super();
  }
  remote_name() {
    return this.name;
  }
}

class Box extends Copyable {
  readonly n = 1;
}

describe("references read in one pass", () => {
  it("arguments and keyword arguments: one RemoteReference each, in the order sent, usable at once", async () => {
    let got: unknown[] = [];
    class R extends Root {
      remote_take(a: RemoteReference, list: RemoteReference[], opts: Map<string, RemoteReference>) {
        got = [a, list, opts.get("c")];
        return Promise.all([a.callRemote("name"), list[0].callRemote("name"), opts.get("c")!.callRemote("name")]);
      }
    }
    const p = await pair(new R());
    pairs.push(p);
    const made = countRefs(p.server);
    const root = p.client.remoteForName("root");
    expect(await root.callRemote("take", new Thing("a"), [new Thing("b")], new Map([["c", new Thing("c")]]))).toEqual(["a", "b", "c"]);
    expect(made).toEqual([1, 2, 3]);
    expect((got[0] as RemoteReference).luid).toBe(1);
    // Keyword arguments too (a peer not yet known may send them the tree way: the same either way).
    expect(await root.callRemote("take", new Thing("d"), [new Thing("e")], new Kwargs({ opts: new Map([["c", new Thing("f")]]) }))).toEqual(["d", "e", "f"]);
    expect(made).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("an answer holding references (a tuple of text and a reference, as a portal's challenge)", async () => {
    class R extends Root {
      remote_pair() {
        return ["challenge", new Thing("x"), new Map([["y", new Thing("y")]])];
      }
    }
    const p = await pair(new R());
    pairs.push(p);
    const made = countRefs(p.client);
    const [text, x, m] = (await p.client.remoteForName("root").callRemote("pair")) as [string, RemoteReference, Map<string, RemoteReference>];
    expect(text).toBe("challenge");
    expect(made).toEqual([1, 2]);
    expect(await x.callRemote("name")).toBe("x");
    expect(await m.get("y")!.callRemote("name")).toBe("y");
  });

  it("a reference received by a perspective_ method belongs to that perspective", async () => {
    let ref: RemoteReference | null = null;
    class User extends Avatar {
      perspective_give(r: RemoteReference) {
        ref = r;
      }
    }
    const avatar = new User();
    class R extends Root {
      remote_avatar() {
        return new AsReferenceable(avatar, "perspective");
      }
    }
    const p = await pair(new R());
    pairs.push(p);
    const av = (await p.client.remoteForName("root").callRemote("avatar")) as RemoteReference;
    await av.callRemote("give", new Thing("t"));
    expect(ref).not.toBe(null);
    expect(ref!.perspective).toBe(avatar);
  });

  it("a message whose references come before a value the one pass cannot read: each reference still made once", async () => {
    copyRegistry.setUnjellyableFactoryForClass("refs-onepass.Box", (state) => state);
    class TaggedBox extends Box {
      override getTypeToCopy() {
        return "refs-onepass.Box";
      }
    }
    let got: unknown[] = [];
    class R extends Root {
      remote_take(...args: unknown[]) {
        got = args;
      }
    }
    const p = await pair(new R());
    pairs.push(p);
    const made = countRefs(p.server);
    await p.client.remoteForName("root").callRemote("take", new Thing("a"), new TaggedBox(), new Thing("b"));
    expect(made).toEqual([1, 2]);
    expect(got).toHaveLength(3);
    copyRegistry.unregister("refs-onepass.Box");
  });

  it("a registry's own 'remote' handler is used instead", async () => {
    const registry = new UnjellyableRegistry(copyRegistry);
    const seen: unknown[] = [];
    registry.register("remote", (_u, sexp) => (seen.push(sexp[1]), "mine"));
    let got: unknown = null;
    class R extends Root {
      remote_take(x: unknown) {
        got = x;
      }
    }
    const p = await pair(new R(), { registry });
    pairs.push(p);
    const made = countRefs(p.server);
    await p.client.remoteForName("root").callRemote("take", new Thing("a"));
    expect(got).toBe("mine");
    expect(seen).toEqual([1]);
    expect(made).toEqual([]);
  });
});
