import { stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { type FileStamp, sameStamp, stampOf } from "./files.js";
import { ARTIFACT_DEFAULTS, MAX_RETRY_BACKOFF_MS } from "./options.js";
import { putFile, type UploadAgents } from "./put-attempt.js";

export type { UploadAgents } from "./put-attempt.js";

/** A file that keeps changing under its upload this often is then sent as it stands. */
const MAX_CHANGE_RESTARTS = 5;

export interface UploadOptions {
  /** The file to read; the caller has already checked that it may be uploaded. */
  path: string;
  url: URL;
  contentType: string;
  /** An attempt that makes no progress (connecting, sending, awaiting the response) for this long is abandoned. */
  idleTimeoutMs: number;
  /** Further attempts after the first, for connection errors, timeouts, 408, 429 and 5xx. */
  retries: number;
  /** First backoff delay; doubled on each retry, capped at `maxBackoffMs`, with jitter. */
  backoffMs?: number;
  maxBackoffMs?: number;
  agents?: UploadAgents;
  /**
   * A file that changes while it is sent (still being written) is not sent
   * half-written: the attempt is cut before its body ends, the upload waits
   * until the file has not changed for `quietMs` (at most `quietMaxWaitMs`),
   * and starts over. This does not count as a retry.
   */
  quietMs?: number;
  quietMaxWaitMs?: number;
  /** Abandons the upload (no further attempts). */
  signal?: AbortSignal;
  onRetry?: (attempt: number, reason: string, delayMs: number) => void;
}

export type UploadOutcome =
  | { ok: true; status: number; stamp: FileStamp; sha256: string; attempts: number }
  | { ok: false; error: string; attempts: number };

/**
 * PUTs a file to a (presigned) URL with `Content-Length` set, in bounded
 * memory, retrying transient failures with exponential backoff. Never
 * throws: every failure comes back as `{ ok: false, error }`. The SHA-256
 * returned is of the bytes actually sent, so the caller knows exactly which
 * content the server has.
 */
export async function uploadFile(options: UploadOptions): Promise<UploadOutcome> {
  const base = options.backoffMs ?? ARTIFACT_DEFAULTS.retryBackoffMs;
  const cap = options.maxBackoffMs ?? MAX_RETRY_BACKOFF_MS;
  let restarts = 0;
  let attempts = 0;
  for (;;) {
    const result = await putFile(options, restarts < MAX_CHANGE_RESTARTS);
    if (result.kind === "changed") {
      restarts++;
      const quiet = await waitUntilQuiet(
        options.path,
        options.quietMs ?? ARTIFACT_DEFAULTS.settleMs,
        options.quietMaxWaitMs ?? ARTIFACT_DEFAULTS.uploadTimeoutMs,
        options.signal,
      );
      if (!quiet) return { ok: false, error: "upload abandoned", attempts: attempts + 1 };
      continue;
    }
    attempts++;
    if (result.kind === "ok") {
      return { ok: true, status: result.status, stamp: result.stamp, sha256: result.sha256, attempts };
    }
    if (result.kind === "fatal" || attempts > options.retries || options.signal?.aborted) {
      const suffix = attempts > 1 ? ` (after ${attempts} attempts)` : "";
      return { ok: false, error: `${result.error}${suffix}`, attempts };
    }
    const delay = Math.round(Math.min(cap, base * 2 ** (attempts - 1)) * (0.5 + Math.random() / 2));
    options.onRetry?.(attempts, result.error, delay);
    try {
      await sleep(delay, undefined, { signal: options.signal });
    } catch {
      return { ok: false, error: "upload abandoned", attempts };
    }
  }
}

/** Where an upload goes, for logs: the presigned query (a credential) is left out. */
export function describeTarget(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** Resolves once the file's stamp has stayed the same for `quietMs` (or at `maxWaitMs`); false if abandoned. */
async function waitUntilQuiet(
  path: string,
  quietMs: number,
  maxWaitMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + maxWaitMs;
  let previous = await stat(path).then(stampOf, () => undefined);
  while (Date.now() < deadline) {
    try {
      await sleep(Math.max(10, quietMs), undefined, { signal });
    } catch {
      return false;
    }
    const current = await stat(path).then(stampOf, () => undefined);
    if (previous === undefined || current === undefined || sameStamp(previous, current)) return true;
    previous = current;
  }
  return true;
}
