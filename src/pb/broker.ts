// The Perspective Broker (pb.py Broker): one per connection, in either role. It never touches a
// socket: bytes come in through dataReceived() and go out through a Transport. Its tables live in
// their own modules (references.ts, caches.ts, pending.ts, pagers.ts); this file receives and
// sends PB's messages and jellies values with itself as the invoker.
import type { BananaEncoder } from "../banana/encoder.ts";
import { BananaError } from "../banana/errors.ts";
import { describeValue } from "../jelly/describe.ts";
import { DialectNegotiator } from "../banana/dialect.ts";
import type { Dialect } from "../banana/constants.ts";
import type { Sexp } from "../banana/values.ts";
import { jellyFor, type Jellyable } from "../jelly/jelly.ts";
import { decodeUtf8, tagText } from "../jelly/text.ts";
import { Tuple } from "../jelly/types.ts";
import type { CallOptions } from "./broker-api.ts";
import { bananaLimitsOf, BrokerCore, type BrokerCoreOptions } from "./broker-core.ts";
import { PB_VERSION, ROOT_NAME } from "./constants.ts";
import { CallAborted, DeadReferenceError, PBConnectionLost, PBError, ProtocolError } from "./errors.ts";
import { CopyableFailure } from "./failure.ts";
import type { RemoteMessageTarget } from "./flavors.ts";
import type { Kwargs } from "./kwargs.ts";
import { isThenable, luidOf, notAnError, truthy } from "./message-values.ts";
import { requestID as requestIDOf } from "./pending.ts";
import { timeoutError } from "./timeout.ts";
import { currentDefaultTraceHook, type TraceHook } from "./log.ts";
import { encodeWithShared, listenerOffer, sharedEncoder } from "./encoders.ts";
import type { Transport } from "./transport.ts";
import { currentTurn, leaveTurn, releaseTurn } from "./turn.ts";
import { FastReceiver } from "../jelly/fastreceive.ts";
import { argumentsFor, pbJellyPositions, pbTextPositions, revealForPeer } from "./predecoded.ts";
import { PB_ID_TAGS } from "./registry.ts";
import { checkRoot } from "./root.ts";

export type { BrokerAPI, CacheableLike, LogEntry, PageProducer, Role, Sendable } from "./broker-api.ts";
export { BrokerCore, type BrokerCoreOptions } from "./broker-core.ts";

/** What a listener hands each connection as its root object (Twisted's IPBRoot). */
export interface PBRoot {
  /** The object a new connection gets as its root. */
  rootObject(broker: Broker): RemoteMessageTarget & object;
}

/** How a Broker is made: its role, what it accepts, its limits, and for a listener its root. */
export interface BrokerOptions extends BrokerCoreOptions {
  /** Listener: what each connection gets as its root object. */
  root?: PBRoot;
  /** Called once the dialect is chosen and our version is sent (Twisted's connectionReady). */
  onReady?: (broker: Broker) => void;
  /** Sees every message sent and received (default: NODE_DEBUG=twisted-pb's, when net is loaded; null for none). */
  trace?: TraceHook | null;
}

const NO_CALL_OPTIONS: CallOptions = Object.freeze({});
/** What jelly makes of an empty dictionary (read only: the encoder and trace hooks never change it). */
const NO_KEYWORDS: ReadonlyMap<string, unknown> = new Map();
const EMPTY_DICTIONARY: Sexp = Object.freeze(["dictionary"]) as unknown as Sexp;

/** The Perspective Broker of one connection, in either role (pb.py Broker). */
export class Broker extends BrokerCore {
  private readonly negotiator: DialectNegotiator;
  private readonly decoder: FastReceiver;
  /** Shared with the other brokers of the same limits and dialect (see sharedEncoder). */
  private encoder: BananaEncoder;
  private dialect: Dialect | null = null;
  private readonly onReady?: (broker: Broker) => void;
  private readonly rootFactory?: PBRoot;

