// Issue 12 for pb-inspect: rendering a received value (pretty/pyrepr/render, --json, --html) is
// bounded by the message's size, never by what its shared references expand to, and every regular
// expression that sees peer bytes is linear.
import { describe, expect, it } from "vitest";
import { encode, type Sexp } from "../../src/banana/index.ts";
import { captureTraffic, type Capture } from "../../src/inspect/capture.ts";
import { htmlPage } from "../../src/inspect/html.ts";
import { FULL_LIMITS } from "../../src/inspect/pretty.ts";
import { entryJson, entryText } from "../../src/inspect/render.ts";
import { Session, type Entry } from "../../src/inspect/session.ts";

const b = (s: string) => new TextEncoder().encode(s);
const pb = (x: Sexp) => encode(x, { dialect: "pb" });
const OFFER = "02800282706204826e6f6e65";
const CHOICE = "02827062";

/**
 * Construction: 30 levels of reference doubling. Level k is a list holding level k-1 twice, the
 * second time as [dereference, id]: [reference, k, [list, LEVEL(k-1), [dereference, k-1]]].
 * Walked as a tree it has 2**30 leaves; as a message it is a few hundred bytes.
 */
function doubling(levels: number): Sexp {
  let x: Sexp = ["reference", 1, ["list", b("leaf")]];
  for (let k = 2; k <= levels; k++) x = ["reference", k, ["list", x, ["dereference", k - 1]]];
  return x;
}

/** Best of `n` runs, in milliseconds (one slow run under load is not the code). */
function best(n: number, f: () => void): number {
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

function render(writes: { dir: "c2s" | "s2c"; hex: string }[]): { entries: Entry[]; text: string; json: string; html: string } {
  const cap: Capture = { writes: [{ dir: "s2c", hex: OFFER }, { dir: "c2s", hex: CHOICE }, ...writes] };
  const traffic = captureTraffic(cap, "hostile");
  const s = new Session({ start: "connection", limits: FULL_LIMITS });
  const entries: Entry[] = [];
  for (const c of traffic.chunks) entries.push(...s.take(c));
  entries.push(...s.end());
  return {
    entries,
    text: entries.map((e) => entryText(e, { hex: true })).join("\n"),
    json: entries.map((e) => entryJson(e)).join("\n"),
    html: htmlPage([{ title: "hostile", traffic }]),
  };
}

describe("shared-structure expansion (issue 12)", () => {
  const value = doubling(30);
  const call = pb(["message", 1, b("root"), b("echo"), 1, ["tuple", value], ["dictionary", [["unicode", b("k")], value]]]);
  const failure = pb([
    "error",
    1,
    [
      "twisted.spread.pb.CopyableFailure",
      ["dictionary", [b("type"), value], [b("value"), value], [b("traceback"), value], [b("count"), 1]],
    ],
  ]);
  const hex = (x: Uint8Array) => Buffer.from(x).toString("hex");

  it("the construction is small: a few hundred bytes for 2**30 leaves", () => {
    expect(call.length).toBeLessThan(1100); // the value twice (argument and keyword)
    expect(failure.length).toBeLessThan(1600); // three times (type, value, traceback)
  });

  it("a call and a CopyableFailure carrying it render in milliseconds, as back-references, with output bounded by the message", () => {
    const writes = [
      { dir: "c2s" as const, hex: hex(call) },
      { dir: "s2c" as const, hex: hex(failure) },
    ];
    let out = render(writes);
    const ms = best(5, () => (out = render(writes)));
    // the whole page, text and JSON of both messages, bounded by the message size
    const size = call.length + failure.length;
    expect(out.text.length).toBeLessThan(40 * size);
    expect(out.json.length).toBeLessThan(40 * size);
    expect(out.html.length).toBeLessThan(40 * size + 40_000);
    // the repeated level is shown as a back-reference marker, not walked again
    expect(out.text).toContain("@29=[@28=[");
    expect(out.text).toMatch(/, @1\]/);
    expect(ms).toBeLessThan(250);
  });
});

describe("every regular expression that sees peer bytes is linear (issue 12)", () => {
  // Construction: one character repeated in every text field a regex looks at (date/time fields,
  // keyword names, traceback text, hex dumps, float repr), at n and 8n characters. Linear work
  // grows about 8 times; a backtracking (quadratic) pattern 64 times.
  const fields = (n: number): { dir: "c2s" | "s2c"; hex: string }[] => {
    const hex = (x: Uint8Array) => Buffer.from(x).toString("hex");
    const spaces = " ".repeat(n);
    const digits = "1".repeat(n);
    const args: Sexp[] = [
      "tuple",
      ["datetime", b(`${digits} 1 1${spaces}1 `)],
      ["datetime", b(`1${spaces}x`)],
      ["date", b(`${"-".repeat(n)}1`)],
      ["timedelta", b(`0 ${"0".repeat(n)} 0${spaces}`)],
      ["unicode", b("\u00a0".repeat(n))],
      b("'\"".repeat(n)),
    ];
    const kwargs: Sexp = ["dictionary", [["unicode", b("a".repeat(n) + "-")], 1], [["unicode", b("_".repeat(n))], 2]];
    const call = pb(["message", 1, b("root"), b("x".repeat(n)), 1, args, kwargs]);
    const error = pb(["error", 1, ["twisted.spread.pb.CopyableFailure", ["dictionary", [b("type"), b("a.".repeat(n))], [b("value"), b("v")], [b("traceback"), b("\n".repeat(n) + "x" + "\n".repeat(n))]]]]);
    return [
      { dir: "c2s", hex: hex(call) },
      { dir: "s2c", hex: hex(error) },
    ];
  };

  it("work grows linearly with the length of repeated characters", () => {
    const small = fields(5_000);
    const large = fields(40_000);
    render(small); // warm up both
    render(large);
    const t1 = best(3, () => render(small));
    const t8 = best(3, () => render(large));
    expect(t8 / Math.max(t1, 1)).toBeLessThan(24);
    expect(t8).toBeLessThan(5_000);
  });
});
