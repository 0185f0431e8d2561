import { constants } from "node:fs";
import { access, readdir, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ErrorCode, isConversationId } from "@runtimeuse/protocol";
import { ConversationError } from "./errors.js";
import { type FileStamp, sameStamp, TEMP_PREFIX } from "./files.js";
import { ConversationLease, type Summary } from "./lease.js";
import {
  type ConversationSettings,
  type ResolvedConversationSettings,
  resolveConversationSettings,
} from "./settings.js";

export const FILE_EXTENSION = ".jsonl";
/** Temporary files younger than this may belong to a save in progress; pruning leaves them. */
const TEMP_GRACE_MS = 60_000;
/** Conversations whose summary (not history) is kept in memory between runs. */
const SUMMARY_CACHE_ENTRIES = 1024;

/**
 * Conversations held by a run, process-wide and keyed by file path: every
 * store and connection in this process on the same state directory sees the
 * same holds, so a conversation runs once at a time.
 */
const held = new Map<string, ConversationLease>();
/** Summaries of conversations seen, process-wide and keyed by file path, least recently used first. */
const summaries = new Map<string, Summary>();

/**
 * Conversations under `<stateDir>/conversations`, one file each
 * (`<id>.jsonl`, format in log.ts). A run `acquire`s its conversation, `load`s
 * it, and `commit`s its changes (appended as one line, or the whole file
 * rewritten atomically) before it releases it. Stores are cheap: holds and
 * the summaries kept between runs are process-wide. A summary is checked
 * against the file's identity (device, inode, size, mtime), so that a file
 * replaced on disk (moved in by a download) is read again.
 */
export class ConversationStore {
  readonly settings: ResolvedConversationSettings;
  readonly directory: string;

  constructor(settings: ConversationSettings = {}) {
    this.settings = resolveConversationSettings(settings);
    this.directory = join(this.settings.stateDir, "conversations");
  }

  /** The file of conversation `id`: `<stateDir>/conversations/<id>.jsonl`. */
  pathOf(id: string): string {
    if (!isConversationId(id)) {
      throw new ConversationError(
        ErrorCode.InvalidConversationId,
        `not a usable conversation id: ${JSON.stringify(id)}`,
        {
          field: "conversation_id",
        },
      );
    }
    return join(this.directory, `${id}${FILE_EXTENSION}`);
  }

  /** Holds conversation `id` for one run; throws `conversation_busy` while another run holds it. */
  acquire(id: string): ConversationLease {
    const path = this.pathOf(id);
    if (held.has(path)) {
      throw new ConversationError(
        ErrorCode.ConversationBusy,
        `conversation ${id} is busy: another request is running on it; send this one after that one's result`,
      );
    }
    const lease = new ConversationLease(this, id, path);
    held.set(path, lease);
    return lease;
  }

  /**
   * Why no conversation could be saved here, found without creating
   * anything: the directory, or the nearest one above it that exists, is no
   * directory or cannot be written (a read-only file system, a home the
   * runtime's user does not own). Undefined when saving can work.
   */
  async unwritable(): Promise<string | undefined> {
    for (let dir = this.directory; ; dir = dirname(dir)) {
      try {
        const stats = await stat(dir);
        if (!stats.isDirectory()) return `${dir} is not a directory`;
        await access(dir, constants.W_OK | constants.X_OK);
        return undefined;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const missing = code === "ENOENT" || code === "ENOTDIR";
        if (!missing || dirname(dir) === dir) return `${dir}: ${code ?? String(error)}`;
      }
    }
  }

  /**
   * Deletes conversations not saved for longer than the TTL (none when it is
   * 0) and temporary files that crashed saves left behind. Never throws: what
   * cannot be removed is counted in `failed`.
   */
  async prune(now = Date.now()): Promise<{ removed: number; failed: number }> {
    const report = { removed: 0, failed: 0 };
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch {
      return report;
    }
    for (const name of names) {
      const path = join(this.directory, name);
      const temp = name.startsWith(TEMP_PREFIX);
      const id = name.endsWith(FILE_EXTENSION) ? name.slice(0, -FILE_EXTENSION.length) : undefined;
      if (!temp && (id === undefined || !isConversationId(id) || held.has(path))) continue;
      try {
        const stats = await stat(path);
        if (!stats.isFile()) continue;
        const age = now - stats.mtimeMs;
        const expired = temp ? age > TEMP_GRACE_MS : this.settings.ttlMs > 0 && age > this.settings.ttlMs;
        if (!expired) continue;
        await rm(path, { force: true });
        summaries.delete(path);
        report.removed++;
      } catch {
        report.failed++;
      }
    }
    return report;
  }

  /** @internal */
  summaryOf(path: string, stamp: FileStamp): Summary | undefined {
    const summary = summaries.get(path);
    if (summary === undefined || !sameStamp(summary.stamp, stamp)) return undefined;
    summaries.delete(path);
    summaries.set(path, summary);
    return summary;
  }

  /** @internal */
  remember(path: string, summary: Summary): void {
    summaries.delete(path);
    summaries.set(path, summary);
    if (summaries.size > SUMMARY_CACHE_ENTRIES) {
      const oldest = summaries.keys().next().value;
      if (oldest !== undefined) summaries.delete(oldest);
    }
  }

  /** @internal */
  releaseHold(path: string, lease: ConversationLease): void {
    if (held.get(path) === lease) held.delete(path);
  }
}
