import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // GC tests check that collected references send decref/decache.
    execArgv: ["--expose-gc"],
  },
});
