/** A type, class or module the security options do not allow (jelly.py InsecureJelly). */
export class InsecureJelly extends Error {
  /** The qualified name a Twisted peer sees when this is sent as a failure. */
  static pythonType = "twisted.spread.jelly.InsecureJelly";
  override name = "InsecureJelly";
}

/**
 * A copy tag nothing is registered for, refused as Twisted refuses it (the same InsecureJelly
 * text first, which is what a Twisted peer sees), with the tag and how to register it.
 */
export class UnregisteredCopyTag extends InsecureJelly {
  /** A Twisted peer sees it as the InsecureJelly it is. */
  static override pythonType = "twisted.spread.jelly.InsecureJelly";
  override name = "InsecureJelly";
  constructor(
    /** The copy tag received, e.g. "__main__.Point". */
    readonly tag: string,
    twistedText: string,
  ) {
    super(
      `${twistedText} Nothing is registered for the copy tag '${tag}': register the class that receives it with ` +
        `setUnjellyableForClass(${JSON.stringify(tag)}, YourRemoteCopyClass) (or setUnjellyableFactoryForClass), on the registry the broker uses.`,
    );
  }
}

/** A jelly expression that is malformed, or a value that cannot be jellied. */
export class JellyError extends Error {
  /** Twisted raises assorted builtins (TypeError, ValueError...) for these; a peer sees a ValueError. */
  static pythonType = "builtins.ValueError";
  override name = "JellyError";
}
