// Symbol.dispose and Symbol.asyncDispose (explicit resource management: `using`). Node 20 and
// current engines have them; where absent they are defined as TypeScript's `using` helpers look
// them up (Symbol.for), and never replaced when present.
const wellKnown = Symbol as unknown as Record<"dispose" | "asyncDispose", symbol | undefined>;
for (const name of ["dispose", "asyncDispose"] as const) {
  if (typeof wellKnown[name] !== "symbol") {
    Object.defineProperty(Symbol, name, { value: Symbol.for(`Symbol.${name}`), writable: false, enumerable: false, configurable: false });
  }
}

// Declared here too, so that our declarations compile where neither TypeScript's
// esnext.disposable lib nor @types/node is loaded (identical declarations merge).
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
}

export {};
