/** Raised for anything banana refuses to send or receive (banana.py BananaError). */
export class BananaError extends Error {
  override name = "BananaError";
}
