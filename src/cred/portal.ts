// twisted/cred/portal.py: a Portal finds the checker for the credentials and asks the realm for the avatar.
import type { AvatarId, Credentials } from "./credentials.ts";
import type { CredentialsChecker } from "./checkers.ts";
import { UnhandledCredentials } from "./errors.ts";

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof (x as { then?: unknown } | null)?.then === "function";
}

/** The interface PB asks realms for. */
export const IPerspective = "twisted.spread.pb.IPerspective";

/** What a realm answers: the interface, the avatar, and the logout to run when it goes. */
export type LoginResult = [iface: string, avatar: object, logout: () => void];

/** Makes avatars (portal.IRealm). */
export interface Realm {
  /** Makes (or finds) the avatar of an authenticated id, for the first interface it supports. */
  requestAvatar(avatarId: AvatarId, mind: unknown, ...interfaces: string[]): LoginResult | Promise<LoginResult>;
}

/** Checks credentials and asks the realm for the avatar (portal.Portal). */
export class Portal {
  private readonly checkers = new Map<string, CredentialsChecker>();
  constructor(
    readonly realm: Realm,
    checkers: CredentialsChecker[] = [],
  ) {
    for (const c of checkers) this.registerChecker(c);
  }

  /** Adds a checker, for the interfaces given (default: the checker's own credentialInterfaces). */
  registerChecker(checker: CredentialsChecker, ...interfaces: string[]): void {
    for (const i of interfaces.length ? interfaces : checker.credentialInterfaces) this.checkers.set(i, checker);
  }

  /** The credential interfaces some checker handles. */
  listCredentialsInterfaces(): string[] {
    return [...this.checkers.keys()];
  }

  /** Checks the credentials, then asks the realm for the avatar; rejects with UnauthorizedLogin or UnhandledCredentials. */
  async login(credentials: Credentials, mind: unknown, ...interfaces: string[]): Promise<LoginResult> {
    for (const i of credentials.interfaces) {
      const checker = this.checkers.get(i);
      if (checker) {
        const avatarId = await checker.requestAvatarId(credentials);
        const result = this.realm.requestAvatar(avatarId, mind, ...interfaces);
        // A realm that answers at once is not awaited (no extra microtask turn per login).
        return isThenable(result) ? await result : result;
      }
    }
    throw new UnhandledCredentials(`No checker for ${credentials.interfaces.join(", ")}`);
  }
}
