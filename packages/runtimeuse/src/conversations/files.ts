import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Mode of every file the store writes: the conversation is the user's data. */
export const FILE_MODE = 0o600;
/** Mode of every directory the store creates. */
export const DIR_MODE = 0o700;
/** Prefix of the store's temporary files; no conversation id can start with a dot. */
export const TEMP_PREFIX = ".tmp-";

/** Identifies one version of a file: a rename over it or a write to it changes it. */
export interface FileStamp {
  dev: number;
  ino: number;
  size: number;
  mtimeNs: bigint;
}

export function stampOf(stats: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }): FileStamp {
  return { dev: Number(stats.dev), ino: Number(stats.ino), size: Number(stats.size), mtimeNs: stats.mtimeNs };
}

export function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs
  );
}

/**
 * Replaces `path` with `text` atomically: a temporary file in the same
 * directory, fsynced, renamed over `path`, then the directory fsynced so the
 * rename itself survives a crash. Readers see the old file or the new one,
 * never a mix. Returns the new file's stamp.
 */
export async function writeFileAtomic(path: string, text: string): Promise<FileStamp> {
  const temp = join(dirname(path), `${TEMP_PREFIX}${basename(path)}.${randomBytes(6).toString("hex")}`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, "wx", FILE_MODE);
    await handle.writeFile(text, "utf8");
    await handle.sync();
    const stamp = stampOf(await handle.stat({ bigint: true }));
    await handle.close();
    handle = undefined;
    await rename(temp, path);
    await syncDirectory(dirname(path));
    return stamp;
  } catch (error) {
    await handle?.close().catch(() => {});
    await rm(temp, { force: true }).catch(() => {});
    throw error;
  }
}

/**
 * Writes `text` at byte `offset` of an existing file (cutting off whatever
 * lay past `offset`: an unfinished write) and fsyncs it. The file must still
 * be the version `expected` names; otherwise nothing is written and
 * `FileChanged` is thrown.
 */
export async function appendDurable(
  path: string,
  offset: number,
  text: string,
  expected: FileStamp,
): Promise<FileStamp> {
  const handle = await open(path, "r+");
  try {
    const before = await handle.stat({ bigint: true });
    if (!sameStamp(stampOf(before), expected)) throw new FileChanged(path);
    if (Number(before.size) !== offset) await handle.truncate(offset);
    const bytes = Buffer.from(text, "utf8");
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, offset + written);
      written += bytesWritten;
    }
    if ((Number(before.mode) & 0o777) !== FILE_MODE) await handle.chmod(FILE_MODE);
    await handle.sync();
    return stampOf(await handle.stat({ bigint: true }));
  } finally {
    await handle.close();
  }
}

/** fsync of a directory, so that a rename or unlink in it is durable. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The file was replaced or written by someone else since it was read. */
export class FileChanged extends Error {
  override readonly name = "FileChanged";
  constructor(readonly path: string) {
    super(`${path} changed on disk while the run was in flight`);
  }
}
