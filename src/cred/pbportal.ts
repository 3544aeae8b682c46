// PB's login over a Portal (pb.py _PortalRoot, _PortalWrapper, _PortalAuthChallenger), and the
// client side of it (PBClientFactory.login).
import { jellyFor } from "../jelly/jelly.ts";
import { tuple } from "../jelly/types.ts";
import type { Broker, PBRoot } from "../pb/broker.ts";
import { AsReferenceable, Referenceable } from "../pb/flavors.ts";
import { RemoteReference, type CallOptions } from "../pb/remote.ts";
import { Anonymous, IAnonymous, IUsernameHashedPassword, IUsernameMD5Password, type Credentials, type UsernameMD5Password, usernameText } from "./credentials.ts";
import { UnauthorizedLogin } from "./errors.ts";
import { challenge, constantTimeEqual, md5, respond, toBytes } from "./hash.ts";
import { IPerspective, type LoginResult, type Portal } from "./portal.ts";

/** What a login call may be given up by (the calls it makes carry them). */
export type LoginOptions = Pick<CallOptions, "signal" | "timeout">;


/** Sends the avatar by reference and arranges its logout (pb.py _JellyableAvatarMixin._cbLogin). */
function avatarForPeer(broker: Broker, [, avatar, logout]: LoginResult): object {
  const sendable = typeof (avatar as Partial<Record<typeof jellyFor, unknown>>)[jellyFor] === "function" ? avatar : new AsReferenceable(avatar, "perspective");
  let pending: (() => void) | null = logout;
  const maybeLogout = () => {
    const fn = pending;
    pending = null;
    // Whichever comes first, logout or disconnect, the other's hook goes with it: a connection
    // that logs in and out 20,000 times keeps no 20,000 disconnect callbacks.
    broker.dontNotifyOnDisconnect(maybeLogout);
    fn?.();
  };
  broker.setLocalCleanup(sendable, maybeLogout);
  broker.notifyOnDisconnect(maybeLogout);
  return sendable;
}

/**
 * A failed login lets go of the mind at once, before the error answer goes out: in Twisted the
 * last reference to it dies as remote_respond returns, so its decref precedes the error.
 */
function releaseMind(mind: unknown): void {
  if (mind instanceof RemoteReference) mind.release();
}

async function portalLogin(broker: Broker, portal: Portal, credentials: Credentials, mind: unknown): Promise<object> {
  let result: LoginResult;
  try {
    result = await portal.login(credentials, mind, IPerspective);
  } catch (e) {
    releaseMind(mind);
    throw e;
  }
  return avatarForPeer(broker, result);
}

function refused(mind: unknown): Promise<never> {
  releaseMind(mind);
  return Promise.reject(new UnauthorizedLogin());
}

/** Longest user name (in UTF-8 bytes) a PB login accepts unless told otherwise. */
export const DEFAULT_MAX_USERNAME_BYTES = 4096;
/** Most challenges one connection may hold unanswered at once unless told otherwise. */
export const DEFAULT_MAX_PENDING_LOGINS = 256;

/** Options of a PortalRoot. */
export interface PortalRootOptions {
  /**
   * Where login challenges come from (16 random bytes by default). Replace it only to replay
   * recorded sessions, whose responses answer a known challenge.
   */
  challenge?: () => Uint8Array;
  /**
   * Longest user name, in UTF-8 bytes, that `login` accepts (default 4096); a longer one is
   * refused with UnauthorizedLogin before anything is kept. Twisted has no such limit; without
   * it an unauthenticated peer could make each challenge hold a name as big as banana allows.
   */
  maxUsernameBytes?: number;
  /**
   * Most challenges one connection may hold that were neither answered (`respond`) nor released
   * by the peer (default 256); more `login` calls are refused with UnauthorizedLogin.
   */
  maxPendingLogins?: number;
}

