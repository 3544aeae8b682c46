// Lists the public exports (everything reachable from the package's entry points, the
// banana and jelly namespaces included) that have no doc comment. Used by `npm run docs`
// before TypeDoc and by test/package/docs.test.ts; exits 1 when something is undocumented.
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ENTRY_POINTS = ["src/index.ts", "src/core.ts", "src/inspect/index.ts"];

export function undocumentedExports(root = ROOT): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.build.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error("cannot read tsconfig.build.json");
  const program = ts.createProgram(ENTRY_POINTS.map((e) => join(root, e)), { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const missing = new Set<string>();
  const seen = new Set<ts.Symbol>();

  const documented = (symbol: ts.Symbol, alias?: ts.Symbol) => {
    if (symbol.getDocumentationComment(checker).length > 0) return true;
    // `export * as banana from ...` and `export { x as y }`: a comment on the export itself counts.
    for (const s of [alias, symbol]) for (const d of s?.declarations ?? []) {
      if (ts.getJSDocCommentsAndTags(d).length > 0 || hasLeadingDoc(d)) return true;
      // `* as banana` sits in an export declaration, which carries the comment.
      if (ts.isNamespaceExport(d) && hasLeadingDoc(d.parent)) return true;
    }
    return false;
  };

  const visit = (moduleSymbol: ts.Symbol, prefix: string) => {
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const name = `${prefix}${exported.getName()}`;
      const decl = target.declarations?.[0];
      if (decl && ts.isSourceFile(decl)) {
        // A namespace re-export (banana, jelly): the export needs a comment, and so does every member.
        if (!documented(target, exported)) missing.add(`${name} (namespace)`);
        if (!seen.has(target)) {
          seen.add(target);
          visit(target, `${name}.`);
        }
        continue;
      }
      if (seen.has(target) && prefix === "") continue;
      seen.add(target);
      if (!documented(target, exported)) missing.add(`${name} (${where(decl)})`);
      if (target.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) members(target, name);
    }
  };

  const where = (decl: ts.Node | undefined) =>
    decl ? `${relative(root, decl.getSourceFile().fileName)}:${decl.getSourceFile().getLineAndCharacterOfPosition(decl.getStart()).line + 1}` : "?";
  const seenMembers = new Set<ts.Node>();
  // Public methods and accessors, inherited ones included; TypeScript's own lookup counts a
  // comment on the member an override or implementation stands for.
  const members = (owner: ts.Symbol, ownerName: string) => {
    const types = [checker.getDeclaredTypeOfSymbol(owner)];
    if (owner.flags & ts.SymbolFlags.Class) types.push(checker.getTypeOfSymbol(owner)); // statics
    for (const type of types) {
      for (const member of checker.getPropertiesOfType(type)) {
        const decl = member.declarations?.[0];
        if (!decl || !(ts.isMethodDeclaration(decl) || ts.isMethodSignature(decl) || ts.isGetAccessorDeclaration(decl) || ts.isSetAccessorDeclaration(decl))) continue;
        if (seenMembers.has(decl)) continue;
        seenMembers.add(decl);
        const flags = ts.getCombinedModifierFlags(decl as ts.Declaration);
        if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
        if (decl.name && ts.isPrivateIdentifier(decl.name)) continue;
        if (decl.getSourceFile().isDeclarationFile) continue; // Error, Array...: not ours
        if (member.getDocumentationComment(checker).length > 0 || ts.getJSDocTags(decl).length > 0) continue;
        missing.add(`${ownerName}.${member.getName().replace(/^__@(\w+)@\d+$/, "[$1]")} (${where(decl)})`);
      }
    }
  };

  for (const entry of ENTRY_POINTS) {
    const source = program.getSourceFile(join(root, entry));
    const symbol = source && checker.getSymbolAtLocation(source);
    if (!symbol) throw new Error(`no module symbol for ${entry}`);
    visit(symbol, "");
  }
  return [...missing].sort();
}

function hasLeadingDoc(node: ts.Node): boolean {
  const text = node.getSourceFile().getFullText();
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  return ranges.some((r) => text.slice(r.pos, r.pos + 3) === "/**");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const missing = undocumentedExports();
  for (const m of missing) console.error(`undocumented export: ${m}`);
  if (missing.length) {
    console.error(`${missing.length} public export(s) without a doc comment`);
    process.exit(1);
  }
  console.log("every public export has a doc comment");
}
