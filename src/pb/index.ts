export * from "./constants.ts";
export * from "./errors.ts";
export { PBError as Error } from "./errors.ts";
export * from "./transport.ts";
export * from "./kwargs.ts";
export * from "./limits.ts";
export * from "./failure.ts";
export * from "./flavors.ts";
export * from "./cache.ts";
export * from "./pager.ts";
export * from "./publish.ts";
export * from "./typed.ts";
export { AttributeError, declareParameters, type DeclaresParameters } from "./dispatch.ts";
// (Named: remote.ts also holds the broker's side of the collection watch, which is not public.)
export { RemoteReference, type CallOptions, type RemoteMethod } from "./remote.ts";
export { copyRegistry, pbBuiltinRegistry, setCopierForClass, setFactoryForClass, setUnjellyableFactoryForClass, setUnjellyableForClass } from "./registry.ts";
export * from "./broker.ts";
export * from "./log.ts";
export { PeerDialect, pythonShownBy, type PythonMajor, type StringsOption } from "./peer.ts";
