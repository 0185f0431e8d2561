import { constants } from "node:fs";
import { type FileHandle, link, lstat, mkdir, open, symlink, unlink } from "node:fs/promises";
import { join, posix } from "node:path";
import { DownloadError } from "./errors.js";
import type { DownloadLimits } from "./limits.js";

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function refused(archive: string, entry: string, why: string): DownloadError {
  return new DownloadError(`archive ${archive}: entry "${entry}" refused: ${why}`, "archive_entry_refused");
}

/**
 * The only way extractors touch the disk. Every entry name is checked before
 * anything is written, and no write ever follows a symlink: parents are
 * walked one component at a time with lstat, files are created with
 * O_EXCL|O_NOFOLLOW after removing whatever non-directory was there. So an
 * entry can land only inside `root`, whatever links the archive (or anyone
 * before it) put there. It also enforces the entry count, the total size and
 * the expansion ratio.
 */
export class ExtractTarget {
  entries = 0;
  bytes = 0;
  /** Directories known to be real directories under root (relative paths). */
  private readonly dirs = new Set<string>([""]);

  constructor(
    /** Real path (no symlinks) of the directory to extract into. */
    private readonly root: string,
    /** Archive name, for messages. */
    private readonly archive: string,
    /** Size of the archive file, for the ratio check. */
    private readonly archiveBytes: number,
    private readonly limits: DownloadLimits,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * Validates an entry name: relative, no `..`, no NUL. Returns its path
   * segments (empty for the root itself). Also counts the entry.
   */
  entry(name: string): string[] {
    if (++this.entries > this.limits.maxEntries) {
      throw new DownloadError(
        `archive ${this.archive}: more than ${this.limits.maxEntries} entries; extraction stopped`,
        "archive_limit",
      );
    }
    if (name.includes("\0")) throw refused(this.archive, name, "the name contains NUL");
    if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) throw refused(this.archive, name, "absolute path");
    const segments = name.split("/").filter((segment) => segment !== "" && segment !== ".");
    if (segments.includes("..")) throw refused(this.archive, name, "the path leaves the working directory (..)");
    return segments;
  }

  async directory(segments: string[]): Promise<void> {
    await this.ensureDirs(segments, segments.join("/"));
  }

  /**
   * Writes a regular file from `source`. `compressedSize`, when known (zip),
   * adds a per-entry ratio check. A partly written file is removed on failure.
   */
  async file(segments: string[], source: AsyncIterable<Buffer>, mode: number, compressedSize?: number): Promise<void> {
    const name = segments.join("/");
    const path = await this.prepareLeaf(segments, name);
    let handle: FileHandle | undefined;
    let written = 0;
    try {
      handle = await open(path, WRITE_FLAGS, (mode & 0o777) | 0o600);
      for await (const chunk of source) {
        if (this.signal?.aborted) throw new DownloadError(`extraction of ${this.archive} cancelled`, "cancelled");
        written += chunk.length;
        this.addBytes(chunk.length, name, written, compressedSize);
        await handle.write(chunk);
      }
      await handle.close();
      handle = undefined;
    } catch (error) {
      await handle?.close().catch(() => {});
      await unlink(path).catch(() => {});
      throw error;
    }
  }

  /**
   * Creates a symlink. Its target must be relative and, resolved from the
   * link's own directory, stay inside root; `..` is allowed only as leading
   * components (`../lib/x`, not `a/../../x`), so that no later link can change
   * where an earlier one points.
   */
  async symlink(segments: string[], target: string): Promise<void> {
    const name = segments.join("/");
    if (segments.length === 0) throw refused(this.archive, name, "a symlink cannot replace the working directory");
    if (target === "" || target.includes("\0")) throw refused(this.archive, name, "empty or invalid symlink target");
    if (target.startsWith("/")) throw refused(this.archive, name, `symlink to an absolute path (${target})`);
    const parts = target.split("/").filter((part) => part !== "" && part !== ".");
    const leading = parts.findIndex((part) => part !== "..");
    const ups = leading === -1 ? parts.length : leading;
    if (parts.slice(ups).includes("..")) {
      throw refused(this.archive, name, `symlink target has ".." after a name (${target})`);
    }
    if (ups > segments.length - 1) {
      throw refused(this.archive, name, `symlink points outside the working directory (${target})`);
    }
    const path = await this.prepareLeaf(segments, name);
    await symlink(target, path);
  }

