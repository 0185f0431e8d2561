/** Bounds on one download and on what its archive may expand to. */
export interface DownloadLimits {
  /** Largest body accepted, in bytes. Default 4 GiB. */
  maxDownloadBytes: number;
  /**
   * Longest wait for the response, or for the body's next `minProgressBytes`
   * (what is left of it, near its end). Default 60 s.
   */
  idleTimeoutMs: number;
  /**
   * Bytes of the body that must arrive within every `idleTimeoutMs`: a server
   * that trickles a few bytes at a time fails the download as one that sends
   * nothing does, instead of holding the request for as long as it likes.
   * Default 1 KiB.
   */
  minProgressBytes: number;
  /** Total bytes all entries of one archive may expand to. Default 4 GiB. */
  maxExtractedBytes: number;
  /** Entries (files, directories, links) in one archive. Default 100 000. */
  maxEntries: number;
  /**
   * Largest expansion ratio: extracted bytes over the archive's size (and, for
   * zip, an entry's bytes over its compressed size). Checked once more than
   * `ratioFloorBytes` came out, so small highly compressible files pass.
   * Default 200.
   */
  maxCompressionRatio: number;
  /** Default 16 MiB. */
  ratioFloorBytes: number;
}

export const DEFAULT_DOWNLOAD_LIMITS: Readonly<DownloadLimits> = Object.freeze({
  maxDownloadBytes: 4 * 1024 ** 3,
  idleTimeoutMs: 60_000,
  minProgressBytes: 1024,
  maxExtractedBytes: 4 * 1024 ** 3,
  maxEntries: 100_000,
  maxCompressionRatio: 200,
  ratioFloorBytes: 16 * 1024 ** 2,
});

/** What each limit may be set to: whole numbers in these ranges. */
export const DOWNLOAD_LIMIT_RANGES: Readonly<Record<keyof DownloadLimits, readonly [number, number]>> = Object.freeze({
  maxDownloadBytes: [1, Number.MAX_SAFE_INTEGER],
  idleTimeoutMs: [1, 86_400_000],
  minProgressBytes: [0, Number.MAX_SAFE_INTEGER],
  maxExtractedBytes: [1, Number.MAX_SAFE_INTEGER],
  maxEntries: [1, Number.MAX_SAFE_INTEGER],
  maxCompressionRatio: [1, Number.MAX_SAFE_INTEGER],
  ratioFloorBytes: [0, Number.MAX_SAFE_INTEGER],
});

/**
 * Throws a `TypeError` or `RangeError` naming the first of `limits` (a
 * server's `downloads` option) that cannot be used: an unknown name, or a
 * value that is no whole number in its range. Undefined is fine (defaults).
 */
export function checkDownloadLimits(limits: unknown, label = "downloads"): void {
  if (limits === undefined) return;
  if (limits === null || typeof limits !== "object" || Array.isArray(limits)) {
    throw new TypeError(
      `${label} must be an object of download limits, got ${limits === null ? "null" : typeof limits}`,
    );
  }
  for (const [name, value] of Object.entries(limits)) {
    const range = (DOWNLOAD_LIMIT_RANGES as Record<string, readonly [number, number] | undefined>)[name];
    if (range === undefined) {
      throw new TypeError(
        `${label}.${name} is not a download limit; known: ${Object.keys(DOWNLOAD_LIMIT_RANGES).join(", ")}`,
      );
    }
    if (value === undefined) continue;
    const [min, max] = range;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${label}.${name} must be a whole number from ${min} to ${max}, got ${String(value)}`);
    }
  }
}

export function resolveLimits(limits: Partial<DownloadLimits> | undefined): DownloadLimits {
  const resolved = { ...DEFAULT_DOWNLOAD_LIMITS };
  for (const [name, value] of Object.entries(limits ?? {})) {
    if (value !== undefined) resolved[name as keyof DownloadLimits] = value;
  }
  return resolved;
}
