// The one-pass decoder keeps the security options' and the registry's answers from one message to
// the next (src/jelly/answers.ts): every change made between two messages must be honoured by the
// next message, exactly as the tree path (which asks every time) honours it.
import { describe, expect, it } from "vitest";
import { type Sexp } from "../../src/banana/index.ts";
import { FastReceiver, Predecoded } from "../../src/jelly/fastreceive.ts";
import type { FastUnjellyOptions } from "../../src/jelly/fastoptions.ts";
import {
  DummySecurityOptions, dumps, InsecureJelly, SecurityOptions, tuple, Tuple, unjelly, UnjellyableRegistry, type Taster,
} from "../../src/jelly/index.ts";

const message = dumps([tuple(1, 2), new Map([["k", [true]]])]);

/** A receiver whose items are each one jelly value; `receive` gives the value, as the broker's unserialize() does. */
function receiver(opts: FastUnjellyOptions) {
  let got: Sexp | undefined;
  const r = new FastReceiver((x) => (got = x), { dialect: "pb", unjelly: opts, jellyAt: null });
  return (): { fast: boolean; value: unknown } => {
    got = undefined;
    r.feed(message);
    const x = got as unknown;
    if (x instanceof Predecoded) return { fast: true, value: x.value };
    return { fast: false, value: unjelly(got!, opts) };
  };
}

function options(security: Taster, registry = new UnjellyableRegistry()): FastUnjellyOptions {
  return { security, registry, mode: "python", bytesAsText: false, maxDepth: 100 };
}

const expected = () => [Object.assign(new Tuple(), [1, 2]), new Map([["k", [true]]])];

describe("answers kept between messages", () => {
  it("allowedTypes.delete / add / clear between two messages are honoured", () => {
    const security = new SecurityOptions().allowBasicTypes();
    const receive = receiver(options(security));
    const first = receive();
    expect(first.fast).toBe(true);
    expect(first.value).toEqual(expected());
    expect(Object.getPrototypeOf((first.value as unknown[])[0])).toBe(Tuple.prototype);
    security.allowedTypes.delete("tuple");
    expect(() => receive()).toThrow(InsecureJelly);
    expect(() => receive()).toThrow(InsecureJelly);
    security.allowedTypes.add("tuple");
    expect(receive()).toEqual({ fast: true, value: expected() });
    security.allowedTypes.delete("boolean");
    expect(() => receive()).toThrow(InsecureJelly);
    security.allowTypes("boolean");
    expect(receive().fast).toBe(true);
    security.allowedTypes.clear();
    expect(() => receive()).toThrow(InsecureJelly);
  });

  it("a tag registered, then unregistered, in the registry or its parent between messages", () => {
    const parent = new UnjellyableRegistry();
    const registry = new UnjellyableRegistry(parent);
    const receive = receiver(options(new SecurityOptions().allowBasicTypes(), registry));
    expect(receive().fast).toBe(true);
    registry.register("tuple", () => "my tuple");
    expect(receive()).toEqual({ fast: false, value: ["my tuple", new Map([["k", [true]]])] });
    registry.unregister("tuple");
    expect(receive()).toEqual({ fast: true, value: expected() });
    parent.register("dictionary", () => "my dict");
    expect(receive()).toEqual({ fast: false, value: [Object.assign(new Tuple(), [1, 2]), "my dict"] });
    parent.unregister("dictionary");
    expect(receive().fast).toBe(true);
  });

  it("a checker of the user's is asked in every message", () => {
    let allowList = true;
    const taster: Taster = {
      isTypeAllowed: (name) => name !== "list" || allowList,
      isModuleAllowed: () => false,
      isClassAllowed: () => false,
    };
    const receive = receiver(options(taster));
    expect(receive().fast).toBe(true);
    allowList = false;
    expect(() => receive()).toThrow(InsecureJelly);
    allowList = true;
    expect(receive().fast).toBe(true);
  });

  it("a SecurityOptions whose isTypeAllowed is overridden (subclass or instance) is asked in every message", () => {
    let refuse = "";
    class Picky extends SecurityOptions {
      override isTypeAllowed(name: string): boolean {
        return name !== refuse && super.isTypeAllowed(name);
      }
    }
    const receive = receiver(options(new Picky().allowBasicTypes()));
    expect(receive().fast).toBe(true);
    refuse = "dictionary";
    expect(() => receive()).toThrow(InsecureJelly);
    refuse = "";

    const security = new SecurityOptions().allowBasicTypes();
    const receive2 = receiver(options(security));
    expect(receive2().fast).toBe(true);
    security.isTypeAllowed = (name: string) => name !== "tuple";
    expect(() => receive2()).toThrow(InsecureJelly);
  });

  it("the options' security or registry replaced between messages", () => {
    const opts = options(new SecurityOptions().allowBasicTypes());
    const receive = receiver(opts);
    expect(receive().fast).toBe(true);
    opts.security = new SecurityOptions();
    expect(() => receive()).toThrow(InsecureJelly);
    opts.security = new DummySecurityOptions();
    expect(receive().fast).toBe(true);
    opts.registry = new UnjellyableRegistry().register("list", () => "my list");
    expect(receive()).toEqual({ fast: false, value: "my list" });
  });

  it("a registry whose get() is overridden is asked in every message", () => {
    let mine = false;
    class Mine extends UnjellyableRegistry {
      override get(tag: string) {
        return mine && tag === "tuple" ? () => "mine" : super.get(tag);
      }
    }
    const receive = receiver(options(new SecurityOptions().allowBasicTypes(), new UnjellyableRegistry(new Mine())));
    expect(receive().fast).toBe(true);
    mine = true;
    expect(receive().value).toEqual(["mine", new Map([["k", [true]]])]);
  });

  it("receivers sharing their options share the answers: a change made between two messages reaches every one", () => {
    const security = new SecurityOptions().allowBasicTypes();
    const registry = new UnjellyableRegistry();
    const a = receiver(options(security, registry));
    const b = receiver(options(security, registry));
    expect(a().fast).toBe(true);
    expect(b().fast).toBe(true);
    security.allowedTypes.delete("tuple");
    expect(() => b()).toThrow(InsecureJelly);
    expect(() => a()).toThrow(InsecureJelly);
    security.allowedTypes.add("tuple");
    registry.register("tuple", () => "mine");
    expect(a()).toEqual({ fast: false, value: ["mine", new Map([["k", [true]]])] });
    expect(b()).toEqual({ fast: false, value: ["mine", new Map([["k", [true]]])] });
    registry.unregister("tuple");
    expect(b().fast).toBe(true);
    // A third receiver made now starts from the kept answers, and asks nothing that changed.
    expect(receiver(options(security, registry))().fast).toBe(true);
  });

  it("a parent registry's get() replaced on the instance after messages flowed is asked from then on", () => {
    const parent = new UnjellyableRegistry();
    const receive = receiver(options(new SecurityOptions().allowBasicTypes(), new UnjellyableRegistry(parent)));
    expect(receive().fast).toBe(true);
    expect(receive().fast).toBe(true);
    parent.get = (tag: string) => (tag === "tuple" ? () => "mine" : undefined);
    expect(receive()).toEqual({ fast: false, value: ["mine", new Map([["k", [true]]])] });
  });

  it("two receivers with different options interleaved keep their own answers", () => {
    const open = receiver(options(new SecurityOptions().allowBasicTypes()));
    const closed = receiver(options(new SecurityOptions()));
    for (let i = 0; i < 3; i++) {
      expect(open().fast).toBe(true);
      expect(() => closed()).toThrow(InsecureJelly);
    }
  });
});