  private dropReason: Error | null = null;
  private disconnects: (() => void)[] | null = null;
  private readonly trace: TraceHook | null;

  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private readonly closedPromise: Promise<Error | undefined>;
  private resolveClosed!: (reason: Error | undefined) => void;

  constructor(options: BrokerOptions) {
    super(options);
    this.onReady = options.onReady;
    this.rootFactory = options.root === undefined ? undefined : checkRoot(options.root);
    this.trace = options.trace === undefined ? currentDefaultTraceHook() : options.trace;
    this.negotiator = new DialectNegotiator(this.role);
    const bananaLimits = bananaLimitsOf(this.limits);
    // Plain-data calls and answers arrive already unjellied (one pass); the rest as expressions.
    // A Python 2 peer's values take the tree path: its "unicode" must become PyUnicode there.
    const unjelly = { security: this.security, registry: this.registry, mode: this.values, bytesAsText: false, maxDepth: this.limits.maxDepth, maxNodes: this.limits.maxMessageNodes, idTags: PB_ID_TAGS };
    const jellyAt = (command: string, length: number) => (this.peer.strings === "bytes" ? 0 : pbJellyPositions(command, length));
    // The method name as text, unless a trace hook is to see the expressions as they came (bytes).
    const textAt = this.trace === null ? pbTextPositions : null;
    this.decoder = new FastReceiver((item) => this.itemReceived(item), { limits: bananaLimits, unjelly, jellyAt, textAt });
    this.encoder = sharedEncoder(bananaLimits, null);
    this.readyPromise = new Promise((r) => (this.resolveReady = r));
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
  }

  // ---- connection lifecycle -------------------------------------------------------------

  /** Attaches the transport; the listener then offers its dialects. A rootObject() that throws drops this connection (logged). */
  makeConnection(transport: Transport): void {
    this.transport = transport;
    try {
      if (this.rootFactory) this.setNameForLocal(ROOT_NAME, this.rootFactory.rootObject(this));
    } catch (e) {
      return this.drop(e instanceof Error ? e : new Error(`rootObject() threw ${String(e)}`));
    }
    const offer = this.role === "listener" ? listenerOffer(this.negotiator) : null;
    if (offer) transport.write(offer);
  }

  /** Resolves once the dialect is chosen and our version sent. */
  get ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Resolves (with the reason, if any) once the connection is gone. */
  get closed(): Promise<Error | undefined> {
    return this.closedPromise;
  }

  /** Whether the connection is gone. */
  get isDisconnected(): boolean {
    return this.disconnected;
  }

  /** The banana dialect agreed, or null before the negotiation ends. */
  get negotiatedDialect(): Dialect | null {
    return this.dialect;
  }

  /** A received value in an error or log message: bounded text (see describeValue), whatever it expands to. */
  private shown(x: unknown): string {
    return typeof x === "number" ? String(x) : describeValue(x, this.limits.maxRenderedText);
  }

  /** Feeds bytes received from the peer (Protocol.dataReceived). */
  dataReceived(data: Uint8Array): void {
    if (this.disconnected || this.dropReason) return;
    try {
      this.decoder.feed(data);
    } catch (e) {
      this.drop(e instanceof Error ? e : new ProtocolError(String(e)));
    }
    // Every call of the chunk has run: a turn no promise waits on needs no end marker.
    releaseTurn();
  }

  /** Hangs up on the peer (the transport owner then calls connectionLost). */
  loseConnection(reason?: Error): void {
    if (this.disconnected) return;
    this.transport?.loseConnection(reason);
  }

  protected drop(reason: Error, graceful = false): void {
    if (this.dropReason || this.disconnected) return;
    this.dropReason = reason;
    this.log({ level: "error", message: `dropping connection: ${reason.message}`, error: reason });
    // graceful: what was written so far still goes out (Twisted's transport.loseConnection()).
    this.transport?.loseConnection(graceful ? undefined : reason);
  }