  /** Creates a hard link to an earlier regular file of the same extraction (root-relative). */
  async hardlink(segments: string[], targetName: string): Promise<void> {
    const name = segments.join("/");
    let targetSegments: string[];
    try {
      targetSegments = this.entryPath(targetName);
    } catch {
      throw refused(this.archive, name, `hard link points outside the working directory (${targetName})`);
    }
    const target = join(this.root, ...targetSegments);
    await this.checkNoLinks(targetSegments.slice(0, -1), name);
    const stat = await lstat(target).catch(() => undefined);
    if (!stat?.isFile()) throw refused(this.archive, name, `hard link target is not a regular file (${targetName})`);
    const path = await this.prepareLeaf(segments, name);
    await link(target, path);
  }

  /**
   * Refuses an entry up front from the sizes its archive declares (zip), so a
   * bomb is stopped before anything is written. The streamed byte counts are
   * checked as well, since headers can lie.
   */
  checkDeclared(name: string, size: number, compressedSize: number): void {
    const { maxExtractedBytes, maxCompressionRatio, ratioFloorBytes } = this.limits;
    if (this.bytes + size > maxExtractedBytes) throw this.sizeLimit(name);
    if (size > ratioFloorBytes && size / Math.max(1, compressedSize) > maxCompressionRatio) throw this.ratioLimit(name);
  }

  private sizeLimit(name: string): DownloadError {
    return new DownloadError(
      `archive ${this.archive}: expands to more than ${this.limits.maxExtractedBytes} bytes; extraction stopped at "${name}"`,
      "archive_limit",
    );
  }

  private ratioLimit(name: string): DownloadError {
    return new DownloadError(
      `archive ${this.archive}: compression ratio above ${this.limits.maxCompressionRatio} at "${name}" (a zip bomb?); extraction stopped`,
      "archive_limit",
    );
  }

  private entryPath(name: string): string[] {
    if (name.includes("\0") || name.startsWith("/") || /^[A-Za-z]:/.test(name)) throw new Error("invalid");
    const segments = posix
      .normalize(name)
      .split("/")
      .filter((segment) => segment !== "" && segment !== ".");
    if (segments.length === 0 || segments.includes("..")) throw new Error("invalid");
    return segments;
  }

  private addBytes(count: number, name: string, entryBytes: number, compressedSize?: number): void {
    const { maxExtractedBytes, maxCompressionRatio, ratioFloorBytes } = this.limits;
    this.bytes += count;
    if (this.bytes > maxExtractedBytes) throw this.sizeLimit(name);
    const overall = this.bytes > ratioFloorBytes && this.bytes / Math.max(1, this.archiveBytes) > maxCompressionRatio;
    const entry =
      compressedSize !== undefined &&
      entryBytes > ratioFloorBytes &&
      entryBytes / Math.max(1, compressedSize) > maxCompressionRatio;
    if (overall || entry) throw this.ratioLimit(name);
  }

  /** Makes sure the parents of a leaf exist as real directories, and clears the leaf itself. */
  private async prepareLeaf(segments: string[], name: string): Promise<string> {
    if (segments.length === 0) throw refused(this.archive, name, "the entry has no name");
    await this.ensureDirs(segments.slice(0, -1), name);
    const path = join(this.root, ...segments);
    const existing = await lstat(path).catch(() => undefined);
    if (existing?.isDirectory()) throw refused(this.archive, name, "a directory of that name is in the way");
    // Removing a symlink or file (rather than writing into it) is what keeps
    // a write from going through a link.
    if (existing) await unlink(path);
    return path;
  }

  /** Creates missing directories one level at a time; refuses to pass through a symlink. */
  private async ensureDirs(segments: string[], name: string): Promise<void> {
    for (let depth = 1; depth <= segments.length; depth++) {
      const relative = segments.slice(0, depth).join("/");
      if (this.dirs.has(relative)) continue;
      const path = join(this.root, relative);
      const stat = await lstat(path).catch(() => undefined);
      if (stat === undefined) {
        await mkdir(path).catch(async (error: NodeJS.ErrnoException) => {
          if (error.code !== "EEXIST") throw error;
          if (!(await lstat(path)).isDirectory()) throw refused(this.archive, name, `${relative} is not a directory`);
        });
      } else if (stat.isSymbolicLink()) {
        throw refused(this.archive, name, `it would be written through the symlink ${relative}`);
      } else if (!stat.isDirectory()) {
        throw refused(this.archive, name, `${relative} is not a directory`);
      }
      this.dirs.add(relative);
    }
  }

  /** Checks existing parents for links without creating anything. */
  private async checkNoLinks(segments: string[], name: string): Promise<void> {
    for (let depth = 1; depth <= segments.length; depth++) {
      const relative = segments.slice(0, depth).join("/");
      if (this.dirs.has(relative)) continue;
      const stat = await lstat(join(this.root, relative)).catch(() => undefined);
      if (stat?.isSymbolicLink()) throw refused(this.archive, name, `the link goes through the symlink ${relative}`);
    }
  }
}