describe("Tuple", () => {
  it("map, filter and slice of a Tuple give plain arrays; a Tuple is an Array", () => {
    const t = tuple(1, 2, 3);
    expect(Array.isArray(t)).toBe(true);
    expect(Object.getPrototypeOf(t.map((x) => x))).toBe(Array.prototype);
    expect(Object.getPrototypeOf(t.filter(() => true))).toBe(Array.prototype);
    expect(Object.getPrototypeOf(t.slice())).toBe(Array.prototype);
    expect(Tuple.name).toBe("Tuple");
    expect(Object.getPrototypeOf(new Tuple(2))).toBe(Tuple.prototype);
  });

  it("new Tuple(...) takes Array's arguments: a lone number is a length, anything else the items", () => {
    const shape = (t: Tuple<unknown>) => ({ proto: Object.getPrototypeOf(t) === Tuple.prototype, length: t.length, items: [...t], own: Object.keys(t) });
    expect(shape(new Tuple())).toEqual({ proto: true, length: 0, items: [], own: [] });
    expect(shape(new Tuple(3))).toEqual({ proto: true, length: 3, items: [undefined, undefined, undefined], own: [] });
    expect(shape(new Tuple(0))).toEqual({ proto: true, length: 0, items: [], own: [] });
    expect(shape(new Tuple<unknown>("a"))).toEqual({ proto: true, length: 1, items: ["a"], own: ["0"] });
    expect(shape(new Tuple(1, 2))).toEqual({ proto: true, length: 2, items: [1, 2], own: ["0", "1"] });
    expect(shape(new Tuple<unknown>(undefined))).toEqual({ proto: true, length: 1, items: [undefined], own: ["0"] });
    expect(shape(new Tuple<unknown>(2n))).toEqual({ proto: true, length: 1, items: [2n], own: ["0"] });
    expect(() => new Tuple(3.5)).toThrow(RangeError);
    expect(() => new Tuple(-1)).toThrow(RangeError);
    expect(() => new Array(3.5)).toThrow(RangeError);
  });
});
