export * from "./constants.ts";
export * from "./limits.ts";
export * from "./errors.ts";
export * from "./values.ts";
export * from "./encoder.ts";
export * from "./decoder.ts";
export * from "./dialect.ts";
export { bytePool, DEFAULT_BYTE_POOL, setBytePool, type BytePoolOptions } from "./pool.ts";
