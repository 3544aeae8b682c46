// Python values in JavaScript: lossless (the default) versus `values: "js"`.
// Against the Twisted server in examples/twisted/server.py (its root echoes what it gets).
//   python3 examples/twisted/server.py &   then   npx tsx examples/values.ts
import { PBClient, PyFloat, Tuple, tuple } from "twisted-pb";

const port = Number(process.env.PB_PORT ?? 8787);
const sent = tuple(new PyFloat(1), "text", new Map([["k", tuple(1, 2)]]), new Set([1]));

// Lossless: what comes back can go out again with the same bytes. A tuple is a Tuple, a float
// with an integral value a PyFloat, a dict a Map.
const lossless = await PBClient.connect({ host: "127.0.0.1", port });
const [echoed] = (await (await lossless.getRootObject()).callRemote("echo", sent)) as Tuple;
const [f, s, dict, set] = echoed as Tuple;
console.log("lossless:", {
  tuple: echoed instanceof Tuple,
  float: f instanceof PyFloat ? `PyFloat(${(f as PyFloat).value})` : f,
  text: s,
  dict: dict instanceof Map ? `Map(${[...(dict as Map<string, unknown>).keys()]})` : dict,
  set: set instanceof Set,
});
await lossless.disconnect();

// values: "js": idiomatic JavaScript. Tuples are arrays, floats numbers, text-keyed dicts
// null-prototype objects. Easier to use; a value sent back may not be the same Python type.
const js = await PBClient.connect({ host: "127.0.0.1", port }, { values: "js" });
const [echoedJs] = (await (await js.getRootObject()).callRemote("echo", sent)) as unknown[];
const [fJs, sJs, dictJs, setJs] = echoedJs as unknown[];
console.log("js:", {
  tuple: Array.isArray(echoedJs) && !(echoedJs instanceof Tuple),
  float: fJs,
  text: sJs,
  dict: JSON.stringify(dictJs),
  set: setJs instanceof Set,
});
await js.disconnect();
