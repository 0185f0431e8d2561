import { realpath } from "node:fs/promises";
import { resolve } from "node:path";
import type { ArtifactManifestEntry, ArtifactUploadResponseMessage } from "@runtimeuse/protocol";
import { type LogSink, redactingSink } from "../logger.js";
import { makeDirectory } from "../make-directory.js";
import { type ArtifactManagerOptions, type ResolvedArtifactOptions, resolveArtifactOptions } from "./options.js";
import { Tracker } from "./tracker.js";
import { UploadQueue } from "./upload-queue.js";
import type { WatchedRoot, WatchedRootEvents } from "./watched-root.js";

type State = "open" | "finishing" | "finished" | "closed";

/** An artifacts directory that cannot be created or resolved (a file is in the way, a read-only file system). */
export class ArtifactsDirError extends Error {
  constructor(
    /** The directory, resolved to an absolute path. */
    readonly dir: string,
    reason: string,
  ) {
    super(`cannot watch artifacts directory ${dir}: ${reason}`);
  }
}

/**
 * The watcher (chokidar, the ignore rules): loaded on the first watch or by
 * the server's preload, not before the server starts.
 */
export function loadWatching(): Promise<typeof import("./watched-root.js")> {
  return import("./watched-root.js");
}

/**
 * The artifacts of one connection: watches the directories its requests
 * name, offers each new or changed file once, uploads the files the client
 * answers for, and reports a manifest at session end.
 *
 * Who calls what (the session, in this order): `watch` at the start of each
 * request; `offerPending` right before each request's terminal message;
 * `handleUploadResponse` for every `artifact_upload_response_message`;
 * `finish` on `end_session_message`; `close` when the connection is gone.
 * Nothing here sends an `error_message`: a failed upload is logged and shows
 * in the manifest.
 */
export class ArtifactManager {
  private readonly options: ResolvedArtifactOptions;
  private readonly log: LogSink;
  private readonly roots = new Map<string, WatchedRoot>();
  private readonly tracker: Tracker;
  private readonly settleTimers = new Map<string, NodeJS.Timeout>();
  private readonly ruleTimers = new Map<WatchedRoot, NodeJS.Timeout>();
  /** One pending rescan per root after new directories appeared (debounced by the settle window). */
  private readonly rescanTimers = new Map<WatchedRoot, NodeJS.Timeout>();
  private readonly uploads: UploadQueue;
  private readonly waiters = new Set<() => void>();
  private state: State = "open";
  private watching: Promise<void> = Promise.resolve();
  /** `watch` was called at least once in this session. */
  private watched = false;
  private finishing: Promise<ArtifactManifestEntry[]> | undefined;
  /** When the last answer came; answers are waited for while they keep coming. */
  private lastAnswerAt = 0;
  private clientSilent = false;

  private readonly rootEvents: WatchedRootEvents = {
    touched: (root, path) => this.scheduleSettle(root, path),
    rulesFileChanged: (root) => this.scheduleRulesReload(root),
    directoryAdded: (root) => this.scheduleRescan(root),
    error: (root, error) => this.log.write("warn", "artifact watcher error", { dir: root.path, error: error.message }),
  };

  constructor(options: ArtifactManagerOptions) {
    this.options = resolveArtifactOptions(options);
    this.log = redactingSink(options.log, this.options.secrets);
    this.tracker = new Tracker({
      maxFiles: this.options.maxFiles,
      secrets: this.options.secrets,
      log: this.log,
      offer: this.options.offer,
      active: () => this.state === "open" || this.state === "finishing",
      changed: () => this.notify(),
    });
    this.uploads = new UploadQueue(this.options, this.log, {
      // What changed while the offer was open is judged now that the upload is over.
      settled: (record) => {
        if (this.state === "open" || this.state === "finishing") void this.tracker.evaluate(record.root, record.path);
        this.notify();
      },
    });
  }

  /**
   * Starts watching each directory (created if missing), recursively, with
   * `ignoreContent` as its rules when given. Directories accumulate over the
   * session. Files already there are not offered unless they change. Rejects
   * with a message naming the directory when one cannot be created or read.
   */
  watch(dirs: readonly string[], ignoreContent: string | undefined): Promise<void> {
    this.watched = true;
    const run = this.watching.catch(() => {}).then(() => this.watchNow(dirs, ignoreContent));
    this.watching = run;
    return run;
  }

