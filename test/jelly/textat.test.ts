// FastReceiver's textAt: the PB method name (index 3 of a call) comes as text, the same string
// each time it repeats, when it is short ASCII; anything else there, and everything elsewhere,
// comes exactly as without it. The broker asks for it only when no trace hook watches.
import { describe, expect, it } from "vitest";
import { encode } from "../../src/banana/index.ts";
import type { Sexp } from "../../src/banana/values.ts";
import { FastReceiver } from "../../src/jelly/fastreceive.ts";
import { defaultRegistry } from "../../src/jelly/registry.ts";
import { globalSecurity } from "../../src/jelly/security.ts";
import { KEY_MAX } from "../../src/jelly/fasttags.ts";
import { pbJellyPositions, pbTextPositions } from "../../src/pb/predecoded.ts";
import { Root } from "../../src/pb/index.ts";
import { pair } from "../pb/support.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const call = (name: Sexp, id = 1) => encode(["message", id, "root", name, 1, ["tuple", 5], ["dictionary"]], { dialect: "pb" });

const unjellyOptions = { security: globalSecurity, registry: defaultRegistry, mode: "python" as const, bytesAsText: false, maxDepth: 1000 };

function receive(chunks: Uint8Array[], textAt: typeof pbTextPositions | null): Sexp[][] {
  const got: Sexp[][] = [];
  const r = new FastReceiver((x) => got.push(x as Sexp[]), { dialect: "pb", unjelly: unjellyOptions, jellyAt: pbJellyPositions, textAt });
  for (const c of chunks) r.feed(c);
  return got;
}

describe("FastReceiver textAt (method names as text)", () => {
  it("a short ASCII method name comes as the same string each time; without textAt, as bytes", () => {
    const wire = [call(bytes("echo"), 1), call(bytes("echo"), 2)];
    const [a, b] = receive(wire, pbTextPositions);
    expect(a[3]).toBe("echo");
    expect(b[3]).toBe("echo");
    const [c] = receive(wire, null);
    expect(c[3]).toEqual(bytes("echo"));
    // Only index 3 changes: the object name stays bytes.
    expect(a[2]).toEqual(c[2]);
    expect(a[2]).toBeInstanceOf(Uint8Array);
  });

  it("a non-ASCII name, one longer than KEY_MAX, or a non-string there comes as without textAt", () => {
    for (const name of [bytes("échо"), bytes("x".repeat(KEY_MAX + 1)), 7, ["list"]] as Sexp[]) {
      const [withText] = receive([call(name)], pbTextPositions);
      const [without] = receive([call(name)], null);
      expect(withText[3]).toEqual(without[3]);
      expect(typeof withText[3]).not.toBe("string");
    }
    const [edge] = receive([call(bytes("y".repeat(KEY_MAX)))], pbTextPositions);
    expect(edge[3]).toBe("y".repeat(KEY_MAX));
  });

  it("cut at every byte, the same messages come out", () => {
    const wire = call(bytes("getPerspective"));
    for (let cut = 1; cut < wire.length; cut++) {
      const [m] = receive([wire.subarray(0, cut), wire.subarray(cut)], pbTextPositions);
      expect(m[3]).toBe("getPerspective");
      expect(m.length).toBe(7);
    }
  });
});

describe("the broker and method names", () => {
  class Named extends Root {
    remote_echo(x: unknown) {
      return x;
    }
    remote_héllo(x: unknown) {
      return ["héllo", x];
    }
  }

  it("calls arrive by name with or without a trace hook; a trace hook sees the name as bytes", async () => {
    const seen: Sexp[] = [];
    const trace = (dir: "in" | "out", sexp: Sexp) => {
      if (dir === "in" && Array.isArray(sexp) && sexp[0] === "message") seen.push((sexp as Sexp[])[3]);
    };
    for (const serverOptions of [{}, { trace }]) {
      const p = await pair({ rootObject: () => new Named() }, serverOptions);
      const root = p.client.remoteForName("root");
      expect(await root.callRemote("echo", 1)).toBe(1);
      expect(await root.callRemote("echo", 2)).toBe(2);
      expect(await root.callRemote("héllo", 3)).toEqual(["héllo", 3]);
      p.close();
    }
    expect(seen).toEqual([bytes("echo"), bytes("echo"), bytes("héllo")]);
  });
});
