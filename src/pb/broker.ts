// The Perspective Broker (pb.py Broker): one per connection, in either role. It never touches a
// socket: bytes come in through dataReceived() and go out through a Transport.
import { BananaEncoder } from "../banana/encoder.ts";
import { BananaError } from "../banana/errors.ts";
import { DialectNegotiator } from "../banana/dialect.ts";
import type { Dialect } from "../banana/constants.ts";
import { byteString, type Sexp } from "../banana/values.ts";
import { jellyFor, Jellier, type Jellyable } from "../jelly/jelly.ts";
import type { UnjellyableRegistry } from "../jelly/registry.ts";
import { globalSecurity, type Taster } from "../jelly/security.ts";
import { decodeUtf8, tagText } from "../jelly/text.ts";
import { Tuple } from "../jelly/types.ts";
import { Unjellier } from "../jelly/unjelly.ts";
import { FastReceiver } from "../jelly/fastreceive.ts";
import { argumentsFor, pbJellyPositions, predecodedValue } from "./predecoded.ts";
import { PB_VERSION, ROOT_NAME } from "./constants.ts";
import { CallAbandoned, DeadReferenceError, PBConnectionLost, PBError, ProtocolError, RemoteError } from "./errors.ts";
import { CopyableFailure } from "./failure.ts";
import { ViewPoint, type PBRoot, type RemoteMessageTarget, type Viewable } from "./flavors.ts";
import { Kwargs } from "./kwargs.ts";
import { pbLimits, type PBLimits } from "./limits.ts";
import { copyRegistry } from "./registry.ts";
import { RemoteReference, type CallOptions } from "./remote.ts";
import type { Transport } from "./transport.ts";

export type Role = "initiator" | "listener";

export interface LogEntry {
  level: "info" | "error";
  message: string;
  error?: unknown;
}

export interface BrokerOptions {
  /** "initiator" connected (Twisted's isClient); "listener" accepted the connection. */
  role: Role;
  /** What may be received (PB's globalSecurity by default). */
  security?: Taster;
  /** Copy tags; PB's own tags are always understood. */
  registry?: UnjellyableRegistry;
  /** Listener: what each connection gets as its root object. */
  root?: PBRoot;
  /** Send JS stacks as failure tracebacks (Twisted's unsafeTracebacks). */
  unsafeTracebacks?: boolean;
  /** "unicode" (Python 3 peers, default) or "bytes": JS strings go out as byte strings, as Python 2 peers expect. */
  strings?: "unicode" | "bytes";
  /** How received values look: "python" (lossless, default) or "js" (idiomatic). */
  values?: "python" | "js";
  limits?: Partial<PBLimits>;
  /** Where the broker reports what Twisted would log. */
  log?: (entry: LogEntry) => void;
  /** Called once the dialect is chosen and our version is sent (Twisted's connectionReady). */
  onReady?: (broker: Broker) => void;
}

interface Local {
  object: object;
  refcount: number;
  perspective: unknown;
  /** For a Cacheable: the one observer its copies on this connection are kept in sync through. */
  observer?: unknown;
}

/** The holder's side of one cached object: the instance observe_ calls reach, and the facade users hold. */
interface CacheEntry {
  core: object;
  facade: WeakRef<object> | null;
  /** Occurrences received since the current facade was made: one decache each when it goes. */
  counts: { n: number; live: boolean };
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  abandoned: boolean;
  cleanup?: () => void;
}

/** See Broker.currentTurn. */
interface CallTurn {
  over: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  immediate: ReturnType<typeof setImmediate> | undefined;
}

interface Registration {
  luid: number;
  created: boolean;
  cache: boolean;
}

/** A pager as the broker drives it (util.py Pager). */
export interface PageProducer {
  sendNextPage(): void;
  stillPaging(): boolean;
}

/** A cacheable's owner-side hooks (flavors.Cacheable); see cache.ts. */
export interface CacheableLike extends Jellyable {
  stoppedObserving(perspective: unknown, observer: unknown): void;
}

interface CacheHeld {
  luid: number;
  counts: { n: number; live: boolean };
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null && typeof (x as { then?: unknown }).then === "function";
}

const NO_CALL_OPTIONS: CallOptions = Object.freeze({});

function truthy(x: Sexp): boolean {
  if (typeof x === "number") return x !== 0;
  if (typeof x === "bigint") return x !== 0n;
  if (typeof x === "boolean") return x;
  if (Array.isArray(x)) return x.length > 0;
  if (x instanceof Uint8Array || typeof x === "string") return x.length > 0;
  return Number(x) !== 0;
}

