// Credentials and the interfaces checkers are registered for (twisted/cred/credentials.py).
import { constantTimeEqual, md5, toBytes } from "./hash.ts";

/** Interface names, as Twisted's qualified names. */
export const IUsernamePassword = "twisted.cred.credentials.IUsernamePassword";
/** Interface name of credentials that can check a password given in clear. */
export const IUsernameHashedPassword = "twisted.cred.credentials.IUsernameHashedPassword";
/** Interface name of PB's challenge/response credentials (md5 of the password and a challenge). */
export const IUsernameMD5Password = "twisted.spread.pb.IUsernameMD5Password";
/** Interface name of anonymous credentials. */
export const IAnonymous = "twisted.cred.credentials.IAnonymous";

/** Credentials offered to a {@link Portal}: the interface names they provide. */
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

/** A username and a clear password, checkable against PB's challenge/response as well. */
export class UsernamePassword implements UsernameMD5Password {
  readonly interfaces = [IUsernamePassword, IUsernameHashedPassword, IUsernameMD5Password];
  constructor(
    readonly username: string,
    readonly password: string | Uint8Array,
  ) {}
  /** Whether the password matches. */
  checkPassword(password: string | Uint8Array): boolean {
    return constantTimeEqual(toBytes(password), toBytes(this.password));
  }
  /** Whether md5(password) matches. */
  checkMD5Password(md5Password: Uint8Array): boolean {
    return constantTimeEqual(md5(toBytes(this.password)), md5Password);
  }
}

/** Anonymous credentials (Twisted's credentials.Anonymous). */
export class Anonymous implements Credentials {
  readonly interfaces = [IAnonymous];
}

/** The avatar id the anonymous checker gives (Twisted's empty tuple). */
export const ANONYMOUS: unique symbol = Symbol("ANONYMOUS");
/** Who logged in: the checker's answer (a username), or the anonymous marker. */
export type AvatarId = string | typeof ANONYMOUS;
