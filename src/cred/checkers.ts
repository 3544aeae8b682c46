// Credentials checkers (twisted/cred/checkers.py), plus one that stores only md5 hashes.
import { ANONYMOUS, IAnonymous, IUsernameHashedPassword, IUsernameMD5Password, type AvatarId, type Credentials, type UsernameHashedPassword, type UsernameMD5Password } from "./credentials.ts";
import { UnauthorizedLogin } from "./errors.ts";
import { md5, toBytes } from "./hash.ts";

/** Checks one kind of credentials (checkers.ICredentialsChecker). */
export interface CredentialsChecker {
  readonly credentialInterfaces: readonly string[];
  /** The avatar id for valid credentials; rejects with UnauthorizedLogin otherwise. */
  requestAvatarId(credentials: Credentials): Promise<AvatarId>;
}

/** Lets anyone in as ANONYMOUS (checkers.AllowAnonymousAccess). */
export class AllowAnonymousAccess implements CredentialsChecker {
  readonly credentialInterfaces = [IAnonymous];
  async requestAvatarId(): Promise<AvatarId> {
    return ANONYMOUS;
  }
}

/** Plain passwords in memory (checkers.InMemoryUsernamePasswordDatabaseDontUse). */
export class InMemoryPasswordChecker implements CredentialsChecker {
  readonly credentialInterfaces = [IUsernameHashedPassword];
  private readonly users = new Map<string, Uint8Array>();
  constructor(users: Record<string, string | Uint8Array> = {}) {
    for (const [u, p] of Object.entries(users)) this.addUser(u, p);
  }
  /** Adds or replaces a user. */
  addUser(username: string, password: string | Uint8Array): void {
    this.users.set(username, toBytes(password));
  }
  async requestAvatarId(credentials: Credentials): Promise<AvatarId> {
    const c = credentials as UsernameHashedPassword;
    const stored = this.users.get(c.username);
    // Check something even for unknown users, so timing does not tell which names exist.
    const checked = c.checkPassword(stored ?? new Uint8Array(16));
    // (A check that answers at once is not awaited: no extra turn of the microtask queue per login.)
    const ok = typeof checked === "boolean" ? checked : await checked;
    if (stored && ok) return c.username;
    throw new UnauthorizedLogin();
  }
}

export { InMemoryPasswordChecker as InMemoryUsernamePasswordDatabaseDontUse };

/** Stores only md5(password) per user, and checks challenge responses against it (IUsernameMD5Password). */
export class MD5PasswordChecker implements CredentialsChecker {
  readonly credentialInterfaces = [IUsernameMD5Password];
  private readonly users = new Map<string, Uint8Array>();
  /** `users` maps a name to its password's md5 digest (16 bytes) or hex digest. */
  constructor(users: Record<string, Uint8Array | string> = {}) {
    for (const [u, h] of Object.entries(users)) this.addUserHash(u, h);
  /** A checker for these users and clear passwords (only their md5 is kept). */
  }
  /** A checker for these users and clear passwords (only their md5 is kept). */
  static fromPasswords(users: Record<string, string | Uint8Array>): MD5PasswordChecker {
    const c = new MD5PasswordChecker();
    for (const [u, p] of Object.entries(users)) c.addUserHash(u, md5(toBytes(p)));
    /** Adds or replaces a user by the md5 digest of the password (16 bytes or 32 hex digits). */
    return c;
  }
  /** Adds or replaces a user by the md5 digest of the password (16 bytes or 32 hex digits). */
  addUserHash(username: string, digest: Uint8Array | string): void {
    const bytes = typeof digest === "string" ? Uint8Array.from(digest.match(/../g) ?? [], (x) => parseInt(x, 16)) : digest;
    if (bytes.length !== 16) throw new RangeError("an md5 digest is 16 bytes");
    this.users.set(username, bytes);
  }
  async requestAvatarId(credentials: Credentials): Promise<AvatarId> {
    const c = credentials as UsernameMD5Password;
    const stored = this.users.get(c.username);
    const checked = c.checkMD5Password(stored ?? new Uint8Array(16));
    const ok = typeof checked === "boolean" ? checked : await checked;
    if (stored && ok) return c.username;
    throw new UnauthorizedLogin();
  }
}
