// Remote interfaces described once with zod: typed and checked at run time on both sides.
// Values are checked in their idiomatic JS form (numbers, arrays, plain objects), so a schema
// reads as a TypeScript user expects whatever Python types the peer sent.
import type { z } from "zod";
import { idiomatic } from "../jelly/idiomatic.ts";
import { PBError } from "./errors.ts";
import { Referenceable } from "./flavors.ts";
import { Kwargs, splitArgs } from "./kwargs.ts";
import type { RemoteReference } from "./remote.ts";
import { check, type Checkable, customIssue, RemoteValidationError } from "./validation.ts";

export { RemoteValidationError, checkState } from "./validation.ts";

/** One method of a {@link remoteInterface}: zod schemas of its arguments, keyword arguments and result. */
export interface MethodSpec<A extends readonly z.ZodType[] = readonly z.ZodType[], R extends z.ZodType = z.ZodType, K extends z.ZodType | undefined = z.ZodType | undefined> {
  readonly args: A;
  readonly result: R;
  /** Schema of the keyword arguments, if the method takes any. */
  readonly kwargs?: K;
}

/** Declares one method of a {@link remoteInterface} (keeps its schema types for inference). */
export function method<const A extends readonly z.ZodType[], R extends z.ZodType, K extends z.ZodType | undefined = undefined>(spec: MethodSpec<A, R, K>): MethodSpec<A, R, K> {
  return spec;
}

/** The methods of a remote interface, by name. */
export type Methods = Record<string, MethodSpec>;

/** A named set of typed remote methods, made by {@link remoteInterface}. */
export interface RemoteInterface<M extends Methods> {
  readonly name: string;
  readonly methods: M;
}

/** Describes a remote interface once: calls through {@link typedRemote} and implementations given to {@link typedReferenceable} are typed and checked at run time. */
export function remoteInterface<M extends Methods>(name: string, methods: M): RemoteInterface<M> {
  return { name, methods };
}

type Inputs<T extends readonly unknown[]> = T extends readonly [infer H, ...infer R] ? [H extends z.ZodType ? z.input<H> : never, ...Inputs<R>] : [];
type Outputs<T extends readonly unknown[]> = T extends readonly [infer H, ...infer R] ? [H extends z.ZodType ? z.output<H> : never, ...Outputs<R>] : [];
type ArgsOf<S extends MethodSpec> = Inputs<S["args"]>;
type ParsedArgsOf<S extends MethodSpec> = Outputs<S["args"]>;
type KwSchema<S extends MethodSpec> = Exclude<S["kwargs"], undefined>;
type KwOf<S extends MethodSpec> = [KwSchema<S>] extends [never] ? [] : [kw?: z.input<KwSchema<S>>];
type ParsedKwOf<S extends MethodSpec> = [KwSchema<S>] extends [never] ? [] : [kw: z.output<KwSchema<S>>];

/** The caller's view: each method returns a promise of its checked result. */
export type TypedRemote<M extends Methods> = {
  readonly [K in keyof M]: (...args: [...ArgsOf<M[K]>, ...KwOf<M[K]>]) => Promise<z.output<M[K]["result"]>>;
} & { readonly ref: RemoteReference };

/** The implementation's view: arguments arrive checked. */
export type Implementation<M extends Methods> = {
  [K in keyof M]: (...args: [...ParsedArgsOf<M[K]>, ...ParsedKwOf<M[K]>]) => z.input<M[K]["result"]> | Promise<z.input<M[K]["result"]>>;
};

/** How the serving side refuses bad arguments: a pb.Error, so a Twisted caller can trap(pb.Error). */
export class InvalidArguments extends PBError {
  static override pythonType = "twisted.spread.pb.Error";
}

