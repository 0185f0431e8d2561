import { mkdir, realpath } from "node:fs/promises";
import { basename, resolve } from "node:path";
import type { ArtifactManifestEntry, ArtifactUploadResponseMessage } from "@runtimeuse/protocol";
import { type LogSink, redactingSink } from "../logger.js";
import { redactText } from "../redact/redact.js";
import { type FileStamp, hashFile, inspectCandidate, isInside, walkCandidates } from "./files.js";
import { type ArtifactManagerOptions, type ResolvedArtifactOptions, resolveArtifactOptions } from "./options.js";
import { type ArtifactRecord, buildManifest, judge } from "./records.js";
import { Uploads } from "./uploads.js";
import { WatchedRoot, type WatchedRootEvents } from "./watched-root.js";

type State = "open" | "finishing" | "finished" | "closed";

/**
 * chokidar drops a `change` event that comes within 50 ms of the previous one
 * for the same file. A settle timer at least this long after the last event
 * it did report reads the file after any write whose event was dropped, so
 * the settle window is never shorter.
 */
const MIN_SETTLE_MS = 60;
/** Evaluations a rescan runs at once (each is a stat, sometimes a hash). */
const RESCAN_PARALLELISM = 32;

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
  private readonly records = new Map<string, ArtifactRecord>();
  /** Offers waiting for the client's answer, by the `filepath` sent. */
  private readonly awaitingAnswer = new Map<string, ArtifactRecord>();
  private readonly settleTimers = new Map<string, NodeJS.Timeout>();
  private readonly ruleTimers = new Map<WatchedRoot, NodeJS.Timeout>();
  /** One evaluation at a time per path; the map holds the tail of each path's chain. */
  private readonly evaluations = new Map<string, Promise<void>>();
  private readonly uploads: Uploads;
  private readonly waiters = new Set<() => void>();
  private state: State = "open";
  private watching: Promise<void> = Promise.resolve();
  private finishing: Promise<ArtifactManifestEntry[]> | undefined;
  /** Last offer sent or answer received: answers are waited for while they keep coming. */
  private lastExchangeAt = 0;
  private clientSilent = false;
  private capacityWarned = false;

  private readonly rootEvents: WatchedRootEvents = {
    touched: (root, path) => this.scheduleSettle(root, path),
    rulesFileChanged: (root) => this.scheduleRulesReload(root),
    error: (root, error) => this.log.write("warn", "artifact watcher error", { dir: root.path, error: error.message }),
  };

  constructor(options: ArtifactManagerOptions) {
    this.options = resolveArtifactOptions(options);
    this.log = redactingSink(options.log, this.options.secrets);
    this.uploads = new Uploads(this.options, this.log, {
      settled: (record) => {
        if (this.state === "open" || this.state === "finishing") void this.evaluate(record.root, record.path);
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
    const run = this.watching.catch(() => {}).then(() => this.watchNow(dirs, ignoreContent));
    this.watching = run;
    return run;
  }

  /**
   * Offers, right away, every file that is new or changed (no settle wait),
   * then waits for the client's answers to the open offers (see
   * `responseTimeoutMs`); it does not wait for uploads. Called right before a
   * request's terminal: the published client stops sending its queued answers
   * once it has read the terminal, so answers must come in before it.
   */
  async offerPending(): Promise<void> {
    if (this.state !== "open") return;
    await this.watching.catch(() => {});
    await this.flushRulesReloads();
    // Settle timers keep running: one may stand for a later write whose own event the watcher dropped.
    await this.rescan();
    await this.waitUntil(() => this.quiet(false), Date.now() + this.options.finishTimeoutMs);
  }

  /** Accepts an answer only for an offered file whose answer has not come yet; anything else is refused and logged. */
  handleUploadResponse(message: ArtifactUploadResponseMessage): void {
    const record = this.awaitingAnswer.get(message.filepath);
    if (record === undefined || this.state === "finished" || this.state === "closed") {
      const known = this.records.get(message.filepath)?.phase;
      const reason =
        this.state === "finished" || this.state === "closed"
          ? "the session is over"
          : known === "queued" || known === "uploading" || known === "uploaded" || known === "failed"
            ? "this offer was already answered"
            : "this filepath was not offered";
      this.log.write("warn", `refused artifact_upload_response_message: ${reason}`, { filepath: message.filepath });
      return;
    }
    this.awaitingAnswer.delete(message.filepath);
    this.lastExchangeAt = Date.now();
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
      await Promise.all([...this.roots.values()].map((root) => root.close()));
      const deadline = Date.now() + timeoutMs;
      await this.rescan();
      if (!(await this.waitUntil(() => this.quiet(true), deadline))) this.uploads.abandonAll();
      await this.waitUntil(() => this.uploads.idle(), Date.now() + 5_000);
      if (this.state === "finishing") this.state = "finished";
      this.uploads.release();
    }
    const { entries, omitted } = buildManifest(this.records.values(), this.options.maxManifestBytes);
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
    for (const path of new Set(dirs.map((dir) => resolve(dir)))) {
      if (this.state !== "open") return;
      const existing = this.roots.get(path);
      if (existing) {
        if (await existing.rules.configure(ignoreContent)) await this.rulesChanged(existing);
        continue;
      }
      let real: string;
      try {
        await mkdir(path, { recursive: true });
        real = await realpath(path);
      } catch (error) {
        throw new Error(`cannot watch artifacts directory ${path}: ${(error as Error).message}`);
      }
      const root = new WatchedRoot(path, real, this.rootEvents);
      await root.rules.configure(ignoreContent);
      await this.recordBaseline(root);
      this.roots.set(path, root);
      await root.start();
      this.log.write("debug", "watching artifacts directory", { dir: path, rules: root.rules.source });
    }
  }

  /** Files present when a directory starts being watched are remembered, not offered. */
  private async recordBaseline(root: WatchedRoot): Promise<void> {
    await walkCandidates(root.path, root.realPath, root.rules, { maxFiles: this.options.maxFiles }, (path, stamp) => {
      // A path another watched directory already covers is that directory's to judge (it may be new there).
      if (this.records.has(path) || this.coveredElsewhere(root, path)) return true;
      if (!this.hasCapacity()) return false;
      this.records.set(path, { path, root, phase: "seen", stamp, size: stamp.size, changedSinceOffer: false });
      return true;
    });
  }

  private coveredElsewhere(root: WatchedRoot, path: string): boolean {
    for (const other of this.roots.values()) {
      if (other !== root && isInside(other.path, path) && !other.rules.ignores(path, false)) return true;
    }
    return false;
  }

  private hasCapacity(): boolean {
    if (this.records.size < this.options.maxFiles) return true;
    if (!this.capacityWarned) {
      this.capacityWarned = true;
      this.log.write("warn", "artifact file limit reached: further new files are not offered", {
        max_files: this.options.maxFiles,
      });
    }
    return false;
  }

  private scheduleSettle(root: WatchedRoot, path: string): void {
    if (this.state !== "open") return;
    clearTimeout(this.settleTimers.get(path));
    const timer = setTimeout(
      () => {
        this.settleTimers.delete(path);
        void this.evaluate(root, path);
      },
      Math.max(MIN_SETTLE_MS, this.options.settleMs),
    );
    this.settleTimers.set(path, timer);
  }

  private cancelSettleTimers(): void {
    for (const timer of this.settleTimers.values()) clearTimeout(timer);
    this.settleTimers.clear();
  }

  private scheduleRulesReload(root: WatchedRoot): void {
    if (this.state !== "open" || root.rules.pinned) return;
    clearTimeout(this.ruleTimers.get(root));
    const timer = setTimeout(
      () => {
        this.ruleTimers.delete(root);
        void this.reloadRules(root);
      },
      Math.max(MIN_SETTLE_MS, this.options.settleMs),
    );
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
    await this.rescan([root]);
  }

  /**
   * Looks at every candidate file again. Files whose stamp matches what is
   * known are passed over without an evaluation; the rest are evaluated
   * `RESCAN_PARALLELISM` at a time (each path still one at a time).
   */
  private async rescan(roots: Iterable<WatchedRoot> = this.roots.values()): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const root of [...roots]) {
      await walkCandidates(
        root.path,
        root.realPath,
        root.rules,
        { maxFiles: this.options.maxFiles },
        async (path, stamp) => {
          const record = this.records.get(path);
          if (record !== undefined && !this.evaluations.has(path) && judge(record, stamp) === "skip") return true;
          pending.push(this.evaluate(root, path));
          if (pending.length >= RESCAN_PARALLELISM) await Promise.all(pending.splice(0));
          return this.state !== "closed";
        },
      );
    }
    await Promise.all(pending);
  }

  private evaluate(root: WatchedRoot, path: string): Promise<void> {
    const previous = this.evaluations.get(path) ?? Promise.resolve();
    const next = previous
      .then(() => this.evaluateNow(root, path))
      .catch((error: unknown) => {
        this.log.write("warn", "could not examine artifact", { path, error: (error as Error).message });
      })
      .finally(() => {
        if (this.evaluations.get(path) === next) this.evaluations.delete(path);
        this.notify();
      });
    this.evaluations.set(path, next);
    return next;
  }

  private async evaluateNow(root: WatchedRoot, path: string): Promise<void> {
    if (this.state === "closed" || this.state === "finished") return;
    if (root.rules.ignores(path, false)) return;
    const stamp = await inspectCandidate(path, root.realPath);
    if (stamp === undefined) return;
    let record = this.records.get(path);
    let verdict = judge(record, stamp);
    if (verdict === "compare" && record !== undefined) {
      // Same size as what the sink has: only the content can tell. Same content is never offered twice.
      const digest = await hashFile(path).catch(() => undefined);
      verdict = digest !== undefined && digest === record.sha256 ? "restamp" : "offer";
    }
    if (verdict === "skip") return;
    if (verdict === "note-change" || verdict === "restamp") {
      if (record === undefined) return;
      if (verdict === "restamp") record.stamp = stamp;
      else record.changedSinceOffer = true;
      return;
    }
    if (record === undefined) {
      if (!this.hasCapacity()) return;
      record = { path, root, phase: "seen", stamp, size: stamp.size, changedSinceOffer: false };
      this.records.set(path, record);
    }
    this.offer(record, stamp);
  }

  private offer(record: ArtifactRecord, stamp: FileStamp): void {
    const secrets = this.options.secrets();
    const filepath = redactText(record.path, secrets);
    const holder = this.awaitingAnswer.get(filepath);
    if (holder !== undefined && holder !== record) {
      this.log.write("warn", "artifact not offered: its path reads like another offered one once secrets are hidden", {
        path: record.path,
      });
      return;
    }
    Object.assign(record, { phase: "offered", stamp, size: stamp.size, wirePath: filepath, changedSinceOffer: false });
    record.error = undefined;
    this.awaitingAnswer.set(filepath, record);
    this.lastExchangeAt = Date.now();
    try {
      this.options.offer({ filename: redactText(basename(record.path), secrets), filepath });
      this.log.write("debug", "offered artifact", { path: record.path, size: stamp.size });
    } catch (error) {
      this.log.write("warn", "could not send artifact offer", { path: record.path, error: (error as Error).message });
    }
    this.notify();
  }

  /**
   * Nothing left to wait for: no file being examined, (with `uploads`) no
   * upload queued or running, and every offer answered, unless the client has
   * stopped answering (no answer for `responseTimeoutMs`).
   */
  private quiet(uploads: boolean): boolean {
    if (this.state === "closed") return true;
    if (this.evaluations.size > 0) return false;
    if (uploads && !this.uploads.idle()) return false;
    if (this.awaitingAnswer.size === 0 || this.clientSilent) return true;
    if (Date.now() - this.lastExchangeAt < this.options.responseTimeoutMs) return false;
    this.clientSilent = true;
    this.log.write("info", "client is not answering artifact offers; not waiting for it", {
      unanswered: this.awaitingAnswer.size,
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
      const overdueAt = this.lastExchangeAt + this.options.responseTimeoutMs;
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

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
