// Node file helpers for PB: a FilePager-equivalent and the .pub store RemotePublished uses.
import { createReadStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { IterablePager } from "../pb/pager.ts";
import type { PublishedStore } from "../pb/publish.ts";
import type { RemoteReference } from "../pb/remote.ts";

/** Pages a file in 16 KiB chunks (Twisted's FileSender size), reading only as pages go out. */
export function filePager(collector: RemoteReference, path: string, callback?: () => void): IterablePager {
  return new IterablePager(collector, createReadStream(path, { highWaterMark: 16384 }), callback);
}

/** Keeps published state in `dir`/<service>-<perspective>-<id>.pub, as Twisted does in the working directory. */
export class FilePublishedStore implements PublishedStore {
  constructor(readonly dir = ".") {}
  /** The saved state of a published object, or null. */
  async load(name: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(join(this.dir, name)));
    } catch {
      return null;
    }
  }
  /** Saves the state of a published object. */
  async save(name: string, data: Uint8Array): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, name), data);
  }
}
