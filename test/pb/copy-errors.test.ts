// Copies that cannot be received say why and what to do; errors a peer sends are Errors.
import { describe, expect, it } from "vitest";
import { InsecureJelly, UnjellyableRegistry, UnregisteredCopyTag } from "../../src/jelly/index.ts";
import {
  CopiedFailure, Copyable, pbBuiltinRegistry, Referenceable, RemoteCopy, RemoteCopyError, RemoteError, RemoteReference, setUnjellyableForClass,
  type LogEntry,
} from "../../src/pb/index.ts";
import { pair, TakingRoot } from "./support.ts";

class Order extends Copyable {
  static pythonType = "shop.Order";
  constructor(public id = 0) {
    super();
  }
}

/** A Copyable thrown as an exception: sent as itself, as Twisted sends a Jellyable exception. */
class QuotaExceeded extends Copyable {
  static pythonType = "shop.QuotaExceeded";
  constructor(
    public limit = 0,
    public message = "",
  ) {
    super();
  }
}
class RemoteQuotaExceeded extends RemoteCopyError {
  limit!: number;
}
class PlainRemoteQuota extends RemoteCopy {
  limit!: number;
}

class Shop extends Referenceable {
  remote_order() {
    return new Order(7);
  }
  remote_place(order: unknown) {
    return order;
  }
  remote_buy(): never {
    throw new QuotaExceeded(5, "at most 5 a day");
  }
}

class ShopRoot extends TakingRoot {
  shop = new Shop();
  remote_shop() {
    return this.shop;
  }
}

/** `caller` calls `target`, an object served by the other side, with its own copy registry. */
async function setup(role: "client" | "server", callerRegistry: UnjellyableRegistry, logs: LogEntry[]) {
  const root = new ShopRoot();
  if (role === "client") {
    const p = await pair(root, { log: (e) => logs.push(e) }, { registry: callerRegistry });
    const target = (await p.client.remoteForName("root").callRemote("shop")) as RemoteReference;
    return { target, close: p.close };
  }
  const p = await pair(root, { registry: callerRegistry }, { log: (e) => logs.push(e) });
  await p.client.remoteForName("root").callRemote("take", new Shop());
  return { target: root.client!, close: p.close };
}

describe.each(["client", "server"] as const)("unregistered copies and copied errors (%s calling)", (role) => {
  it("an answer holding an unregistered Copyable rejects with the tag and how to register it", async () => {
    const { target, close } = await setup(role, new UnjellyableRegistry(pbBuiltinRegistry), []);
    const e = await target.callRemote("order").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnregisteredCopyTag);
    expect(e).toBeInstanceOf(InsecureJelly);
    expect((e as UnregisteredCopyTag).tag).toBe("shop.Order");
    expect((e as Error).message).toContain("Module shop not allowed (in type shop.Order).");
    expect((e as Error).message).toContain(`setUnjellyableForClass("shop.Order", YourRemoteCopyClass)`);
    close();
  });

  it("an argument holding a Copyable the callee has not registered fails the call with that advice", async () => {
    const logs: LogEntry[] = [];
    const { target, close } = await setup(role, new UnjellyableRegistry(pbBuiltinRegistry), logs);
    const e = (await target.callRemote("place", new Order(3)).catch((x: unknown) => x)) as CopiedFailure;
    expect(e).toBeInstanceOf(CopiedFailure);
    expect(e.type).toBe("twisted.spread.jelly.InsecureJelly");
    expect(e.message).toContain(`setUnjellyableForClass("shop.Order"`);
    // ...and the callee's side saw it too.
    expect(logs.some((l) => l.error instanceof UnregisteredCopyTag)).toBe(true);
    close();
  });

  it("a Copyable exception registered as a RemoteCopyError rejects with a real Error carrying its state", async () => {
    const registry = new UnjellyableRegistry(pbBuiltinRegistry);
    setUnjellyableForClass("shop.QuotaExceeded", RemoteQuotaExceeded, registry);
    const { target, close } = await setup(role, registry, []);
    const e = await target.callRemote("buy").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteQuotaExceeded);
    expect(e).toBeInstanceOf(Error);
    expect((e as RemoteQuotaExceeded).limit).toBe(5);
    expect((e as Error).message).toBe("at most 5 a day");
    expect((e as Error).name).toBe("RemoteQuotaExceeded");
    expect((e as Error).stack).toMatch(/^RemoteQuotaExceeded/);
    close();
  });

  it("anything else the peer fails a call with still rejects with an Error, the value as its cause", async () => {
    const registry = new UnjellyableRegistry(pbBuiltinRegistry);
    setUnjellyableForClass("shop.QuotaExceeded", PlainRemoteQuota, registry);
    const { target, close } = await setup(role, registry, []);
    const e = await target.callRemote("buy").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteError);
    expect((e as RemoteError).stack).toBeTypeOf("string");
    expect((e as RemoteError).cause).toBeInstanceOf(PlainRemoteQuota);
    expect(((e as RemoteError).cause as PlainRemoteQuota).limit).toBe(5);
    close();
  });
});
