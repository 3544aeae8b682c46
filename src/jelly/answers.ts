// A process-wide count of the changes that may alter what the security options and the
// unjellyable registries answer (a type allowed or disallowed, a tag registered or removed).
// The one-pass decoder keeps their answers from one message to the next while this count, and
// the objects it asked, stay the same: one comparison per message instead of asking again.
export const answerChanges = { count: 0 };
