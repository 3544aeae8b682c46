// PB's login over a Portal (pb.py _PortalRoot, _PortalWrapper, _PortalAuthChallenger), and the
// client side of it (PBClientFactory.login).
import { jellyFor } from "../jelly/jelly.ts";
import { tuple } from "../jelly/types.ts";
import type { Broker, PBRoot } from "../pb/broker.ts";
import { AsReferenceable, Referenceable } from "../pb/flavors.ts";
import { RemoteReference, type CallOptions } from "../pb/remote.ts";
import { Anonymous, IAnonymous, IUsernameHashedPassword, IUsernameMD5Password, type Credentials, type UsernameMD5Password } from "./credentials.ts";
import { UnauthorizedLogin } from "./errors.ts";
import { challenge, constantTimeEqual, md5, respond, toBytes } from "./hash.ts";
import { IPerspective, type LoginResult, type Portal } from "./portal.ts";

/** What a login call may be given up by (the calls it makes carry them). */
export type LoginOptions = Pick<CallOptions, "signal" | "timeout">;

function text(x: unknown): string {
  if (typeof x === "string") return x;
  if (x instanceof Uint8Array) return new TextDecoder().decode(x);
  throw new TypeError("username must be a string");
}

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

/** Options of a PortalRoot. */
export interface PortalRootOptions {
  /**
   * Where login challenges come from (16 random bytes by default). Replace it only to replay
   * recorded sessions, whose responses answer a known challenge.
   */
  challenge?: () => Uint8Array;
}

/** The root each connection to a Portal server gets. */
export class PortalWrapper extends Referenceable {
  constructor(
    readonly portal: Portal,
    readonly broker: Broker,
    readonly options: PortalRootOptions = {},
  ) {
    super();
  }

  /** First step of a PB login: answers a fresh random challenge and the object to respond to. */
  remote_login(username: unknown) {
    const c = (this.options.challenge ?? challenge)();
    const name = text(username);
    return tuple(c, new PortalAuthChallenger(this.portal, this.broker, name, c, username instanceof Uint8Array ? username : toBytes(name)));
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
  ) {
    super();
  }

  /** Second step of a PB login: checks the response to the challenge (once) and resolves with the avatar. */
  async remote_respond(response: unknown, mind: unknown) {
    // One answer per challenge (Twisted's challenger accepts any number; PROTOCOL.md section 7).
    if (this.used || !(response instanceof Uint8Array)) {
      releaseMind(mind);
      throw new UnauthorizedLogin();
    }
    this.used = true;
    this.response = response;
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
  | { readonly username: string | Uint8Array; respond(challenge: Uint8Array): Uint8Array };

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
  const answer = await root.call("login", { args: [toBytes(username)], ...options });
  if (!Array.isArray(answer) || answer.length !== 2 || !(answer[0] instanceof Uint8Array)) throw new UnauthorizedLogin("unexpected answer to login");
  const [c, challenger] = answer as [Uint8Array, RemoteReference];
  const avatar = challenger.call("respond", { args: [answerTo(c), mind], ...options });
  // Twisted's client lets go of the challenger as soon as it has answered.
  challenger.release();
  return (await avatar) as RemoteReference;
}

/** Logs in anonymously through a root reference (loginAnonymous); resolves with the avatar. */
export async function loginAnonymous(root: RemoteReference, mind: unknown = null, options: LoginOptions = {}): Promise<RemoteReference> {
  return (await root.call("loginAnonymous", { args: [mind], ...options })) as RemoteReference;
}
