// The build's guard against esbuild's renames (scripts/build.mjs): when two bundled modules
// declare the same top-level name, esbuild renames one (`armTimer` becomes `armTimer2`), which
// changes that function's or class's `name` as stack traces and logs show it.

/** Names of a module's top-level functions and classes, declared or assigned at the top level. */
export function topLevelNames(code) {
  const names = new Set();
  const declared = /^(?:export )?(?:async )?(?:function\*? ?|class )([A-Za-z_$][\w$]*)/gm;
  const assigned = /^(?:export )?(?:var|let|const) ([A-Za-z_$][\w$]*) = (?:async )?(?:function\b|class\b|\([^)\n]*\) =>|[A-Za-z_$][\w$]* =>)/gm;
  for (const re of [declared, assigned]) for (const m of code.matchAll(re)) names.add(m[1]);
  return names;
}

/** Top-level function and class names in `bundled` that no source module declared: esbuild's renames. */
export function renamedNames(sourceNames, bundled) {
  // esbuild's own helpers (__export and the like) are not renames.
  return [...topLevelNames(bundled)].filter((name) => !sourceNames.has(name) && !name.startsWith("__"));
}
