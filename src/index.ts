// twisted-pb: Twisted's Perspective Broker in TypeScript, wire-compatible with Python Twisted.
/** Banana, PB's s-expression codec: the streaming decoder, the encoder, dialects, limits. */
export * as banana from "./banana/index.ts";
/** Jelly, Python values on the wire: jelly and unjelly, Python value types, security, the registry. */
export * as jelly from "./jelly/index.ts";
export * from "./pb/index.ts";
export * from "./cred/index.ts";
export * from "./net/index.ts";
export {
  Tuple, tuple, FrozenSet, PyFloat, PyDateTime, PyDate, PyTime, PyTimeDelta, PyDecimal, Unpersistable, PyInstance, PyGlobal,
  InsecureJelly, JellyError, SecurityOptions, DummySecurityOptions, globalSecurity, dumps, loads, jelly as jellyValue, unjelly as unjellyValue,
  PyUnicode, ReceivedDict, ReceivedSet, UnregisteredCopyTag, UnjellyableRegistry, pbSecurity, idiomatic, jellyFor, Jellier, Unjellier,
  type Jellyable, type Taster, type UnjellyContext, type UnjellyableClass, type UnjellyHandler,
} from "./jelly/index.ts";
export { BananaError } from "./banana/index.ts";