/** The root each connection to a Portal server gets. */
export class PortalWrapper extends Referenceable {
  private pendingLogins = 0;
  constructor(
    readonly portal: Portal,
    readonly broker: Broker,
    readonly options: PortalRootOptions = {},
  ) {
    super();
  }

  /** First step of a PB login: answers a fresh random challenge and the object to respond to. */
  remote_login(username: unknown) {
    const maxBytes = this.options.maxUsernameBytes ?? DEFAULT_MAX_USERNAME_BYTES;
    // A string's UTF-8 length is at least its length in UTF-16 units: check that before encoding.
    if ((typeof username === "string" || username instanceof Uint8Array) && username.length > maxBytes) throw new UnauthorizedLogin(`user name longer than ${maxBytes} bytes`);
    if (typeof username !== "string" && !(username instanceof Uint8Array)) throw new TypeError("username must be a string");
    const name = usernameText(username);
    // A copy: the received name may be a view into a large receive buffer that must not stay alive.
    const bytes = username instanceof Uint8Array ? username.slice() : toBytes(name);
    if (bytes.length > maxBytes) throw new UnauthorizedLogin(`user name longer than ${maxBytes} bytes`);
    if (this.pendingLogins >= (this.options.maxPendingLogins ?? DEFAULT_MAX_PENDING_LOGINS)) {
      throw new UnauthorizedLogin("too many unanswered login challenges on this connection");
    }
    const c = (this.options.challenge ?? challenge)();
    this.pendingLogins++;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.pendingLogins--;
    };
    const challenger = new PortalAuthChallenger(this.portal, this.broker, name, c, bytes, settle);
    // A challenger the peer lets go of without answering no longer counts.
    this.broker.setLocalCleanup(challenger, settle);
    return tuple(c, challenger);
  }

  /** Anonymous login: resolves with the avatar the realm gives an anonymous user. */
  remote_loginAnonymous(mind: unknown) {
    return portalLogin(this.broker, this.portal, new Anonymous(), mind);
  }
}

/** Checks the response to one challenge; the credentials a Portal's checkers see. */
export class PortalAuthChallenger extends Referenceable implements UsernameMD5Password {
  readonly interfaces = [IUsernameHashedPassword, IUsernameMD5Password];
  private response: Uint8Array | null = null;
  private used = false;

  constructor(
    readonly portal: Portal,
    readonly broker: Broker,
    readonly username: string,
    readonly challenge: Uint8Array,
    /** The name exactly as the client sent it (Python 2 clients may send names that are not UTF-8). */
    readonly usernameBytes: Uint8Array = toBytes(username),
    /** Called once, when the challenge is answered (PortalWrapper counts unanswered ones). */
    private readonly onAnswered?: () => void,
  ) {
    super();
  }

  /** Second step of a PB login: checks the response to the challenge (once) and resolves with the avatar. */
  remote_respond(response: unknown, mind: unknown): Promise<object> {
    this.onAnswered?.();
    // One answer per challenge (Twisted's challenger accepts any number; PROTOCOL.md section 7).
    if (this.used || !(response instanceof Uint8Array)) return refused(mind);
    this.used = true;
    this.response = response;
    // portalLogin's own promise, not an async method's wrapping it: two microtask hops fewer per login.
    return portalLogin(this.broker, this.portal, this, mind);
  }

  /** Whether the client's response is md5(md5(password) + challenge) for this clear password. */
  checkPassword(password: string | Uint8Array): boolean {
    return this.checkMD5Password(md5(toBytes(password)));
  }

  /** Whether the client's response matches this password's md5 digest. */
  checkMD5Password(md5Password: Uint8Array): boolean {
    return this.response !== null && constantTimeEqual(md5(md5Password, this.challenge), this.response);
  }
}

