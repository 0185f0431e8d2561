import { constants, type Stats } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

/**
 * Opens `path` for reading if it is a regular file, else fails with "not a
 * regular file". The open does not block: a FIFO put in an artifacts
 * directory (the agent's to do, or a file replaced by one after it was seen)
 * would otherwise wait for a writer, holding one of libuv's four file threads
 * and whoever awaits it for good. The caller closes the handle.
 */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; stats: Stats }> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error("not a regular file");
    return { handle, stats };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}