  /**
   * Offers, right away, every file that is new or changed (no settle wait),
   * then waits for the client's answers to the open offers (see
   * `responseTimeoutMs`); it does not wait for uploads. Called right before a
   * request's terminal: once the published client has read a terminal it
   * cancels the task that sends its queued answers, so an answer still being
   * prepared then (a callback that awaits anything) is lost unless it came in
   * before the terminal went out.
   */
  async offerPending(): Promise<void> {
    // Nothing was ever watched: nothing to rescan or offer, and no offer open.
    if (this.state !== "open" || !this.watched) return;
    await this.watching.catch(() => {});
    await this.flushRulesReloads();
    // Settle timers keep running: one may stand for a later write whose own event the watcher dropped.
    await this.tracker.rescan(this.roots.values());
    await this.waitUntil(() => this.quiet(false), Date.now() + this.options.finishTimeoutMs);
  }

  /** Accepts an answer only for an offered file whose answer has not come yet; anything else is refused and logged. */
  handleUploadResponse(message: ArtifactUploadResponseMessage): void {
    const over = this.state === "finished" || this.state === "closed";
    const record = over ? "the session is over" : this.tracker.takeAnswer(message.filepath);
    if (typeof record === "string") {
      this.log.write("warn", `refused artifact_upload_response_message: ${record}`, { filepath: message.filepath });
      return;
    }
    this.lastAnswerAt = Date.now();
    this.clientSilent = false;
    this.uploads.start(record, message.presigned_url, message.content_type);
    this.notify();
  }

  /**
   * Ends the session's artifacts: stops watching, rescans and offers what is
   * new or changed, waits (at most `timeoutMs`) for answers and uploads,
   * abandons what is still running, and returns the manifest: one entry per
   * file offered in the session.
   */
  finish(timeoutMs = this.options.finishTimeoutMs): Promise<ArtifactManifestEntry[]> {
    this.finishing ??= this.finishNow(timeoutMs);
    return this.finishing;
  }

  /** The connection is gone: stop watching and offering. Uploads already answered go on unless `abandonUploads`. */
  async close(options: { abandonUploads?: boolean } = {}): Promise<void> {
    if (this.state !== "closed") {
      this.state = "closed";
      this.cancelSettleTimers();
      for (const timer of this.ruleTimers.values()) clearTimeout(timer);
      this.ruleTimers.clear();
      for (const timer of this.rescanTimers.values()) clearTimeout(timer);
      this.rescanTimers.clear();
      await Promise.all([...this.roots.values()].map((root) => root.close()));
    }
    if (options.abandonUploads) this.uploads.abandonAll();
    this.uploads.release();
    this.notify();
  }

  private async finishNow(timeoutMs: number): Promise<ArtifactManifestEntry[]> {
    if (this.state === "open") {
      this.state = "finishing";
      await this.watching.catch(() => {});
      await this.flushRulesReloads();
      this.cancelSettleTimers();
      for (const timer of this.rescanTimers.values()) clearTimeout(timer);
      this.rescanTimers.clear();
      await Promise.all([...this.roots.values()].map((root) => root.close()));
      const deadline = Date.now() + timeoutMs;
      await this.tracker.rescan(this.roots.values());
      if (!(await this.waitUntil(() => this.quiet(true), deadline))) this.uploads.abandonAll();
      await this.waitUntil(() => this.uploads.idle(), Date.now() + 5_000);
      if (this.state === "finishing") this.state = "finished";
      this.uploads.release();
    }
    const { entries, omitted } = this.tracker.manifest(this.options.maxManifestBytes);
    const count = (status: string) => entries.filter((entry) => entry.status === status).length;
    this.log.write("info", "artifacts finished", {
      uploaded: count("uploaded"),
      failed: count("failed"),
      not_requested: count("not_requested"),
      omitted_from_manifest: omitted || undefined,
    });
    return entries;
  }

