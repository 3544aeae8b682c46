// Banana encoders shared by brokers. Encoding is synchronous and returns fresh bytes (an
// encoder's buffer is only scratch space), so every broker with the same limits can use one
// encoder per dialect instead of making its own per connection (a buffer, and a bigint for its
// integer limit); the listener's dialect offer, the same bytes on every connection, is encoded once.
import { KNOWN_DIALECTS, type Dialect } from "../banana/constants.ts";
import type { DialectNegotiator } from "../banana/dialect.ts";
import { BananaEncoder } from "../banana/encoder.ts";
import { DEFAULT_BANANA_LIMITS, type BananaLimits } from "../banana/limits.ts";
import type { Sexp } from "../banana/values.ts";

const shared = new WeakMap<BananaLimits, Map<Dialect | null, BananaEncoder>>();

// The default limits' encoders, without a table lookup.
let defaultPB: BananaEncoder | null = null;
let defaultUnnegotiated: BananaEncoder | null = null;

/** The encoder shared by the brokers with these limits, in this dialect (null: not negotiated yet). */
export function sharedEncoder(limits: BananaLimits, dialect: Dialect | null): BananaEncoder {
  if (limits === DEFAULT_BANANA_LIMITS) {
    if (dialect === "pb") return (defaultPB ??= new BananaEncoder({ limits, dialect }));
    if (dialect === null) return (defaultUnnegotiated ??= new BananaEncoder({ limits, dialect }));
  }
  let byDialect = shared.get(limits);
  if (!byDialect) shared.set(limits, (byDialect = new Map()));
  let encoder = byDialect.get(dialect);
  if (!encoder) byDialect.set(dialect, (encoder = new BananaEncoder({ limits, dialect })));
  return encoder;
}

/** Whether a shared encoder is encoding now. */
let encoding = false;

/**
 * encoder.encodeParts(exp) on a shared encoder. A nested encode (none is known today: a broker
 * encodes expressions already jellied, and nothing of the user's runs while they are written)
 * gets an encoder of its own rather than the one in use.
 */
export function encodeWithShared(encoder: BananaEncoder, exp: Sexp[]): Uint8Array[] {
  if (encoding) return new BananaEncoder({ limits: encoder.limits, dialect: encoder.dialect }).encodeParts(exp);
  encoding = true;
  try {
    return encoder.encodeParts(exp);
  } finally {
    encoding = false;
  }
}

let offer: Uint8Array | null | undefined;

/** The listener's dialect offer, encoded once; a copy per connection, so that no transport can change another's bytes. */
export function listenerOffer(negotiator: DialectNegotiator): Uint8Array | null {
  // Only the default offer is kept: a negotiator knowing other dialects encodes its own.
  if (negotiator.known !== KNOWN_DIALECTS) return negotiator.start();
  if (offer === undefined) offer = negotiator.start();
  return offer === null ? null : offer.slice();
}