/** Wraps a RemoteReference so calls are typed and their results checked. */
export function typedRemote<M extends Methods>(ref: RemoteReference, iface: RemoteInterface<M>): TypedRemote<M> {
  const out: Record<string, unknown> = { ref };
  for (const [name, spec] of Object.entries(iface.methods)) {
    out[name] = async (...all: unknown[]) => {
      const args = all.slice(0, spec.args.length);
      const kw = spec.kwargs && all.length > spec.args.length ? all[spec.args.length] : undefined;
      const sent = kw === undefined ? args : [...args, kw instanceof Kwargs ? kw : new Kwargs(kw as Record<string, unknown>)];
      const result = await ref.callRemote(name, ...sent);
      return check(spec.result, idiomatic(result), (issues) => new RemoteValidationError(iface.name, name, "result", issues), true);
    };
  }
  return out as TypedRemote<M>;
}

/**
 * A Referenceable serving `impl` under `remote_<name>` for every method of the interface,
 * refusing calls whose arguments do not match with a pb.Error and checking its own results.
 */
export function typedReferenceable<M extends Methods>(iface: RemoteInterface<M>, impl: Implementation<M>): Referenceable {
  const target = new Referenceable() as Referenceable & Record<string, unknown>;
  for (const [name, spec] of Object.entries(iface.methods)) {
    const fn = (impl as Record<string, (...a: unknown[]) => unknown>)[name].bind(impl);
    const argsSchema = positionalArguments(spec.args);
    target[`remote_${name}`] = async (...all: unknown[]) => {
      const [positional, kw] = splitArgs(all);
      const bad = (part: RemoteValidationError["part"]) => (issues: z.core.$ZodIssue[]) => new InvalidArguments(new RemoteValidationError(iface.name, name, part, issues).message);
      const args = check(argsSchema, idiomatic(positional), bad("arguments"), true);
      const extra: unknown[] = [];
      if (spec.kwargs) extra.push(check(spec.kwargs, idiomatic(kw ? kw.toMap() : new Map()), bad("keyword arguments"), true));
      else if (kw && kw.size) throw new InvalidArguments(`${iface.name}.${name}: unexpected keyword argument '${kw.keys()[0]}'`);
      const result = await fn(...args, ...extra);
      return check(spec.result, idiomatic(result), (issues) => new RemoteValidationError(iface.name, name, "result", issues)) ?? result;
    };
  }
  return target;
}

/**
 * Checks a call's positional arguments, one schema each: more arguments than schemas is an
 * error; a missing one is checked as undefined, so `.optional()` and `.default()` apply and a
 * required one is reported as missing. Written here rather than with zod's tuple so that loading
 * the package does not load zod (about half its import time): only the caller's schemas run.
 */
function positionalArguments(schemas: readonly z.ZodType[]): Checkable<unknown[]> {
  const n = schemas.length;
  return {
    safeParse(value: unknown) {
      const given = value as unknown[];
      if (given.length > n) {
        const message = `expected at most ${n} argument${n === 1 ? "" : "s"}, received ${given.length}`;
        return failed([{ code: "too_big", origin: "array", maximum: n, inclusive: true, path: [], message, input: value } as z.core.$ZodIssue]);
      }
      const out: unknown[] = [];
      let length = given.length;
      let issues: z.core.$ZodIssue[] | null = null;
      for (let i = 0; i < n; i++) {
        const missing = i >= given.length;
        const r = schemas[i].safeParse(missing ? undefined : given[i]);
        if (r.success) {
          out.push(r.data);
          // A missing argument's default is passed on; an absent optional one stays absent.
          if (missing && r.data !== undefined) length = i + 1;
        } else if (missing) {
          (issues ??= []).push(customIssue(`missing: ${given.length} of ${n} arguments given`, [i]));
        } else {
          for (const issue of r.error.issues) (issues ??= []).push({ ...issue, path: [i, ...issue.path] });
        }
      }
      if (issues) return failed(issues);
      out.length = length;
      return { success: true as const, data: out };
    },
  };
}

function failed(issues: z.core.$ZodIssue[]): { success: false; error: { issues: z.core.$ZodIssue[] } } {
  return { success: false, error: { issues } };
}
