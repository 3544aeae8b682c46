// jelly + banana in one call, for values that travel on their own (tests, tools, fixtures).
import { decode, type BananaDecoderOptions } from "../banana/decoder.ts";
import { encode, type BananaEncoderOptions } from "../banana/encoder.ts";
import { BananaError } from "../banana/errors.ts";
import { Jellied } from "./jellied.ts";
import { type JellyOptions } from "./jelly.ts";
import { unjelly, type UnjellyOptions } from "./unjelly.ts";

/** Options of {@link dumps}. */
export interface DumpOptions extends JellyOptions, Pick<BananaEncoderOptions, "limits"> {
  /** Banana dialect; "pb" (vocabulary compression) by default. */
  dialect?: "pb" | "none";
}

/** Options of {@link loads}. */
export interface LoadOptions extends UnjellyOptions, Pick<BananaDecoderOptions, "limits"> {
  dialect?: "pb" | "none";
}

/** banana(jelly(value)), in one pass when the value is plain data (see Jellied). */
export function dumps(value: unknown, options: DumpOptions = {}): Uint8Array {
  return encode(new Jellied(value, options), { dialect: options.dialect ?? "pb", limits: options.limits });
}

/** unjelly(banana-decode(bytes)) for bytes holding exactly one expression. */
export function loads(bytes: Uint8Array, options: LoadOptions = {}): unknown {
  const items = decode(bytes, { dialect: options.dialect ?? "pb", limits: options.limits });
  if (items.length !== 1) throw new BananaError(`expected one banana expression, found ${items.length}`);
  return unjelly(items[0], options);
}
