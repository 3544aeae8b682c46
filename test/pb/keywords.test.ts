// Keyword arguments matched to declared parameters, never to names read from (possibly
// minified) source; a keyword that fits nothing raises Python's TypeError.
import { transformSync } from "esbuild";
import { describe, expect, it } from "vitest";
import { CopiedFailure, declareParameters, Kwargs, kwargs, Referenceable, RemoteReference } from "../../src/pb/index.ts";
import { pair, TakingRoot } from "./support.ts";

/** A class as a bundler ships it: esbuild-minified, parameter names gone. */
function minifiedPrinterClass(declare: boolean): new () => Referenceable {
  const source = `
    return class Printer extends Base {
      ${declare ? `static remoteParameters = { remote_print: ["message", "end?"], remote_tag: ["...items", "**options"] };` : ""}
      remote_print(message, end = "!") { return String(message) + end; }
      remote_tag(...items) { const last = items[items.length - 1]; return [items.length, last instanceof Kw ? [...last.keys()] : null]; }
    };`;
  const { code } = transformSync(`module.exports = function (Base, Kw) { ${source} }`, { minify: true, keepNames: false });
  expect(/remote_print\((\w+)/.exec(code)?.[1]).not.toBe("message");
  const module = { exports: null as unknown };
  new Function("module", code)(module);
  const make = module.exports as (b: unknown, k: unknown) => new () => Referenceable;
  return make(Referenceable, Kwargs);
}

class Service extends Referenceable {
  // The function form: declared where it is defined, source never read.
  remote_greet = declareParameters(new Function("a", "b", "return b + ', ' + a") as (a: string, b: string) => string, ["name", "greeting"]);
  remote_store = declareParameters((key: string, kw?: Kwargs) => [key, kw ? [...kw.keys()] : [], kw ? kw.get("__proto__") : null], ["key", "**fields"]);
  remote_fields = declareParameters((constructor: unknown, toString: unknown, __proto__?: unknown) => [constructor, toString, __proto__ ?? null], [
    "constructor",
    "toString",
    "__proto__?",
  ]);
  remote_plain(message: string) {
    return message;
  }
}

class ServerRoot extends TakingRoot {
  service = new Service();
  printer: Referenceable;
  minifiedUndeclared: Referenceable;
  constructor() {
    super();
    this.printer = new (minifiedPrinterClass(true))();
    this.minifiedUndeclared = new (minifiedPrinterClass(false))();
  }
  remote_objects() {
    return [this.service, this.printer, this.minifiedUndeclared];
  }
}

async function setup(role: "client" | "server") {
  const root = new ServerRoot();
  const p = await pair(root);
  const remoteRoot = p.client.remoteForName("root");
  if (role === "client") {
    const [service, printer, undeclared] = (await remoteRoot.callRemote("objects")) as RemoteReference[];
    return { service, printer, undeclared, close: p.close };
  }
  const mine = new ServerRoot();
  await remoteRoot.callRemote("take", mine);
  const [service, printer, undeclared] = (await root.client!.callRemote("objects")) as RemoteReference[];
  return { service, printer, undeclared, close: p.close };
}

const failure = async (p: Promise<unknown>) => (await p.then(() => null, (e: unknown) => e)) as CopiedFailure;

describe.each(["client", "server"] as const)("keyword arguments with declared parameters (%s calling)", (role) => {
  it("a minified class with static remoteParameters takes keywords by their declared names", async () => {
    const { printer, close } = await setup(role);
    expect(await printer.callRemote("print", kwargs({ message: "hi" }))).toBe("hi!");
    expect(await printer.callRemote("print", kwargs({ end: "?", message: "hi" }))).toBe("hi?");
    expect(await printer.callRemote("print", "yo", kwargs({ end: "." }))).toBe("yo.");
    expect(await printer.callRemote("tag", 1, 2, kwargs({ colour: "red" }))).toEqual([3, ["colour"]]);
    const e = await failure(printer.callRemote("print", kwargs({ x: 1 })));
    expect(e.type).toBe("builtins.TypeError");
    expect(e.message).toContain("remote_print() got an unexpected keyword argument 'x'");
    const twice = await failure(printer.callRemote("print", "a", kwargs({ message: "b" })));
    expect(twice.message).toContain("remote_print() got multiple values for argument 'message'");
    const missing = await failure(printer.callRemote("print", kwargs({ end: "." })));
    expect(missing.message).toContain("remote_print() missing 1 required positional argument: 'message'");
    close();
  });

  it("minified and undeclared: a keyword is refused with TypeError, never passed as a positional", async () => {
    const { undeclared, close } = await setup(role);
    const e = await failure(undeclared.callRemote("print", kwargs({ message: "hi" })));
    expect(e.type).toBe("builtins.TypeError");
    expect(e.message).toContain("remote_print() got an unexpected keyword argument 'message'");
    // Positional calls still work.
    expect(await undeclared.callRemote("print", "hi")).toBe("hi!");
    close();
  });

  it("declareParameters on a function whose source says nothing (new Function)", async () => {
    const { service, close } = await setup(role);
    expect(await service.callRemote("greet", kwargs({ greeting: "hello", name: "ann" }))).toBe("hello, ann");
    expect(await service.callRemote("greet", "bob", kwargs({ greeting: "hey" }))).toBe("hey, bob");
    const e = await failure(service.callRemote("greet", "bob", kwargs({ b: "hey" })));
    expect(e.message).toContain("got an unexpected keyword argument 'b'");
    close();
  });

  it("__proto__, constructor and toString are ordinary keyword names", async () => {
    const { service, close } = await setup(role);
    expect(await service.callRemote("fields", kwargs(new Map<string, unknown>([["constructor", 1], ["toString", 2], ["__proto__", 3]])))).toEqual([1, 2, 3]);
    const stored = (await service.callRemote("store", "k", kwargs(new Map<string, unknown>([["__proto__", { polluted: 1 }], ["constructor", 5]])))) as unknown[];
    expect(stored[0]).toBe("k");
    expect(stored[1]).toEqual(["__proto__", "constructor"]);
    expect(stored[2]).toBeInstanceOf(Map);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const e = await failure(service.callRemote("plain", "m", kwargs(new Map([["__proto__", 1]]))));
    expect(e.message).toContain("Service.remote_plain() got an unexpected keyword argument '__proto__'");
    close();
  });
});

describe("declareParameters checks the declaration", () => {
  it("refuses a required name after an optional one, and anything after **", () => {
    expect(() => declareParameters(() => 0, ["a?", "b"])).toThrow(/required "b" after an optional/);
    expect(() => declareParameters(() => 0, ["**kw", "a"])).toThrow(/must come last/);
  });
});