  /** The connection is gone: fails pending calls with PBConnectionLost, runs disconnect notifiers, drops the tables. */
  connectionLost(reason?: Error): void {
    if (this.disconnected) return;
    this.disconnected = true;
    const why = this.dropReason ?? reason;
    this.pending.rejectAll(() => new PBConnectionLost(why ? why.message : "connection lost", { cause: why }));
    this.tablesDisconnected();
    this.transport?.unregisterProducer?.();
    const notifiers = this.disconnects ?? [];
    this.disconnects = null;
    for (const notify of notifiers) {
      try {
        notify();
      } catch (e) {
        this.log({ level: "error", message: "disconnect notifier failed", error: e });
      }
    }
    this.clearTables();
    this.resolveClosed(why);
  }

  /** Calls `notifier` once the connection is lost. */
  notifyOnDisconnect(notifier: () => void): void {
    if (this.disconnected) throw new DeadReferenceError("Calling Stale Broker");
    (this.disconnects ??= []).push(notifier);
  }

  /** Removes a notifier added by notifyOnDisconnect. */
  dontNotifyOnDisconnect(notifier: () => void): void {
    const i = this.disconnects?.indexOf(notifier) ?? -1;
    if (i >= 0) this.disconnects!.splice(i, 1);
  }

  // ---- receiving ------------------------------------------------------------------------

  private itemReceived(item: Sexp): void {
    if (this.dialect === null) {
      const step = this.negotiator.receive(item);
      if (step.send) this.transport?.write(step.send);
      if (step.selected) this.selectDialect(step.selected);
      return;
    }
    this.received++;
    this.expressionReceived(item);
  }

  private selectDialect(dialect: Dialect): void {
    this.dialect = dialect;
    this.decoder.dialect = dialect;
    this.encoder = sharedEncoder(bananaLimitsOf(this.limits), dialect);
    this.sendCall("version", PB_VERSION);
    this.resolveReady();
    this.onReady?.(this);
  }

  private expressionReceived(sexp: Sexp): void {
    if (this.trace) this.trace("in", sexp, this);
    if (!this.peer.settled) {
      // Keyword names show the peer's Python: a call with some is looked at (and decoded) the tree way.
      sexp = revealForPeer(sexp);
      this.peer.observe(sexp); // the peer's Python, per connection (peer.ts)
    }
    if (!Array.isArray(sexp)) throw new ProtocolError("Non-list expression received.");
    const list = sexp as readonly Sexp[];
    const head = list[0];
    if (typeof head !== "string" && !(head instanceof Uint8Array)) throw new ProtocolError("PB message without a command");
    const command = tagText(head);
    const n = list.length - 1;
    switch (command) {
      case "version":
        if (n !== 1) this.badArity(command, 1, n);
        if (list[1] !== PB_VERSION) throw new ProtocolError(`Version Incompatibility: ${PB_VERSION} ${this.shown(list[1])}`);
        return;
      case "message":
      case "cachemessage":
        if (n !== 6) this.badArity(command, 6, n);
        return this.recvMessage(command === "message", list[1], list[2], list[3], list[4], list[5], list[6]);
      case "answer":
        if (n !== 2) this.badArity(command, 2, n);
        return this.protoAnswer(list[1], list[2]);
      case "error":
        if (n !== 2) this.badArity(command, 2, n);
        return this.protoError(list[1], list[2]);
      case "decref":
        if (n !== 1) this.badArity(command, 1, n);
        return this.references.decref(list[1]);
      case "decache":
        if (n !== 1) this.badArity(command, 1, n);
        return this.protoDecache(list[1]);
      case "uncache":
        if (n !== 1) this.badArity(command, 1, n);
        return this.receivedCaches.uncache(luidOf(list[1]));
      case "didNotUnderstand":
        this.log({ level: "info", message: `Didn't understand command: ${this.shown(list[1])}` });
        return;
      default:
        // Twisted 22.4 means to answer this, but tries to send text and drops the connection
        // instead (PROTOCOL.md section 7); we send what it meant to.
        this.sendCall("didNotUnderstand", head);
    }
  }

