import { basename } from "node:path";
import type { ArtifactManifestEntry } from "@runtimeuse/protocol";
import type { LogSink } from "../logger.js";
import { redactText } from "../redact/index.js";
import { type FileStamp, hashFile, inspectCandidate, isInside, walkCandidates } from "./files.js";
import type { ArtifactOffer } from "./options.js";
import { type ArtifactRecord, buildManifest, judge } from "./records.js";
import type { WatchedRoot } from "./watched-root.js";

/** Evaluations a rescan runs at once (each is a stat, sometimes a hash). */
const RESCAN_PARALLELISM = 32;
/** The stamp of a file that cannot be examined: its name is not valid UTF-8. */
const NO_STAMP: FileStamp = { size: 0, mtimeMs: 0, ino: 0 };
/** The manifest's `error` for such a file. */
const UNNAMABLE_ERROR = "its name is not valid UTF-8, so it cannot be named in a frame; rename it to upload it";

export interface TrackerOptions {
  maxFiles: number;
  secrets: () => readonly string[];
  log: LogSink;
  offer: (offer: ArtifactOffer) => void;
  /** False once the session's artifacts are over: nothing more is offered. */
  active: () => boolean;
  /** Something a waiter may be waiting for changed (an offer, an evaluation ended). */
  changed: () => void;
}

/**
 * What is known about every file of the session, and the decision to offer
 * one. Each path is examined by one evaluation at a time, so a settle timer,
 * a rescan and the end of an upload never offer the same content twice.
 */
export class Tracker {
  private readonly records = new Map<string, ArtifactRecord>();
  /** Offers waiting for the client's answer, by the `filepath` sent. */
  private readonly awaitingAnswer = new Map<string, ArtifactRecord>();
  /** The tail of each path's evaluation chain. */
  private readonly evaluations = new Map<string, Promise<void>>();
  private capacityWarned = false;
  /** Directories already logged as unreadable, with why: a rescan before every terminal says it once. */
  private readonly unreadableLogged = new Set<string>();
  /** When the last offer went out. */
  lastOfferAt = 0;

  constructor(private readonly options: TrackerOptions) {}

  get evaluating(): number {
    return this.evaluations.size;
  }

  get unanswered(): number {
    return this.awaitingAnswer.size;
  }

  /** Files present when `root` starts being watched are remembered, not offered. */
  async recordBaseline(root: WatchedRoot, others: Iterable<WatchedRoot>): Promise<void> {
    const covering = [...others].filter((other) => other !== root);
    const remember = (path: string, stamp: FileStamp) => {
      // A path another watched directory already covers is that directory's to judge (it may be new there).
      if (this.records.has(path)) return true;
      if (covering.some((other) => isInside(other.path, path) && !other.rules.ignores(path, false))) return true;
      if (!this.hasCapacity()) return false;
      this.records.set(path, { path, root, phase: "seen", stamp, size: stamp.size, changedSinceOffer: false });
      return true;
    };
    const limits = { maxFiles: this.options.maxFiles };
    await walkCandidates(root.path, root.realPath, root.rules, limits, remember, {
      unnamable: (path) => remember(path, NO_STAMP),
      unreadable: (dir, error) => this.unreadable(dir, error),
    });
  }

