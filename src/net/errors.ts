// Why the network layer gave up on a wait or dropped a connection. Local errors: never sent to
// the peer. Waits that give up extend CallAbandoned (timeouts and aborts told apart by class);
// dropped connections extend PBConnectionLost, which is what pending calls are rejected with.
import { CallAbandoned, PBConnectionLost } from "../pb/errors.ts";

/** Connecting, the PB handshake or a login did not finish within its timeout. */
export class ConnectTimeout extends CallAbandoned {
  override name = "ConnectTimeout";
}

/** Connecting, the PB handshake or a login was given up because its AbortSignal fired (`cause` is the signal's reason). */
export class ConnectAborted extends CallAbandoned {
  override name = "ConnectAborted";
}

/** The peer did not complete PB's dialect and version exchange in time. */
export class HandshakeTimeout extends PBConnectionLost {
  override name = "HandshakeTimeout";
}

/** Nothing was received from or sent to the peer for the server's idle timeout. */
export class IdleTimeout extends PBConnectionLost {
  override name = "IdleTimeout";
}

/** Our unsent output to the peer passed `maxOutputBuffer`, or stayed above `outputHighWaterMark` for `outputStallTimeout`. */
export class OutputBufferExceeded extends PBConnectionLost {
  override name = "OutputBufferExceeded";
}

/** The PB-level liveness check got no answer in time (a dead peer behind a proxy, or a hung one). */
export class LivenessTimeout extends PBConnectionLost {
  override name = "LivenessTimeout";
}

/** The server was at its connection cap when this connection arrived. */
export class ServerFull extends PBConnectionLost {
  override name = "ServerFull";
}
