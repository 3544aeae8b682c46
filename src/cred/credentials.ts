// Credentials and the interfaces checkers are registered for (twisted/cred/credentials.py).
import { constantTimeEqual, md5, toBytes } from "./hash.ts";
import { tryDecodeUtf8 } from "../jelly/text.ts";

/** Interface names, as Twisted's qualified names. */
export const IUsernamePassword = "twisted.cred.credentials.IUsernamePassword";
/** Credentials that can check a plain password (credentials.IUsernameHashedPassword). */
export const IUsernameHashedPassword = "twisted.cred.credentials.IUsernameHashedPassword";
/** Credentials that can also check the md5 of a password (pb.IUsernameMD5Password). */
export const IUsernameMD5Password = "twisted.spread.pb.IUsernameMD5Password";
/** Anonymous credentials (credentials.IAnonymous). */
export const IAnonymous = "twisted.cred.credentials.IAnonymous";

/** Anything a Portal can log in with: it names the credential interfaces it provides. */
export interface Credentials {
  /** The credential interfaces this object provides. */
  readonly interfaces: readonly string[];
}

/** Anything that can say whether a password is right without revealing how. */
export interface UsernameHashedPassword extends Credentials {
  readonly username: string;
  /** Whether the password matches these credentials. */
  checkPassword(password: string | Uint8Array): boolean | Promise<boolean>;
}

/** Credentials that can also be checked against a stored md5 of the password. */
export interface UsernameMD5Password extends UsernameHashedPassword {
  /** Whether md5(password) matches these credentials. */
  checkMD5Password(md5Password: Uint8Array): boolean | Promise<boolean>;
}

/**
 * A user name and password (credentials.UsernamePassword). The name may be text or bytes: PB
 * sends it as bytes, exactly as given (a Python 2 server may keep names that are not UTF-8).
 * `username` is its text (UTF-8) for checkers; `usernameBytes` is what goes on the wire.
 */
export class UsernamePassword implements UsernameMD5Password {
  readonly interfaces = [IUsernamePassword, IUsernameHashedPassword, IUsernameMD5Password];
  readonly username: string;
  readonly usernameBytes: Uint8Array;
  constructor(
    username: string | Uint8Array,
    readonly password: string | Uint8Array,
  ) {
    this.username = usernameText(username);
    this.usernameBytes = toBytes(username);
  }
  checkPassword(password: string | Uint8Array): boolean {
    return constantTimeEqual(toBytes(password), toBytes(this.password));
  }
  /** Whether md5(password) matches. */
  checkMD5Password(md5Password: Uint8Array): boolean {
    return constantTimeEqual(md5(toBytes(this.password)), md5Password);
  }
  /** PB's answer to a login challenge (pb.respond): md5(md5(password) + challenge). */
  respond(challenge: Uint8Array): Uint8Array {
    return md5(md5(toBytes(this.password)), challenge);
  }
}

/**
 * IUsernameMD5Password on the client side: a user name and only the md5 digest of the password,
 * for clients that must not keep the password itself. PB's challenge answer needs no more
 * (md5(digest + challenge)), so a Twisted server cannot tell it from UsernamePassword.
 */
export class UsernameMD5Credentials implements UsernameMD5Password {
  readonly interfaces = [IUsernameHashedPassword, IUsernameMD5Password];
  readonly username: string;
  readonly usernameBytes: Uint8Array;
  readonly md5Password: Uint8Array;
  /** `md5Password` is the password's md5 digest: 16 bytes or 32 hex digits. */
  constructor(username: string | Uint8Array, md5Password: Uint8Array | string) {
    this.username = usernameText(username);
    this.usernameBytes = toBytes(username);
    const digest = typeof md5Password === "string" ? hexDigest(md5Password) : md5Password;
    if (digest.length !== 16) throw new RangeError("an md5 digest is 16 bytes (32 hex digits)");
    this.md5Password = Uint8Array.from(digest);
  }
  /** Makes the credentials from a password, keeping only its digest. */
  static fromPassword(username: string | Uint8Array, password: string | Uint8Array): UsernameMD5Credentials {
    return new UsernameMD5Credentials(username, md5(toBytes(password)));
  }
  checkPassword(password: string | Uint8Array): boolean {
    return constantTimeEqual(md5(toBytes(password)), this.md5Password);
  }
  checkMD5Password(md5Password: Uint8Array): boolean {
    return constantTimeEqual(this.md5Password, md5Password);
  }
  /** PB's answer to a login challenge: md5(md5(password) + challenge), from the digest. */
  respond(challenge: Uint8Array): Uint8Array {
    return md5(this.md5Password, challenge);
  }
}

function hexDigest(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError("an md5 hex digest is 32 hex digits");
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

/** A user name as text: bytes are read as UTF-8 (invalid sequences become U+FFFD). */
export function usernameText(username: string | Uint8Array): string {
  if (typeof username === "string") return username;
  // jelly's decoder reads a short ASCII name without a TextDecoder call; anything it refuses is read leniently.
  return tryDecodeUtf8(username) ?? lenientUtf8.decode(username);
}

// One decoder for every login (not one per name: making a TextDecoder costs more than the decoding).
const lenientUtf8 = new TextDecoder();

/** Anonymous login (credentials.Anonymous): PB sends loginAnonymous. */
export class Anonymous implements Credentials {
  readonly interfaces = [IAnonymous];
}

/** The avatar id the anonymous checker gives (Twisted's empty tuple). */
export const ANONYMOUS: unique symbol = Symbol("ANONYMOUS");
/** What a checker gives the realm: the user name, or ANONYMOUS. */
export type AvatarId = string | typeof ANONYMOUS;
