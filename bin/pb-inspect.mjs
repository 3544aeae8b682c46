#!/usr/bin/env node
// pb-inspect: a Perspective Broker protocol debugger (src/inspect/cli.ts), run through tsx.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/inspect/cli.ts");
// Let the output drain before exiting (stdout may be a pipe).
process.exitCode = await main(process.argv.slice(2));