export class Broker {
  readonly role: Role;
  readonly security: Taster;
  readonly registry: UnjellyableRegistry;
  readonly limits: PBLimits;
  readonly strings: "unicode" | "bytes";
  readonly values: "python" | "js";
  unsafeTracebacks: boolean;

  /** The perspective being serialized for (Viewable, Copyable and Cacheable read it). */
  serializingPerspective: unknown = null;
  /** The perspective being unserialized for (new RemoteReferences carry it). */
  unserializingPerspective: unknown = null;

  private transport: Transport | null = null;
  private readonly negotiator: DialectNegotiator;
  private readonly decoder: FastReceiver;
  private readonly encoder: BananaEncoder;
  private dialect: Dialect | null = null;
  private readonly log: (entry: LogEntry) => void;
  private readonly onReady?: (broker: Broker) => void;
  private readonly rootFactory?: PBRoot;

  private disconnected = false;
  private dropReason: Error | null = null;
  private disconnects: (() => void)[] = [];
  private readonly localObjects = new Map<number | string, Local>();
  private readonly luids = new Map<object, number>();
  private readonly localCleanup = new Map<object, () => void>();
  private readonly viewPoints = new Map<unknown, Map<Viewable, ViewPoint>>();
  private currentRequestID = 0;
  private currentLocalID = 0;
  private maxBrokerRefsViolations = 0;
  private readonly waitingForAnswers = new Map<number, Pending>();
  private registrations: Registration[] | null = null;
  private readonly finalizer: FinalizationRegistry<number> | null;

  // Cache tables (flavors.Cacheable / RemoteCache).
  private readonly remotelyCachedObjects = new Map<number, Local>();
  private readonly remotelyCachedLUIDs = new Map<object, number>();
  private readonly locallyCachedObjects = new Map<number, CacheEntry>();
  private readonly cacheFinalizer: FinalizationRegistry<CacheHeld> | null;

  private pageProducers: PageProducer[] = [];
  private pageTimer: ReturnType<typeof setTimeout> | null = null;

  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private readonly closedPromise: Promise<Error | undefined>;
  private resolveClosed!: (reason: Error | undefined) => void;

  constructor(options: BrokerOptions) {
    this.role = options.role;
    this.security = options.security ?? globalSecurity;
    this.registry = options.registry ?? copyRegistry;
    this.limits = pbLimits(options.limits);
    this.strings = options.strings ?? "unicode";
    this.values = options.values ?? "python";
    this.unsafeTracebacks = options.unsafeTracebacks ?? false;
    this.log = options.log ?? (() => {});
    this.onReady = options.onReady;
    this.rootFactory = options.root;
    this.negotiator = new DialectNegotiator(this.role);
    const bananaLimits = { prefixLimit: this.limits.prefixLimit, sizeLimit: this.limits.sizeLimit };
    // Plain-data calls and answers arrive already unjellied (one pass); the rest as expressions.
    const unjelly = { security: this.security, registry: this.registry, mode: this.values, bytesAsText: false, maxDepth: this.limits.maxDepth };
    this.decoder = new FastReceiver((item) => this.itemReceived(item), { limits: bananaLimits, unjelly, jellyAt: pbJellyPositions });
    this.encoder = new BananaEncoder({ limits: bananaLimits });
    this.readyPromise = new Promise((r) => (this.resolveReady = r));
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    this.cacheFinalizer =
      typeof FinalizationRegistry === "function"
        ? new FinalizationRegistry<CacheHeld>((held) => this.cacheFacadeGone(held))
        : null;
    this.finalizer =
      typeof FinalizationRegistry === "function"
        ? new FinalizationRegistry<number>((luid) => {
            if (!this.disconnected) this.sendDecRef(luid);
          })
        : null;
  }

  // ---- connection lifecycle -------------------------------------------------------------

