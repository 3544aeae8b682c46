// The conformance reference service, TypeScript side: a root (one per connection) and a Portal.
// Its Python twin is interop/peers/conformance_server.py: same methods, same results, same errors, and the same moments
// at which references it was sent are let go (Python lets go by reference counting, as soon as
// the last Python reference disappears; here every such moment is an explicit release(), with
// a comment saying which Python reference it stands for).
import {
  ANONYMOUS,
  AllowAnonymousAccess,
  Avatar,
  IPerspective,
  InMemoryPasswordChecker,
  Kwargs,
  PBServer,
  Portal,
  PortalRoot,
  Referenceable,
  RemoteReference,
  StringPager,
  Viewable,
  tuple,
  type AvatarId,
  type Broker,
  type LoginResult,
  type PBRoot,
  type PortalRootOptions,
  type Realm,
} from "../../src/index.ts";
import { Counter, Line, MyError, Point, RemoteLine, RemotePoint, ValueError, pageData } from "./classes.ts";

const later = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A Referenceable handed out by getThing / getLine. */
export class Thing extends Referenceable {
  constructor(readonly name: string) {
    super();
  }
  remote_hello(x: unknown) {
    return tuple("hello", this.name, x);
  }
}

/** view_ methods see the perspective they were sent for: the avatar, or None from a root. */
export class Board extends Viewable {
  view_who(perspective: unknown) {
    return perspective instanceof User ? perspective.name : null;
  }
  view_post(perspective: unknown, text: unknown) {
    return tuple(perspective instanceof User ? perspective.name : null, text);
  }
}

const BOARD = new Board();

function splitKw(all: unknown[]): [unknown[], Map<string, unknown>] {
  const last = all[all.length - 1];
  return last instanceof Kwargs ? [all.slice(0, -1), last.toMap()] : [all, new Map()];
}

function text(x: unknown): string {
  return typeof x === "string" ? x : x instanceof Uint8Array ? new TextDecoder().decode(x) : String(x);
}

/** The root object of one connection. */
export class ConformanceRoot extends Referenceable {
  readonly things = new Map<string, Thing>();
  readonly notes: unknown[] = [];
  readonly counter = new Counter();

  constructor(readonly broker: Broker) {
    super();
  }

  // ---- values
  remote_echo(x: unknown) {
    return x;
  }
  remote_echoArgs(...all: unknown[]) {
    const [args, kw] = splitKw(all);
    return tuple(tuple(...args), kw);
  }

  // ---- failures
  remote_fail() {
    throw new ValueError("oops");
  }
  remote_failError() {
    throw new MyError("denied");
  }
  remote_failDeferred() {
    // Python: defer.fail(ValueError("deferred")), already failed when returned.
    return Promise.reject(new ValueError("deferred"));
  }
  async remote_failLater() {
    // Python: task.deferLater(reactor, 0, ...) failing a reactor turn later.
    await later(0);
    throw new ValueError("later");
  }

  // ---- references
  remote_getThing(name: unknown) {
    const t = new Thing(text(name));
    this.things.set(text(name), t);
    return t;
  }
  remote_isThing(obj: unknown, name: unknown) {
    return obj !== undefined && obj === this.things.get(text(name));
  }
  remote_callMeBack(ref: RemoteReference, x: unknown) {
    const answer = ref.callRemote("called", x);
    // Python: `ref` dies when remote_callMeBack returns (the decref follows the call at once).
    ref.release();
    return answer;
  }
  remote_callBack(ref: RemoteReference, method: unknown, ...args: unknown[]) {
    const answer = ref.callRemote(text(method), ...args);
    ref.release();
    return answer;
  }
  remote_callEach(refs: RemoteReference[], x: unknown) {
    const answers = refs.map((r) => r.callRemote("called", x));
    // Python: the argument list dies when the method returns; CPython frees a list's items last
    // to first, so the decrefs go out in reverse order.
    for (let i = refs.length - 1; i >= 0; i--) refs[i].release();
    return Promise.all(answers);
  }

  // ---- pbanswer=False
  remote_note(x: unknown) {
    this.notes.push(x);
  }
  remote_notes() {
    return [...this.notes];
  }