  private async watchNow(dirs: readonly string[], ignoreContent: string | undefined): Promise<void> {
    const { WatchedRoot } = await loadWatching();
    for (const path of new Set(dirs.map((dir) => resolve(dir)))) {
      if (this.state !== "open") return;
      const existing = this.roots.get(path);
      if (existing) {
        if (await existing.rules.configure(ignoreContent)) await this.rulesChanged(existing);
        continue;
      }
      let real: string;
      try {
        await makeDirectory(path);
        real = await realpath(path);
      } catch (error) {
        throw new ArtifactsDirError(path, (error as Error).message);
      }
      const root = new WatchedRoot(path, real, this.rootEvents);
      await root.rules.configure(ignoreContent);
      await this.tracker.recordBaseline(root, this.roots.values());
      this.roots.set(path, root);
      await root.start();
      this.log.write("debug", "watching artifacts directory", { dir: path, rules: root.rules.source });
    }
  }

  private scheduleSettle(root: WatchedRoot, path: string): void {
    if (this.state !== "open") return;
    clearTimeout(this.settleTimers.get(path));
    const timer = setTimeout(() => {
      this.settleTimers.delete(path);
      void this.tracker.evaluate(root, path);
    }, this.options.settleMs);
    this.settleTimers.set(path, timer);
  }

  private cancelSettleTimers(): void {
    for (const timer of this.settleTimers.values()) clearTimeout(timer);
    this.settleTimers.clear();
  }

  private scheduleRescan(root: WatchedRoot): void {
    if (this.state !== "open" || this.rescanTimers.has(root)) return;
    const timer = setTimeout(() => {
      this.rescanTimers.delete(root);
      if (this.state === "open") void this.tracker.rescan([root]).catch(() => {});
    }, this.options.settleMs);
    this.rescanTimers.set(root, timer);
  }

  private scheduleRulesReload(root: WatchedRoot): void {
    if (this.state !== "open" || root.rules.pinned) return;
    clearTimeout(this.ruleTimers.get(root));
    const timer = setTimeout(() => {
      this.ruleTimers.delete(root);
      void this.reloadRules(root);
    }, this.options.settleMs);
    this.ruleTimers.set(root, timer);
  }

  /** A rules change waiting for its settle window is applied now, so a rescan uses the current rules. */
  private async flushRulesReloads(): Promise<void> {
    const pending = [...this.ruleTimers.entries()];
    this.ruleTimers.clear();
    for (const [root, timer] of pending) {
      clearTimeout(timer);
      await this.reloadRules(root);
    }
  }

  private async reloadRules(root: WatchedRoot): Promise<void> {
    if (root.rules.pinned || (this.state !== "open" && this.state !== "finishing")) return;
    if (await root.rules.reload()) await this.rulesChanged(root);
  }

  /** New rules: restart the watcher (it does not enter directories it ignored) and look again. */
  private async rulesChanged(root: WatchedRoot): Promise<void> {
    this.log.write("info", "artifact ignore rules changed", { dir: root.path, rules: root.rules.source });
    if (this.state === "open") await root.start();
    await this.tracker.rescan([root]);
  }

  /**
   * Nothing left to wait for: no file being examined, (with `uploads`) no
   * upload queued or running, and every offer answered, unless the client has
   * stopped answering (no answer for `responseTimeoutMs`).
   */
  private quiet(uploads: boolean): boolean {
    if (this.state === "closed") return true;
    if (this.tracker.evaluating > 0) return false;
    if (uploads && !this.uploads.idle()) return false;
    if (this.tracker.unanswered === 0 || this.clientSilent) return true;
    if (Date.now() - this.lastExchangeAt() < this.options.responseTimeoutMs) return false;
    this.clientSilent = true;
    this.log.write("info", "client is not answering artifact offers; not waiting for it", {
      unanswered: this.tracker.unanswered,
      waited_ms: this.options.responseTimeoutMs,
    });
    return true;
  }

  /** Resolves true once `condition` holds, false at `deadline`. Re-checked on every change and when answers become overdue. */
  private async waitUntil(condition: () => boolean, deadline: number): Promise<boolean> {
    for (;;) {
      if (condition()) return true;
      const now = Date.now();
      if (now >= deadline) return false;
      const overdueAt = this.lastExchangeAt() + this.options.responseTimeoutMs;
      const wakeAt = overdueAt > now ? Math.min(deadline, overdueAt) : deadline;
      await new Promise<void>((resolveWait) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolveWait();
        };
        const timer = setTimeout(done, Math.max(1, wakeAt - now));
        this.waiters.add(done);
      });
    }
  }

  /** Last offer sent or answer received. */
  private lastExchangeAt(): number {
    return Math.max(this.tracker.lastOfferAt, this.lastAnswerAt);
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