  /**
   * Looks at every candidate file again. Files whose stamp matches what is
   * known are passed over; the rest are evaluated `RESCAN_PARALLELISM` at a
   * time.
   */
  async rescan(roots: Iterable<WatchedRoot>): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const root of [...roots]) {
      // Bounds the time of a rescan of a huge tree; beyond the file limit nothing new is offered anyway.
      const limits = { maxFiles: this.options.maxFiles * 2 };
      const examine = async (path: string, stamp: FileStamp) => {
        const record = this.records.get(path);
        if (record === undefined && !this.hasCapacity()) return true;
        if (record !== undefined && !this.evaluations.has(path) && judge(record, stamp) === "skip") return true;
        pending.push(this.evaluate(root, path));
        if (pending.length >= RESCAN_PARALLELISM) await Promise.all(pending.splice(0));
        return this.options.active();
      };
      await walkCandidates(root.path, root.realPath, root.rules, limits, examine, {
        unnamable: (path) => this.unnamable(root, path),
        unreadable: (dir, error) => this.unreadable(dir, error),
      });
    }
    await Promise.all(pending);
  }

  /** Examines one path (after the ones already queued for it) and offers it if it is new or changed. */
  evaluate(root: WatchedRoot, path: string): Promise<void> {
    const previous = this.evaluations.get(path) ?? Promise.resolve();
    const next = previous
      .then(() => this.evaluateNow(root, path))
      .catch((error: unknown) => {
        this.options.log.write("warn", "could not examine artifact", { path, error: (error as Error).message });
      })
      .finally(() => {
        if (this.evaluations.get(path) === next) this.evaluations.delete(path);
        this.options.changed();
      });
    this.evaluations.set(path, next);
    return next;
  }

  /**
   * The offer a client's answer names, taken off the waiting list; or why
   * the answer is refused (only an offered file, answered once, is uploaded).
   */
  takeAnswer(filepath: string): ArtifactRecord | string {
    const record = this.awaitingAnswer.get(filepath);
    if (record !== undefined) {
      this.awaitingAnswer.delete(filepath);
      return record;
    }
    const known = this.records.get(filepath)?.phase;
    return known === undefined || known === "seen"
      ? "this filepath was not offered"
      : "this offer was already answered";
  }

  manifest(maxBytes: number): { entries: ArtifactManifestEntry[]; omitted: number } {
    return buildManifest(this.records.values(), maxBytes);
  }

  private async evaluateNow(root: WatchedRoot, path: string): Promise<void> {
    if (!this.options.active() || root.rules.ignores(path, false)) return;
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
      this.options.log.write("warn", "artifact not offered: its path reads like another one once secrets are hidden", {
        path: record.path,
      });
      return;
    }
    Object.assign(record, { phase: "offered", stamp, size: stamp.size, wirePath: filepath, changedSinceOffer: false });
    record.error = undefined;
    this.awaitingAnswer.set(filepath, record);
    this.lastOfferAt = Date.now();
    try {
      // Sent as found: the sender redacts with the same secrets, so the client sees `filepath` as keyed here.
      this.options.offer({ filename: basename(record.path), filepath: record.path });
      this.options.log.write("debug", "offered artifact", { path: record.path, size: stamp.size });
    } catch (error) {
      this.options.log.write("warn", "could not send artifact offer", {
        path: record.path,
        error: (error as Error).message,
      });
    }
    this.options.changed();
  }

  /** A directory the walk could not read: logged once per directory and reason (its files cannot be offered). */
  private unreadable(dir: string, error: NodeJS.ErrnoException): void {
    const key = `${dir}\0${error.code ?? error.message}`;
    if (this.unreadableLogged.has(key)) return;
    this.unreadableLogged.add(key);
    this.options.log.write("warn", "artifacts directory cannot be read: files in it are not offered", {
      dir,
      error: error.message,
    });
  }

  /** A new file whose name is not valid UTF-8: never offered, listed as failed in the manifest, logged once. */
  private unnamable(root: WatchedRoot, path: string): void {
    if (this.records.has(path) || !this.options.active() || !this.hasCapacity()) return;
    this.records.set(path, {
      path,
      root,
      phase: "failed",
      stamp: NO_STAMP,
      size: 0,
      wirePath: redactText(path, this.options.secrets()),
      changedSinceOffer: false,
      error: UNNAMABLE_ERROR,
    });
    this.options.log.write("warn", "artifact not offered: its name is not valid UTF-8", { path });
  }

  private hasCapacity(): boolean {
    if (this.records.size < this.options.maxFiles) return true;
    if (!this.capacityWarned) {
      this.capacityWarned = true;
      this.options.log.write("warn", "artifact file limit reached: further new files are not offered", {
        max_files: this.options.maxFiles,
      });
    }
    return false;
  }
}