  /** Attaches the transport; the listener then offers its dialects. */
  makeConnection(transport: Transport): void {
    this.transport = transport;
    if (this.rootFactory) this.setNameForLocal(ROOT_NAME, this.rootFactory.rootObject(this));
    const offer = this.negotiator.start();
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

  get isDisconnected(): boolean {
    return this.disconnected;
  }

  get negotiatedDialect(): Dialect | null {
    return this.dialect;
  }

  dataReceived(data: Uint8Array): void {
    if (this.disconnected || this.dropReason) return;
    try {
      this.decoder.feed(data);
    } catch (e) {
      this.drop(e instanceof Error ? e : new ProtocolError(String(e)));
    }
  }

  /** Hangs up on the peer (the transport owner then calls connectionLost). */
  loseConnection(reason?: Error): void {
    if (this.disconnected) return;
    this.transport?.loseConnection(reason);
  }

  private drop(reason: Error, graceful = false): void {
    if (this.dropReason || this.disconnected) return;
    this.dropReason = reason;
    this.log({ level: "error", message: `dropping connection: ${reason.message}`, error: reason });
    // graceful: what was written so far still goes out (Twisted's transport.loseConnection()).
    this.transport?.loseConnection(graceful ? undefined : reason);
  }

  connectionLost(reason?: Error): void {
    if (this.disconnected) return;
    this.disconnected = true;
    const why = this.dropReason ?? reason;
    const pending = [...this.waitingForAnswers.values()];
    this.waitingForAnswers.clear();
    for (const p of pending) {
      p.cleanup?.();
      if (!p.abandoned) p.reject(new PBConnectionLost(why ? why.message : "connection lost", { cause: why }));
    }
    for (const local of this.remotelyCachedObjects.values()) {
      try {
        (local.object as CacheableLike).stoppedObserving(local.perspective, local.observer);
      } catch (e) {
        this.log({ level: "error", message: "stoppedObserving failed", error: e });
      }
    }
    for (const entry of this.locallyCachedObjects.values()) entry.counts.live = false;
    this.pageProducers = [];
    if (this.pageTimer) clearTimeout(this.pageTimer);
    this.transport?.unregisterProducer?.();
    const notifiers = this.disconnects;
    this.disconnects = [];
    for (const notify of notifiers) {
      try {
        notify();
      } catch (e) {
        this.log({ level: "error", message: "disconnect notifier failed", error: e });
      }
    }
    this.localObjects.clear();
    this.luids.clear();
    this.localCleanup.clear();
    this.viewPoints.clear();
    this.remotelyCachedObjects.clear();
    this.remotelyCachedLUIDs.clear();
    this.locallyCachedObjects.clear();
    this.resolveClosed(why);
  }

  notifyOnDisconnect(notifier: () => void): void {
    if (this.disconnected) throw new DeadReferenceError("Calling Stale Broker");
    this.disconnects.push(notifier);
  }

  dontNotifyOnDisconnect(notifier: () => void): void {
    const i = this.disconnects.indexOf(notifier);
    if (i >= 0) this.disconnects.splice(i, 1);
  }

  // ---- receiving ------------------------------------------------------------------------

  private itemReceived(item: Sexp): void {
    if (this.dialect === null) {
      const step = this.negotiator.receive(item);
      if (step.send) this.transport?.write(step.send);
      if (step.selected) this.selectDialect(step.selected);
      return;
    }
    this.expressionReceived(item);
  }

  private selectDialect(dialect: Dialect): void {
    this.dialect = dialect;
    this.decoder.dialect = dialect;
    this.encoder.dialect = dialect;
    this.sendCall("version", PB_VERSION);
    this.resolveReady();
    this.onReady?.(this);
  }

  private expressionReceived(sexp: Sexp): void {
    if (!Array.isArray(sexp)) throw new ProtocolError("Non-list expression received.");
    const list = sexp as readonly Sexp[];
    const head = list[0];
    if (typeof head !== "string" && !(head instanceof Uint8Array)) throw new ProtocolError("PB message without a command");
    const command = tagText(head);
    const n = list.length - 1;
    switch (command) {
      case "version":
        if (n !== 1) this.badArity(command, 1, n);
        if (list[1] !== PB_VERSION) throw new ProtocolError(`Version Incompatibility: ${PB_VERSION} ${String(list[1])}`);
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
        return this.protoDecref(list[1]);
      case "decache":
        if (n !== 1) this.badArity(command, 1, n);
        return this.protoDecache(list[1]);
      case "uncache":
        if (n !== 1) this.badArity(command, 1, n);
        return this.protoUncache(list[1]);
      case "didNotUnderstand":
        this.log({ level: "info", message: `Didn't understand command: ${String(list[1])}` });
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

  private requestID(raw: Sexp): number {
    if (typeof raw !== "number" || !Number.isSafeInteger(raw)) throw new ProtocolError(`bad request id ${String(raw)}`);
    return raw;
  }

  private recvMessage(plain: boolean, rawID: Sexp, objectID: Sexp, rawMessage: Sexp, rawAnswer: Sexp, netArgs: Sexp, netKw: Sexp): void {
    const requestID = this.requestID(rawID);
    if (typeof rawMessage !== "string" && !(rawMessage instanceof Uint8Array)) throw new ProtocolError("method name must be a byte string");
    let message: string;
    try {
      message = decodeUtf8(rawMessage);
    } catch {
      throw new ProtocolError("method name is not UTF-8");
    }
    const answerRequired = truthy(rawAnswer);
    // Taken before the method runs, so that any later turn the method waits for starts after it.
    const turn = answerRequired ? this.currentTurn() : null;
    let result: Sexp | Promise<Sexp>;
    try {
      const target = plain ? this.localObjectForID(objectID) : this.localCacheTarget(objectID);
      if (target === null || target === undefined) throw new PBError("Invalid Object ID");
      if (typeof (target as Partial<RemoteMessageTarget>).remoteMessageReceived !== "function") throw new PBError("Invalid Object ID");
      [netArgs, netKw] = argumentsFor(target as RemoteMessageTarget, netArgs, netKw);
      result = (target as RemoteMessageTarget).remoteMessageReceived(this, message, netArgs, netKw);
      if (this.firstPagesDue) this.sendFirstPages();
    } catch (e) {
      if (this.firstPagesDue) this.sendFirstPages();
      if (!(e instanceof PBError)) this.log({ level: "error", message: "Peer will receive following PB traceback:", error: e });
      if (answerRequired) this.sendError(e, requestID, false);
      return;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(
        (sexp) => {
          if (answerRequired) this.sendAnswer(requestID, sexp);
        },
        (e) => {
          if (!(e instanceof PBError)) this.log({ level: "error", message: "Peer will receive following PB traceback:", error: e });
          if (answerRequired) this.sendError(e, requestID, !turn!.over);
        },
      );
    } else if (answerRequired) {
      this.sendAnswer(requestID, result);
    }
  }

  /**
   * The event-loop turn calls are being delivered in; `over` once the loop has moved on (the first
   * of a setImmediate and a 0 ms timer, both queued before the method runs). Twisted adds
   * `pickled` to a failure only when the method's Deferred had already failed when the broker got
   * it (a Deferred that fails with no callbacks left "cleans" its Failure): raised before any later
   * reactor turn. A Deferred failing in a later turn, with the broker's errback attached, sends
   * its Failure without it (recorded: fixtures/sessions/root.json, failDeferred vs failLater).
   * The twin here: the promise rejected before the turn was over (microtasks are the same turn).
   */
  private callTurn: CallTurn | null = null;

  private currentTurn(): CallTurn {
    if (this.callTurn) return this.callTurn;
    const turn: CallTurn = { over: false, timer: undefined, immediate: undefined };
    this.callTurn = turn;
    // One static callback given the broker and the turn: no closure made per turn.
    if (typeof setImmediate === "function") turn.immediate = setImmediate(Broker.endTurn, this, turn);
    turn.timer = setTimeout(Broker.endTurn, 0, this, turn);
    return turn;
  }

  private static endTurn(broker: Broker, turn: CallTurn): void {
    if (turn.over) return;
    turn.over = true;
    clearTimeout(turn.timer);
    if (turn.immediate !== undefined) clearImmediate(turn.immediate);
    if (broker.callTurn === turn) broker.callTurn = null;
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
    const pending = this.takePending(rawID);
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
    const pending = this.takePending(rawID);
    let value: unknown;
    try {
      value = this.unserialize(fail);
    } catch (e) {
      if (!pending.abandoned) pending.reject(e);
      throw e;
    }
    if (pending.abandoned) return;
    pending.reject(value instanceof Error || (typeof value === "object" && value !== null) ? value : new RemoteError("", String(value), ""));
  }

  private takePending(rawID: Sexp): Pending {
    const id = this.requestID(rawID);
    const pending = this.waitingForAnswers.get(id);
    if (!pending) throw new ProtocolError(`answer for unknown request ${id}`);
    this.waitingForAnswers.delete(id);
    pending.cleanup?.();
    return pending;
  }

  private objectKey(objectID: Sexp): number | string | undefined {
    if (typeof objectID === "number") return objectID;
    if (typeof objectID === "string" || objectID instanceof Uint8Array) return byteString(objectID);
    return undefined;
  }

  private protoDecref(objectID: Sexp): void {
    const key = this.objectKey(objectID);
    const local = key === undefined ? undefined : this.localObjects.get(key);
    if (!local || typeof key !== "number") throw new ProtocolError(`decref for unknown object ${String(objectID)}`);
    if (--local.refcount > 0) return;
    this.localObjects.delete(key);
    this.luids.delete(local.object);
    if (local.object instanceof ViewPoint) this.viewPoints.get(local.object.perspective)?.delete(local.object.object);
    if (this.localObjects.size <= this.limits.maxBrokerRefs) this.maxBrokerRefsViolations = 0;
    const cleanup = this.localCleanup.get(local.object);
    if (cleanup) {
      this.localCleanup.delete(local.object);
      cleanup();
    }
  }

  private luidOf(raw: Sexp): number {
    if (typeof raw !== "number" || !Number.isSafeInteger(raw)) throw new ProtocolError(`bad cache id ${String(raw)}`);
    return raw;
  }

  private protoDecache(raw: Sexp): void {
    const luid = this.luidOf(raw);
    const local = this.remotelyCachedObjects.get(luid);
    if (!local) throw new ProtocolError(`decache for unknown cache ${luid}`);
    if (--local.refcount > 0) return;
    try {
      (local.object as CacheableLike).stoppedObserving(local.perspective, local.observer);
    } catch (e) {
      this.log({ level: "error", message: "stoppedObserving failed", error: e });
    }
    this.remotelyCachedLUIDs.delete(local.object);
    this.remotelyCachedObjects.delete(luid);
    this.sendCall("uncache", luid);
  }

  private protoUncache(raw: Sexp): void {
    const luid = this.luidOf(raw);
    const entry = this.locallyCachedObjects.get(luid);
    if (!entry) throw new ProtocolError(`uncache for unknown cache ${luid}`);
    this.locallyCachedObjects.delete(luid);
    entry.counts.live = false;
    const facade = entry.facade?.deref();
    if (facade) this.cacheFinalizer?.unregister(facade);
    (entry.core as { uncached?: () => void }).uncached?.();
  }

  // ---- sending --------------------------------------------------------------------------

  private sendCall(...exp: Sexp[]): void {
    if (!this.transport || this.disconnected) return;
    // Parts: a large byte string goes to the transport as it is, not copied into the message.
    for (const part of this.encoder.encodeParts(exp)) this.transport.write(part);
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
    let kwValues: Map<string, unknown>;
    if (kw) {
      kwValues = kw.toMap();
      kwValues.delete("pbcallback");
      kwValues.delete("pberrback");
      if (kwValues.has("pbanswer")) {
        answerRequired = !!kwValues.get("pbanswer");
        kwValues.delete("pbanswer");
      }
    } else kwValues = new Map<string, unknown>();
    if (this.disconnected) return this.callNotSent(answerRequired, new DeadReferenceError("Calling Stale Broker"));
    if (options.signal?.aborted) return this.callNotSent(answerRequired, new CallAbandoned("call aborted before it was sent", options.signal.reason));
    let netArgs: Sexp;
    let netKw: Sexp;
    try {
      const t = new Tuple<unknown>();
      for (let i = 0; i < args.length; i++) t.push(args[i]);
      netArgs = this.serializeNow(t, perspective);
      netKw = this.serializeNow(kwValues, perspective);
    } catch (e) {
      return this.callNotSent(answerRequired, e);
    }
    const requestID = ++this.currentRequestID;
    let bytes: Uint8Array[];
    try {
      bytes = this.encoder.encodeParts([prefix + "message", requestID, objectID, name, answerRequired ? 1 : 0, netArgs, netKw]);
    } catch (e) {
      return this.callNotSent(answerRequired, e);
    }
    if (!answerRequired) {
      this.writeParts(bytes);
      return undefined;
    }
    let pending!: Pending;
    const promise = new Promise<unknown>((resolve, reject) => {
      pending = { resolve, reject, abandoned: false };
    });
    if (options.timeout !== undefined || options.signal) this.armGiveUp(pending, requestID, name, options);
    this.waitingForAnswers.set(requestID, pending);
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

  /** The timeout and AbortSignal of one call: either gives up on it locally. */
  private armGiveUp(pending: Pending, requestID: number, name: string, options: CallOptions): void {
    const giveUp = (why: CallAbandoned) => {
      if (pending.abandoned || !this.waitingForAnswers.has(requestID)) return;
      pending.abandoned = true;
      pending.cleanup?.();
      pending.reject(why);
    };
    const cleanups: (() => void)[] = [];
    if (options.timeout !== undefined) {
      const timer = setTimeout(() => giveUp(new CallAbandoned(`no answer to ${name} within ${options.timeout} ms`)), options.timeout);
      cleanups.push(() => clearTimeout(timer));
    }
    if (options.signal) {
      const signal = options.signal;
      const onAbort = () => giveUp(new CallAbandoned(`call to ${name} aborted`, signal.reason));
      signal.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener("abort", onAbort));
    }
    if (cleanups.length) pending.cleanup = () => cleanups.forEach((c) => c());
  }

  /**
   * Sends pages as the connection drains (Broker.registerPageProducer): one page per pager each
   * time the transport asks for more, never everything at once.
   */
  registerPageProducer(pager: PageProducer): void {
    if (this.disconnected) throw new DeadReferenceError("Calling Stale Broker");
    this.pageProducers.push(pager);
    if (this.pageProducers.length !== 1) return;
    if (this.transport?.registerProducer) this.transport.registerProducer(() => this.resumeProducing());
    else this.pageTimer = setTimeout(() => this.pumpPages(), 0);
    // Twisted's transports ask a pull producer for data as soon as it is registered, so the first
    // page goes out before the answer to the call that made the pager (fixtures/sessions/cache.txt
    // #17, #18). The pager is still being constructed here: it is sent once the remote method
    // returns (recvMessage), or in a microtask when the pager was made outside a call.
    this.firstPagesDue = true;
    queueMicrotask(() => this.sendFirstPages());
  }

  private firstPagesDue = false;

  private sendFirstPages(): void {
    if (!this.firstPagesDue) return;
    this.firstPagesDue = false;
    if (!this.disconnected && this.pageProducers.length) this.resumeProducing();
  }

  private pumpPages(): void {
    this.pageTimer = null;
    this.resumeProducing();
    if (this.pageProducers.length && !this.disconnected) this.pageTimer = setTimeout(() => this.pumpPages(), 0);
  }

  /** Called by the transport when its buffer has drained. */
  resumeProducing(): void {
    for (let i = this.pageProducers.length - 1; i >= 0; i--) {
      const pager = this.pageProducers[i];
      try {
        pager.sendNextPage();
        if (!pager.stillPaging()) this.pageProducers.splice(i, 1);
      } catch (e) {
        this.log({ level: "error", message: "pager failed", error: e });
        this.pageProducers.splice(i, 1);
      }
    }
    if (!this.pageProducers.length) this.transport?.unregisterProducer?.();
  }

  sendDecRef(luid: number | string): void {
    this.sendCall("decref", luid);
  }

  /** Sends decref for a RemoteReference released explicitly (garbage collection does it too). */
  releaseReference(ref: RemoteReference): void {
    this.finalizer?.unregister(ref);
    if (!this.disconnected) this.sendDecRef(ref.luid);
  }

  decCacheRef(luid: number): void {
    this.sendCall("decache", luid);
  }

  // ---- the object tables ----------------------------------------------------------------

  /** The local object for an id from the wire (a luid, or a name like root), or null. */
  localObjectForID(id: Sexp): unknown {
    const key = this.objectKey(id);
    if (key === undefined) return null;
    return this.localObjects.get(key)?.object ?? null;
  }

  /** Gives `object` a luid (or one more reference), for sending it as [remote, luid]. */
  registerReference(object: object): number {
    let luid = this.luids.get(object);
    if (luid === undefined) {
      if (this.localObjects.size > this.limits.maxBrokerRefs) this.refLimitExceeded("reference");
      luid = ++this.currentLocalID;
      this.localObjects.set(luid, { object, refcount: 1, perspective: this.serializingPerspective });
      this.luids.set(object, luid);
      this.registrations?.push({ luid, created: true, cache: false });
    } else {
      this.localObjects.get(luid)!.refcount++;
      this.registrations?.push({ luid, created: false, cache: false });
    }
    return luid;
  }

  private refLimitExceeded(what: "reference" | "cache"): never {
    this.maxBrokerRefsViolations++;
    if (this.maxBrokerRefsViolations > 3) {
      const err = new PBError(`Maximum PB ${what} count exceeded.  Goodbye.`);
      // As Twisted (loseConnection, then raise): the error answer written for this call still
      // reaches the peer before the connection closes.
      setTimeout(() => this.drop(err, true), 0);
      throw err;
    }
    throw new PBError(`Maximum PB ${what} count exceeded.`);
  }

  /** Registers an object under a name (the listener's root is "root"). */
  setNameForLocal(name: string, object: object): void {
    this.localObjects.set(name, { object, refcount: 1, perspective: null });
  }

  /** A reference to the peer's object of that name; it is never decref'd. */
  remoteForName(name: string): RemoteReference {
    return new RemoteReference(null, this, name, false);
  }

  /** Makes the RemoteReference for one received [remote, luid]. */
  remoteReferenceFor(luid: number): RemoteReference {
    const ref = new RemoteReference(this.unserializingPerspective, this, luid, true);
    this.finalizer?.register(ref, luid, ref);
    return ref;
  }

  /** Runs `fn` when the last reference the peer holds to `object` goes (avatar logout). */
  setLocalCleanup(object: object, fn: () => void): void {
    this.localCleanup.set(object, fn);
  }

  /** The one ViewPoint for a perspective and a Viewable, so its luid is reused. */
  viewPointFor(perspective: unknown, viewable: Viewable): ViewPoint {
    let byViewable = this.viewPoints.get(perspective);
    if (!byViewable) this.viewPoints.set(perspective, (byViewable = new Map()));
    let vp = byViewable.get(viewable);
    if (!vp) byViewable.set(viewable, (vp = new ViewPoint(perspective, viewable)));
    return vp;
  }

  /** Number of entries in the local object table (root included). */
  get localObjectCount(): number {
    return this.localObjects.size;
  }

  /** Number of calls waiting for an answer. */
  get pendingCallCount(): number {
    return this.waitingForAnswers.size;
  }

  // ---- caches (used by Cacheable and RemoteCache) ---------------------------------------

  /** The luid a Cacheable has on this connection (one more reference with `incref`), if cached. */
  cachedRemotelyAs(instance: object, incref = false): number | undefined {
    const luid = this.remotelyCachedLUIDs.get(instance);
    if (luid !== undefined && incref) {
      this.remotelyCachedObjects.get(luid)!.refcount++;
      this.registrations?.push({ luid, created: false, cache: true });
    }
    return luid;
  }

  /** Registers a Cacheable's first send on this connection. */
  cacheRemotely(instance: object): number {
    // As Twisted: the luid is taken even when the table is full.
    const luid = ++this.currentLocalID;
    if (this.remotelyCachedObjects.size > this.limits.maxBrokerRefs) this.refLimitExceeded("cache");
    this.remotelyCachedLUIDs.set(instance, luid);
    this.remotelyCachedObjects.set(luid, { object: instance, refcount: 1, perspective: this.serializingPerspective });
    this.registrations?.push({ luid, created: true, cache: true });
    return luid;
  }

  /** Remembers the observer of a cached object, handed back to stoppedObserving. */
  setCacheObserver(luid: number, observer: unknown): void {
    const local = this.remotelyCachedObjects.get(luid);
    if (local) local.observer = observer;
  }

  remotelyCachedForLUID(luid: number): unknown {
    const local = this.remotelyCachedObjects.get(luid);
    if (!local) throw new ProtocolError(`lcache for unknown cache ${luid}`);
    return local.object;
  }

  /** Number of Cacheables the peer holds copies of. */
  get remotelyCachedCount(): number {
    return this.remotelyCachedObjects.size;
  }

  /** Number of caches this side holds for the peer. */
  get locallyCachedCount(): number {
    return this.locallyCachedObjects.size;
  }

  /**
   * Stores the RemoteCache built for a received [tag, luid, state] and returns the object the
   * application holds: a facade (a Proxy) whose collection sends the decaches, while `core`
   * stays here for observe_ calls until the owner's uncache, as Twisted's borg copies do.
   */
  cacheLocally(luid: number, core: object): object {
    const old = this.locallyCachedObjects.get(luid);
    if (old) old.counts.live = false;
    const entry: CacheEntry = { core, facade: null, counts: { n: 0, live: true } };
    this.locallyCachedObjects.set(luid, entry);
    return this.cacheFacade(luid, entry);
  }

  private cacheFacade(luid: number, entry: CacheEntry): object {
    let facade = entry.facade?.deref();
    if (facade) {
      entry.counts.n++;
      return facade;
    }
    facade = new Proxy(entry.core, {});
    entry.facade = new WeakRef(facade);
    entry.counts = { n: 1, live: true };
    this.cacheFinalizer?.register(facade, { luid, counts: entry.counts }, facade);
    return facade;
  }

  /** The same RemoteCache object for a received [cached, luid], one more reference counted. */
  cachedLocallyAs(luid: number): unknown {
    const entry = this.locallyCachedObjects.get(luid);
    if (!entry) throw new ProtocolError(`cached for unknown cache ${luid}`);
    return this.cacheFacade(luid, entry);
  }

  private localCacheTarget(raw: Sexp): unknown {
    if (typeof raw !== "number") return null;
    return this.locallyCachedObjects.get(raw)?.core ?? null;
  }

  private cacheFacadeGone(held: CacheHeld): void {
    if (!held.counts.live || this.disconnected) return;
    held.counts.live = false;
    for (let i = 0; i < held.counts.n; i++) this.decCacheRef(held.luid);
  }

  /** Lets go of a RemoteCache now: one decache per reference received (garbage collection does it otherwise). */
  releaseCache(luid: number): void {
    const entry = this.locallyCachedObjects.get(luid);
    if (!entry || !entry.counts.live) return;
    const facade = entry.facade?.deref();
    if (facade) this.cacheFinalizer?.unregister(facade);
    entry.facade = null;
    this.cacheFacadeGone({ luid, counts: entry.counts });
  }

  // ---- jelly with the broker as invoker -------------------------------------------------

  /** Jellies `value` for `perspective`; a promise gives a promise of the expression (Twisted's Deferred case). */
  serialize(value: unknown, perspective: unknown = null): Sexp | Promise<Sexp> {
    if (isThenable(value)) return Promise.resolve(value).then((v) => this.serializeNow(v, perspective));
    return this.serializeNow(value, perspective);
  }

  /**
   * Jellies synchronously. If it fails part way, references registered so far are rolled back
   * (Twisted leaks them; PROTOCOL.md section 7).
   */
  serializeNow(value: unknown, perspective: unknown = null): Sexp {
    const outer = this.registrations;
    const mine: Registration[] = [];
    this.registrations = mine;
    const savedPerspective = this.serializingPerspective;
    this.serializingPerspective = perspective;
    try {
      const sexp = new Jellier({ invoker: this, strings: this.strings, maxDepth: this.limits.maxDepth }).jelly(value);
      outer?.push(...mine);
      return sexp;
    } catch (e) {
      this.rollback(mine);
      throw e;
    } finally {
      this.registrations = outer;
      this.serializingPerspective = savedPerspective;
    }
  }

  private rollback(registrations: Registration[]): void {
    for (let i = registrations.length - 1; i >= 0; i--) {
      const r = registrations[i];
      const table = r.cache ? this.remotelyCachedObjects : this.localObjects;
      const local = table.get(r.luid);
      if (!local) continue;
      if (r.created) {
        table.delete(r.luid);
        (r.cache ? this.remotelyCachedLUIDs : this.luids).delete(local.object);
      } else local.refcount--;
    }
  }

  unserialize(sexp: Sexp, perspective: unknown = null): unknown {
    const done = predecodedValue(sexp, this);
    if (done !== this) return done;
    const saved = this.unserializingPerspective;
    this.unserializingPerspective = perspective;
    try {
      return new Unjellier({ security: this.security, registry: this.registry, invoker: this, mode: this.values, maxDepth: this.limits.maxDepth }).unjellyFull(sexp);
    } finally {
      this.unserializingPerspective = saved;
    }
  }

  /** Unjellies a call's arguments: a list of positional arguments and the keyword arguments, if any. */
  unserializeCall(netArgs: Sexp, netKw: Sexp, perspective: unknown): [unknown[], Kwargs | null] {
    const args = this.unserialize(netArgs, perspective);
    const kw = this.unserialize(netKw, perspective);
    if (!Array.isArray(args)) throw new TypeError("arguments must be a sequence");
    let named: Kwargs | null = null;
    const entries: [unknown, unknown][] = kw instanceof Map ? [...kw] : kw && typeof kw === "object" ? Object.entries(kw) : [];
    if (!(kw instanceof Map) && (kw === null || typeof kw !== "object")) throw new TypeError("keyword arguments must be a mapping");
    if (entries.length) {
      const values = new Map<string, unknown>();
      for (const [k, v] of entries) {
        // Python 2 peers send byte-string keys; Twisted decodes them for remote_ methods.
        if (k instanceof Uint8Array) values.set(decodeUtf8(k), v);
        else if (typeof k === "string") values.set(k, v);
        else throw new TypeError("keywords must be strings");
      }
      named = new Kwargs(values);
    }
    return [[...args], named];
  }
}

export { BananaError };
