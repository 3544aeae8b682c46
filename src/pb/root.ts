// What a listener's root must be, checked when the server or broker is made (not at the first
// connection, too late to tell the caller).

/**
 * Gives `root` back if it can be a listener's root, else throws a TypeError: an object with rootObject(broker),
 * such as a Root (whose rootObject gives itself). A plain Referenceable is not one, as in Twisted
 * (PBServerFactory adapts its root to IPBRoot and fails when it cannot).
 */
export function checkRoot<T>(root: T): T {
  if (typeof root === "object" && root !== null && typeof (root as { rootObject?: unknown }).rootObject === "function") return root;
  const what = root === null ? "null" : typeof root === "object" ? (root.constructor?.name ?? "an object") : typeof root;
  throw new TypeError(`a PB root needs rootObject(broker), which ${what} lacks: extend Root (not Referenceable), or pass { rootObject: () => target }`);
}
