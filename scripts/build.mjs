#!/usr/bin/env node
// `npm run build` (also run by `prepack`): a clean dist/ compiled by tsc from src/ with
// tsconfig.build.json. Plain JavaScript so it runs on any platform without a shell.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
rmSync(join(root, "dist"), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const r = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit", cwd: root });
if (r.error) throw r.error;
process.exit(r.status ?? 1);
