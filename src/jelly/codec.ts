// jelly + banana in one call, for values that travel on their own (tests, tools, fixtures).
import { decode } from "../banana/decoder.ts";
import { encode, type BananaEncoderOptions } from "../banana/encoder.ts";
import { BananaError } from "../banana/errors.ts";
import type { BananaLimits } from "../banana/limits.ts";
import type { JellyBudgetLimits } from "./budget.ts";
import { Jellied } from "./jellied.ts";
import { type JellyOptions } from "./jelly.ts";
import { unjelly, type UnjellyOptions } from "./unjelly.ts";

/** Options of {@link dumps}. */
export interface DumpOptions extends JellyOptions, Pick<BananaEncoderOptions, "limits"> {
  /** Banana dialect; "pb" (vocabulary compression) by default. */
  dialect?: "pb" | "none";
}

/** Options of {@link loads}. */
export interface LoadOptions extends Omit<UnjellyOptions, "limits"> {
  dialect?: "pb" | "none";
  /** Banana's limits and the message budget, in one object. */
  limits?: Partial<BananaLimits & JellyBudgetLimits>;
}

/** banana(jelly(value)), in one pass when the value is plain data (see Jellied). */
export function dumps(value: unknown, options: DumpOptions = {}): Uint8Array {
  return encode(new Jellied(value, options), { dialect: options.dialect ?? "pb", limits: options.limits });
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** unjelly(banana-decode(bytes)) for bytes holding exactly one expression. */
export function loads(bytes: Uint8Array, options: LoadOptions = {}): unknown {
  const limits = options.limits;
  const banana: Partial<BananaLimits> | undefined = limits && { prefixLimit: limits.prefixLimit, sizeLimit: limits.sizeLimit };
  const items = decode(bytes, { dialect: options.dialect ?? "pb", limits: banana && dropUndefined(banana) });
  if (items.length !== 1) throw new BananaError(`expected one banana expression, found ${items.length}`);
  return unjelly(items[0], options);
}
