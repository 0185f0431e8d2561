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

export function resolveLimits(limits: Partial<DownloadLimits> | undefined): DownloadLimits {
  return { ...DEFAULT_DOWNLOAD_LIMITS, ...limits };
}
