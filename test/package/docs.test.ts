// The API reference is generated from doc comments (`npm run docs`, TypeDoc); this is its cheap
// half, run with the tests: every public export of every entry point has a doc comment.
import { describe, expect, it } from "vitest";
import { undocumentedExports } from "../../scripts/undocumented.ts";

describe("API documentation", () => {
  it("every public export (index, core, inspect, and the banana and jelly namespaces) has a doc comment", () => {
    expect(undocumentedExports()).toEqual([]);
  }, 120_000);
});
