// The holder's side of a Referenceable (pb.py RemoteReference, RemoteMethod).
import type { Sexp } from "../banana/values.ts";
import { JellyError } from "../jelly/errors.ts";
import { jellyFor, type Jellier } from "../jelly/jelly.ts";
import type { BrokerAPI, CallOptions } from "./broker-api.ts";
import { Kwargs, splitArgs } from "./kwargs.ts";
import "./dispose.ts";

/** A number per broker, for reference keys: brokers are not otherwise named. */
const brokerNumbers = new WeakMap<object, number>();
let brokersNumbered = 0;

function brokerNumber(broker: object): number {
  let n = brokerNumbers.get(broker);
  if (n === undefined) brokerNumbers.set(broker, (n = ++brokersNumbered));
  return n;
}

export type { CallOptions } from "./broker-api.ts";

/** A function bound to one remote method (pb.RemoteMethod), from `ref.remoteMethod(name)`. */
export type RemoteMethod = ((...args: unknown[]) => Promise<unknown>) & {
  readonly obj: RemoteReference;
  readonly methodName: string;
};

/**
 * A reference to an object on the other side. Calls return promises; a trailing
 * `kwargs({...})` argument becomes keyword arguments. Each reference the peer sends is counted
 * there: release() (or garbage collection) sends the decref.
 */
export class RemoteReference {
  /** Made at the first notifyOnDisconnect, as the hook below: most references never need them. */
  private disconnectCallbacks: ((ref: RemoteReference) => void)[] | null = null;
  private released = false;
  private onBrokerDisconnect: (() => void) | null = null;
  /** What the broker watches to send the decref once this reference is collected (pb/collected.ts); held only here. */
  private collectionToken: object | null = null;

  constructor(
    readonly perspective: unknown,
    readonly broker: BrokerAPI,
    readonly luid: number | string,
    readonly doRefCount: boolean,
  ) {}

  /** Calls `remote_<name>` (or perspective_/view_...) on the remote object; a trailing Kwargs gives keyword arguments. */
  callRemote(name: string, ...args: unknown[]): Promise<unknown> {
    const [positional, kw] = splitArgs(args);
    return this.broker.sendMessage("", this.perspective, this.luid, name, positional, kw, true) as Promise<unknown>;
  }

  /** Twisted's callRemote(..., pbanswer=False): answerRequired 0, nothing comes back. */
  callRemoteNoAnswer(name: string, ...args: unknown[]): void {
    const [positional, kw] = splitArgs(args);
    void this.broker.sendMessage("", this.perspective, this.luid, name, positional, kw, false);
  }

  /** The full form: arguments, keyword arguments, and an AbortSignal or timeout that gives up locally. */
  call(name: string, options: CallOptions = {}): Promise<unknown> {
    const kw = options.kwargs === undefined ? null : options.kwargs instanceof Kwargs ? options.kwargs : new Kwargs(options.kwargs);
    return this.broker.sendMessage("", this.perspective, this.luid, name, [...(options.args ?? [])], kw, true, options) as Promise<unknown>;
  }

  /** A function bound to one remote method (pb.RemoteMethod). */
  remoteMethod(name: string): RemoteMethod {
    const fn = (...args: unknown[]) => this.callRemote(name, ...args);
    return Object.assign(fn, { obj: this as RemoteReference, methodName: name });
  }

  /** Calls `callback(this)` if the broker disconnects. */
  notifyOnDisconnect(callback: (ref: RemoteReference) => void): void {
    const callbacks = (this.disconnectCallbacks ??= []);
    callbacks.push(callback);
    if (callbacks.length === 1) this.broker.notifyOnDisconnect(this.brokerDisconnectHook());
  }

  /** Removes a callback added by notifyOnDisconnect. */
  dontNotifyOnDisconnect(callback: (ref: RemoteReference) => void): void {
    const callbacks = this.disconnectCallbacks;
    if (callbacks === null) return;
    const i = callbacks.indexOf(callback);
    if (i < 0) return;
    callbacks.splice(i, 1);
    if (callbacks.length === 0) this.broker.dontNotifyOnDisconnect(this.brokerDisconnectHook());
  }

  private brokerDisconnectHook(): () => void {
    if (this.onBrokerDisconnect === null) {
      this.onBrokerDisconnect = () => {
        const callbacks = this.disconnectCallbacks ?? [];
        this.disconnectCallbacks = null;
        for (const cb of callbacks) cb(this);
      };
    }
    return this.onBrokerDisconnect;
  }

  /** Lets go of the remote object now (sends decref once); later calls still go out, as in Twisted. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.doRefCount) this.broker.releaseReference(this);
  }

  /** Whether release() was called. */
  get isReleased(): boolean {
    return this.released;
  }

  /** Sent back to its own broker as [local, luid]. */
  [jellyFor](jellier: Jellier): Sexp {
    if (!jellier.invoker) return jellier.unpersistable("References cannot be serialized");
    if (jellier.invoker !== this.broker) throw new JellyError("Can't send references to brokers other than their own.");
    return ["local", this.luid];
  }

  /** True for a reference to the same remote object over the same connection (each receipt makes a new RemoteReference). */
  equals(other: unknown): boolean {
    return other instanceof RemoteReference && other.broker === this.broker && other.luid === this.luid;
  }

  /**
   * A string equal for references to the same remote object over the same connection, and
   * different otherwise: a key for Maps and Sets.
   */
  get key(): string {
    return `${brokerNumber(this.broker)}:${typeof this.luid === "number" ? this.luid : `name:${this.luid}`}`;
  }

  /** `using ref = ...`: released at the end of the scope. */
  [Symbol.dispose](): void {
    this.release();
  }

  /** `await using ref = ...`: released at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }

  /** A description for logs. */
  toString(): string {
    return `<RemoteReference luid=${String(this.luid)}>`;
  }
}

/**
 * The broker's side of a reference's collection watch (pb/collected.ts): set once, when the broker makes the reference.
 * @internal
 */
export function setCollectionToken(ref: RemoteReference, token: object | null): void {
  ref["collectionToken"] = token;
}

/**
 * The token setCollectionToken gave `ref`, or null.
 * @internal
 */
export function collectionTokenOf(ref: object): object | null {
  return ref instanceof RemoteReference ? ref["collectionToken"] : null;
}
