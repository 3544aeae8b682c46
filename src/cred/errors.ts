// twisted/cred/error.py, with the qualified names and MROs a Twisted peer traps them by.

/** twisted.cred.error.Unauthorized. */
export class Unauthorized extends Error {
  static pythonType = "twisted.cred.error.Unauthorized";
  override name = "Unauthorized";
}

/** twisted.cred.error.LoginFailed: the base of the login errors. */
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

/** twisted.cred.error.LoginDenied: the realm refused an authenticated user. */
export class LoginDenied extends LoginFailed {
  static override pythonType = "twisted.cred.error.LoginDenied";
  override name = "LoginDenied";
}
