// The broker's use of the one-pass receiver (jelly/fastreceive.ts): which parts of a PB message
// are jelly expressions, and which call targets take them already unjellied.
import type { Sexp } from "../banana/values.ts";
import { Predecoded } from "../jelly/fastreceive.ts";
import { fillIdRefs } from "../jelly/fastrefs.ts";
import type { UnjellyableRegistry } from "../jelly/registry.ts";
import type { BrokerAPI } from "./broker-api.ts";
import type { PBIdTag } from "./registry.ts";
import { RemoteCache } from "./cache.ts";
import { Avatar, AsReferenceable, Referenceable, ViewPoint, type RemoteMessageTarget } from "./flavors.ts";

/** [message|cachemessage, id, object, name, answer, args, kw]: args and kw; [answer|error, id, value]: the value. */
export function pbJellyPositions(command: string, length: number): number {
  if (length === 7 && (command === "message" || command === "cachemessage")) return (1 << 5) | (1 << 6);
  if (length === 3 && (command === "answer" || command === "error")) return 1 << 2;
  return 0;
}

/** Where a top-level PB list holds the method name (index 3 of a call), for FastReceiver's textAt. */
export function pbTextPositions(command: string, length: number): number {
  return length === 7 && (command === "message" || command === "cachemessage") ? 1 << 3 : 0;
}

/**
 * True when the target's remoteMessageReceived is the library's own, which hands its arguments
 * to broker.unserializeCall (and so takes Predecoded). Anything else gets the expressions.
 */
function takesPredecoded(target: RemoteMessageTarget): boolean {
  const fn = target.remoteMessageReceived;
  if (fn === Referenceable.prototype.remoteMessageReceived || fn === ViewPoint.prototype.remoteMessageReceived || fn === RemoteCache.prototype.remoteMessageReceived) return true;
  // pbportal's avatar wrapper, around an Avatar whose perspectiveMessageReceived is Avatar's.
  if (target instanceof AsReferenceable && target.object instanceof Avatar) {
    const o = target.object as Avatar & { remoteMessageReceived?: unknown };
    return o.perspectiveMessageReceived === Avatar.prototype.perspectiveMessageReceived && o.remoteMessageReceived === undefined;
  }
  return false;
}

/** The call's arguments as `target` takes them: the expressions themselves for code outside the library. */
export function argumentsFor(target: RemoteMessageTarget, netArgs: Sexp, netKw: Sexp): [Sexp, Sexp] {
  if (takesPredecoded(target)) return [netArgs, netKw];
  const back = (x: Sexp) => ((x as unknown) instanceof Predecoded ? (x as unknown as Predecoded).sexp() : x);
  return [back(netArgs), back(netKw)];
}

/** What broker.unserialize gives at once for an expression already unjellied (and holding no reference to make), or `none`. */
export function predecodedValue(sexp: Sexp, none: unknown): unknown {
  return (sexp as unknown) instanceof Predecoded && (sexp as unknown as Predecoded).refs === null ? (sexp as unknown as Predecoded).value : none;
}

/**
 * The value of an expression already unjellied but for its references, which `broker` makes now,
 * in the order the peer sent them, as the tree path's unjelly would have (handlers checked again:
 * one replaced since the bytes were read sends the expression the tree way); `none` if not such.
 */
export function withReferencesMade(sexp: Sexp, broker: BrokerAPI, registry: UnjellyableRegistry, none: unknown): unknown {
  if (!((sexp as unknown) instanceof Predecoded)) return none;
  const { value, refs } = sexp as unknown as Predecoded;
  if (refs === null) return value;
  for (const ref of refs) if (registry.get(ref.tag.name) !== ref.tag.handler) return none;
  for (const ref of refs) ref.value = (ref.tag as PBIdTag).make(broker, ref.id);
  const filled = fillIdRefs(value, refs.length);
  // The message may outlive its values: a RemoteReference held here could never be collected.
  for (const ref of refs) ref.value = undefined;
  return filled;
}

/** The expression itself, decoded again the tree way if the receiver had unjellied it. */
export function asExpression(sexp: Sexp): Sexp {
  return (sexp as unknown) instanceof Predecoded ? (sexp as unknown as Predecoded).sexp() : sexp;
}

/**
 * For a connection whose peer has not shown its Python yet: a call with keyword arguments gets
 * its expressions back (keyword names are the evidence peer.ts reads), so that it is read, and
 * its values made, the tree way in the string mode the evidence settles.
 */
export function revealForPeer(sexp: Sexp): Sexp {
  if (!Array.isArray(sexp) || sexp.length !== 7) return sexp;
  const kw = (sexp as readonly unknown[])[6];
  if (!(kw instanceof Predecoded) || !(kw.value instanceof Map) || kw.value.size === 0) return sexp;
  const list = (sexp as readonly Sexp[]).slice();
  const args = list[5] as unknown;
  if (args instanceof Predecoded) list[5] = args.sexp();
  list[6] = kw.sexp();
  return list;
}