  // A method, not a closure made per message: closures cost an allocation each (and a
  // defineProperty each under tsx's keepNames).
  private badArity(command: string, want: number, n: number): never {
    throw new ProtocolError(`${command} takes ${want} arguments, got ${n}`);
  }

  private recvMessage(plain: boolean, rawID: Sexp, objectID: Sexp, rawMessage: Sexp, rawAnswer: Sexp, netArgs: Sexp, netKw: Sexp): void {
    const requestID = requestIDOf(rawID);
    if (typeof rawMessage !== "string" && !(rawMessage instanceof Uint8Array)) throw new ProtocolError("method name must be a byte string");
    let message: string;
    try {
      message = decodeUtf8(rawMessage);
    } catch {
      throw new ProtocolError("method name is not UTF-8");
    }
    const answerRequired = truthy(rawAnswer);
    // Taken before the method runs, so that any later turn the method waits for starts after it.
    const turn = answerRequired ? currentTurn(this.transport?.deliversFromIO !== true) : null;
    let result: Sexp | Promise<Sexp>;
    try {
      const target = plain ? this.localObjectForID(objectID) : this.receivedCaches.target(objectID);
      if (target === null || target === undefined) throw new PBError("Invalid Object ID");
      if (typeof (target as Partial<RemoteMessageTarget>).remoteMessageReceived !== "function") throw new PBError("Invalid Object ID");
      [netArgs, netKw] = argumentsFor(target as RemoteMessageTarget, netArgs, netKw);
      result = (target as RemoteMessageTarget).remoteMessageReceived(this, message, netArgs, netKw);
      if (this.firstPagesDue) this.pagers.sendFirstPages();
    } catch (e) {
      if (turn) leaveTurn(turn, false);
      if (this.firstPagesDue) this.pagers.sendFirstPages();
      if (!(e instanceof PBError)) this.log({ level: "error", message: "Peer will receive following PB traceback:", error: e });
      if (answerRequired) this.sendError(e, requestID, false);
      return;
    }
    const later = isThenable(result);
    if (turn) leaveTurn(turn, later);
    if (later) {
      Promise.resolve(result as Promise<Sexp>).then(
        (sexp) => {
          if (answerRequired) this.sendAnswer(requestID, sexp);
        },
        (e) => {
          if (!(e instanceof PBError)) this.log({ level: "error", message: "Peer will receive following PB traceback:", error: e });
          if (answerRequired) this.sendError(e, requestID, !turn!.over);
        },
      );
    } else if (answerRequired) {
      this.sendAnswer(requestID, result as Sexp);
    }
  }

  private sendAnswer(requestID: number, sexp: Sexp): void {
    if (this.disconnected) return;
    try {
      this.sendCall("answer", requestID, sexp);
    } catch (e) {
      // Twisted drops the connection (or never answers) when an answer cannot be encoded; the
      // caller gets the reason instead.
      this.log({ level: "error", message: "answer could not be encoded", error: e });
      this.sendError(e, requestID, false);
    }
  }

  /** Sends `error` for a failed call: a Jellyable error as itself, anything else as a CopyableFailure. */
  private sendError(error: unknown, requestID: number, deferred: boolean): void {
    if (this.disconnected) return;
    const payload: unknown =
      typeof error === "object" && error !== null && typeof (error as Partial<Jellyable>)[jellyFor] === "function"
        ? error
        : new CopyableFailure(error, { unsafeTracebacks: this.unsafeTracebacks, deferred });
    try {
      this.sendCall("error", requestID, this.serializeNow(payload, null));
    } catch (e) {
      this.log({ level: "error", message: "failure could not be sent as is", error: e });
      this.sendCall("error", requestID, this.serializeNow(new CopyableFailure(e, { deferred }), null));
    }
  }

  private protoAnswer(rawID: Sexp, netResult: Sexp): void {
    const pending = this.pending.take(rawID);
    let value: unknown;
    try {
      value = this.unserialize(netResult);
    } catch (e) {
      if (!pending.abandoned) pending.reject(e);
      throw e;
    }
    if (!pending.abandoned) pending.resolve(value);
  }

