// PB's object flavors (twisted/spread/flavors.py and parts of pb.py): what is sent by reference,
// what by copy, and how the peer's calls reach local methods.
import type { Sexp } from "../banana/values.ts";
import { JellyError } from "../jelly/errors.ts";
import { jellyFor, type Jellier } from "../jelly/jelly.ts";
import type { Unjellier } from "../jelly/unjelly.ts";
import { decodeUtf8 } from "../jelly/text.ts";
import { activeBudget, type MessageBudget } from "../jelly/budget.ts";
import { valueText } from "../jelly/describe.ts";
import type { BrokerAPI as Broker } from "./broker-api.ts";
import { AttributeError, invoke, methodAt, methodKey, type MethodPrefix } from "./dispatch.ts";
import { NoSuchMethod } from "./errors.ts";
import type { Kwargs } from "./kwargs.ts";
import { checkState } from "./validation.ts";

/** What the broker can deliver a peer's call to. */
export interface RemoteMessageTarget {
  /** Runs the named method; returns the jellied result (or a promise of it). */
  remoteMessageReceived(broker: Broker, message: string, args: Sexp, kw: Sexp): Sexp | Promise<Sexp>;
}

function jellyingBroker(jellier: Jellier, what: string): Broker {
  const b = jellier.invoker as Broker | undefined;
  if (!b || typeof (b as Partial<Broker>).registerReference !== "function") throw new JellyError(`${what} can only be sent through a PB broker`);
  return b;
}

function constructorName(x: object): string {
  return (x.constructor as { name?: string } | undefined)?.name || "object";
}

const NONE: readonly unknown[] = Object.freeze([]);
/** jelly(undefined) and jelly(null), read only (the encoder and trace hooks never change it). */
const NONE_SEXP = Object.freeze(["None"]) as unknown as Sexp;

/**
 * Calls `prefix + message` on `target` with the peer's arguments, unjellied for `perspective`;
 * `first` is put before them (ViewPoint's perspective).
 */
export function dispatch(
  broker: Broker,
  target: object,
  prefix: MethodPrefix,
  message: string,
  netArgs: Sexp,
  netKw: Sexp,
  perspective: unknown,
  resultPerspective: unknown,
  first: readonly unknown[] = NONE,
): Sexp | Promise<Sexp> {
  const [args, kw] = broker.unserializeCall(netArgs, netKw, perspective);
  const key = methodKey(prefix, message);
  const fn = methodAt(target, key);
  if (!fn) {
    if (prefix === "remote_") throw new NoSuchMethod(`No such method: remote_${message}`);
    throw new AttributeError(`'${constructorName(target)}' object has no attribute '${prefix}${message}'`);
  }
  const result = invoke(target, fn, key, first.length === 0 ? args : [...first, ...args], kw);
  // The commonest answers, whose jelly is known without a Jellier: a number is its own
  // expression, and nothing (a method that returns nothing) is [None].
  if (typeof result === "number") return result;
  if (result === undefined || result === null) return NONE_SEXP;
  return broker.serialize(result, resultPerspective);
}

/** An object the peer holds by reference and calls through `remote_<name>` methods. */
export class Referenceable implements RemoteMessageTarget {
  /** The perspective results are serialized for (None in Twisted unless set). */
  perspective: unknown = null;

  remoteMessageReceived(broker: Broker, message: string, args: Sexp, kw: Sexp): Sexp | Promise<Sexp> {
    return dispatch(broker, this, "remote_", message, args, kw, null, this.perspective);
  }

  /** Serializes the object as a reference (the peer gets a RemoteReference). */
  [jellyFor](jellier: Jellier): Sexp {
    return ["remote", jellyingBroker(jellier, "a Referenceable").registerReference(this)];
  }
}

/** A Referenceable that is its own root for every connection (a PBRoot). */
export class Root extends Referenceable {
  /** The object each connection gets as its root: this one. */
  rootObject(_broker: Broker): Referenceable {
    return this;
  }
}

/** A Referenceable bound to one perspective, for a Viewable: calls run `view_<name>(perspective, ...)`. */
export class ViewPoint extends Referenceable {
  constructor(
    override perspective: unknown,
    readonly object: Viewable,
  ) {
    super();
  }
  override remoteMessageReceived(broker: Broker, message: string, args: Sexp, kw: Sexp): Sexp | Promise<Sexp> {
    return dispatch(broker, this.object, "view_", message, args, kw, this.perspective, this.perspective, [this.perspective]);
  }
}

/** Sent as a ViewPoint for the perspective it is serialized for. */
export class Viewable {
  /** Serializes the object as a reference whose view_ methods receive the caller's perspective. */
  [jellyFor](jellier: Jellier): Sexp {
    const broker = jellyingBroker(jellier, "a Viewable");
    return broker.viewPointFor(broker.serializingPerspective, this)[jellyFor](jellier);
  }
}

/** Wraps an object so that it is sent by reference and its `<messageType>MessageReceived` handles calls. */
export class AsReferenceable extends Referenceable {
  constructor(
    readonly object: object,
    messageType = "remote",
  ) {
    super();
    const handler = (object as Record<string, unknown>)[`${messageType}MessageReceived`];
    if (typeof handler !== "function") throw new TypeError(`${constructorName(object)} has no ${messageType}MessageReceived`);
    this.remoteMessageReceived = (handler as RemoteMessageTarget["remoteMessageReceived"]).bind(object);
  }
}

/** A logged-in user's server-side object: calls run `perspective_<name>` and see this avatar as perspective. */
export class Avatar {
  /** Dispatches a call to the avatar's perspective_ method. */
  perspectiveMessageReceived(broker: Broker, message: string, args: Sexp, kw: Sexp): Sexp | Promise<Sexp> {
    return dispatch(broker, this, "perspective_", message, args, kw, this, this);
  }
}

