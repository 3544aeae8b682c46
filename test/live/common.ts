// What both live test files share: application classes as a user of the library would write
// them, and small helpers. The Python peers (interop/peer.py serve live-root/live-portal, live-client) know
// the same copy tags.
import { Copyable, FrozenSet, Kwargs, PyDate, PyDateTime, PyDecimal, PyFloat, PyTime, PyTimeDelta, PBError, Referenceable, RemoteCopy, RemoteCopyError, RemoteReference, setUnjellyableForClass, splitArgs, tuple, type LogEntry } from "../../src/index.ts";
import { canonicalDesc, toDesc, type Desc } from "../../interop/valuedesc.ts";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns something truthy (or throws after `timeoutMs`). */
export async function until<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = "condition"): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(15);
  }
}

/** A description that compares equal for equal values (container ids renumbered). */
export const desc = (v: unknown): Desc => canonicalDesc(toDesc(v));

/** Values of every kind jelly carries, shared and cyclic structure included. */
export function manyValues(): unknown[] {
  const shared = [1, 2];
  const cyclic: unknown[] = [new Uint8Array([99])];
  cyclic.push(cyclic);
  const bytes = (s: string) => new TextEncoder().encode(s);
  return [
    0, 1, -1, 127, 128, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, 2n ** 64n, -(2n ** 100n), 2n ** 448n - 1n,
    2.5, new PyFloat(1), -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-300,
    "", "text", "h\u00e9llo \u4e2d\u6587 \u{1F600}", new Uint8Array([0, 255, 1]), bytes("None"), bytes("remote"), bytes("login"),
    null, true, false,
    tuple(1, "two", new Uint8Array([3])), tuple(), [], [1, [2, [3]]],
    new Map<unknown, unknown>([
      ["a", 1],
      [7, "int key"],
      [tuple(1, "k"), "tuple key"],
      [bytes("b"), "bytes key"],
      [new PyFloat(2), "float key"],
    ]),
    new Set([1, 2, 3]), new FrozenSet([5]),
    new PyDateTime(2020, 1, 2, 3, 4, 5, 6), new PyDate(1999, 12, 31), new PyTime(23, 59, 58, 999999), new PyTimeDelta(-1, 5, 7), new PyDecimal(-314n, -2),
    [shared, shared], cyclic,
  ];
}

// ---- copies ------------------------------------------------------------------------------

/** Sent with the default tag "__main__.Point" (the class name), as a Python __main__ script would. */
export class Point extends Copyable {
  constructor(
    public x: number,
    public y: number,
  ) {
    super();
  }
}

/** Receives "__main__.Point" from Python. */
export class RemotePoint extends RemoteCopy {
  declare x: number;
  declare y: number;
  norm1(): number {
    return Math.abs(Number(this.x)) + Math.abs(Number(this.y));
  }
}
setUnjellyableForClass("__main__.Point", RemotePoint);

/** A Copyable with its own Python name whose state depends on the perspective. */
export class Label extends Copyable {
  static pythonType = "tsapp.shapes.Label";
  constructor(
    public text: string,
    public secret: string,
  ) {
    super();
  }
  override getStateToCopyFor(perspective: unknown): unknown {
    const who = perspective && typeof perspective === "object" && "name" in perspective ? String((perspective as { name: unknown }).name) : null;
    return new Map<string, unknown>([
      ["text", this.text],
      ["for", who],
    ]);
  }
}

/** Receives Python's Secret (getStateToCopyFor gives the owner's name). */
export class RemoteSecret extends RemoteCopy {
  declare text: string;
  declare owner: string | null;
  declare shout: string;
  /** A custom setCopyableState: keeps the state and derives a field from it. */
  override setCopyableState(state: unknown): void {
    super.setCopyableState(state);
    this.shout = String(this.text).toUpperCase();
  }
}
setUnjellyableForClass("__main__.Secret", RemoteSecret);

/** Python's pb.Error that is also Copyable: arrives as itself, not as a failure. */
export class RemoteCopyableDenied extends RemoteCopyError {
  declare reason: string;
}
setUnjellyableForClass("__main__.CopyableDenied", RemoteCopyableDenied);

// ---- errors ------------------------------------------------------------------------------

/** An application error with its own Python name and MRO (sent exactly as declared). */
export class QuotaExceeded extends Error {
  static pythonType = "tsapp.errors.QuotaExceeded";
  static pythonParents = ["tsapp.errors.QuotaExceeded", "builtins.RuntimeError", "builtins.Exception", "builtins.BaseException", "builtins.object"];
}

/** A pb.Error subclass: expected, so not logged as "Peer will receive following PB traceback". */
export class Refused extends PBError {
  static override pythonType = "tsapp.errors.Refused";
}

// ---- referenceables ----------------------------------------------------------------------

export interface Call {
  method: string;
  args: unknown[];
  kwargs: Map<string, unknown>;
}

/** A callback object, and a login mind: records what the peer calls. */
export class Callback extends Referenceable {
  readonly calls: Call[] = [];
  constructor(readonly label = "cb") {
    super();
  }
  private record(method: string, all: unknown[]): [unknown[], Map<string, unknown>] {
    const [args, kw] = splitArgs(all);
    const kwargs = kw ? kw.toMap() : new Map<string, unknown>();
    this.calls.push({ method, args, kwargs });
    return [args, kwargs];
  }
  remote_called(...all: unknown[]) {
    const [args, kw] = this.record("called", all);
    return tuple(tuple(...args), kw);
  }
  remote_print(...all: unknown[]) {
    this.record("print", all);
    return null;
  }
  remote_getInfo(...all: unknown[]) {
    this.record("getInfo", all);
    return new Map<string, unknown>([
      ["name", this.label],
      ["runtime", "node"],
    ]);
  }
  remote_ping(...all: unknown[]) {
    const [args] = this.record("ping", all);
    return tuple("pong", ...args);
  }
  remote_boom(kind: unknown) {
    this.record("boom", [kind]);
    switch (kind) {
      case "range":
        throw new RangeError("out of range");
      case "type":
        throw new TypeError("wrong type");
      case "quota":
        throw new QuotaExceeded("quota exceeded");
      case "refused":
        throw new Refused("refused on purpose");
      case "async":
        return Promise.reject(new RangeError("later"));
      default:
        throw new Error(`plain ${String(kind)}`);
    }
  }
  async remote_slow(ms: unknown, value: unknown) {
    this.record("slow", [ms, value]);
    await sleep(Number(ms));
    return value;
  }
}

export function methodsCalled(cb: Callback): string[] {
  return cb.calls.map((c) => c.method);
}

/** Log entries a broker reported as "Peer will receive following PB traceback". */
export function unexpectedLogged(entries: LogEntry[]): unknown[] {
  return entries.filter((e) => e.message.startsWith("Peer will receive")).map((e) => e.error);
}

export { Kwargs, RemoteReference };
