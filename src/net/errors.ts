// Why the network layer gave up on a wait or dropped a connection. Local errors: never sent to
// the peer. Waits that give up extend CallAbandoned (timeouts and aborts told apart by class);
// dropped connections extend PBConnectionLost, which is what pending calls are rejected with.
import { CallAbandoned, PBConnectionLost } from "../pb/errors.ts";

/**
 * A subclass of `Base` whose instances carry `name` (a literal, so a minifier cannot change it).
 * Each exported error extends one of these, so it stays a named class for `instanceof` and docs.
 * @internal
 */
// `any[]` is the constructor form TypeScript requires of a class extended inside a function.
function named<B extends new (...args: any[]) => Error>(Base: B, name: string): B {
  return class extends Base {
    override name = name;
  };
}

/** Connecting, the PB handshake or a login did not finish within its timeout. */
export class ConnectTimeout extends named(CallAbandoned, "ConnectTimeout") {}

/** Connecting, the PB handshake or a login was given up because its AbortSignal fired (`cause` is the signal's reason). */
export class ConnectAborted extends named(CallAbandoned, "ConnectAborted") {}

/** The peer did not complete PB's dialect and version exchange in time. */
export class HandshakeTimeout extends named(PBConnectionLost, "HandshakeTimeout") {}

/** Nothing was received from or sent to the peer for the server's idle timeout. */
export class IdleTimeout extends named(PBConnectionLost, "IdleTimeout") {}

/** Our unsent output to the peer passed `maxOutputBuffer`, or stayed above `outputHighWaterMark` for `outputStallTimeout`. */
export class OutputBufferExceeded extends named(PBConnectionLost, "OutputBufferExceeded") {}

/** The PB-level liveness check got no answer in time (a dead peer behind a proxy, or a hung one). */
export class LivenessTimeout extends named(PBConnectionLost, "LivenessTimeout") {}

/** The server was at its connection cap when this connection arrived. */
export class ServerFull extends named(PBConnectionLost, "ServerFull") {}
