// Banana wire constants, named as twisted/spread/banana.py names them.

/** Type bytes: every element is header digits (base 128, least significant first) then one of these. */
export const LIST = 0x80;
/** Type byte of a non-negative integer below 2**31 (its value in the header). */
export const INT = 0x81;
/** Type byte of a byte string (its length in the header, the bytes after). */
export const STRING = 0x82;
/** Type byte of a negative integer above -2**31 (its magnitude in the header). */
export const NEG = 0x83;
/** Type byte of a float (8 bytes, IEEE 754 big-endian, after it). */
export const FLOAT = 0x84;
/** Type byte of a non-negative integer of 2**31 or more (its value in the header). */
export const LONGINT = 0x85;
/** Type byte of a negative integer of -2**31 or less (its magnitude in the header). */
export const LONGNEG = 0x86;
/** Type byte of a vocabulary atom (dialect "pb": its code in the header). */
export const VOCAB = 0x87;
/** Set on every type byte; header digits never have it. */
export const HIGH_BIT_SET = 0x80;

/** The dialects a Twisted listener offers, in preference order. */
export const KNOWN_DIALECTS = ["pb", "none"] as const;
/** A banana dialect: "pb" (with vocabulary compression) or "none". */
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