  // ---- copies
  remote_getPoint(x: unknown, y: unknown) {
    return new Point(x, y);
  }
  remote_takePoint(p: unknown) {
    return p instanceof RemotePoint ? tuple(true, p.x, p.y) : tuple(false, null, null);
  }
  remote_getSharedPoints() {
    const p = new Point(1, 2);
    return tuple(p, p);
  }
  remote_getLine() {
    return new Line(new Point(1, 2), new Point(3, 4), new Thing("owner"));
  }
  remote_takeLine(line: unknown) {
    if (!(line instanceof RemoteLine) || !(line.owner instanceof RemoteReference)) throw new ValueError("not a line");
    const a = line.a as RemotePoint;
    const b = line.b as RemotePoint;
    const answer = line.owner.callRemote("called", (a.x as number) + (b.y as number));
    // Python: the received copy (and the reference inside it) dies when the method returns.
    line.owner.release();
    return answer;
  }

  // ---- caches
  remote_getCounter() {
    return this.counter;
  }
  remote_bump(n: number) {
    return this.counter.bump(n);
  }
  remote_counterObservers() {
    return this.counter.observers.length;
  }

  // ---- views
  remote_getBoard() {
    return BOARD;
  }

  // ---- pagers
  remote_sendPages(collector: RemoteReference, n: number) {
    // Python: the pager holds the collector until its last page is out, then both die.
    new StringPager(collector, pageData(n), 8192, () => collector.release());
  }

  // ---- time and connection
  remote_slow(ms: number, x: unknown = null) {
    return later(ms).then(() => x);
  }
  remote_dropMe() {
    // Python: transport.loseConnection(), which closes once the answer written next is out.
    queueMicrotask(() => this.broker.loseConnection());
  }
}

/** A logged-in user. */
export class User extends Avatar {
  constructor(
    readonly name: string,
    public mind: RemoteReference | null,
  ) {
    super();
  }
  perspective_whoami() {
    return this.name;
  }
  perspective_echo(x: unknown) {
    return x;
  }
  perspective_board() {
    return BOARD;
  }
  perspective_pingMind(x: unknown) {
    if (!this.mind) throw new MyError("no mind");
    return this.mind.callRemote("ping", x);
  }
  perspective_slow(ms: number, x: unknown = null) {
    return later(ms).then(() => x);
  }
  logout(): void {
    // Python: the avatar, and the mind it holds, die once logout has run.
    this.mind?.release();
    this.mind = null;
  }
}

/** Calls the mind three times before it answers the login, as a CI master does with a worker. */
export const realm: Realm = {
  async requestAvatar(avatarId: AvatarId, mind: unknown, ...interfaces: string[]): Promise<LoginResult> {
    if (!interfaces.includes(IPerspective)) throw new Error("no IPerspective");
    const name = avatarId === ANONYMOUS ? "anonymous" : avatarId;
    const user = new User(name, mind instanceof RemoteReference ? mind : null);
    if (user.mind) for (let i = 1; i <= 3; i++) await user.mind.callRemote("greet", name, i);
    return [IPerspective, user, () => user.logout()];
  },
};

export function makePortal(): Portal {
  return new Portal(realm, [new InMemoryPasswordChecker({ alice: "secret" }), new AllowAnonymousAccess()]);
}

/** The root server's per-connection root. */
export const rootFactory: PBRoot = { rootObject: (broker) => new ConformanceRoot(broker) };

/** The portal server's root; `options.challenge` injects challenges (replay of recordings). */
export function portalRoot(options: PortalRootOptions = {}): PBRoot {
  return new PortalRoot(makePortal(), options);
}

export interface TsService {
  rootPort: number;
  portalPort: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (ports chosen by the OS): one server for the root, one for the portal. */
export async function startTsService(log?: (e: unknown) => void): Promise<TsService> {
  const options = log ? { log } : {};
  const root = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { ...options, root: rootFactory });
  const portal = await PBServer.listen({ host: "127.0.0.1", port: 0 }, { ...options, root: portalRoot() });
  return {
    rootPort: root.port,
    portalPort: portal.port,
    close: async () => {
      await Promise.all([root.close(500), portal.close(500)]);
    },
  };
}
