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

/**
 * A download (or the extraction that follows it) that could not be
 * completed. Its message is meant for the client: it names what went wrong
 * and the URL with the request's secrets already redacted.
 */
export class DownloadError extends Error {
  override readonly name = "DownloadError";
  constructor(
    message: string,
    readonly reason: DownloadFailure,
    /** The HTTP status, for `http_status`. */
    readonly status?: number,
  ) {
    super(message);
  }
}
