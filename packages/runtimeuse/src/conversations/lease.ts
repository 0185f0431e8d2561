import { mkdir, open, stat } from "node:fs/promises";
import { ErrorCode } from "@runtimeuse/protocol";
import { ConversationError } from "./errors.js";
import { appendDurable, DIR_MODE, FileChanged, type FileStamp, sameStamp, stampOf, writeFileAtomic } from "./files.js";
import {
  type Decoded,
  decode,
  encodeFile,
  encodeRun,
  type JsonValue,
  type RunChanges,
  UnreadableConversation,
} from "./log.js";
import type { ConversationStore } from "./store.js";

/** A rewrite reclaims replaced state values once they take more than this and half the file. */
const COMPACT_MIN_BYTES = 1024 * 1024;

/** What a run needs to know about a saved conversation without reading its history. */
export interface Summary {
  stamp: FileStamp;
  runs: number;
  state: JsonValue | undefined;
  committedBytes: number;
  supersededBytes: number;
}

/** A conversation as a run starts it. */
export interface LoadedConversation {
  runs: number;
  state: JsonValue | undefined;
  /** The saved history, a list of its own on every call; read from disk when first needed. */
  history(): Promise<JsonValue[]>;
}

/** One run's hold on a conversation. */
export class ConversationLease {
  /** What `load` found; undefined before it, and for a conversation with no file yet. */
  private loaded: Summary | undefined;
  private committing: Promise<void> | undefined;
  private released = false;

  constructor(
    private readonly store: ConversationStore,
    readonly id: string,
    readonly path: string,
  ) {}

  /**
   * Reads the conversation: its size is checked first (a file over the limit is
   * refused without being read), then its summary comes from memory when the
   * file is the one last seen, else from the file.
   */
  async load(): Promise<LoadedConversation> {
    let stamp: FileStamp;
    try {
      const stats = await stat(this.path, { bigint: true });
      if (!stats.isFile()) throw new ConversationError(ErrorCode.ConversationUnreadable, `${this.path} is not a file`);
      stamp = stampOf(stats);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        this.loaded = undefined;
        return { runs: 0, state: undefined, history: async () => [] };
      }
      throw storeError(error, "load", this.id);
    }
    const limit = this.store.settings.maxBytes;
    if (stamp.size > limit) {
      throw new ConversationError(
        ErrorCode.ConversationTooLarge,
        `conversation ${this.id} is ${stamp.size} bytes, more than the limit of ${limit} bytes; it was not loaded`,
        { size_bytes: stamp.size, limit_bytes: limit },
      );
    }
    const known = this.store.summaryOf(this.path, stamp);
    if (known) {
      this.loaded = known;
      return { runs: known.runs, state: known.state, history: handOut(undefined, () => this.readHistory()) };
    }
    const decoded = await this.readFile();
    const summary: Summary = {
      stamp,
      runs: decoded.runs,
      state: decoded.state,
      committedBytes: decoded.committedBytes,
      supersededBytes: decoded.supersededBytes,
    };
    this.store.remember(this.path, summary);
    this.loaded = summary;
    return {
      runs: decoded.runs,
      state: decoded.state,
      history: handOut(decoded.history, () => this.readHistory()),
    };
  }

  /**
   * Saves one run's changes durably. Appends one line when it can; rewrites the
   * whole file (atomically) for a new conversation, a replaced history, or to
   * reclaim replaced state values. Refuses (`conversation_store_failed`) when
   * the file changed on disk since `load`.
   */
  async commit(changes: RunChanges, at = new Date()): Promise<void> {
    if (this.released) throw new Error("commit after release");
    const committing = this.write(changes, at);
    this.committing = committing.catch(() => {});
    try {
      await committing;
    } finally {
      this.committing = undefined;
    }
  }

  /** Lets go of the conversation; during a commit, once the commit is done. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.committing) void this.committing.then(() => this.store.releaseHold(this.path, this));
    else this.store.releaseHold(this.path, this);
  }

  private async write(changes: RunChanges, at: Date): Promise<void> {
    const before = this.loaded;
    const runs = (before?.runs ?? 0) + 1;
    try {
      if (before !== undefined && changes.replaceHistory === undefined && !compactionDue(before, changes)) {
        const line = encodeRun(runs, at, changes);
        const stamp = await appendDurable(this.path, before.committedBytes, line, before.stamp);
        this.settle({
          stamp,
          runs,
          state: changes.state === undefined ? before.state : (JSON.parse(changes.state) as JsonValue),
          committedBytes: before.committedBytes + Buffer.byteLength(line),
          supersededBytes: before.supersededBytes + (changes.state === undefined ? 0 : stateBytes(before.state)),
        });
        return;
      }
      const history =
        changes.replaceHistory ??
        (before === undefined ? [] : (await this.readHistory()).map((entry) => JSON.stringify(entry)));
      const state = changes.state ?? (before?.state === undefined ? undefined : JSON.stringify(before.state));
      await this.expectUnchanged(before?.stamp);
      await mkdir(this.store.directory, { recursive: true, mode: DIR_MODE });
      const text = encodeFile(runs, at, [...history, ...changes.append], state);
      const stamp = await writeFileAtomic(this.path, text);
      this.settle({
        stamp,
        runs,
        state: state === undefined ? undefined : (JSON.parse(state) as JsonValue),
        committedBytes: Buffer.byteLength(text),
        supersededBytes: 0,
      });
    } catch (error) {
      throw storeError(error, "save", this.id);
    }
  }

  private settle(summary: Summary): void {
    this.loaded = summary;
    this.store.remember(this.path, summary);
  }

  /** The file must still be the version `load` saw (or still be absent). */
  private async expectUnchanged(expected: FileStamp | undefined): Promise<void> {
    let current: FileStamp | undefined;
    try {
      current = stampOf(await stat(this.path, { bigint: true }));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    if (current === undefined && expected === undefined) return;
    if (!sameStamp(current, expected)) throw new FileChanged(this.path);
  }

  private async readHistory(): Promise<JsonValue[]> {
    return (await this.readFile()).history;
  }

  private async readFile(): Promise<Decoded> {
    let bytes: Buffer;
    try {
      bytes = await readCapped(this.path, this.store.settings.maxBytes, this.id);
    } catch (error) {
      throw storeError(error, "load", this.id);
    }
    try {
      return decode(bytes);
    } catch (error) {
      if (error instanceof UnreadableConversation) {
        throw new ConversationError(
          ErrorCode.ConversationUnreadable,
          `conversation ${this.id} cannot be read: ${error.message}`,
        );
      }
      throw error;
    }
  }
}

