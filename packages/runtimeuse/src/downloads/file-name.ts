import { DownloadError } from "./errors.js";

/**
 * The file name a URL downloads to: the last segment of its path,
 * percent-decoded. Refused when it is empty, `.` or `..`, or would contain a
 * path separator or NUL once decoded (`..%2Fetc` is refused, not followed).
 */
export function fileNameFromUrl(url: URL, shownUrl = url.href): string {
  const segment = url.pathname.split("/").at(-1) ?? "";
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    throw new DownloadError(`the URL's file name is not valid percent-encoding: ${shownUrl}`, "invalid_name");
  }
  if (name === "" || name === "." || name === "..") {
    throw new DownloadError(`the URL path has no file name: ${shownUrl}`, "invalid_name");
  }
  if (/[/\\\0]/.test(name)) {
    throw new DownloadError(
      `the URL's file name contains a path separator or NUL once decoded: ${shownUrl}`,
      "invalid_name",
    );
  }
  return name;
}

export type ArchiveKind = "zip" | "tar";

/** Which in-process extractor handles a file name, if any (gzip is detected from the bytes). */
export function archiveKind(name: string): ArchiveKind | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith(".zip")) return "zip";
  if (lower.endsWith(".tar") || lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) return "tar";
  return undefined;
}
