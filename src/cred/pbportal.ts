// PB's login over a Portal (pb.py _PortalRoot, _PortalWrapper, _PortalAuthChallenger), and the
// client side of it (PBClientFactory.login).
import { jellyFor } from "../jelly/jelly.ts";
import { tuple } from "../jelly/types.ts";
import type { Broker } from "../pb/broker.ts";
import { AsReferenceable, Referenceable, type PBRoot } from "../pb/flavors.ts";
import type { RemoteReference } from "../pb/remote.ts";
import { Anonymous, IUsernameHashedPassword, IUsernameMD5Password, type UsernameMD5Password } from "./credentials.ts";
import { UnauthorizedLogin } from "./errors.ts";
import { challenge, constantTimeEqual, md5, respond, toBytes } from "./hash.ts";
import { IPerspective, type LoginResult, type Portal } from "./portal.ts";

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
    fn?.();
  };
  broker.setLocalCleanup(sendable, maybeLogout);
  broker.notifyOnDisconnect(maybeLogout);
  return sendable;
}

/** Options of the root that serves a Portal to PB clients. */
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
    return tuple(c, new PortalAuthChallenger(this.portal, this.broker, text(username), c));
  }

  /** Anonymous login: resolves with the avatar the realm gives an anonymous user. */
  async remote_loginAnonymous(mind: unknown) {
    return avatarForPeer(this.broker, await this.portal.login(new Anonymous(), mind, IPerspective));
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
  ) {
    super();
  }

  /** Second step of a PB login: checks the response to the challenge (once) and resolves with the avatar. */
  async remote_respond(response: unknown, mind: unknown) {
    // One answer per challenge (Twisted's challenger accepts any number; PROTOCOL.md section 7).
    if (this.used) throw new UnauthorizedLogin();
    this.used = true;
    if (!(response instanceof Uint8Array)) throw new UnauthorizedLogin();
    this.response = response;
    return avatarForPeer(this.broker, await this.portal.login(this, mind, IPerspective));
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

/**
 * Logs in through a root reference with a username and password; `mind` is what the server's
 * realm receives (usually a Referenceable it can call back). Resolves with the avatar.
 */
export async function login(root: RemoteReference, username: string | Uint8Array, password: string | Uint8Array, mind: unknown = null): Promise<RemoteReference> {
  const answer = await root.callRemote("login", toBytes(username));
  if (!Array.isArray(answer) || answer.length !== 2 || !(answer[0] instanceof Uint8Array)) throw new UnauthorizedLogin("unexpected answer to login");
  const [c, challenger] = answer as [Uint8Array, RemoteReference];
  const avatar = challenger.callRemote("respond", respond(c, password), mind);
  // Twisted's client lets go of the challenger as soon as it has answered.
  challenger.release();
  return (await avatar) as RemoteReference;
}

/** Logs in anonymously through a PB server's root (Twisted's PBClientFactory.login with Anonymous); resolves with the avatar. */
export async function loginAnonymous(root: RemoteReference, mind: unknown = null): Promise<RemoteReference> {
  return (await root.callRemote("loginAnonymous", mind)) as RemoteReference;
}
