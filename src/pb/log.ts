// Where a broker reports what Twisted would log, and where it shows the messages it exchanges.
// Both are replaceable; pb itself uses no Node API (src/net wires NODE_DEBUG=twisted-pb to the
// trace hook with node:util's debuglog).
import { Predecoded } from "../jelly/fastreceive.ts";
import { describeValue } from "../jelly/describe.ts";
import type { Sexp } from "../banana/values.ts";
import type { LogEntry } from "./broker-api.ts";

/** Receives what a broker reports (an exception in a remote method, a dropped connection...). */
export type Logger = (entry: LogEntry) => void;

/**
 * Writes error entries to stderr through console.error, as Twisted's log.err writes them to its
 * log: an exception in a remote_/perspective_/view_/observe_ method that is not a pb.Error is
 * reported here as well as sent to the peer. Info entries (Twisted's log.msg) are not shown.
 */
export const consoleLogger: Logger = (entry) => {
  if (entry.level !== "error") return;
  if (entry.error === undefined) console.error(`twisted-pb: ${entry.message}`);
  else console.error(`twisted-pb: ${entry.message}\n`, entry.error);
};

let defaultLogger: Logger = consoleLogger;

/**
 * Replaces the logger of every broker made without a `log` option (existing ones included);
 * returns the previous one. `setDefaultLogger(() => {})` silences them.
 */
export function setDefaultLogger(logger: Logger): Logger {
  const previous = defaultLogger;
  defaultLogger = logger;
  return previous;
}

/** The logger in force now, for brokers made without a `log` option. */
export function logToDefault(entry: LogEntry): void {
  defaultLogger(entry);
}

/** Sees every PB message a broker sends ("out") or receives ("in"), once the dialect is chosen. */
export type TraceHook = (direction: "in" | "out", message: Sexp, broker: { readonly role: string }) => void;

let defaultTrace: TraceHook | null = null;

/** Sets the trace hook of brokers made from now on without a `trace` option (null: none); returns the previous one. */
export function setDefaultTraceHook(hook: TraceHook | null): TraceHook | null {
  const previous = defaultTrace;
  defaultTrace = hook;
  return previous;
}

/** The trace hook brokers made now get by default. */
export function currentDefaultTraceHook(): TraceHook | null {
  return defaultTrace;
}

/**
 * A one-line rendering of a message for traces, bounded in length whatever the message holds:
 * byte strings as b'...', lists in brackets, cut with "..." past `max` characters.
 */
export function describeMessage(message: Sexp, max = 500): string {
  let out = "";
  const visit = (x: Sexp): boolean => {
    if (out.length > max) return false;
    if (Array.isArray(x)) {
      out += "[";
      for (let i = 0; i < x.length; i++) {
        if (i) out += ", ";
        if (!visit((x as readonly Sexp[])[i])) return false;
      }
      out += "]";
    } else if (x instanceof Uint8Array) {
      let s = "";
      for (let i = 0; i < x.length && s.length < max; i++) {
        const c = x[i];
        s += c >= 0x20 && c < 0x7f && c !== 0x27 && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`;
      }
      out += `b'${s}'`;
    } else if (typeof x === "string") out += JSON.stringify(x.length > max ? x.slice(0, max) : x);
    else if ((x as unknown) instanceof Predecoded) {
      // References not made yet are shown as sent ([remote, 1]), as the tree path would show them.
      const p = x as unknown as Predecoded;
      if (p.refs !== null) return visit(p.sexp());
      out += describeValue(p.value, max);
    }
    else out += String(x);
    return out.length <= max;
  };
  visit(message);
  return out.length > max ? `${out.slice(0, max)}...` : out;
}