/** The whole file, refused past `limit` bytes even if it grew since its size was checked. */
async function readCapped(path: string, limit: number, id: string): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    let buffer = Buffer.allocUnsafe(Math.min(size, limit) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > limit) {
          throw new ConversationError(
            ErrorCode.ConversationTooLarge,
            `conversation ${id} is more than the limit of ${limit} bytes; it was not loaded`,
            { limit_bytes: limit },
          );
        }
        const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, limit + 1));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) return buffer.subarray(0, length);
      length += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/**
 * A history getter that hands every caller a list of its own, so nothing a
 * caller changes leaks into what others see: the list a load just decoded
 * (once), else one decoded afresh from the file.
 */
function handOut(decoded: JsonValue[] | undefined, read: () => Promise<JsonValue[]>): () => Promise<JsonValue[]> {
  let spare = decoded;
  return async () => {
    const list = spare;
    spare = undefined;
    return list ?? read();
  };
}

function compactionDue(summary: Summary, changes: RunChanges): boolean {
  const superseded = summary.supersededBytes + (changes.state === undefined ? 0 : stateBytes(summary.state));
  return superseded > COMPACT_MIN_BYTES && superseded > summary.committedBytes / 2;
}

function stateBytes(state: JsonValue | undefined): number {
  return state === undefined ? 0 : JSON.stringify(state).length;
}

function storeError(error: unknown, operation: "load" | "save", id: string): ConversationError {
  if (error instanceof ConversationError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new ConversationError(
    ErrorCode.ConversationStoreFailed,
    `conversation ${id} could not be ${operation === "load" ? "loaded" : "saved"}: ${reason}`,
    { operation },
  );
}
