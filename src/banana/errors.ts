/** Raised for anything banana refuses to send or receive (banana.py BananaError). */
export class BananaError extends Error {
  /** The qualified name a Twisted peer sees when this is sent as a failure. */
  static pythonType = "twisted.spread.banana.BananaError";
  override name = "BananaError";
}
