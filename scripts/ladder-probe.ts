// Diagnosis aid for the size ladder (not a benchmark of record): decodes one ladder payload in a
// loop, so that `node --trace-gc`, `--cpu-prof` or perf can see where time per byte goes.
// Usage: node [--trace-gc] --import tsx scripts/ladder-probe.ts list|dict 10000 [what] [seconds]
// what: decode (ours), msgpackr, floor (the result built again with no parsing).
import { unpack, Packr } from "msgpackr";
import { BananaEncoder } from "../src/banana/index.ts";
import { defaultRegistry, globalSecurity, Jellied } from "../src/jelly/index.ts";
import { FastReceiver, Predecoded } from "../src/jelly/fastreceive.ts";
import { floorBuilder } from "./ladder-floor.ts";
import { intsAndBytes, recordsDict } from "./payloads.ts";

const [family = "list", nText = "10000", what = "decode", secText = "3"] = process.argv.slice(2);
const n = Number(nText);
const value: unknown = family === "list" ? intsAndBytes(n) : recordsDict(n);
const bytes = new BananaEncoder({ dialect: "pb" }).encode(new Jellied(value));
const chunks: Uint8Array[] = [];
for (let i = 0; i < bytes.length; i += 65536) chunks.push(Buffer.from(bytes.subarray(i, Math.min(bytes.length, i + 65536))));
const mp = new Packr({ variableMapSize: true }).pack(value);
let got: unknown;
const r = new FastReceiver((x) => (got = x), { dialect: "pb", unjelly: { security: globalSecurity, registry: defaultRegistry, mode: "python", bytesAsText: false, maxDepth: 1000 }, jellyAt: null });
const decode = () => {
  for (const c of chunks) r.feed(c);
  const value = (got as unknown as Predecoded).value;
  got = undefined; // the last result is not kept alive through the next decode
  return value;
};
const build = floorBuilder(decode());
const fn = what === "msgpackr" ? () => unpack(mp) : what === "floor" ? build : decode;
const size = what === "msgpackr" ? mp.length : bytes.length;
const end = performance.now() + Number(secText) * 1000;
let k = 0;
const t0 = performance.now();
while (performance.now() < end) {
  fn();
  k++;
}
const ms = performance.now() - t0;
console.log(`${family} ${n} ${what}: ${k} ops, ${((ms * 1e6) / k / size).toFixed(2)} ns/byte, ${(k * size / ms / 1e3).toFixed(1)} MB/s`);
