// pb.py's login (_PortalRoot, _PortalAuthChallenger) as seen on the wire: which calls are login
// steps, and what their answers hand out (the challenger, the avatar, the mind), so the object
// table can name those objects as what they are.
import type { Sexp } from "../banana/index.ts";
import { tagText } from "../jelly/text.ts";
import type { Hint } from "./hooks.ts";
import { pretty, type PrettyLimits } from "./pretty.ts";
import { isBytes, isInt, isList, type List } from "./sexp.ts";
import type { TableEntry } from "./table.ts";

/** A login step waiting for its answer: what kind, and for which user (as shown). */
export interface LoginCall {
  kind: "login" | "respond" | "anonymous";
  user?: string;
}

/** The luid of a [b"remote", n] reference, or null when `x` is not one. */
const remoteId = (x: Sexp | undefined): string | null =>
  isList(x) && x.length === 2 && isBytes(x[0]) && tagText(x[0]) === "remote" && isInt(x[1]) ? String(x[1]) : null;

/**
 * Whether a call is a login step (root.login, root.loginAnonymous, challenger.respond), and the
 * hints its arguments carry (the client's mind, handed over as a reference).
 */
export function loginCall(
  cmd: "message" | "cachemessage",
  target: { short: string; entry?: TableEntry },
  name: string,
  args: Sexp | undefined,
  limits: PrettyLimits,
): { login?: LoginCall; hints: Map<string, Hint> } {
  const hints = new Map<string, Hint>();
  let login: LoginCall | undefined;
  const argv: List | null = isList(args) && args.length >= 1 && isBytes(args[0]) && tagText(args[0]) === "tuple" ? args.slice(1) : null;
  if (cmd === "message" && target.short === "root" && name === "login" && argv && argv.length === 1) {
    login = { kind: "login", user: pretty(argv[0], limits) };
  } else if (cmd === "message" && target.short === "root" && name === "loginAnonymous" && argv && argv.length === 1) {
    login = { kind: "anonymous" };
    const m = remoteId(argv[0]);
    if (m) hints.set(m, { what: "mind (anonymous login)", role: "mind" });
  } else if (cmd === "message" && target.entry?.role === "challenger" && name === "respond" && argv && argv.length === 2) {
    login = { kind: "respond", user: target.entry.user };
    const m = remoteId(argv[1]);
    if (m) hints.set(m, { what: `mind of ${target.entry.user}`, role: "mind", user: target.entry.user });
  }
  return { login, hints };
}

/** What the answer to a login step hands out: the challenger (login), the avatar (respond, anonymous). */
export function loginAnswerHints(login: LoginCall, payload: Sexp | undefined): Map<string, Hint> {
  const hints = new Map<string, Hint>();
  if (login.kind === "login" && isList(payload) && payload.length === 3 && isBytes(payload[0]) && tagText(payload[0]) === "tuple") {
    const c = remoteId(payload[2]);
    if (c) hints.set(c, { what: `challenger for ${login.user}`, role: "challenger", user: login.user });
  } else if (login.kind === "respond") {
    const a = remoteId(payload);
    if (a) hints.set(a, { what: `avatar of ${login.user}`, role: "avatar", user: login.user });
  } else if (login.kind === "anonymous") {
    const a = remoteId(payload);
    if (a) hints.set(a, { what: "anonymous avatar", role: "avatar" });
  }
  return hints;
}
