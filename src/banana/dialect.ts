// Banana dialect negotiation (banana.py connectionMade / callExpressionReceived), for either role.
// The listener speaks first with its dialects; the initiator answers with the first one it knows.
import { KNOWN_DIALECTS, type Dialect } from "./constants.ts";
import { BananaError } from "./errors.ts";
import { encode } from "./encoder.ts";
import { byteString, type Sexp } from "./values.ts";

/** Which side of the dialect negotiation: the listener offers, the initiator chooses. */
export type Role = "listener" | "initiator";

/** The peer offered or chose no dialect we know, or broke the negotiation. */
export class DialectError extends BananaError {
  override name = "DialectError";
}

/** What one step of the dialect negotiation produced. */
export interface NegotiationStep {
  /** Bytes to send now, if any. */
  send?: Uint8Array;
  /** The dialect chosen; from now on items are decoded and encoded in it. */
  selected?: Dialect;
}

// The initiator's choice is one of a few names, the same bytes on every connection: encoded once
// per name (not an encoder made per connection), and copied for each, so that no transport can
// change another's bytes.
const choices = new Map<Dialect, Uint8Array>();

function choiceBytes(name: Dialect): Uint8Array {
  let bytes = choices.get(name);
  if (bytes === undefined) choices.set(name, (bytes = encode(name, { dialect: null })));
  return bytes.slice();
}

function isKnown(s: string, known: readonly Dialect[]): s is Dialect {
  return (known as readonly string[]).includes(s);
}

/** Banana's dialect negotiation (the listener's offer, the initiator's choice), fed the first items of a connection. */
export class DialectNegotiator {
  private done = false;
  constructor(
    readonly role: Role,
    readonly known: readonly Dialect[] = KNOWN_DIALECTS,
  ) {}

  /** What to send on connect: the listener's offer (never vocabulary-compressed), nothing for the initiator. */
  start(): Uint8Array | null {
    return this.role === "listener" ? encode([...this.known], { dialect: null }) : null;
  }

  /** Whether a dialect has been agreed. */
  get negotiated(): boolean {
    return this.done;
  }

  /** Feed the first item received. Throws DialectError when the peer's offer or choice is unusable. */
  receive(item: Sexp): NegotiationStep {
    if (this.done) throw new DialectError("dialect already negotiated");
    if (this.role === "initiator") {
      if (Array.isArray(item)) {
        for (const offered of item as readonly Sexp[]) {
          if (typeof offered !== "string" && !(offered instanceof Uint8Array)) continue;
          const name = byteString(offered);
          if (isKnown(name, this.known)) {
            this.done = true;
            // (A name offered as bytes or as text has the same bytes: dialect names are ASCII.)
            return { send: choiceBytes(name), selected: name };
          }
        }
      }
      throw new DialectError("The client doesn't speak any of the protocols offered by the server: disconnecting.");
    }
    if (typeof item === "string" || item instanceof Uint8Array) {
      const name = byteString(item);
      if (isKnown(name, this.known)) {
        this.done = true;
        return { selected: name };
      }
    }
    throw new DialectError("The client selected a protocol the server didn't suggest and doesn't know: disconnecting.");
  }
}
