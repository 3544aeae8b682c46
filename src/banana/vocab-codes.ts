// The sender's vocabulary lookup (dialect "pb"): the code of an atom, found without building a
// string or hashing one.
import { VOCABULARY } from "./constants.ts";

// Vocabulary lookup without building a string or hashing one: the codes of the atoms with a
// given length (4..13) and first character, at index (length << 7) | first char (all atoms are ASCII).
const VOCAB_MIN = 4;
const VOCAB_MAX = 13;
const VOCAB_CANDIDATES: (number[] | undefined)[] = [];
for (let code = 1; code < VOCABULARY.length; code++) {
  const atom = VOCABULARY[code];
  if (atom.length < VOCAB_MIN || atom.length > VOCAB_MAX) throw new Error(`vocabulary atom ${atom} outside ${VOCAB_MIN}..${VOCAB_MAX}`);
  (VOCAB_CANDIDATES[(atom.length << 7) | atom.charCodeAt(0)] ??= []).push(code);
}

/** The vocabulary code of a byte string, or 0. */
export function vocabCodeOfBytes(b: Uint8Array): number {
  const n = b.length;
  if (n < VOCAB_MIN || n > VOCAB_MAX || b[0] >= 0x80) return 0;
  const codes = VOCAB_CANDIDATES[(n << 7) | b[0]];
  if (codes === undefined) return 0;
  next: for (let c = 0; c < codes.length; c++) {
    const atom = VOCABULARY[codes[c]];
    for (let i = 1; i < n; i++) if (b[i] !== atom.charCodeAt(i)) continue next;
    return codes[c];
  }
  return 0;
}

/** The vocabulary code of a text atom, or 0. */
export function vocabCodeOfText(s: string): number {
  const n = s.length;
  if (n < VOCAB_MIN || n > VOCAB_MAX) return 0;
  const first = s.charCodeAt(0);
  if (first >= 0x80) return 0;
  const codes = VOCAB_CANDIDATES[(n << 7) | first];
  if (codes === undefined) return 0;
  for (let c = 0; c < codes.length; c++) if (VOCABULARY[codes[c]] === s) return codes[c];
  return 0;
}
