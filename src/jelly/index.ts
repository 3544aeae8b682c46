export * from "./errors.ts";
export * from "./types.ts";
export * from "./security.ts";
export * from "./registry.ts";
export * from "./jelly.ts";
export * from "./unjelly.ts";
export * from "./codec.ts";
export { decodeUtf8, tagText } from "./text.ts";
export { idiomatic } from "./idiomatic.ts";