function defaultTypeName(obj: object): string {
  const ctor = obj.constructor as { pythonType?: string; name?: string };
  return ctor.pythonType ?? `__main__.${ctor.name || "object"}`;
}

/** Own enumerable properties, as Python's __dict__. */
function ownState(obj: object): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) state[k] = (obj as Record<string, unknown>)[k];
  return state;
}

/**
 * Sent by copy: `[type tag, state]`. The tag is the class's static `pythonType`, else
 * `__main__.<ClassName>`; the state its own properties, unless the hooks say otherwise.
 */
export class Copyable {
  /** The state sent: by default the instance's own enumerable fields. */
  getStateToCopy(): unknown {
    return ownState(this);
  }
  /** The state sent to a perspective: by default getStateToCopy(). */
  getStateToCopyFor(_perspective: unknown): unknown {
    return this.getStateToCopy();
  }
  /** The type tag sent: the static `pythonType`, else "__main__." and the class name. */
  getTypeToCopy(): string {
    return defaultTypeName(this);
  }
  /** The type tag sent to a perspective: by default getTypeToCopy(). */
  getTypeToCopyFor(_perspective: unknown): string {
    return this.getTypeToCopy();
  }
  /** Serializes the object as `[type tag, state]`. */
  [jellyFor](jellier: Jellier): Sexp {
    const broker = jellier.invoker as Broker | undefined;
    const sxp = jellier.prepare(this);
    if (!broker) {
      sxp.push(defaultTypeName(this), jellier.jelly(this.getStateToCopy()));
    } else {
      const p = broker.serializingPerspective;
      const tag = this.getTypeToCopyFor(p);
      sxp.push(tag, jellier.jelly(this.getStateToCopyFor(p)));
    }
    return jellier.preserve(this, sxp);
  }
}

function keyText(k: unknown, budget: MessageBudget | null): string {
  if (typeof k === "string") return k;
  if (k instanceof Uint8Array) {
    // Decoded once per message however many copies share the state (strict: invalid UTF-8 throws).
    const text = budget?.utf8Of(k);
    return text ?? decodeUtf8(k);
  }
  // A tuple key: bounded text, charged to the message being received (see valueText).
  return valueText(k);
}

/** Nodes of the message budget one state entry copied into an object is charged as. */
const COPY_ENTRY_COST = 8;

/** Sets `state`'s entries as own properties; keys like __proto__ stay plain data. */
export function assignState(target: object, state: unknown): void {
  const entries: Iterable<[unknown, unknown]> =
    state instanceof Map ? state.entries() : state && typeof state === "object" ? Object.entries(state) : [];
  // Copies made while a message is received may share one state: each copy's entries are paid
  // for from that message's node budget, so many copies of a big state cannot multiply the work.
  // A property definition costs several times what unjellying a node does: charged as such.
  const budget = activeBudget();
  if (budget !== null) budget.charge(COPY_ENTRY_COST * (state instanceof Map ? state.size : Array.isArray(entries) ? entries.length : 0));
  for (const [k, v] of entries) {
    Object.defineProperty(target, keyText(k, budget), { value: v, writable: true, enumerable: true, configurable: true });
  }
}

/**
 * The receiving side of a Copyable: registered for a copy tag, created blank (no constructor
 * call) and given the sender's state. Byte-string keys (Python 2 peers) become text.
 */
export class RemoteCopy {
  /** Fills the copy from the state received: by default assigns the state's keys to the instance. */
  setCopyableState(state: unknown): void {
    assignState(this, state);
  }
  /** A zod schema on the class (static stateSchema) checks the state before setCopyableState sees it. */
  unjellyFor(unjellier: Unjellier, sexp: readonly Sexp[]): unknown {
    unjellier.adopt(this);
    this.setCopyableState(checkState(this.constructor as never, unjellier.unjelly(sexp[1])));
    return this;
  }
}

/**
 * The receiving side of a Copyable exception (Twisted: a class that is both pb.RemoteCopy and
 * Exception): an Error, with a stack (made when read), that gets the sender's state as RemoteCopy does. Register a
 * subclass for the exception's copy tag; a call the peer fails with it rejects with this Error.
 */
export class RemoteCopyError extends Error {
  /** Takes the copied exception's state as its own properties. */
  setCopyableState(state: unknown): void {
    assignState(this, state);
  }
  /** Builds the copy from a received `[tag, state]` expression. */
  unjellyFor(unjellier: Unjellier, sexp: readonly Sexp[]): unknown {
    unjellier.adopt(this);
    // Made without its constructor (as every copy is): give it what `new` would have.
    const ctor = this.constructor as { name?: string };
    Object.defineProperty(this, "name", { value: ctor.name || "RemoteCopyError", writable: true, configurable: true });
    this.setCopyableState(checkState(this.constructor as never, unjellier.unjelly(sexp[1])));
    if (!this.message) Object.defineProperty(this, "message", { value: `${this.name} from the peer`, writable: true, configurable: true });
    return this;
  }
}

// A copy's stack is made when it is read, from the prototype: capturing and formatting one per
// copy received (a peer can send 300,000 in one message) cost ~30 times the copy itself, and the
// frames at receipt are only the decoder's. Assigning a stack stores it on the instance.
Object.defineProperty(RemoteCopyError.prototype, "stack", {
  get(this: RemoteCopyError): string {
    return `${this.name}: ${this.message}\n    at <copied from the PB peer>`;
  },
  set(this: RemoteCopyError, value: unknown) {
    Object.defineProperty(this, "stack", { value, writable: true, configurable: true });
  },
  configurable: true,
});

export type { Kwargs };
