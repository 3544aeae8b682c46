// Credentials and the interfaces checkers are registered for (twisted/cred/credentials.py).
import { constantTimeEqual, md5, toBytes } from "./hash.ts";

/** Interface names, as Twisted's qualified names. */
export const IUsernamePassword = "twisted.cred.credentials.IUsernamePassword";
export const IUsernameHashedPassword = "twisted.cred.credentials.IUsernameHashedPassword";
export const IUsernameMD5Password = "twisted.spread.pb.IUsernameMD5Password";
export const IAnonymous = "twisted.cred.credentials.IAnonymous";

export interface Credentials {
  /** The credential interfaces this object provides. */
  readonly interfaces: readonly string[];
}

/** Anything that can say whether a password is right without revealing how. */
export interface UsernameHashedPassword extends Credentials {
  readonly username: string;
  checkPassword(password: string | Uint8Array): boolean | Promise<boolean>;
}

/** Credentials that can also be checked against a stored md5 of the password. */
export interface UsernameMD5Password extends UsernameHashedPassword {
  checkMD5Password(md5Password: Uint8Array): boolean | Promise<boolean>;
}

export class UsernamePassword implements UsernameMD5Password {
  readonly interfaces = [IUsernamePassword, IUsernameHashedPassword, IUsernameMD5Password];
  constructor(
    readonly username: string,
    readonly password: string | Uint8Array,
  ) {}
  checkPassword(password: string | Uint8Array): boolean {
    return constantTimeEqual(toBytes(password), toBytes(this.password));
  }
  checkMD5Password(md5Password: Uint8Array): boolean {
    return constantTimeEqual(md5(toBytes(this.password)), md5Password);
  }
}

export class Anonymous implements Credentials {
  readonly interfaces = [IAnonymous];
}

/** The avatar id the anonymous checker gives (Twisted's empty tuple). */
export const ANONYMOUS: unique symbol = Symbol("ANONYMOUS");
export type AvatarId = string | typeof ANONYMOUS;
