import { constants } from "node:fs";
import { access, mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";

/*
 * `mkdir -p` whose failure says why. On a read-only file system Linux
 * answers the mkdir of a name that does not exist with ENOENT, not EROFS, so
 * "no such file or directory" came back for a directory whose parent was
 * right there. On ENOENT the nearest existing ancestor is asked whether it can
 * be written to, and its answer (EROFS, EACCES) is the error.
 */

/** Creates `path` and its missing parents; fails with the real reason when that cannot be done. */
export async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw (await whyNotWritable(path)) ?? error;
  }
}

/** The error `access(W_OK)` gives for the nearest existing ancestor of `path`, if it gives one. */
async function whyNotWritable(path: string): Promise<Error | undefined> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const found = await stat(dir).then(
      (stats) => stats.isDirectory(),
      () => false,
    );
    if (found) {
      try {
        await access(dir, constants.W_OK);
        return undefined;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const reason = code === "EROFS" ? "read-only file system" : (error as Error).message;
        return Object.assign(new Error(`${reason}: ${dir} cannot be written to (${code ?? "unknown"})`), { code });
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}
