// twisted-pb/core: the platform-neutral part (banana, jelly, pb) with no Node built-in, for
// browsers, workers and other runtimes. A broker runs over any `Transport` (a WebSocket bridge,
// `connectInMemory`); sockets, cred's hashing and pb-inspect live in the main entry.
/** Banana, PB's s-expression codec: the streaming decoder, the encoder, dialects, limits. */
export * as banana from "./banana/index.ts";
/** Jelly, Python values on the wire: jelly and unjelly, Python value types, security, the registry. */
export * as jelly from "./jelly/index.ts";
export * from "./pb/index.ts";
export {
  Tuple, tuple, FrozenSet, PyFloat, PyDateTime, PyDate, PyTime, PyTimeDelta, PyDecimal, Unpersistable, PyInstance, PyGlobal,
  InsecureJelly, JellyError, SecurityOptions, DummySecurityOptions, globalSecurity, dumps, loads, jelly as jellyValue, unjelly as unjellyValue,
} from "./jelly/index.ts";
export { BananaError } from "./banana/index.ts";
