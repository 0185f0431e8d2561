import { constants, type Stats } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

/*
 * Opening files whose paths come from the agent (an artifact, its
 * `.artifactignore`, an ACP agent's file request) as regular files only. The
 * opens never block: a FIFO would otherwise wait for its other end on one of
 * libuv's four file threads, with whoever awaits it, for good, and a process
 * with such a thread cannot even exit (Node joins those threads on the way
 * out). A device such as `/dev/zero` would be read without end.
 */

const NOT_REGULAR = "not a regular file";

/** `path` opened for reading if it is a regular file, else fails with "not a regular file". The caller closes it. */
export async function openRegularFile(path: string): Promise<{ handle: FileHandle; stats: Stats }> {
  return checked(await open(path, constants.O_RDONLY | constants.O_NONBLOCK));
}

/**
 * The UTF-8 text of `path`, a regular file, with its size; `text` is
 * undefined when the size is over `maxBytes`, and the file is then not read.
 */
export async function readRegularText(path: string, maxBytes: number): Promise<{ size: number; text?: string }> {
  const { handle, stats } = await openRegularFile(path);
  try {
    const size = stats.size;
    if (size > maxBytes) return { size };
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(size), 0, size, 0);
    return { size, text: buffer.subarray(0, bytesRead).toString("utf8") };
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * `path` opened for writing (created when missing, as `writeFile` would), if
 * it is a regular file; else fails with "not a regular file". Nothing is
 * truncated: the caller does that once it has the handle. The caller closes it.
 */
export async function openRegularFileForWriting(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NONBLOCK, 0o666);
  } catch (error) {
    // ENXIO: a FIFO that nobody reads, which a blocking open would have waited on.
    if ((error as NodeJS.ErrnoException).code === "ENXIO") throw new Error(NOT_REGULAR);
    throw error;
  }
  return (await checked(handle)).handle;
}

async function checked(handle: FileHandle): Promise<{ handle: FileHandle; stats: Stats }> {
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(NOT_REGULAR);
    return { handle, stats };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}
