// Banana wire constants, named as twisted/spread/banana.py names them.

/** Type bytes: every element is header digits (base 128, least significant first) then one of these. */
export const LIST = 0x80;
export const INT = 0x81;
export const STRING = 0x82;
export const NEG = 0x83;
export const FLOAT = 0x84;
export const LONGINT = 0x85;
export const LONGNEG = 0x86;
export const VOCAB = 0x87;
export const HIGH_BIT_SET = 0x80;

/** The dialects a Twisted listener offers, in preference order. */
export const KNOWN_DIALECTS = ["pb", "none"] as const;
export type Dialect = (typeof KNOWN_DIALECTS)[number];

/**
 * Banana.outgoingVocabulary: in dialect "pb" every byte string equal to one of these atoms is
 * sent as `<code> 87`. Index = code; index 0 is unused.
 */
export const VOCABULARY: readonly string[] = [
  "",
  "None", "class", "dereference", "reference", "dictionary", "function", "instance", "list",
  "module", "persistent", "tuple", "unpersistable",
  "copy", "cache", "cached", "remote", "local", "lcache",
  "version", "login", "password", "challenge", "logged_in", "not_logged_in",
  "cachemessage", "message", "answer", "error", "decref", "decache", "uncache",
];

/** atom -> code, for the sender. */
export const VOCABULARY_CODES: ReadonlyMap<string, number> = new Map(
  VOCABULARY.map((atom, code) => [atom, code] as [string, number]).filter(([, code]) => code > 0),
);
