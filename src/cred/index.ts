export * from "./errors.ts";
export * from "./credentials.ts";
export * from "./checkers.ts";
export * from "./portal.ts";
export * from "./pbportal.ts";
export { respond, challenge, md5 } from "./hash.ts";