/** Serves a Portal: every connection's root is a fresh PortalWrapper (pb.py _PortalRoot). */
export class PortalRoot implements PBRoot {
  constructor(
    readonly portal: Portal,
    readonly options: PortalRootOptions = {},
  ) {}
  /** The login root a new connection gets. */
  rootObject(broker: Broker): PortalWrapper {
    return new PortalWrapper(this.portal, broker, this.options);
  }
}

/** Credentials the client side of PB's login takes (PBClientFactory.login). */
export type LoginCredentials =
  | Credentials
  | { readonly username: string | Uint8Array; readonly password: string | Uint8Array }
  | {
      readonly username: string | Uint8Array;
      /** The response to the server's challenge (IUsernameMD5Password: md5(md5(password) + challenge)). */
      respond(challenge: Uint8Array): Uint8Array;
    };

function isAnonymous(credentials: LoginCredentials): boolean {
  const interfaces = (credentials as Partial<Credentials>).interfaces;
  return Array.isArray(interfaces) && interfaces.includes(IAnonymous);
}

/**
 * Logs in through a root reference with credentials (PBClientFactory.login): Anonymous sends
 * loginAnonymous; anything else with a username answers the server's challenge, from its
 * `respond` method (UsernamePassword, UsernameMD5Credentials) or its `password`. Resolves
 * with the avatar.
 */
export async function loginWith(root: RemoteReference, credentials: LoginCredentials, mind: unknown = null, options: LoginOptions = {}): Promise<RemoteReference> {
  if (isAnonymous(credentials)) return loginAnonymous(root, mind, options);
  const c = credentials as { username?: unknown; usernameBytes?: unknown; password?: unknown; respond?: unknown };
  const name = c.usernameBytes instanceof Uint8Array ? c.usernameBytes : c.username;
  if (typeof name !== "string" && !(name instanceof Uint8Array)) throw new TypeError("credentials need a username (text or bytes)");
  let answer: (challenge: Uint8Array) => Uint8Array;
  if (typeof c.respond === "function") answer = (ch) => (c.respond as (ch: Uint8Array) => Uint8Array).call(credentials, ch);
  else if (typeof c.password === "string" || c.password instanceof Uint8Array) answer = (ch) => respond(ch, c.password as string | Uint8Array);
  else throw new TypeError("credentials need a password, a respond(challenge) method, or to be Anonymous");
  return challengeLogin(root, name, answer, mind, options);
}

/**
 * Logs in through a root reference with a username and password; `mind` is what the server's
 * realm receives (usually a Referenceable it can call back). Resolves with the avatar.
 */
export function login(root: RemoteReference, username: string | Uint8Array, password: string | Uint8Array, mind: unknown = null, options: LoginOptions = {}): Promise<RemoteReference> {
  return challengeLogin(root, username, (c) => respond(c, password), mind, options);
}

async function challengeLogin(root: RemoteReference, username: string | Uint8Array, answerTo: (challenge: Uint8Array) => Uint8Array, mind: unknown, options: LoginOptions): Promise<RemoteReference> {
  // (The options named, not spread: a spread copies through a slower path, twice a login.)
  const { signal, timeout } = options;
  const answer = await root.call("login", { args: [toBytes(username)], signal, timeout });
  if (!Array.isArray(answer) || answer.length !== 2 || !(answer[0] instanceof Uint8Array)) throw new UnauthorizedLogin("unexpected answer to login");
  const c = answer[0] as Uint8Array;
  const challenger = answer[1] as RemoteReference;
  const avatar = challenger.call("respond", { args: [answerTo(c), mind], signal, timeout });
  // Twisted's client lets go of the challenger as soon as it has answered.
  challenger.release();
  return (await avatar) as RemoteReference;
}

/** Logs in anonymously through a root reference (loginAnonymous); resolves with the avatar. */
export async function loginAnonymous(root: RemoteReference, mind: unknown = null, options: LoginOptions = {}): Promise<RemoteReference> {
  return (await root.call("loginAnonymous", { args: [mind], ...options })) as RemoteReference;
}
