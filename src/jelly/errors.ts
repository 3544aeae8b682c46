/** A type, class or module the security options do not allow (jelly.py InsecureJelly). */
export class InsecureJelly extends Error {
  override name = "InsecureJelly";
}

/** A jelly expression that is malformed, or a value that cannot be jellied. */
export class JellyError extends Error {
  override name = "JellyError";
}
