import { join, sep } from "node:path";
import { type FSWatcher, watch } from "chokidar";
import { ARTIFACT_IGNORE_FILE, IgnoreRules } from "./ignore-rules.js";

/** inotify watches (ENOSPC) or file descriptors used up: a watcher that hits them is let go. */
const OUT_OF_WATCH_RESOURCES = new Set(["ENOSPC", "EMFILE", "ENFILE"]);

export interface WatchedRootEvents {
  /** A file (or symlink) under the root was added or written. */
  touched(root: WatchedRoot, path: string): void;
  /** The root's `.artifactignore` was added, changed or removed. */
  rulesFileChanged(root: WatchedRoot): void;
  /**
   * A directory appeared under the root. Files written into it before its own
   * watch was attached raise no event, so the manager looks again.
   */
  directoryAdded(root: WatchedRoot): void;
  error(root: WatchedRoot, error: Error): void;
}

/**
 * One artifacts directory: its ignore rules and its live watcher. Paths are
 * reported under `path`, the name the client gave (made absolute), even when
 * the directory itself is reached through a symlink and watched at `realPath`.
 *
 * The watcher is a notifier only: it can miss events (inotify limits, a
 * restart after a rules change), so the manager rescans with
 * `walkCandidates` before each terminal and at session end; nothing relies on
 * an event arriving.
 */
export class WatchedRoot {
  readonly rules: IgnoreRules;
  readonly rulesFile: string;
  private watcher: FSWatcher | undefined;
  private closed = false;
  /** Watcher errors already told, by code: each kind is logged once. */
  private readonly reportedErrors = new Set<string>();
  /** Restarts are serialised so that two quick rules changes never leave a watcher behind. */
  private restarting: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    readonly realPath: string,
    private readonly events: WatchedRootEvents,
  ) {
    this.rules = new IgnoreRules(path);
    this.rulesFile = join(path, ARTIFACT_IGNORE_FILE);
  }

  /** (Re)starts the watcher with the current rules; resolves once it is ready. */
  start(): Promise<void> {
    this.restarting = this.restarting.catch(() => {}).then(() => this.restart());
    return this.restarting;
  }

  private async restart(): Promise<void> {
    if (this.closed) return;
    await this.watcher?.close();
    const watcher = watch(this.realPath, {
      ignoreInitial: true,
      followSymlinks: false,
      // atomic mode hides editor swap files from events but not from rescans; keep the two consistent.
      atomic: false,
      ignorePermissionErrors: true,
      persistent: true,
      ignored: (real, stats) => {
        const named = this.toNamed(real);
        if (named === this.rulesFile) return false;
        return this.rules.ignores(named, stats ? stats.isDirectory() : undefined);
      },
    });
    this.watcher = watcher;
    const onFile = (real: string) => {
      const named = this.toNamed(real);
      if (named === this.rulesFile) this.events.rulesFileChanged(this);
      else this.events.touched(this, named);
    };
    watcher.on("add", onFile);
    watcher.on("change", onFile);
    watcher.on("addDir", () => this.events.directoryAdded(this));
    watcher.on("unlink", (real: string) => {
      if (this.toNamed(real) === this.rulesFile) this.events.rulesFileChanged(this);
    });
    watcher.on("error", (error: unknown) => this.watcherFailed(watcher, error));
    // A root that cannot be read (EMFILE, ENOMEM) is reported as an error and never gets `ready`;
    // the request goes on without waiting, and the walk when artifacts finish still finds its files.
    await new Promise<void>((resolve) => {
      watcher.once("ready", () => resolve());
      watcher.once("error", () => resolve());
    });
    if (this.closed && this.watcher === watcher) {
      this.watcher = undefined;
      await watcher.close();
    }
  }

  /**
   * Tells each kind of watcher error once (a tree past the inotify limit fails
   * once per file). Out of inotify watches or file descriptors, the watcher is
   * let go: it would go on failing, and its scan costs the event loop for
   * nothing; the rescans before each terminal still find the root's files.
   */
  private watcherFailed(watcher: FSWatcher, raw: unknown): void {
    const error: NodeJS.ErrnoException = raw instanceof Error ? raw : new Error(String(raw));
    const kind = error.code ?? error.message;
    if (!this.reportedErrors.has(kind)) {
      this.reportedErrors.add(kind);
      this.events.error(this, error);
    }
    if (!OUT_OF_WATCH_RESOURCES.has(error.code ?? "") || this.watcher !== watcher) return;
    this.watcher = undefined;
    void watcher.close().catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.restarting.catch(() => {});
    const watcher = this.watcher;
    this.watcher = undefined;
    await watcher?.close();
  }

  private toNamed(real: string): string {
    if (this.realPath === this.path) return real;
    if (real !== this.realPath && !real.startsWith(`${this.realPath}${sep}`)) return real;
    return this.path + real.slice(this.realPath.length);
  }
}
