// The object tables of a PB session as seen on the wire: per side, the luids it handed out
// ([b"remote", n]) and the Cacheables it cached on the peer ([tag, n, state]), with what each one
// is and where it came from, counted as Twisted counts them (one reference per occurrence).

export type Side = "client" | "server";
export type ObjKind = "obj" | "cache";

/** One object of a connection's tables: whose it is, its id, what it is. */
export interface TableEntry {
  side: Side;
  kind: ObjKind;
  id: string;
  /** What it is: "avatar of b'alice'", "the mind", "cache of __main__.Counter", ... */
  what: string;
  /** Where it came from: "answer #2 to obj 1.respond". */
  from: string;
  /** Set for the objects the login protocol hands out. */
  role?: "challenger" | "avatar" | "mind";
  /** The user a challenger/avatar/mind belongs to, as shown (b'alice'). */
  user?: string;
  /** The copy tag of a cache. */
  className?: string;
  /** References (obj) or copies (cache) the peer holds. */
  refs: number;
}

/** A change shown under the message that caused it. */
export interface TableChange {
  op: "add" | "remove";
  side: Side;
  kind: ObjKind;
  id: string;
  what: string;
  from: string;
}

export const otherSide = (s: Side): Side => (s === "client" ? "server" : "client");

/** The objects each side of a connection has handed out, as seen on the wire. */
export class ObjectTable {
  private readonly entries = new Map<string, TableEntry>();

  private key(side: Side, kind: ObjKind, id: string): string {
    return `${side}/${kind}/${id}`;
  }

  /** The live entry for this side, kind and id, if any. */
  get(side: Side, kind: ObjKind, id: string): TableEntry | undefined {
    return this.entries.get(this.key(side, kind, id));
  }

  /** Adds one reference; creates the entry (returned with isNew) the first time. */
  ref(side: Side, kind: ObjKind, id: string, make: () => Omit<TableEntry, "side" | "kind" | "id" | "refs">): { entry: TableEntry; isNew: boolean } {
    const k = this.key(side, kind, id);
    const old = this.entries.get(k);
    if (old) {
      old.refs++;
      return { entry: old, isNew: false };
    }
    const entry: TableEntry = { side, kind, id, refs: 1, ...make() };
    this.entries.set(k, entry);
    return { entry, isNew: true };
  }

  /** Forgets an entry (released by decref, decache or uncache). */
  remove(entry: TableEntry): void {
    this.entries.delete(this.key(entry.side, entry.kind, entry.id));
  }

  /** Everything still registered, in the order it was handed out. */
  live(): TableEntry[] {
    return [...this.entries.values()];
  }
}

export function describeEntry(e: Pick<TableEntry, "side" | "kind" | "id">): string {
  return `${e.side} ${e.kind} ${e.id}`;
}
