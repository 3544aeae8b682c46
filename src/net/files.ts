// Node file helpers for PB: a FilePager-equivalent and the .pub store RemotePublished uses.
import { createReadStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isSafePublishedFileName } from "../pb/publish.ts";
import { IterablePager } from "../pb/pager.ts";
import type { PublishedStore } from "../pb/publish.ts";

/** The path of `name` in `dir`, refusing names that could reach another directory or a Windows stream. */
function pathIn(dir: string, name: string): string {
  if (!isSafePublishedFileName(name) || (process.platform === "win32" && /[:<>"|?*]/.test(name))) {
    throw new RangeError(`unsafe published file name: ${JSON.stringify(name.slice(0, 300))}`);
  }
  return join(dir, name);
}
import type { RemoteReference } from "../pb/remote.ts";

/** Pages a file in 16 KiB chunks (Twisted's FileSender size), reading only as pages go out. */
export function filePager(collector: RemoteReference, path: string, callback?: () => void): IterablePager {
  return new IterablePager(collector, createReadStream(path, { highWaterMark: 16384 }), callback);
}

/**
 * Keeps published state in `dir`/<service>-<perspective>-<id>.pub, as Twisted does in the working
 * directory. A name with a path separator, "..", NUL or a control character is refused
 * (RangeError): those parts of the name come from the peer.
 */
export class FilePublishedStore implements PublishedStore {
  constructor(readonly dir = ".") {}
  /** The saved state of a published object, or null. */
  async load(name: string): Promise<Uint8Array | null> {
    const path = pathIn(this.dir, name);
    try {
      return new Uint8Array(await readFile(path));
    } catch {
      return null;
    }
  }
  /** Saves the state of a published object. */
  async save(name: string, data: Uint8Array): Promise<void> {
    const path = pathIn(this.dir, name);
    await mkdir(this.dir, { recursive: true });
    await writeFile(path, data);
  }
}
