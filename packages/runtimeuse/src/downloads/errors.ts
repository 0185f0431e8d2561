/** Why a download failed; stable values, for logs and tests. */
export type DownloadFailure =
  | "invalid_url"
  | "invalid_name"
  | "http_status"
  | "network"
  | "stalled"
  | "too_large"
  | "cancelled"
  | "archive_entry_refused"
  | "archive_limit"
  | "archive_invalid"
  | "filesystem";

/** Every download error's message starts with this, as clients written for runtime 0.15.1 expect. */
export const DOWNLOAD_FAILED = "Download failed: ";

/**
 * A download (or the extraction that follows it) that could not be
 * completed. Its message is meant for the client: `Download failed: ` and
 * then `detail`, which names what went wrong, and the URL, when it names one,
 * in the shown form (no query, secrets redacted). A failed HTTP status reads
 * `Download failed: 404 Not Found`.
 */
export class DownloadError extends Error {
  override readonly name = "DownloadError";
  /** The download's URL as shown (see `shownUrl`); set once the failure leaves `downloadOne`. */
  url: string | undefined;
  constructor(
    detail: string,
    readonly reason: DownloadFailure,
    /** The HTTP status, for `http_status`. */
    readonly status?: number,
  ) {
    super(DOWNLOAD_FAILED + detail);
  }
}

/**
 * A URL as messages and logs show it: without its query, fragment or user
 * info (a presigned URL carries its signature in the query), with the secrets
 * redacted.
 */
export function shownUrl(raw: string, redact: (text: string) => string): string {
  let text: string;
  try {
    const url = new URL(raw);
    text = `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    text = raw.split(/[?#]/, 1)[0] ?? "";
  }
  return redact(text);
}
