// How PB's references inside a jellied value are shown ([remote, n], [local, n], caches), with
// the object table kept up to date as they pass: one set of hooks per message (see pretty.ts).
import type { PbHooks } from "./pretty.ts";
import type { ObjectTable, ObjKind, Side, TableEntry } from "./table.ts";
import { otherSide } from "./table.ts";
import type { Entry } from "./types.ts";

/** What the login flow says a luid is (the challenger, a mind, an avatar). */
export interface Hint {
  what: string;
  role?: TableEntry["role"];
  user?: string;
}

/**
 * Hooks for one message sent by `sender`: new references and caches are added to `table` (and to
 * the entry's changes); references to unknown objects get a warning when the capture is complete.
 */
export function tableHooks(table: ObjectTable, sender: Side, e: Entry, from: string, generic: string, hints: Map<string, Hint>, complete: boolean): PbHooks {
  const receiver = otherSide(sender);
  const add = (kind: ObjKind, id: string, make: () => Omit<TableEntry, "side" | "kind" | "id" | "refs">): TableEntry => {
    const { entry, isNew } = table.ref(sender, kind, id, make);
    if (isNew) e.changes.push({ op: "add", side: sender, kind, id, what: entry.what, from: entry.from });
    return entry;
  };
  const known = (side: Side, kind: ObjKind, id: string): string => {
    const entry = table.get(side, kind, id);
    if (!entry && complete) {
      e.warnings.push(`${side} ${kind} ${id} is not registered: ${kind === "obj" ? "Twisted's receiver gets None for it" : "Twisted fails to unjelly it (KeyError)"}`);
    }
    return entry ? (kind === "cache" ? (entry.className ?? entry.what) : entry.what) : "unknown";
  };
  return {
    remote: (luid) => {
      const id = String(luid);
      const entry = add("obj", id, () => {
        const h = hints.get(id);
        return { what: h?.what ?? generic, from, ...(h?.role ? { role: h.role } : {}), ...(h?.user ? { user: h.user } : {}) };
      });
      return `<remote #${id} ${entry.what}>`;
    },
    local: (luid) => `<local #${luid} ${known(receiver, "obj", String(luid))}>`,
    cache: (tag, luid, state) => {
      add("cache", String(luid), () => ({ what: `cache of ${tag}`, from, className: tag }));
      return `<cache #${luid} ${tag} ${state}>`;
    },
    cached: (luid) => {
      const id = String(luid);
      const entry = table.get(sender, "cache", id);
      if (entry) entry.refs++;
      else if (complete) e.warnings.push(`${sender} cache ${id} was never sent in full: Twisted fails to unjelly it (KeyError)`);
      return `<cached #${id} ${entry ? (entry.className ?? entry.what) : "unknown"}>`;
    },
    lcache: (luid) => `<lcache #${luid} ${known(receiver, "cache", String(luid))}>`,
  };
}
