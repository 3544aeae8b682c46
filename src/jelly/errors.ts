/** A type, class or module the security options do not allow (jelly.py InsecureJelly). */
export class InsecureJelly extends Error {
  /** The qualified name a Twisted peer sees when this is sent as a failure. */
  static pythonType = "twisted.spread.jelly.InsecureJelly";
  override name = "InsecureJelly";
}

/** A jelly expression that is malformed, or a value that cannot be jellied. */
export class JellyError extends Error {
  /** Twisted raises assorted builtins (TypeError, ValueError...) for these; a peer sees a ValueError. */
  static pythonType = "builtins.ValueError";
  override name = "JellyError";
}
