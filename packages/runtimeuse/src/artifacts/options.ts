import type { LogSink } from "../logger.js";

/** What the manager sends: an `artifact_upload_request_message` without its `message_type`, not yet redacted. */
export interface ArtifactOffer {
  /** Base name of the file. */
  filename: string;
  /** Absolute path in the sandbox; the client's answer must name it as redacted with `secrets`. */
  filepath: string;
}

export interface ArtifactManagerOptions {
  /**
   * Sends one `artifact_upload_request_message`, redacted with `secrets` as
   * every frame is (answers are matched on the redacted `filepath`). Called at
   * any time while the manager is open.
   */
  offer: (offer: ArtifactOffer) => void;
  log: LogSink;
  /** A file is offered once it has had no writes for this long (never less than `MIN_SETTLE_MS`). */
  settleMs?: number;
  /** An upload attempt that makes no progress (connecting, sending, awaiting the response) for this long is abandoned. */
  uploadTimeoutMs?: number;
  /** Further attempts after a transient failure (connection error, timeout, 408, 429, 5xx). */
  retries?: number;
  /** First retry delay; doubled on each retry (with jitter), at most `MAX_RETRY_BACKOFF_MS`. */
  retryBackoffMs?: number;
  /**
   * How long to wait for the client's answers to offers when no answer has
   * come for that long, before a terminal and at session end. A client that
   * lets this pass is taken not to answer (say, it has no upload callback)
   * and is not waited for again until it answers something.
   */
  responseTimeoutMs?: number;
  /** Default limit for `finish()`: waiting for answers and uploads at session end. */
  finishTimeoutMs?: number;
  /** Uploads running at once per connection. */
  maxConcurrentUploads?: number;
  /** Files tracked per connection (offered or present at watch start); beyond it new files are not offered. */
  maxFiles?: number;
  /** Cap on the manifest's JSON size; see `buildManifest`. */
  maxManifestBytes?: number;
  /** Secrets of the session: removed from offered paths, the manifest and logs. Read on every use. */
  secrets?: () => readonly string[];
}

/** The tunable part, as a server or session takes it (the session supplies `offer`, `log` and `secrets`). */
export type ArtifactSettings = Omit<ArtifactManagerOptions, "offer" | "log" | "secrets">;

/** As given, with each default filled in and `settleMs` raised to `MIN_SETTLE_MS`. */
export type ResolvedArtifactOptions = Required<Omit<ArtifactManagerOptions, "secrets">> & {
  secrets: () => readonly string[];
};

/**
 * The shortest settle window, whatever is asked for. chokidar drops a
 * `change` event that comes within 50 ms of the previous one for the same
 * file; a settle timer at least this long after the last event it did report
 * reads the file after any write whose event was dropped.
 */
export const MIN_SETTLE_MS = 60;
/** Longest delay between two upload attempts. */
export const MAX_RETRY_BACKOFF_MS = 5_000;

export const ARTIFACT_DEFAULTS = {
  settleMs: 150,
  uploadTimeoutMs: 30_000,
  retries: 3,
  retryBackoffMs: 250,
  responseTimeoutMs: 3_000,
  /** Below the published client's 60 s wait for the confirm, so it sees the manifest. */
  finishTimeoutMs: 50_000,
  maxConcurrentUploads: 8,
  maxFiles: 100_000,
  maxManifestBytes: 512 * 1024,
} as const;

const NO_SECRETS: readonly string[] = [];

/** Throws a RangeError naming the first bad setting; lets a server refuse bad settings before any connection. */
export function validateArtifactSettings(settings: ArtifactSettings = {}): void {
  resolveArtifactOptions({ ...settings, offer: () => {}, log: { write() {} } });
}

export function resolveArtifactOptions(options: ArtifactManagerOptions): ResolvedArtifactOptions {
  const number = (name: keyof typeof ARTIFACT_DEFAULTS, min: number): number => {
    const value = options[name] ?? ARTIFACT_DEFAULTS[name];
    if (!Number.isFinite(value) || value < min) {
      throw new RangeError(`artifact option ${name} must be a number >= ${min}, got ${String(value)}`);
    }
    return value;
  };
  return {
    offer: options.offer,
    log: options.log,
    settleMs: Math.max(MIN_SETTLE_MS, number("settleMs", 0)),
    uploadTimeoutMs: number("uploadTimeoutMs", 1),
    retries: Math.floor(number("retries", 0)),
    retryBackoffMs: number("retryBackoffMs", 0),
    responseTimeoutMs: number("responseTimeoutMs", 0),
    finishTimeoutMs: number("finishTimeoutMs", 0),
    maxConcurrentUploads: Math.floor(number("maxConcurrentUploads", 1)),
    maxFiles: Math.floor(number("maxFiles", 1)),
    maxManifestBytes: number("maxManifestBytes", 2),
    secrets: options.secrets ?? (() => NO_SECRETS),
  };
}