  private protoError(rawID: Sexp, fail: Sexp): void {
    const pending = this.pending.take(rawID);
    let value: unknown;
    try {
      value = this.unserialize(fail);
    } catch (e) {
      if (!pending.abandoned) pending.reject(e);
      throw e;
    }
    if (pending.abandoned) return;
    pending.reject(value instanceof Error ? value : notAnError(value));
  }

  private protoDecache(raw: Sexp): void {
    const luid = luidOf(raw);
    if (this.sentCaches.decache(luid)) this.sendCall("uncache", luid);
  }

  // ---- sending --------------------------------------------------------------------------

  protected sendCall(...exp: Sexp[]): void {
    if (!this.transport || this.disconnected) return;
    if (this.trace) this.trace("out", exp, this);
    // Parts: a large byte string goes to the transport as it is, not copied into the message.
    this.writeParts(encodeWithShared(this.encoder, exp));
  }

  /**
   * Sends a call (pb.py Broker._sendMessage). With `answer` false nothing comes back and
   * undefined is returned; otherwise a promise of the unjellied result.
   */
  sendMessage(
    prefix: "" | "cache",
    perspective: unknown,
    objectID: number | string,
    name: string,
    args: unknown[],
    kw: Kwargs | null,
    answer: boolean,
    options: CallOptions = NO_CALL_OPTIONS,
  ): Promise<unknown> | undefined {
    // The hot path of every call: no closures made here (see badArity).
    let answerRequired = answer;
    let kwValues: ReadonlyMap<string, unknown>;
    if (kw) {
      const values = kw.toMap();
      values.delete("pbcallback");
      values.delete("pberrback");
      if (values.has("pbanswer")) {
        answerRequired = !!values.get("pbanswer");
        values.delete("pbanswer");
      }
      kwValues = values;
    } else kwValues = NO_KEYWORDS;
    if (this.disconnected) return this.callNotSent(answerRequired, new DeadReferenceError("Calling Stale Broker"));
    if (options.signal?.aborted) return this.callNotSent(answerRequired, new CallAborted("call aborted before it was sent", options.signal.reason));
    const badTimeout = timeoutError(options.timeout);
    if (badTimeout) return this.callNotSent(answerRequired, badTimeout);
    let netArgs: Sexp;
    let netKw: Sexp;
    try {
      const t = new Tuple<unknown>();
      for (let i = 0; i < args.length; i++) t.push(args[i]);
      netArgs = this.serializeNow(t, perspective);
      // No keywords (most calls): the empty dictionary's expression, not made again each time.
      netKw = kwValues.size === 0 ? EMPTY_DICTIONARY : this.serializeNow(kwValues, perspective);
    } catch (e) {
      return this.callNotSent(answerRequired, e);
    }
    const requestID = this.pending.nextID();
    let bytes: Uint8Array[];
    try {
      const message: Sexp[] = [prefix + "message", requestID, objectID, name, answerRequired ? 1 : 0, netArgs, netKw];
      bytes = encodeWithShared(this.encoder, message);
      if (this.trace) this.trace("out", message, this);
    } catch (e) {
      return this.callNotSent(answerRequired, e);
    }
    if (!answerRequired) {
      this.writeParts(bytes);
      return undefined;
    }
    const promise = this.pending.add(requestID, name, options);
    this.writeParts(bytes);
    return promise;
  }

  private writeParts(parts: Uint8Array[]): void {
    for (let i = 0; i < parts.length; i++) this.transport?.write(parts[i]);
  }

  /** A call that cannot go out: a rejected promise, or for the no-answer form (which returns nothing) a throw, as Twisted raises DeadReferenceError at once. */
  private callNotSent(answerRequired: boolean, e: unknown): Promise<unknown> | undefined {
    if (answerRequired) return Promise.reject(e);
    throw e;
  }
}

export { BananaError };
