import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // GC tests check that collected references send decref/decache.
    execArgv: ["--expose-gc"],
    // Remote methods' errors are logged by default (src/pb/log.ts), and many tests make them on
    // purpose: their tracebacks are left out of the run's output unless PB_TEST_LOG=1. Tests that
    // check the log spy on it, which this does not change.
    onConsoleLog: (log) => (process.env.PB_TEST_LOG || !log.startsWith("twisted-pb: ") ? undefined : false),
  },
});
