// The application classes of the conformance service and client, TypeScript side. The copy tags
// (conformance.Point, conformance.Line, conformance.Counter) and the error names
// (conformance.MyError) are the ones the Python twins (interop/peer.py serve root portal, conformance-client) put on the wire.
// Both TypeScript roles run in one process and share PB's global copy registry, so every tag
// is registered here, once.
import { Cacheable, Copyable, PBError, RemoteCache, RemoteCacheObserver, RemoteCopy, setUnjellyableForClass } from "../../src/index.ts";

/** Python's ValueError. */
export class ValueError extends Error {
  static pythonType = "builtins.ValueError";
  override name = "ValueError";
}

/** A pb.Error subclass, conformance.MyError on both sides. */
export class MyError extends PBError {
  static override pythonType = "conformance.MyError";
  override name = "MyError";
}

export class Point extends Copyable {
  static pythonType = "conformance.Point";
  constructor(
    public x: unknown,
    public y: unknown,
  ) {
    super();
  }
}

export class Line extends Copyable {
  static pythonType = "conformance.Line";
  constructor(
    public a: unknown,
    public b: unknown,
    public owner: unknown,
  ) {
    super();
  }
}

/** A Copyable sent by a client step (["copyable", tag, {key: DESC}]): that tag, that state. */
export class TaggedCopy extends Copyable {
  constructor(
    readonly tag: string,
    readonly state: Map<string, unknown>,
  ) {
    super();
  }
  override getTypeToCopy(): string {
    return this.tag;
  }
  override getStateToCopy(): unknown {
    return this.state;
  }
}

export class RemotePoint extends RemoteCopy {
  declare x: unknown;
  declare y: unknown;
}

export class RemoteLine extends RemoteCopy {
  declare a: unknown;
  declare b: unknown;
  declare owner: unknown;
}

/** A counter whose every copy is told of each change (observe_set). */
export class Counter extends Cacheable {
  static pythonType = "conformance.Counter";
  value = 0;
  readonly observers: RemoteCacheObserver[] = [];

  override getStateToCacheAndObserveFor(_perspective: unknown, observer: RemoteCacheObserver): unknown {
    this.observers.push(observer);
    return new Map([["value", this.value]]);
  }

  override stoppedObserving(_perspective: unknown, observer: RemoteCacheObserver): void {
    const i = this.observers.findIndex((o) => o.equals(observer));
    if (i >= 0) this.observers.splice(i, 1);
  }

  bump(n: number): number {
    this.value += n;
    for (const o of this.observers) o.callRemote("set", this.value).catch(() => {});
    return this.value;
  }
}

export class RemoteCounter extends RemoteCache {
  declare value: unknown;
  observe_set(v: unknown): void {
    this.value = v;
  }
}

/** Tag of each registered receiving class (for describing what arrived). */
export const REMOTE_TAGS = new Map<Function, string>([
  [RemotePoint, "conformance.Point"],
  [RemoteLine, "conformance.Line"],
  [RemoteCounter, "conformance.Counter"],
]);

let registered = false;
export function registerClasses(): void {
  if (registered) return;
  registered = true;
  for (const [cls, tag] of REMOTE_TAGS) setUnjellyableForClass(tag, cls as never);
}
registerClasses();

/** The test data a pager sends: byte i is (i * 7 + 3) mod 256. */
export function pageData(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + 3) & 0xff;
  return out;
}
