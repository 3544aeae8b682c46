#!/usr/bin/env node
// pb-inspect: a Perspective Broker protocol debugger. Installed from npm it runs the compiled
// dist/inspect/cli.js with nothing but the package's runtime dependencies. In a checkout of the
// project (src/ next to bin/, tsx installed) it runs the TypeScript sources through tsx, so the
// tests of src/inspect exercise the code being edited rather than a stale build.
import { existsSync } from "node:fs";

const source = new URL("../src/inspect/cli.ts", import.meta.url);
let cli;
if (existsSync(source)) {
  try {
    const { register } = await import("tsx/esm/api");
    register();
    cli = await import(source.href);
  } catch (e) {
    if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
  }
}
cli ??= await import("../dist/inspect/cli.js");
// Let the output drain before exiting (stdout may be a pipe): exitCode, not exit().
process.exitCode = await cli.main(process.argv.slice(2));
