import { createHash } from "node:crypto";
import type { Dirent, Stats } from "node:fs";
import { lstat, opendir, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import { openRegularFile } from "../regular-file.js";
import type { IgnoreRules } from "./ignore-rules.js";

/** What identifies one version of a file without reading it. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
}

export function stampOf(stats: Stats): FileStamp {
  return { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino };
}

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/** True when `path` is `root` itself or inside it (both already resolved). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * What stands at `path` as a candidate artifact: a regular file, or a symlink
 * whose target is a regular file inside `realRoot`. Anything else (missing,
 * directory, FIFO, socket, a link leading out of the watched directory)
 * resolves `undefined`: offering a link's target would upload a file that
 * was never under the watched directory.
 */
export async function inspectCandidate(path: string, realRoot: string): Promise<FileStamp | undefined> {
  try {
    const own = await lstat(path);
    if (own.isFile()) return stampOf(own);
    if (!own.isSymbolicLink()) return undefined;
    const target = await realpath(path);
    if (!isInside(realRoot, target)) return undefined;
    const targetStats = await stat(target);
    return targetStats.isFile() ? stampOf(targetStats) : undefined;
  } catch {
    return undefined;
  }
}

const REPLACEMENT = "\uFFFD";

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

export interface WalkLimits {
  /** Stop after this many files have been reported (protects memory on a huge tree). */
  maxFiles: number;
}

/** What a walk tells besides the files it finds. */
export interface WalkNotices {
  /**
   * A file whose name is not valid UTF-8: Node spells such a name with
   * U+FFFD, which names no file, so it can be neither read nor offered.
   */
  unnamable?(path: string): void;
  /**
   * A directory that could not be listed, or not to its end (no permission,
   * no file descriptor left after `OPEN_RETRY_DELAYS_MS`, an I/O error): its
   * files are not reported. One that vanished first is not one.
   */
  unreadable?(dir: string, error: NodeJS.ErrnoException): void;
}

/** Waits before each new try to open a directory while the process is out of file descriptors. */
export const OPEN_RETRY_DELAYS_MS: readonly number[] = [20, 100, 400];

const OUT_OF_DESCRIPTORS = new Set(["EMFILE", "ENFILE"]);
/** A directory removed (or replaced by a file) between being listed and being opened. */
const GONE = new Set(["ENOENT", "ENOTDIR"]);

async function openDirectory(dir: string): Promise<Awaited<ReturnType<typeof opendir>>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await opendir(dir, { bufferSize: 64 });
    } catch (error) {
      const delay = OPEN_RETRY_DELAYS_MS[attempt];
      if (delay === undefined || !OUT_OF_DESCRIPTORS.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * Reports every non-ignored candidate file under `root`, depth first.
 * Ignored directories are not entered and directory symlinks are not
 * followed (no loops, no escaping the root). Unreadable directories are
 * skipped, and told to `notices`. Resolves the number of files reported;
 * `false` from `onFile` stops the walk.
 */
export async function walkCandidates(
  root: string,
  realRoot: string,
  rules: IgnoreRules,
  limits: WalkLimits,
  onFile: (path: string, stamp: FileStamp) => boolean | Promise<boolean>,
  notices: WalkNotices = {},
): Promise<number> {
  let reported = 0;
  const pending: string[] = [root];
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    let handle: Awaited<ReturnType<typeof opendir>>;
    try {
      handle = await openDirectory(dir);
    } catch (error) {
      if (!GONE.has((error as NodeJS.ErrnoException).code ?? "")) notices.unreadable?.(dir, error as Error);
      continue;
    }
    const entries = handle[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Dirent>;
      try {
        next = await entries.next();
      } catch (error) {
        // Opened but not readable to the end (EACCES in /proc, EIO, ESTALE): the rest of it is skipped.
        await handle.close().catch(() => {});
        notices.unreadable?.(dir, error as Error);
        break;
      }
      if (next.done) break;
      const entry = next.value;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!rules.ignores(path, true)) pending.push(path);
        continue;
      }
      if (rules.ignores(path, false)) continue;
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      const stamp = await inspectCandidate(path, realRoot);
      if (stamp === undefined) {
        if (notices.unnamable && entry.name.includes(REPLACEMENT) && !(await exists(path))) notices.unnamable(path);
        continue;
      }
      reported++;
      if ((await onFile(path, stamp)) === false || reported >= limits.maxFiles) {
        await entries.return?.();
        return reported;
      }
    }
  }
  return reported;
}

/** SHA-256 of a regular file's bytes, streamed (bounded memory whatever the size). */
export async function hashFile(path: string): Promise<string> {
  const { handle } = await openRegularFile(path);
  const hash = createHash("sha256");
  // The stream closes the handle once it ends or fails.
  for await (const chunk of handle.createReadStream({ highWaterMark: 256 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
