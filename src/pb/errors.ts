// PB's error classes, named as Twisted names them. `pythonType` is the qualified name a Twisted
// peer sees (and can trap) when one of these is sent as a failure.

/** pb.Error: errors a remote method raises on purpose; sent without being logged as unexpected. */
export class PBError extends Error {
  static pythonType = "twisted.spread.pb.Error";
  override name = "Error";
}

/** pb.ProtocolError: the peer broke the protocol; the connection is dropped. */
export class ProtocolError extends Error {
  static pythonType = "twisted.spread.pb.ProtocolError";
  override name = "ProtocolError";
}

/** pb.DeadReferenceError: a call on a reference whose broker has disconnected. */
export class DeadReferenceError extends ProtocolError {
  static override pythonType = "twisted.spread.pb.DeadReferenceError";
  override name = "DeadReferenceError";
}

/** pb.PBConnectionLost: the connection went away while a call was waiting for its answer. */
export class PBConnectionLost extends Error {
  static pythonType = "twisted.spread.pb.PBConnectionLost";
  override name = "PBConnectionLost";
}

/** flavors.NoSuchMethod (an AttributeError in Twisted): the object has no remote_<name>. */
export class NoSuchMethod extends Error {
  static pythonType = "twisted.spread.flavors.NoSuchMethod";
  static pythonParents = ["twisted.spread.flavors.NoSuchMethod", "builtins.AttributeError"];
  override name = "NoSuchMethod";
}

/** pb.RemoteError: how Twisted raises a remote failure into coroutines. */
export class RemoteError extends Error {
  static pythonType = "twisted.spread.pb.RemoteError";
  override name = "RemoteError";
  constructor(
    readonly remoteType: string,
    readonly value: string,
    readonly remoteTraceback: string,
    /** `cause`: what the peer sent, when it was not an Error itself. */
    options?: { cause?: unknown },
  ) {
    super(value, options);
  }
}

/**
 * A call given up locally: its timeout passed (CallTimeout) or its AbortSignal fired
 * (CallAborted). The peer may still run it; its late answer is ignored. Catch this class for both.
 */
export class CallAbandoned extends Error {
  override name = "CallAbandoned";
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** A call whose `timeout` passed before its answer came. */
export class CallTimeout extends CallAbandoned {
  override name = "CallTimeout";
  constructor(
    message: string,
    /** The timeout that passed, in milliseconds. */
    readonly timeout: number,
  ) {
    super(message);
  }
}

/** A call whose AbortSignal fired (before it was sent, or while waiting); `cause` is the signal's reason. */
export class CallAborted extends CallAbandoned {
  override name = "CallAborted";
}
