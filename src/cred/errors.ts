// twisted/cred/error.py, with the qualified names and MROs a Twisted peer traps them by.

/** error.Unauthorized. */
export class Unauthorized extends Error {
  static pythonType = "twisted.cred.error.Unauthorized";
  override name = "Unauthorized";
}

/** error.LoginFailed: the base of every refused login. */
export class LoginFailed extends Error {
  static pythonType = "twisted.cred.error.LoginFailed";
  override name = "LoginFailed";
}

/** Wrong password, unknown user: the one a client sees. */
export class UnauthorizedLogin extends LoginFailed {
  static override pythonType = "twisted.cred.error.UnauthorizedLogin";
  static pythonParents = ["twisted.cred.error.UnauthorizedLogin", "twisted.cred.error.LoginFailed", "twisted.cred.error.Unauthorized"];
  override name = "UnauthorizedLogin";
}

/** No checker for the kind of credentials offered. */
export class UnhandledCredentials extends LoginFailed {
  static override pythonType = "twisted.cred.error.UnhandledCredentials";
  override name = "UnhandledCredentials";
}

/** error.LoginDenied: the realm refused an avatar. */
export class LoginDenied extends LoginFailed {
  static override pythonType = "twisted.cred.error.LoginDenied";
  override name = "LoginDenied";
}
