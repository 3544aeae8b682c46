// What a receiver accepts (jelly.py SecurityOptions). Names are text; Twisted keeps them as bytes.
import { answerChanges } from "./answers.ts";

/** Types Twisted's SecurityOptions allows from the start. */
const INITIAL_TYPES = [
  "None", "bool", "boolean", "string", "str", "int", "float", "datetime", "time", "date", "timedelta",
  "NoneType", "unicode", "decimal", "set", "frozenset",
];

/** SecurityOptions.basicTypes, added by allowBasicTypes(). */
export const BASIC_TYPES = ["dictionary", "list", "tuple", "reference", "dereference", "unpersistable", "persistent", "long_int", "long", "dict"];

/** Decides what may be unjellied (Twisted's SecurityOptions interface). */
export interface Taster {
  /** Whether a jelly type tag ("list", "instance"...) may be received. */
  isTypeAllowed(typeName: string): boolean;
  /** Whether a module may be referenced. */
  isModuleAllowed(moduleName: string): boolean;
  /** Whether a class (qualified name) may be received. */
  isClassAllowed(qualifiedName: string): boolean;
}

/**
 * A Set whose changes (add, delete, clear) are counted in answerChanges, so that a decoder may
 * keep the answers it got from it until the next change.
 */
class CountedSet<T> extends Set<T> {
  override add(value: T): this {
    answerChanges.count++;
    return super.add(value);
  }
  override delete(value: T): boolean {
    answerChanges.count++;
    return super.delete(value);
  }
  override clear(): void {
    answerChanges.count++;
    super.clear();
  }
}

function countedSet(values: readonly string[]): Set<string> {
  const set = new CountedSet<string>();
  for (const v of values) set.add(v);
  return set;
}

/** Twisted's SecurityOptions: the types, modules and classes that may be received. */
export class SecurityOptions implements Taster {
  /** The jelly type tags allowed (a Set: changes made to it directly are seen by the next message). */
  readonly allowedTypes: Set<string> = countedSet(INITIAL_TYPES);
  readonly allowedModules = new Set<string>();
  readonly allowedClasses = new Set<string>();

  /** Allows the basic types (lists, dicts, tuples, references...). */
  allowBasicTypes(): this {
    return this.allowTypes(...BASIC_TYPES);
  }

  /** Allows these jelly type tags. */
  allowTypes(...types: string[]): this {
    for (const t of types) this.allowedTypes.add(t);
    return this;
  }

  /** Allows instances of the named classes ("module.Class"), their modules, and the instance/class/module tags. */
  allowInstancesOf(...qualifiedNames: string[]): this {
    this.allowBasicTypes();
    this.allowTypes("instance", "class", "classobj", "module");
    for (const name of qualifiedNames) {
      this.allowTypes(name);
      this.allowModules(moduleOf(name));
      this.allowedClasses.add(name);
    }
    return this;
  }

  /** Allows these modules (and so references to their classes and functions). */
  allowModules(...modules: string[]): this {
    for (const m of modules) this.allowedModules.add(m);
    return this;
  }

  /** As Twisted: allowed by name, or any dotted name (a class tag, checked again by module and class). */
  isTypeAllowed(typeName: string): boolean {
    return this.allowedTypes.has(typeName) || typeName.includes(".");
  }

  /** Whether a module was allowed. */
  isModuleAllowed(moduleName: string): boolean {
    return this.allowedModules.has(moduleName);
  }

  /** Whether a class was allowed (or its module). */
  isClassAllowed(qualifiedName: string): boolean {
    return this.allowedClasses.has(qualifiedName);
  }
}

/**
 * Whether isTypeAllowed()'s answers may be kept while answerChanges.count and `types` (the
 * taster's allowedTypes, when it has them) stay the same: true for this module's tasters, false
 * for a Taster of the user's or an isTypeAllowed() overridden (then ask every time).
 */
export function keepsTypeAnswers(taster: Taster, types: unknown): boolean {
  const is = taster.isTypeAllowed;
  return is === DummySecurityOptions.prototype.isTypeAllowed || (is === SecurityOptions.prototype.isTypeAllowed && types instanceof CountedSet);
}

/** Allows everything (jelly.py DummySecurityOptions): only for trusted peers. */
export class DummySecurityOptions implements Taster {
  /** Everything is allowed: for tests and trusted peers only. */
  isTypeAllowed(): boolean {
    return true;
  }
  /** Everything is allowed: for tests and trusted peers only. */
  isModuleAllowed(): boolean {
    return true;
  }
  /** Everything is allowed: for tests and trusted peers only. */
  isClassAllowed(): boolean {
    return true;
  }
}

/** PB's default (jelly.py globalSecurity): the initial types plus the basic types. */
export function pbSecurity(): SecurityOptions {
  return new SecurityOptions().allowBasicTypes();
}

/** PB's default security: the basic types only, no classes (pb.globalSecurity). */
export const globalSecurity: SecurityOptions = pbSecurity();

/** The module part of a qualified name ("a.b.C" gives "a.b"). */
export function moduleOf(qualifiedName: string): string {
  const i = qualifiedName.lastIndexOf(".");
  return i < 0 ? "" : qualifiedName.slice(0, i);
}
