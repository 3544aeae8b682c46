// References in plain data, for the one-pass reader (fastdecode.ts): an expression [tag, id]
// whose tag the caller names (PB's remote, local, cached, lcache) is read as an IdRef placeholder
// instead of sending the whole item the tree way. Nothing is made while reading: the item may
// still be given up further on, and making a reference has effects (a RemoteReference owes the
// peer a decref). The caller makes them afterwards, in stream order, where the tree path's
// unjelly would have made them, and fillIdRefs puts them in place.
import { INT, LONGINT, LONGNEG, NEG, STRING, VOCAB, VOCABULARY } from "../banana/constants.ts";
import type { UnjellyableRegistry, UnjellyHandler } from "./registry.ts";
import { same } from "./fasttags.ts";

/** A tag read in the one pass when its expression is [tag, integer]. */
export interface IdTag {
  /** The tag as the peer sends it (a byte string, or its vocabulary token). */
  readonly name: string;
  /** The registry's handler for the tag: while the registry gives another one, the tree path takes it. */
  readonly handler: UnjellyHandler;
}

/** Where an [tag, id] stood in a value the one-pass reader made, until the caller makes it. */
export class IdRef {
  /** What the caller made of it (fillIdRefs puts this in the IdRef's place). */
  value: unknown = undefined;
  constructor(
    readonly tag: IdTag,
    readonly id: number,
  ) {}
}

/**
 * The one of `tags` that the banana element at `at` names (a byte string or a vocabulary token)
 * while `registry` still gives its handler, or null. The element is whole: the reader has just read it.
 */
export function idTagAt(buf: Uint8Array, at: number, tags: readonly IdTag[], registry: UnjellyableRegistry): IdTag | null {
  let num = 0;
  let scale = 1;
  let b = buf[at++];
  while (b < 0x80) {
    num += b * scale;
    scale *= 128;
    b = buf[at++];
  }
  for (const tag of tags) {
    const name = tag.name;
    if (b === VOCAB ? VOCABULARY[num] === name : b === STRING && num === name.length && same(buf, at, name)) return registry.get(name) === tag.handler ? tag : null;
  }
  return null;
}

/** An id's value from its header (number and type byte), as the tree path reads it; null: not an integer the one pass takes. */
export function idValue(num: number, type: number): number | null {
  if (type === INT || type === LONGINT) return num;
  if (type === NEG || type === LONGNEG) return num === 0 ? 0 : -num;
  return null;
}

function isContainer(x: unknown): x is object {
  return typeof x === "object" && x !== null && (Array.isArray(x) || x instanceof Map || Object.getPrototypeOf(x) === null);
}

/**
 * Replaces the IdRefs in `value` (a tree the one-pass reader made: arrays, Tuples, Maps,
 * null-prototype objects; each container once) by their `.value`; `count` of them are in it.
 * The work is bounded by the tree's size, which the message's size bounds.
 */
export function fillIdRefs(value: unknown, count: number): unknown {
  if (value instanceof IdRef) return value.value;
  let left = count;
  const stack: object[] = isContainer(value) ? [value] : [];
  while (left > 0 && stack.length > 0) {
    const c = stack.pop()!;
    if (Array.isArray(c)) {
      for (let i = 0; i < c.length; i++) {
        const x: unknown = c[i];
        if (x instanceof IdRef) {
          c[i] = x.value;
          left--;
        } else if (isContainer(x)) stack.push(x);
      }
    } else if (c instanceof Map) {
      for (const [k, x] of c) {
        if (x instanceof IdRef) {
          c.set(k, x.value);
          left--;
        } else if (isContainer(x)) stack.push(x);
      }
    } else {
      const o = c as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const x = o[k];
        if (x instanceof IdRef) {
          o[k] = x.value;
          left--;
        } else if (isContainer(x)) stack.push(x);
      }
    }
  }
  return value;
}
